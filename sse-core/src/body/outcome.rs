//! How a stream ended, for logs and metrics: [`Outcome`], given once to the callbacks
//! of [`SseBody::on_end`](crate::SseBody::on_end).

use std::fmt;
use std::time::{Duration, Instant};

use sync_wrapper::SyncWrapper;

/// Why an event stream ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum End {
    /// The stream ended by itself (its producer finished), after its
    /// [end event](crate::SseBody::end_event) if it has one.
    Completed,
    /// The stream failed, or its compressor did; the
    /// [error event](crate::SseBody::on_error) was sent if the stream has one.
    Error,
    /// The [shutdown signal](crate::SseBody::shutdown) ended it.
    Shutdown,
    /// The body was dropped before its end: the client closed the connection or reset
    /// the HTTP/2 stream, or the server gave up on it (a write stall timeout, the end
    /// of a shutdown's grace).
    ClientGone,
}

impl End {
    /// A short name for logs and metric labels: `completed`, `error`, `shutdown`,
    /// `client_gone`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Error => "error",
            Self::Shutdown => "shutdown",
            Self::ClientGone => "client_gone",
        }
    }
}

impl fmt::Display for End {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an event stream went: why it ended, what it sent, how long it took.
///
/// Bytes and events count what the body handed to the server; a client that left
/// may not have received the last of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Outcome {
    /// Why the stream ended.
    pub end: End,
    /// Events taken from the stream and written into the body's frames (the
    /// initial, end, error and shutdown events not counted). A body dropped in the
    /// middle of a burst may have written up to a frame's worth of them that never
    /// reached the server.
    pub events: u64,
    /// Bytes of body sent, keep-alives included; compressed bytes when compressed.
    pub bytes: u64,
    /// From the body's creation to the first frame with an event from the stream:
    /// the time to first token of an LLM answer. `None` if no event was sent.
    pub first_event: Option<Duration>,
    /// From the body's creation to its end (or to when it was dropped).
    pub duration: Duration,
}

type Callback = Box<dyn FnOnce(Outcome) + Send>;

/// What the body counts for its [`Outcome`] while [`on_end`](crate::SseBody::on_end)
/// callbacks wait for it; calls them when dropped.
pub(crate) struct Watch {
    start: Instant,
    first_event: Option<Duration>,
    events: u64,
    bytes: u64,
    // Why and when the stream ended, once it did.
    ended: Option<(End, Duration)>,
    callback: Option<SyncWrapper<Callback>>,
}

impl Watch {
    pub(crate) fn new() -> Self {
        Self {
            start: Instant::now(),
            first_event: None,
            events: 0,
            bytes: 0,
            ended: None,
            callback: None,
        }
    }

    /// Adds `callback`, called after those added before it.
    pub(crate) fn push(&mut self, callback: impl FnOnce(Outcome) + Send + 'static) {
        let callback: Callback = match self.callback.take() {
            None => Box::new(callback),
            Some(earlier) => {
                let earlier = earlier.into_inner();
                Box::new(move |outcome| {
                    earlier(outcome);
                    callback(outcome);
                })
            }
        };
        self.callback = Some(SyncWrapper::new(callback));
    }

    /// A frame with `events` events from the stream was made.
    pub(crate) fn events(&mut self, events: u64) {
        if events > 0 {
            self.events += events;
            if self.first_event.is_none() {
                self.first_event = Some(self.start.elapsed());
            }
        }
    }

    /// `bytes` bytes of body were handed to the server.
    pub(crate) fn bytes(&mut self, bytes: usize) {
        self.bytes += bytes as u64;
    }

    /// The stream ended for `end` (the first reason given stands).
    pub(crate) fn end(&mut self, end: End) {
        if self.ended.is_none() {
            self.ended = Some((end, self.start.elapsed()));
        }
    }

    fn outcome(&self) -> Outcome {
        let (end, duration) = self
            .ended
            .unwrap_or_else(|| (End::ClientGone, self.start.elapsed()));
        Outcome {
            end,
            events: self.events,
            bytes: self.bytes,
            // The first frame can be the last: its events are counted after the end
            // in the same poll.
            first_event: self.first_event.map(|first| first.min(duration)),
            duration,
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some(callback) = self.callback.take() {
            let outcome = self.outcome();
            (callback.into_inner())(outcome);
        }
    }
}

impl fmt::Debug for Watch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watch")
            .field("outcome", &self.outcome())
            .finish_non_exhaustive()
    }
}
