//! [`EventSource`]: the stream of events, which connects, reads, and reconnects.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::{FusedStream, Stream};
use http::HeaderValue;
use http_body::Body;
use sse_rs_core::decode::{Decoded, Decoder};
use tokio::time::{Instant, Sleep};

use crate::connect::{Attempt, Outcome};
use crate::request::{Options, RequestSpec};
use crate::transport::ResponseBody;
use crate::{Client, Error, Event, Reconnecting};

/// A stream of server-sent events that reconnects as a browser's `EventSource` does.
///
/// A [`Stream`] of `Result<`[`Event`]`, `[`Error`]`>`, made by
/// [`RequestBuilder::stream`](crate::RequestBuilder::stream). It connects when first
/// polled, yields events as they are dispatched, and when the connection ends or fails
/// it reconnects by its [`Reconnect`](crate::Reconnect) policy, sending
/// `Last-Event-ID` once an id is known. It ends:
///
/// - with `None` when the server answers `204 No Content`, at the
///   [end marker](crate::RequestBuilder::end_marker), at a clean end of the response
///   with [`end_on_eof`](crate::RequestBuilder::end_on_eof), or when the policy does
///   not reconnect after a clean end;
/// - with one `Err` and then `None` on an error that is not retried (see [`Error`])
///   or when the policy gives up.
///
/// Dropping it closes its connection at once: the stream owns the response body and
/// the attempt in flight, and no task of its own runs in the background. (Over HTTP/2 a
/// dropped stream is reset; the connection it shared stays in the [`Client`]'s pool
/// for other streams until idle for 90 s.)
pub struct EventSource {
    client: Client,
    request: Option<Arc<RequestSpec>>,
    options: Options,
    decoder: Decoder,
    state: State,
    queue: VecDeque<Event>,
    /// The error to yield before the end.
    error: Option<Error>,
    /// WHATWG's reconnection time: the initial delay or the last `retry:`, capped.
    reconnection_time: Duration,
    /// Reconnections in a row without progress.
    failures: u32,
    /// When the stream last made progress (or started).
    progress_at: Instant,
    /// Connection attempts so far.
    connections: u64,
}

enum State {
    /// Not polled yet.
    Start,
    Connecting(Pin<Box<dyn Future<Output = Outcome> + Send>>),
    Open {
        body: ResponseBody,
        idle: Option<Pin<Box<Sleep>>>,
        opened_at: Instant,
    },
    Waiting(Pin<Box<Sleep>>),
    Done,
}

impl fmt::Debug for EventSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Start => "start",
            State::Connecting(_) => "connecting",
            State::Open { .. } => "open",
            State::Waiting(_) => "waiting",
            State::Done => "done",
        };
        f.debug_struct("EventSource")
            .field("url", &self.request.as_ref().map(|request| &request.url))
            .field("state", &state)
            .field("last_event_id", &self.decoder.last_event_id())
            .field("reconnection_time", &self.reconnection_time)
            .field("connections", &self.connections)
            .finish_non_exhaustive()
    }
}

/// What the body gave.
enum Read {
    Data(Bytes),
    End(Option<Error>),
}

impl EventSource {
    pub(crate) fn new(
        client: Client,
        request: Result<RequestSpec, Error>,
        options: Options,
    ) -> Self {
        let (request, error) = match request {
            Ok(request) => (Some(Arc::new(request)), None),
            Err(error) => (None, Some(error)),
        };
        // The builder checked the id for NUL, CR and LF; empty means none.
        let decoder = Decoder::new()
            .max_event_size(options.max_event_size)
            .comments(options.comments)
            .with_last_event_id(options.last_event_id.as_deref().unwrap_or_default());
        let state = if error.is_some() {
            State::Done
        } else {
            State::Start
        };
        Self {
            client,
            request,
            reconnection_time: options.reconnect.initial_delay,
            options,
            decoder,
            state,
            queue: VecDeque::new(),
            error,
            failures: 0,
            progress_at: Instant::now(),
            connections: 0,
        }
    }

    /// The stream's last event id: what the next reconnection sends as
    /// `Last-Event-ID` (nothing when empty).
    #[must_use]
    pub fn last_event_id(&self) -> &str {
        self.decoder.last_event_id()
    }

    /// The current reconnection time: the initial delay or the server's last
    /// `retry:`, within the policy's cap (before doubling and jitter).
    #[must_use]
    pub fn reconnection_time(&self) -> Duration {
        self.reconnection_time
    }

    fn connect(&mut self) {
        let Some(request) = self.request.clone() else {
            self.state = State::Done;
            return;
        };
        self.connections += 1;
        let id = self.decoder.last_event_id();
        // An id the header cannot carry (a control character) is not sent.
        let last_event_id = (!id.is_empty())
            .then(|| HeaderValue::from_bytes(id.as_bytes()).ok())
            .flatten();
        let attempt = Attempt {
            client: self.client.clone(),
            request,
            last_event_id,
            connect_timeout: self.options.connect_timeout,
            max_redirects: self.options.max_redirects,
            connection: self.connections,
        };
        self.state = State::Connecting(Box::pin(attempt.run()));
    }

