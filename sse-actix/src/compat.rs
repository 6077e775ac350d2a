//! The constructors actix-web-lab's `Sse` users know, so that moving an app to this
//! crate changes imports, not handlers: [`Sse::from_stream`],
//! [`Sse::from_infallible_stream`], [`Sse::from_receiver`],
//! [`Sse::from_infallible_receiver`], [`Sse::with_keep_alive`] and
//! [`Sse::with_retry_duration`].

use std::convert::Infallible;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use tokio::sync::mpsc;

use crate::{BoxError, Event, KeepAlive, Sse, WriteEvent};

pin_project_lite::pin_project! {
    /// A stream of events that cannot fail, as [`Sse`] takes it: each item `T` becomes
    /// `Ok::<T, Infallible>(T)`. Made by [`Sse::from_infallible_stream`].
    pub struct InfallibleStream<S> {
        #[pin]
        stream: S,
    }
}

impl<S> InfallibleStream<S> {
    /// Wraps `stream`.
    pub fn new(stream: S) -> Self {
        Self { stream }
    }
}

impl<S: Stream> Stream for InfallibleStream<S> {
    type Item = Result<S::Item, Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.project().stream.poll_next(cx).map(|item| item.map(Ok))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.stream.size_hint()
    }
}

impl<S> fmt::Debug for InfallibleStream<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InfallibleStream").finish_non_exhaustive()
    }
}

/// A tokio `mpsc::Receiver` as a stream: it ends when every sender is dropped (and
/// what they sent has been received). Made by [`Sse::from_receiver`].
pub struct ReceiverStream<T> {
    receiver: mpsc::Receiver<T>,
}

impl<T> ReceiverStream<T> {
    /// Wraps `receiver`.
    pub fn new(receiver: mpsc::Receiver<T>) -> Self {
        Self { receiver }
    }

    /// The receiver back.
    pub fn into_inner(self) -> mpsc::Receiver<T> {
        self.receiver
    }
}

impl<T> Stream for ReceiverStream<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.receiver.poll_recv(cx)
    }
}

impl<T> fmt::Debug for ReceiverStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiverStream").finish_non_exhaustive()
    }
}

impl<S, T, E> Sse<S>
where
    S: Stream<Item = Result<T, E>>,
    T: WriteEvent,
    E: Into<BoxError>,
{
    /// The same as [`Sse::new`], under actix-web-lab's name.
    pub fn from_stream(stream: S) -> Self {
        Self::new(stream)
    }
}

impl<S> Sse<InfallibleStream<S>>
where
    S: Stream,
    S::Item: WriteEvent,
{
    /// Sends the events of a stream that cannot fail (items are events, not results).
    pub fn from_infallible_stream(stream: S) -> Self {
        Self::new(InfallibleStream::new(stream))
    }
}

impl<T, E> Sse<ReceiverStream<Result<T, E>>>
where
    T: WriteEvent,
    E: Into<BoxError>,
{
    /// Sends what arrives on `receiver`, until every sender is dropped. An `Err` ends
    /// the stream (see [`Sse::on_error`] for a last event instead).
    pub fn from_receiver(receiver: mpsc::Receiver<Result<T, E>>) -> Self {
        Self::new(ReceiverStream::new(receiver))
    }
}

impl<T: WriteEvent> Sse<InfallibleStream<ReceiverStream<T>>> {
    /// Sends the events that arrive on `receiver`, until every sender is dropped.
    ///
    /// A sender learns that its client is gone when `send` fails. For a producer that
    /// should also stop while it has nothing to send, see
    /// [`channel::channel`](crate::channel::channel).
    pub fn from_infallible_receiver(receiver: mpsc::Receiver<T>) -> Self {
        Self::new(InfallibleStream::new(ReceiverStream::new(receiver)))
    }
}

impl<S> Sse<S> {
    /// Sends a keep-alive comment after `period` without events: the same as
    /// `.keep_alive(KeepAlive::new().interval(period))`. Unlike actix-web-lab, the
    /// comment only goes out on an idle stream, not on a fixed beat.
    pub fn with_keep_alive(self, period: Duration) -> Self {
        self.keep_alive(KeepAlive::new().interval(period))
    }

    /// Sends a `retry:` field first, so that a browser waits `retry` before it
    /// reconnects: the same as `.initial_event(Event::default().retry(retry))`.
    pub fn with_retry_duration(self, retry: Duration) -> Self {
        self.initial_event(Event::default().retry(retry))
    }
}
