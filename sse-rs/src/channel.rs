//! [`channel`]: push events into a stream from anywhere, and learn when the client is
//! gone, and why: the way to tie a request's work (an LLM answer, an MCP request) to
//! its stream.
//!
//! [`body`] makes the response body with the channel: its producer's
//! [`cancelled`](EventSender::cancelled) then says why the stream ended.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use sse_rs_core::End;
use tokio::sync::mpsc;

use crate::{BoxError, EncodedEvent, Event, EventWriter, SseBody, WriteEvent};

/// A bounded channel of events: the [`EventSender`] goes to the code that produces
/// events, the [`EventReceiver`] into an [`SseBody`] or an adapter's
/// `Sse`.
///
/// When the client disconnects, the server drops the body and with it the receiver:
/// [`EventSender::closed`] completes, so a producer can stop its work without waiting
/// to fail on its next send.
///
/// ```
/// use sse_rs::{Event, SseBody};
/// use sse_rs::channel::channel;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let (sender, receiver) = channel(16);
/// let body = SseBody::new(receiver);
/// tokio::spawn(async move {
///     let mut n = 0_u64;
///     loop {
///         tokio::select! {
///             () = sender.closed() => break, // the client left
///             sent = sender.send(Event::default().id(n).data("tick")) => {
///                 if sent.is_err() { break }
///             }
///         }
///         n += 1;
///     }
/// });
/// drop(body); // the client disconnects: the producer task ends
/// # });
/// ```
#[must_use]
pub fn channel(capacity: usize) -> (EventSender, EventReceiver) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let sender = EventSender {
        tx,
        end: Arc::default(),
    };
    (sender, EventReceiver(rx))
}

/// A [`channel`] and the response body it feeds: what a handler that streams the
/// answer to one request needs. The producer gets the [`EventSender`]; its
/// [`cancelled`](EventSender::cancelled) completes with why the stream ended as soon
/// as it does (the client closed the connection or reset the HTTP/2 stream, the
/// server gave up on a stalled client, a shutdown). Dropping every sender ends the
/// stream, after the body's [end event](SseBody::end_event) if it has one.
///
/// Each adapter has the same as `Sse::channel`.
///
/// ```
/// use sse_rs::channel;
/// use sse_rs::{End, Event};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let (sender, body) = channel::body(16);
/// let body = body.end_event(Event::default().data("[DONE]"));
/// let work = tokio::spawn(async move {
///     for token in ["Hel", "lo"] {
///         tokio::select! {
///             why = sender.cancelled() => return Some(why), // stop generating
///             sent = sender.send(Event::default().data(token)) => {
///                 if sent.is_err() { return None }
///             }
///         }
///     }
///     None // the sender is dropped: `[DONE]`, and the stream ends
/// });
/// drop(body); // the client leaves
/// # let _ = work.await;
/// # });
/// ```
pub fn body(capacity: usize) -> (EventSender, SseBody<EventReceiver>) {
    let (sender, receiver) = channel(capacity);
    let end = sender.end.clone();
    let body = SseBody::new(receiver).on_end(move |outcome| end.set(outcome.end));
    (sender, body)
}

/// The sending half of [`channel`]. Cheap to clone.
#[derive(Clone)]
pub struct EventSender {
    tx: mpsc::Sender<Result<Queued, BoxError>>,
    // Why the stream ended, once the body made by `body` knows.
    end: Arc<EndSlot>,
}

/// Why the stream ended, written by the body's `on_end`; `None` until then.
#[derive(Debug, Default)]
struct EndSlot(std::sync::Mutex<Option<End>>);

impl EndSlot {
    fn set(&self, end: End) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(end);
    }

    fn get(&self) -> Option<End> {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The event could not be sent: the receiver (the client's stream) is gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Disconnected;

impl fmt::Display for Disconnected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the event stream's client is gone")
    }
}

impl std::error::Error for Disconnected {}

impl EventSender {
    /// Sends an event, waiting while the channel is full. An [`Event`] is encoded by
    /// the body, straight into the frame it sends (no buffer of its own); an
    /// [`EncodedEvent`] is sent as it is.
    ///
    /// # Errors
    ///
    /// When the client is gone.
    pub async fn send(&self, event: impl Into<Queued>) -> Result<(), Disconnected> {
        self.tx
            .send(Ok(event.into()))
            .await
            .map_err(|_| Disconnected)
    }

    /// Ends the stream with `error`, after the events sent before it: the body's
    /// [`on_error`](SseBody::on_error) turns it into a last event (an error object the
    /// client can parse) and ends cleanly; without one, the response is cut off (see
    /// [`SseBody`]'s errors). The stream's outcome is [`End::Error`].
    ///
    /// # Errors
    ///
    /// When the client is gone.
    pub async fn fail(self, error: impl Into<BoxError>) -> Result<(), Disconnected> {
        self.tx
            .send(Err(error.into()))
            .await
            .map_err(|_| Disconnected)
    }

    /// Completes when the client is gone (the receiver was dropped).
    pub async fn closed(&self) {
        self.tx.closed().await;
    }

    /// Completes when the stream is gone, with why: [`End::ClientGone`] when the
    /// client closed the connection or reset the stream, or the server dropped it (a
    /// stall timeout, the end of a shutdown's grace); [`End::Shutdown`] after the
    /// shutdown signal ended it; [`End::Error`] if it failed. With a receiver that
    /// did not come from [`body`] the reason is unknown and given as
    /// [`End::ClientGone`].
    pub async fn cancelled(&self) -> End {
        self.tx.closed().await;
        self.end.get().unwrap_or(End::ClientGone)
    }

