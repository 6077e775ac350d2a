//! [`channel`]: push events into a stream from anywhere, and learn when the client is
//! gone.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use tokio::sync::mpsc;

use crate::EncodedEvent;

/// A bounded channel of events: the [`EventSender`] goes to the code that produces
/// events, the [`EventReceiver`] into an [`SseBody`](crate::SseBody) or an adapter's
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
    (EventSender(tx), EventReceiver(rx))
}

/// The sending half of [`channel`]. Cheap to clone.
#[derive(Clone)]
pub struct EventSender(mpsc::Sender<EncodedEvent>);

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
    /// Sends an event, waiting while the channel is full.
    ///
    /// # Errors
    ///
    /// When the client is gone.
    pub async fn send(&self, event: impl Into<EncodedEvent>) -> Result<(), Disconnected> {
        self.0.send(event.into()).await.map_err(|_| Disconnected)
    }

    /// Completes when the client is gone (the receiver was dropped).
    pub async fn closed(&self) {
        self.0.closed().await;
    }

    /// Whether the client is gone.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.0.is_closed()
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
pub struct EventReceiver(mpsc::Receiver<EncodedEvent>);

impl fmt::Debug for EventReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventReceiver").finish_non_exhaustive()
    }
}

impl Stream for EventReceiver {
    type Item = Result<EncodedEvent, std::convert::Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx).map(|event| event.map(Ok))
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
}
