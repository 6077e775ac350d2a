//! [`StreamLimit`]: a limit on open event streams, the same for every framework
//! (used by the tower `SseLayer` and by sse-actix's middleware).

pub(crate) mod gate;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::adapter::RESPONSE_HEADERS;
use crate::Event;

/// What a request over the stream limit gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OverLimit {
    /// `200` with one `retry:` field and an immediate end: browsers back off and try
    /// again. The default.
    #[default]
    RetryLater,
    /// `503 Service Unavailable` with `Retry-After`, for clients that are not
    /// browsers (a browser would stop reconnecting for good).
    ServiceUnavailable,
}

/// At most so many event streams open at once; clones share the count.
///
/// A browser's `EventSource` gives up for good on any status but 200: a `503` stops it
/// forever. So by default a request over the limit gets `200` with an event stream of
/// one `retry:` field ([`back_off`](StreamLimit::back_off), default 10 s) that ends at
/// once: the browser waits that long, reconnects, and gets in once other streams have
/// ended. For clients that understand it, [`OverLimit::ServiceUnavailable`] answers
/// `503` with `Retry-After` instead.
///
/// ```
/// use std::time::Duration;
/// use sse_rs::limit::StreamLimit;
///
/// let limit = StreamLimit::new(1).back_off(Duration::from_secs(3));
/// let slot = limit.try_acquire().expect("one slot");
/// assert!(limit.try_acquire().is_none());
/// let refusal = limit.refusal();
/// assert_eq!(refusal.status, 200);
/// assert_eq!(refusal.body, &b"retry: 3000\n\n"[..]);
/// drop(slot);
/// assert_eq!(limit.available(), 1);
/// ```
#[derive(Clone)]
#[must_use]
pub struct StreamLimit {
    semaphore: Arc<Semaphore>,
    max: usize,
    over_limit: OverLimit,
    back_off: Duration,
}

impl fmt::Debug for StreamLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamLimit")
            .field("max", &self.max)
            .field("available", &self.available())
            .field("over_limit", &self.over_limit)
            .field("back_off", &self.back_off)
            .finish()
    }
}

/// One open stream's place under a [`StreamLimit`]; the place is free again when
/// this is dropped.
#[derive(Debug)]
pub struct StreamSlot(#[allow(dead_code)] OwnedSemaphorePermit);

/// The answer to a request over the limit, in plain parts any framework can send.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Refusal {
    /// The status code: 200 or 503.
    pub status: u16,
    /// The headers, lowercase names.
    pub headers: Vec<(&'static str, String)>,
    /// The body (a `retry:` field, or empty).
    pub body: Bytes,
}

impl Refusal {
    /// The refusal as an `http` 1 response (a header whose value is not a valid header
    /// value is left out; the values built here always are).
    #[must_use]
    pub fn to_http(&self) -> http::Response<Bytes> {
        let mut response = http::Response::new(self.body.clone());
        *response.status_mut() =
            http::StatusCode::from_u16(self.status).unwrap_or(http::StatusCode::OK);
        for (name, value) in &self.headers {
            if let Ok(value) = http::HeaderValue::from_str(value) {
                response.headers_mut().insert(*name, value);
            }
        }
        response
    }
}

impl StreamLimit {
    /// A limit of `max_streams` open streams.
    pub fn new(max_streams: usize) -> Self {
        Self {
            semaphore: Arc::new(Semaphore::new(max_streams.min(Semaphore::MAX_PERMITS))),
            max: max_streams,
            over_limit: OverLimit::RetryLater,
            back_off: Duration::from_secs(10),
        }
    }

    /// What a request over the limit gets (default [`OverLimit::RetryLater`]).
    pub fn over_limit(mut self, over_limit: OverLimit) -> Self {
        self.over_limit = over_limit;
        self
    }

    /// How long a client over the limit is asked to wait (default 10 s).
    pub fn back_off(mut self, back_off: Duration) -> Self {
        self.back_off = back_off;
        self
    }

    /// How many more streams may open now.
    #[must_use]
    pub fn available(&self) -> usize {
        self.semaphore.available_permits()
    }

    /// A place for one more stream, or `None` at the limit.
    #[must_use]
    pub fn try_acquire(&self) -> Option<StreamSlot> {
        Arc::clone(&self.semaphore)
            .try_acquire_owned()
            .ok()
            .map(StreamSlot)
    }

    /// The answer for a request over the limit.
    #[must_use]
    pub fn refusal(&self) -> Refusal {
        match self.over_limit {
            OverLimit::RetryLater => Refusal {
                status: 200,
                headers: RESPONSE_HEADERS
                    .iter()
                    .map(|(name, value)| (*name, (*value).to_owned()))
                    .collect(),
                body: Event::default().retry(self.back_off).encode().into_bytes(),
            },
            OverLimit::ServiceUnavailable => Refusal {
                status: 503,
                headers: vec![(
                    "retry-after",
                    itoa::Buffer::new()
                        .format(self.back_off.as_secs().max(1))
                        .to_owned(),
                )],
                body: Bytes::new(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_shared_by_clones_and_freed_on_drop() {
        let limit = StreamLimit::new(2);
        let copy = limit.clone();
        let a = limit.try_acquire().unwrap();
        let _b = copy.try_acquire().unwrap();
        assert!(limit.try_acquire().is_none());
        assert_eq!(copy.available(), 0);
        drop(a);
        assert!(copy.try_acquire().is_some());
    }

    #[test]
    fn refusals() {
        let retry = StreamLimit::new(0)
            .back_off(Duration::from_millis(1500))
            .refusal();
        assert_eq!(retry.status, 200);
        assert_eq!(retry.body, &b"retry: 1500\n\n"[..]);
        assert!(retry
            .headers
            .contains(&("content-type", "text/event-stream".to_owned())));

        let unavailable = StreamLimit::new(0)
            .over_limit(OverLimit::ServiceUnavailable)
            .back_off(Duration::from_millis(1500))
            .refusal();
        assert_eq!(unavailable.status, 503);
        assert_eq!(unavailable.headers, [("retry-after", "1".to_owned())]);
        assert!(unavailable.body.is_empty());

        let response = unavailable.to_http();
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["retry-after"], "1");
        let response = retry.to_http();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        assert_eq!(response.headers()["cache-control"], "no-cache");
        assert_eq!(response.body(), &b"retry: 1500\n\n"[..]);
    }
}