    /// Whether the client is gone.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

impl fmt::Debug for EventSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventSender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The receiving half of [`channel`]: a stream of events that ends when every sender
/// is dropped.
pub struct EventReceiver(mpsc::Receiver<Result<Queued, BoxError>>);

impl fmt::Debug for EventReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventReceiver").finish_non_exhaustive()
    }
}

impl Stream for EventReceiver {
    type Item = Result<Queued, BoxError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// An event in a [`channel`], as it was sent: an [`Event`] (encoded by the body,
/// straight into its frame) or an [`EncodedEvent`]. What [`EventSender::send`] takes
/// (`Event`, `&Event` and `EncodedEvent` convert into it) and [`EventReceiver`]
/// yields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queued(QueuedKind);

#[derive(Clone, Debug, PartialEq, Eq)]
enum QueuedKind {
    Event(Event),
    Encoded(EncodedEvent),
}

impl Queued {
    /// The event's wire form (encodes an [`Event`]).
    #[must_use]
    pub fn encode(&self) -> EncodedEvent {
        match &self.0 {
            QueuedKind::Event(event) => event.encode(),
            QueuedKind::Encoded(encoded) => encoded.clone(),
        }
    }
}

impl From<Event> for Queued {
    fn from(event: Event) -> Self {
        Self(QueuedKind::Event(event))
    }
}

impl From<&Event> for Queued {
    fn from(event: &Event) -> Self {
        Self::from(event.clone())
    }
}

impl From<EncodedEvent> for Queued {
    fn from(event: EncodedEvent) -> Self {
        Self(QueuedKind::Encoded(event))
    }
}

impl WriteEvent for Queued {
    fn write_event(self, out: &mut EventWriter<'_>) {
        match self.0 {
            QueuedKind::Event(event) => out.write(&event),
            QueuedKind::Encoded(encoded) => out.encoded(encoded),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use http_body_util::BodyExt;

    use super::*;
    use crate::{Event, SseBody};

    #[tokio::test]
    async fn events_flow_and_the_body_ends_with_the_senders() {
        let (sender, receiver) = channel(4);
        let body = SseBody::new(receiver);
        sender.send(Event::default().data("a")).await.unwrap();
        sender
            .send(Event::default().data("b").encode())
            .await
            .unwrap();
        drop(sender);
        let bytes = BodyExt::collect(body).await.unwrap().to_bytes();
        assert_eq!(bytes, &b"data: a\n\ndata: b\n\n"[..]);
    }

    #[tokio::test]
    async fn closed_completes_when_the_client_is_gone() {
        let (sender, receiver) = channel(4);
        let body = SseBody::new(receiver);
        let producer = tokio::spawn({
            let sender = sender.clone();
            async move { sender.closed().await }
        });
        tokio::task::yield_now().await;
        assert!(!producer.is_finished());
        assert!(!sender.is_closed());
        drop(body);
        tokio::time::timeout(Duration::from_secs(5), producer)
            .await
            .expect("closed() did not complete")
            .unwrap();
        assert!(sender.is_closed());
        assert_eq!(sender.send(Event::default()).await, Err(Disconnected));
    }

    #[tokio::test]
    async fn cancelled_says_why_the_stream_of_body_ended() {
        // The client leaves.
        let (sender, gone) = body(4);
        drop(gone);
        assert_eq!(sender.cancelled().await, End::ClientGone);

        // A shutdown.
        let (sender, stopped) = body(4);
        let (trigger, signal) = crate::shutdown::Shutdown::new();
        let stopped = stopped.shutdown(signal, None);
        trigger.fire();
        let ended = tokio::spawn(async move { BodyExt::collect(stopped).await.map(|_| ()) });
        assert_eq!(sender.cancelled().await, End::Shutdown);
        ended.await.unwrap().unwrap();

        // The producer fails: the error becomes the app's last event.
        let (sender, failing) = body(4);
        let failing = failing.on_error(|error| {
            Event::default()
                .event(crate::EventType::from_static("error"))
                .data(error.to_string())
        });
        let other = sender.clone();
        sender.send(Event::default().data("a")).await.unwrap();
        sender.fail("model crashed").await.unwrap();
        let bytes = BodyExt::collect(failing).await.unwrap().to_bytes();
        assert_eq!(
            bytes,
            &b"data: a\n\nevent: error\ndata: model crashed\n\n"[..]
        );
        assert_eq!(other.cancelled().await, End::Error);
    }

    #[tokio::test]
    async fn dropping_every_sender_ends_the_stream_after_its_end_event() {
        let (sender, done) = body(4);
        let done = done.end_event(Event::default().data("[DONE]"));
        sender.send(Event::default().data("a")).await.unwrap();
        drop(sender);
        let bytes = BodyExt::collect(done).await.unwrap().to_bytes();
        assert_eq!(bytes, &b"data: a\n\ndata: [DONE]\n\n"[..]);
    }

    #[tokio::test]
    async fn a_receiver_in_a_body_of_its_own_reports_the_client_gone() {
        let (sender, receiver) = channel(4);
        drop(SseBody::new(receiver));
        assert_eq!(sender.cancelled().await, End::ClientGone);
    }
}