    /// The connection ended: cleanly (`None`) or with `error`.
    fn lost(&mut self, error: Option<Error>) {
        if let State::Open { opened_at, .. } = self.state {
            if opened_at.elapsed() >= self.options.reconnect.stable_after {
                self.progress();
            }
        }
        // Drops the body: the connection closes now, not when the delay is over.
        self.state = State::Done;
        self.decoder.finish();
        if error.is_none() && self.options.end_on_eof {
            return;
        }
        self.reconnect(error, None);
    }

    fn progress(&mut self) {
        self.failures = 0;
        self.progress_at = Instant::now();
    }

    /// Waits and connects again, or gives up.
    fn reconnect(&mut self, error: Option<Error>, retry_after: Option<Duration>) {
        let policy = &self.options.reconnect;
        if policy.max_attempts.is_some_and(|max| self.failures >= max) {
            return self.give_up(error);
        }
        let delay = policy.delay(self.reconnection_time, self.failures, retry_after);
        if let Some(max) = policy.max_elapsed {
            if crate::reconnect::after(delay).duration_since(self.progress_at) > max {
                return self.give_up(error);
            }
        }
        if self.options.connection_events {
            self.queue.push_back(Event::Reconnecting(Reconnecting {
                delay,
                failures: self.failures,
                error: error.map(Arc::new),
            }));
        }
        self.failures = self.failures.saturating_add(1);
        self.state = State::Waiting(Box::pin(tokio::time::sleep(delay)));
    }

    fn give_up(&mut self, error: Option<Error>) {
        self.state = State::Done;
        self.error = error;
    }

    fn fail(&mut self, error: Error) {
        self.give_up(Some(error));
    }

    /// Decodes a chunk of the body into the queue.
    fn decode(&mut self, chunk: &[u8]) {
        let items = match self.decoder.decode(chunk) {
            Ok(items) => items,
            Err(error) => {
                // Fields, not `self.fail`: the decoder is still borrowed here.
                self.state = State::Done;
                self.error = Some(Error::EventTooLarge(error));
                return;
            }
        };
        let mut progressed = false;
        let mut ended = false;
        for item in items {
            match item {
                Decoded::Event(message) => {
                    progressed = true;
                    if self.options.end_marker.as_deref() == Some(message.data.as_str()) {
                        ended = true;
                        break;
                    }
                    self.queue.push_back(Event::Message(message));
                }
                // Reported only when `comments` is on (the decoder's option).
                Decoded::Comment(text) => self.queue.push_back(Event::Comment(text)),
                Decoded::Retry(delay) => {
                    self.reconnection_time = self.options.reconnect.cap(delay);
                    if self.options.retry_fields {
                        self.queue.push_back(Event::Retry(delay));
                    }
                }
                _ => {}
            }
        }
        if progressed {
            self.progress();
        }
        if ended {
            self.state = State::Done;
        }
    }
}

impl Stream for EventSource {
    type Item = Result<Event, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(event) = this.queue.pop_front() {
                return Poll::Ready(Some(Ok(event)));
            }
            match &mut this.state {
                State::Done => return Poll::Ready(this.error.take().map(Err)),
                State::Start => {
                    this.progress_at = Instant::now();
                    this.connect();
                }
                State::Waiting(sleep) => {
                    ready!(sleep.as_mut().poll(cx));
                    this.connect();
                }
                State::Connecting(attempt) => match ready!(attempt.as_mut().poll(cx)) {
                    Outcome::Open(response, open) => {
                        let idle = this
                            .options
                            .idle_timeout
                            .map(|timeout| Box::pin(tokio::time::sleep(timeout)));
                        this.state = State::Open {
                            body: response.into_body(),
                            idle,
                            opened_at: Instant::now(),
                        };
                        if this.options.connection_events {
                            this.queue.push_back(Event::Open(open));
                        }
                    }
                    Outcome::Stop => this.state = State::Done,
                    Outcome::Retry(error, retry_after) => {
                        this.state = State::Done;
                        this.reconnect(Some(error), retry_after);
                    }
                    Outcome::Fail(error) => this.fail(error),
                },
                State::Open { body, idle, .. } => {
                    let read = match Pin::new(body).poll_frame(cx) {
                        Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                            Ok(data) => Read::Data(data),
                            Err(_trailers) => continue,
                        },
                        Poll::Ready(Some(Err(error))) => Read::End(Some(Error::Body(error))),
                        Poll::Ready(None) => Read::End(None),
                        Poll::Pending => {
                            let Some(idle) = idle else {
                                return Poll::Pending;
                            };
                            ready!(idle.as_mut().poll(cx));
                            let timeout = this.options.idle_timeout.unwrap_or_default();
                            Read::End(Some(Error::IdleTimeout(timeout)))
                        }
                    };
                    match read {
                        Read::Data(data) => {
                            if data.is_empty() {
                                continue;
                            }
                            if let (Some(idle), Some(timeout)) = (idle, this.options.idle_timeout) {
                                idle.as_mut().reset(crate::reconnect::after(timeout));
                            }
                            this.decode(&data);
                        }
                        Read::End(error) => this.lost(error),
                    }
                }
            }
        }
    }
}

impl FusedStream for EventSource {
    fn is_terminated(&self) -> bool {
        matches!(self.state, State::Done) && self.error.is_none() && self.queue.is_empty()
    }
}
