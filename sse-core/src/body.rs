//! [`SseBody`]: a stream of events as an HTTP response body.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{BufMut, Bytes, BytesMut};
use futures_core::Stream;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use sync_wrapper::SyncWrapper;

use crate::event::{EncodedEvent, Event};
use crate::keep_alive::{KeepAlive, KeepAliveTimer};
use crate::metrics::{self, OpenStream};

/// A boxed error that is `Send` and `Sync`: the error type of [`SseBody`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The default cap on the size of one frame: 64 KiB.
pub(crate) const DEFAULT_MAX_FRAME_SIZE: usize = 64 * 1024;

type ErrorHandler = Box<dyn FnOnce(BoxError) -> Event + Send>;
type ShutdownFuture = Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

pin_project! {
    /// A stream of events as a streaming [`http_body::Body`] (and a [`Stream`] of
    /// bytes).
    ///
    /// Wraps any `Stream<Item = Result<T, E>>` where `T` converts into an
    /// [`EncodedEvent`] (an [`Event`], or an event encoded once and shared) and `E`
    /// into a [`BoxError`].
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use futures_util::stream;
    /// use sse_rs_core::{Event, KeepAlive, SseBody};
    ///
    /// let events = stream::iter((1..=3_u32).map(|n| Ok::<_, Infallible>(Event::default().id(n).data("tick"))));
    /// let response = SseBody::new(events)
    ///     .keep_alive(KeepAlive::default())
    ///     .into_response();
    /// assert_eq!(response.headers()["content-type"], "text/event-stream");
    /// ```
    ///
    /// # Frames
    ///
    /// Each time the body is polled it takes every event the stream has ready *now*
    /// and sends them as one frame, up to [`max_frame_size`](SseBody::max_frame_size)
    /// bytes. It never waits to fill a frame: an event that arrives alone is sent
    /// alone, at once. Fewer, larger frames mean fewer system calls: hyper writes at
    /// most 16 frames per `writev`, and the built-in SSE of axum and warp send one
    /// frame per event.
    ///
    /// Nothing is copied that need not be: a frame of one event is the event's own
    /// bytes, and an event of 1 KiB or more always goes as a frame of its own (the
    /// server writes it from where it was encoded). Small events that are ready
    /// together are copied once, into one buffer, sized for a whole frame at once
    /// while a burst goes on, so it never grows and moves.
    ///
    /// # Keep-alive
    ///
    /// Off unless set with [`keep_alive`](SseBody::keep_alive). When set, a comment
    /// frame is sent after the stream has been idle for the interval. The timer is
    /// tokio's unless the keep-alive names another (see
    /// [`KeepAlive::timer`](crate::KeepAlive::timer)): then the body must be polled
    /// inside a tokio runtime with time enabled (axum, actix-web, warp and hyper-util
    /// servers all are).
    ///
    /// # Errors
    ///
    /// When the stream yields an error, the events ready before it are sent, then the
    /// body ends with that error. What the client sees depends on the server: hyper
    /// closes the connection without finishing the chunked body, which a browser's
    /// `EventSource` reports as an error before it reconnects (sending
    /// `Last-Event-ID`). To end cleanly instead, turn the error into a last event with
    /// [`on_error`](SseBody::on_error).
    #[must_use]
    pub struct SseBody<S> {
        #[pin]
        stream: SyncWrapper<S>,
        // Boxed, as is `shutdown`: an idle stream's body stays small when they are off.
        keep_alive: Option<Box<KeepAliveTimer>>,
        // Bytes to send at the start of the next frame: the initial event, or an event
        // that did not fit into the previous frame.
        carry: Option<Bytes>,
        // Rare, so boxed (thin pointers) to keep the body small.
        error: Option<Box<BoxError>>,
        on_error: Option<Box<SyncWrapper<ErrorHandler>>>,
        shutdown: Option<Box<(SyncWrapper<ShutdownFuture>, Option<Bytes>)>>,
        max_frame_size: usize,
        done: bool,
        // The last frame was full: events are coming faster than they are sent.
        bursting: bool,
        // The server copies every frame into a write buffer of its own (actix-web):
        // events up to 8 KiB are coalesced too.
        server_copies: bool,
        // Counts the stream open (`metrics::snapshot`) while it lives.
        open: OpenStream,
    }
}

impl<S> SseBody<S> {
    /// A body that sends the events of `stream`, without keep-alive.
    pub fn new<T, E>(stream: S) -> Self
    where
        S: Stream<Item = Result<T, E>>,
        T: Into<EncodedEvent>,
        E: Into<BoxError>,
    {
        Self {
            stream: SyncWrapper::new(stream),
            keep_alive: None,
            carry: None,
            error: None,
            on_error: None,
            shutdown: None,
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            done: false,
            bursting: false,
            server_copies: false,
            open: OpenStream::new(),
        }
    }

    /// Sends a keep-alive comment whenever the stream has been idle for its interval.
    pub fn keep_alive(mut self, keep_alive: KeepAlive) -> Self {
        self.keep_alive = Some(Box::new(KeepAliveTimer::new(keep_alive)));
        self
    }

    /// Sends `event` at once, before anything from the stream (together with the
    /// stream's events that are ready at that moment).
    ///
    /// Useful to set the client's reconnection delay up front
    /// (`Event::default().retry(..)`), or to get a byte on the wire immediately: some
    /// HTTP/2 proxies hold the response headers until the first body byte.
    pub fn initial_event(mut self, event: impl Into<EncodedEvent>) -> Self {
        self.carry = Some(event.into().into_bytes());
        self
    }

    /// Turns an error from the stream into a last event: the body sends the event
    /// and then ends cleanly, instead of ending with the error.
    ///
    /// A browser treats a clean end like a dropped connection and reconnects after
    /// its retry delay; send `retry:` in the last event to slow it down.
    pub fn on_error<F>(mut self, handler: F) -> Self
    where
        F: FnOnce(BoxError) -> Event + Send + 'static,
    {
        self.on_error = Some(Box::new(SyncWrapper::new(Box::new(handler))));
        self
    }

    /// Ends the body when `signal` fires: it stops taking events from the stream,
    /// sends `last` (if any) and ends cleanly. For graceful shutdown: see
    /// [`Shutdown`](crate::shutdown::Shutdown).
    pub fn shutdown(mut self, signal: crate::shutdown::Shutdown, last: Option<Event>) -> Self {
        let last = last.map(|event| event.encode().into_bytes());
        self.shutdown = Some(Box::new((SyncWrapper::new(Box::pin(signal.wait())), last)));
        self
    }

    /// Caps the size of a frame made of several events (default
    /// 64 KiB, at least 1).
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.max_frame_size = bytes.max(1);
        self
    }

    /// For adapters to servers that copy every frame into a write buffer of their own
    /// (actix-web): events up to 8 KiB are then coalesced (fewer, larger chunks pay
    /// for the second copy up to there), larger ones still go alone.
    #[doc(hidden)]
    pub fn __server_copies_frames(mut self) -> Self {
        self.server_copies = true;
        self
    }

    /// Wraps the body in an `http::Response` with the SSE headers set
    /// (see [`set_response_headers`](crate::adapter::set_response_headers)).
    pub fn into_response(self) -> http::Response<Self> {
        let mut response = http::Response::new(self);
        crate::response::set_response_headers(response.headers_mut());
        response
    }
}

impl<S, T, E> SseBody<S>
where
    S: Stream<Item = Result<T, E>>,
    T: Into<EncodedEvent>,
    E: Into<BoxError>,
{
    fn poll_bytes(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, BoxError>>> {
        let mut this = self.project();
        if let Some(error) = this.error.take() {
            return Poll::Ready(Some(Err(*error)));
        }

        let pass_through = if *this.server_copies {
            PASS_THROUGH_WHERE_COPIED
        } else {
            PASS_THROUGH
        };
        let mut frame = FrameBuilder::new(
            this.carry.take(),
            *this.max_frame_size,
            pass_through,
            *this.bursting,
        );
        let mut stream = this.stream.as_mut().get_pin_mut();
        let fired = match this.shutdown.as_mut() {
            Some(shutdown) => shutdown.0.get_mut().as_mut().poll(cx).is_ready(),
            None => false,
        };
        if fired {
            *this.done = true;
            if let Some(last) = this.shutdown.take().and_then(|shutdown| shutdown.1) {
                if let Err(overflow) = frame.push(last) {
                    *this.carry = Some(overflow);
                }
            }
        }
        let mut events = 0;
        while !*this.done {
            match stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(event))) => {
                    events += 1;
                    if let Err(overflow) = frame.push(event.into().into_bytes()) {
                        *this.carry = Some(overflow);
                        break;
                    }
                }
                Poll::Ready(Some(Err(error))) => {
                    *this.done = true;
                    let error = error.into();
                    metrics::count_stream_error(&*error);
                    match this.on_error.take() {
                        Some(handler) => {
                            let last = (handler.into_inner())(error).encode().into_bytes();
                            if let Err(overflow) = frame.push(last) {
                                *this.carry = Some(overflow);
                            }
                        }
                        None if frame.is_empty() => return Poll::Ready(Some(Err(error))),
                        None => *this.error = Some(Box::new(error)),
                    }
                }
                Poll::Ready(None) => *this.done = true,
                Poll::Pending => break,
            }
        }

        let (bytes, full) = frame.finish();
        *this.bursting = full;
        if let Some(bytes) = bytes {
            if let Some(keep_alive) = this.keep_alive {
                keep_alive.reset();
            }
            metrics::count_frame(events, bytes.len());
            return Poll::Ready(Some(Ok(bytes)));
        }
        if *this.done {
            return Poll::Ready(None);
        }
        match this.keep_alive {
            Some(keep_alive) => keep_alive.poll_tick(cx).map(|bytes| {
                metrics::count_keep_alive(bytes.len());
                Some(Ok(bytes))
            }),
            None => Poll::Pending,
        }
    }
}

impl<S, T, E> Body for SseBody<S>
where
    S: Stream<Item = Result<T, E>>,
    T: Into<EncodedEvent>,
    E: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.poll_bytes(cx)
            .map(|item| item.map(|bytes| bytes.map(Frame::data)))
    }

    fn is_end_stream(&self) -> bool {
        self.done && self.carry.is_none() && self.error.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        // Unknown length: no Content-Length, the response is streamed.
        SizeHint::default()
    }
}

impl<S, T, E> Stream for SseBody<S>
where
    S: Stream<Item = Result<T, E>>,
    T: Into<EncodedEvent>,
    E: Into<BoxError>,
{
    type Item = Result<Bytes, BoxError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.poll_bytes(cx)
    }
}

impl<S> fmt::Debug for SseBody<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseBody")
            .field("keep_alive", &self.keep_alive)
            .field("max_frame_size", &self.max_frame_size)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

/// An event at least this large is never copied into a frame: it ends the frame it
/// would join and goes as a frame of its own, as it was encoded. Copying it would cost
/// more than the frame it saves (a server writes frames with vectored I/O).
pub(crate) const PASS_THROUGH: usize = 1024;

/// The same, where the server copies every frame into a write buffer of its own
/// (actix-web): coalescing then costs a second copy, which pays up to this size
/// (fewer, larger chunks) and no further (measured with `compare bench`).
pub(crate) const PASS_THROUGH_WHERE_COPIED: usize = 8 * 1024;

/// Collects the events of one frame. A frame of one event is that event's bytes, not
/// copied. Small events ready together are copied into one buffer: sized for a full
/// frame at once while a burst goes on (the previous frame was full), so it never
/// grows and moves; small at first otherwise, for the usual few events.
struct FrameBuilder {
    first: Option<Bytes>,
    buf: Option<BytesMut>,
    max: usize,
    pass_through: usize,
    bursting: bool,
    full: bool,
}

impl FrameBuilder {
    fn new(first: Option<Bytes>, max: usize, pass_through: usize, bursting: bool) -> Self {
        Self {
            first,
            buf: None,
            max,
            pass_through,
            bursting,
            full: false,
        }
    }

    fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    /// Adds `bytes`, or hands them back when they must start the next frame: the frame
    /// has no room for them, or they or the frame's first event go alone.
    fn push(&mut self, bytes: Bytes) -> Result<(), Bytes> {
        let Some(first) = &self.first else {
            self.first = Some(bytes);
            return Ok(());
        };
        if first.len() >= self.pass_through || bytes.len() >= self.pass_through {
            return Err(bytes);
        }
        let len = self.buf.as_ref().map_or(first.len(), BytesMut::len);
        if len + bytes.len() > self.max {
            self.full = true;
            return Err(bytes);
        }
        let (max, bursting) = (self.max, self.bursting);
        let buf = self.buf.get_or_insert_with(|| {
            let capacity = if bursting {
                max
            } else {
                (4 * (len + bytes.len())).max(1024).min(max)
            };
            let mut buf = BytesMut::with_capacity(capacity);
            buf.put_slice(first);
            buf
        });
        buf.put_slice(&bytes);
        Ok(())
    }

    /// The frame, and whether it ended because it was full.
    fn finish(self) -> (Option<Bytes>, bool) {
        let frame = match self.buf {
            Some(buf) => Some(buf.freeze()),
            None => self.first,
        };
        (frame, self.full)
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::time::Duration;

    use futures_util::stream;
    use http_body_util::BodyExt;
    use tokio::sync::mpsc;
    use tokio::time::Instant;

    use super::*;

    /// An idle stream's body is held for as long as the client stays: thousands of
    /// them per server. What is rarely set (keep-alive, shutdown, an error handler)
    /// lives behind a box; inlining the keep-alive again (88 bytes more) fails this.
    /// (`sse-rs` checks the same with a hub subscription as the stream.)
    #[test]
    fn an_idle_body_stays_small() {
        type Idle = stream::Pending<Result<Event, Infallible>>;
        let body = std::mem::size_of::<SseBody<Idle>>();
        assert!(
            body <= 88,
            "SseBody around a zero-sized stream is {body} bytes"
        );
    }

    type Item = Result<Event, BoxError>;

    fn event(n: u32) -> Event {
        Event::default().id(n).data(format!("event {n}"))
    }

    fn wire(ns: impl IntoIterator<Item = u32>) -> Bytes {
        let mut buf = BytesMut::new();
        for n in ns {
            buf.put_slice(event(n).encode().as_bytes());
        }
        buf.freeze()
    }

    /// A body fed by a channel, so a test decides when events are ready.
    fn channel_body() -> (
        mpsc::UnboundedSender<Item>,
        SseBody<impl Stream<Item = Item>>,
    ) {
        let (tx, mut rx) = mpsc::unbounded_channel::<Item>();
        let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
        (tx, SseBody::new(stream))
    }

    /// The next frame as bytes, or `None` when nothing is ready after yielding to the
    /// runtime.
    async fn next_ready<B>(body: &mut B) -> Option<Bytes>
    where
        B: Body<Data = Bytes, Error = BoxError> + Unpin,
    {
        futures_util::future::poll_immediate(body.frame())
            .await
            .map(|frame| frame.unwrap().unwrap().into_data().unwrap())
    }

    #[test]
    fn body_is_send_and_sync_without_a_sync_stream() {
        fn assert_send_sync<T: Send + Sync>(_: &T) {}
        // A stream that is `Send` but not `Sync`.
        let not_sync = stream::iter([Ok::<_, Infallible>(event(1))]).chain(stream::poll_fn({
            let cell = std::cell::Cell::new(0_u8);
            move |_| {
                cell.set(1);
                std::task::Poll::<Option<Result<Event, Infallible>>>::Ready(None)
            }
        }));
        let body = SseBody::new(not_sync)
            .keep_alive(KeepAlive::default())
            .on_error(|_| Event::default());
        assert_send_sync(&body);
    }

    #[tokio::test]
    async fn events_ready_together_come_out_as_one_frame() {
        let body = SseBody::new(stream::iter((1..=5).map(|n| Ok::<_, Infallible>(event(n)))));
        let frames: Vec<Bytes> = body.into_data_stream().map(Result::unwrap).collect().await;
        assert_eq!(frames, vec![wire(1..=5)]);
    }

    #[tokio::test]
    async fn a_lone_event_is_sent_at_once_without_copying() {
        let shared = event(7).encode();
        let (tx, mut body) = {
            let (tx, mut rx) = mpsc::unbounded_channel::<Result<EncodedEvent, Infallible>>();
            (
                tx,
                SseBody::new(stream::poll_fn(move |cx| rx.poll_recv(cx))),
            )
        };
        assert_eq!(next_ready(&mut body).await, None);
        tx.send(Ok(shared.clone())).unwrap();
        let frame = next_ready(&mut body).await.unwrap();
        assert_eq!(frame, shared.as_bytes());
        assert_eq!(
            frame.as_ptr(),
            shared.as_bytes().as_ptr(),
            "the event was copied"
        );
    }

    /// A large event is never copied into a frame, wherever it falls among small ones:
    /// the small ones before it make one frame, it goes alone (its own bytes), the ones
    /// after it make the next.
    #[tokio::test]
    async fn large_events_go_alone_and_are_never_copied() {
        let large = Event::default()
            .id(2)
            .data("x".repeat(PASS_THROUGH))
            .encode();
        let items = vec![
            event(1).encode(),
            large.clone(),
            event(3).encode(),
            event(4).encode(),
            large.clone(),
            large.clone(),
        ];
        let body = SseBody::new(stream::iter(items.into_iter().map(Ok::<_, Infallible>)));
        let frames: Vec<Bytes> = body.into_data_stream().map(Result::unwrap).collect().await;
        assert_eq!(frames.len(), 5, "{frames:?}");
        assert_eq!(frames[0], wire([1]));
        assert_eq!(frames[2], wire(3..=4));
        for at in [1, 3, 4] {
            assert_eq!(frames[at], large.as_bytes());
            assert_eq!(
                frames[at].as_ptr(),
                large.as_bytes().as_ptr(),
                "frame {at} is a copy"
            );
        }
    }

    /// For a server that copies every frame anyway (actix-web), events of up to 8 KiB
    /// are coalesced like small ones; larger ones still go alone.
    #[tokio::test]
    async fn where_the_server_copies_frames_large_events_are_coalesced() {
        let large = Event::default()
            .id(1)
            .data("x".repeat(PASS_THROUGH))
            .encode();
        let huge = Event::default()
            .id(4)
            .data("x".repeat(PASS_THROUGH_WHERE_COPIED))
            .encode();
        let items = vec![
            large.clone(),
            large.clone(),
            event(3).encode(),
            huge.clone(),
        ];
        let body = SseBody::new(stream::iter(items.into_iter().map(Ok::<_, Infallible>)))
            .__server_copies_frames();
        let frames: Vec<Bytes> = body.into_data_stream().map(Result::unwrap).collect().await;
        assert_eq!(frames.len(), 2, "{frames:?}");
        assert_eq!(frames[0].len(), 2 * large.len() + wire([3]).len());
        assert_eq!(frames[1].as_ptr(), huge.as_bytes().as_ptr(), "copied");
    }

    /// While frames come out full (a burst), the next frame's buffer is made whole at
    /// once instead of growing; once a frame is not full, buffers start small again.
    #[tokio::test]
    async fn a_burst_gets_whole_frames_at_once_and_a_trickle_small_ones() {
        let one = event(1).encode().len();
        let (tx, body) = channel_body();
        let mut body = body.max_frame_size(100 * one);
        for n in 1..=300 {
            tx.send(Ok(event(n))).unwrap();
        }
        let _ = next_ready(&mut body).await.unwrap();
        assert!(body.bursting, "a full frame did not start a burst");
        let builder = |bursting| {
            let mut frame = FrameBuilder::new(
                Some(event(1).encode().into_bytes()),
                100 * one,
                PASS_THROUGH,
                bursting,
            );
            frame.push(event(2).encode().into_bytes()).unwrap();
            frame.buf.as_ref().map_or(0, BytesMut::capacity)
        };
        assert!(builder(true) >= 100 * one);
        assert!(builder(false) < 100 * one);
        // The rest of the burst, then a frame that is not full ends it.
        // (Yielding renews the task's budget: tokio's channel stops at its end.)
        loop {
            tokio::task::yield_now().await;
            if next_ready(&mut body).await.is_none() {
                break;
            }
        }
        tx.send(Ok(event(301))).unwrap();
        tokio::task::yield_now().await;
        assert_eq!(next_ready(&mut body).await.unwrap(), wire([301]));
        assert!(
            !body.bursting,
            "a frame that was not full kept the burst on"
        );
    }

    #[tokio::test]
    async fn frames_are_capped_and_big_events_go_whole() {
        let one = wire([1]).len();
        let body = SseBody::new(stream::iter((1..=5).map(|n| Ok::<_, Infallible>(event(n)))))
            .max_frame_size(2 * one);
        let frames: Vec<Bytes> = body.into_data_stream().map(Result::unwrap).collect().await;
        assert_eq!(frames, vec![wire(1..=2), wire(3..=4), wire([5])]);

        let big = Event::default().data("x".repeat(100));
        let body = SseBody::new(stream::iter([
            Ok::<_, Infallible>(event(1)),
            Ok(big.clone()),
            Ok(event(2)),
        ]))
        .max_frame_size(10);
        let frames: Vec<Bytes> = body.into_data_stream().map(Result::unwrap).collect().await;
        assert_eq!(
            frames,
            vec![wire([1]), big.encode().into_bytes(), wire([2])]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn no_keep_alive_while_events_flow() {
        let (tx, body) = channel_body();
        let mut body = body.keep_alive(KeepAlive::new().interval(Duration::from_secs(10)));
        assert_eq!(next_ready(&mut body).await, None);
        for n in 1..=10 {
            tokio::time::advance(Duration::from_secs(6)).await;
            assert_eq!(next_ready(&mut body).await, None, "keep-alive at event {n}");
            tx.send(Ok(event(n))).unwrap();
            assert_eq!(next_ready(&mut body).await, Some(wire([n])));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn keep_alive_after_idle_time_then_again_after_another_interval() {
        let (tx, body) = channel_body();
        let mut body = body.keep_alive(
            KeepAlive::new()
                .interval(Duration::from_secs(10))
                .text("ka"),
        );
        let start = Instant::now();
        assert_eq!(next_ready(&mut body).await, None);

        let frame = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(frame, &b": ka\n\n"[..]);
        assert_eq!(start.elapsed(), Duration::from_secs(10));

        let frame = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(frame, &b": ka\n\n"[..]);
        assert_eq!(start.elapsed(), Duration::from_secs(20));

        // An event restarts the interval.
        tokio::time::advance(Duration::from_secs(5)).await;
        tx.send(Ok(event(1))).unwrap();
        assert_eq!(next_ready(&mut body).await, Some(wire([1])));
        let frame = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(frame, &b": ka\n\n"[..]);
        assert_eq!(start.elapsed(), Duration::from_secs(35));
    }

    #[tokio::test(start_paused = true)]
    async fn keep_alive_is_never_inside_an_event_or_empty() {
        let (tx, body) = channel_body();
        let mut body = body.keep_alive(KeepAlive::new().interval(Duration::from_millis(5)));
        let mut all = BytesMut::new();
        for n in 0..50_u32 {
            if n % 5 == 0 {
                tx.send(Ok(event(n))).unwrap();
            }
            tokio::time::advance(Duration::from_millis(2)).await;
            while let Some(frame) = next_ready(&mut body).await {
                assert!(!frame.is_empty(), "zero-byte frame");
                assert!(
                    frame.ends_with(b"\n\n"),
                    "a frame ends inside an event: {frame:?}"
                );
                all.put_slice(&frame);
            }
        }
        drop(tx);
        let mut decoder = crate::decode::Decoder::new().comments(true);
        let items: Vec<_> = decoder.decode(&all).unwrap().collect();
        let events = items
            .iter()
            .filter(|i| matches!(i, crate::decode::Decoded::Event(_)))
            .count();
        let comments = items
            .iter()
            .filter(|i| matches!(i, crate::decode::Decoded::Comment(_)))
            .count();
        assert_eq!(events, 10);
        assert!(comments > 0, "no keep-alive in the idle gaps");
    }

    #[tokio::test(start_paused = true)]
    async fn without_keep_alive_an_idle_body_stays_pending() {
        let (_tx, mut body) = channel_body();
        assert_eq!(next_ready(&mut body).await, None);
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert_eq!(next_ready(&mut body).await, None);
    }

    #[tokio::test]
    async fn initial_event_is_sent_at_once_with_what_is_ready() {
        let (tx, body) = channel_body();
        let retry = Event::default().retry(Duration::from_secs(5));
        let mut body = body.initial_event(retry.clone());
        assert_eq!(
            next_ready(&mut body).await,
            Some(retry.encode().into_bytes())
        );

        let (tx2, body) = channel_body();
        tx2.send(Ok(event(1))).unwrap();
        let mut body = body.initial_event(retry.clone());
        let mut expected = BytesMut::from(&retry.encode().as_bytes()[..]);
        expected.put_slice(&wire([1]));
        assert_eq!(next_ready(&mut body).await, Some(expected.freeze()));
        drop((tx, tx2));
    }

    #[tokio::test]
    async fn an_error_ends_the_body_after_the_events_before_it() {
        let body = SseBody::new(stream::iter([
            Ok(event(1)),
            Err::<Event, BoxError>("boom".into()),
            Ok(event(2)),
        ]));
        let mut body = std::pin::pin!(body);
        let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(first, wire([1]));
        let error = body.frame().await.unwrap().unwrap_err();
        assert_eq!(error.to_string(), "boom");
        assert!(body.is_end_stream());
        assert!(body.frame().await.is_none());
    }

    #[tokio::test]
    async fn an_error_first_is_returned_at_once() {
        let body = SseBody::new(stream::iter([Err::<Event, _>(std::io::Error::other("io"))]));
        let mut body = std::pin::pin!(body);
        assert_eq!(body.frame().await.unwrap().unwrap_err().to_string(), "io");
        assert!(body.frame().await.is_none());
    }

    #[tokio::test]
    async fn on_error_turns_the_error_into_a_last_event_and_ends_cleanly() {
        let body = SseBody::new(stream::iter([
            Ok(event(1)),
            Err::<Event, BoxError>("db down".into()),
            Ok(event(2)),
        ]))
        .on_error(|error| {
            Event::default()
                .event(crate::EventType::from_static("error"))
                .data(error.to_string())
        });
        let collected = BodyExt::collect(body).await.unwrap().to_bytes();
        assert_eq!(
            collected,
            [&wire([1])[..], b"event: error\ndata: db down\n\n"].concat()
        );
    }

    #[tokio::test]
    async fn shutdown_ends_an_idle_body_after_its_last_event() {
        let (tx, body) = channel_body();
        let (trigger, signal) = crate::shutdown::Shutdown::new();
        let mut body = body.shutdown(
            signal,
            Some(
                Event::default()
                    .event(crate::EventType::from_static("bye"))
                    .data(""),
            ),
        );
        tx.send(Ok(event(1))).unwrap();
        assert_eq!(next_ready(&mut body).await, Some(wire([1])));
        assert_eq!(next_ready(&mut body).await, None);
        trigger.fire();
        assert_eq!(
            next_ready(&mut body).await,
            Some(Bytes::from_static(b"event: bye\ndata: \n\n"))
        );
        assert!(body.frame().await.is_none(), "the body did not end");
        // The stream is still open: the signal alone ended the body.
        assert!(!tx.is_closed());
    }

    #[tokio::test]
    async fn shutdown_without_a_last_event_just_ends() {
        let (_tx, body) = channel_body();
        let (trigger, signal) = crate::shutdown::Shutdown::new();
        let mut body = body.keep_alive(KeepAlive::default()).shutdown(signal, None);
        assert_eq!(next_ready(&mut body).await, None);
        trigger.fire();
        assert!(body.frame().await.is_none());
    }

    #[tokio::test]
    async fn end_of_stream_ends_the_body() {
        let mut body = SseBody::new(stream::iter([Ok::<_, Infallible>(event(1))]));
        assert!(!body.is_end_stream());
        assert_eq!(next_ready(&mut body).await, Some(wire([1])));
        assert!(body.is_end_stream());
        assert!(body.frame().await.is_none());
        let empty = SseBody::new(stream::empty::<Result<Event, Infallible>>());
        assert!(BodyExt::collect(empty).await.unwrap().to_bytes().is_empty());
    }

    #[tokio::test]
    async fn the_body_is_also_a_stream_of_bytes() {
        let body = SseBody::new(stream::iter((1..=3).map(|n| Ok::<_, Infallible>(event(n)))));
        let chunks: Vec<Bytes> = body.map(Result::unwrap).collect().await;
        assert_eq!(chunks.concat(), wire(1..=3));
    }

    #[test]
    fn response_has_the_sse_headers_and_no_length() {
        let response = SseBody::new(stream::empty::<Result<Event, Infallible>>()).into_response();
        assert_eq!(response.status(), http::StatusCode::OK);
        for (name, value) in crate::response::RESPONSE_HEADERS {
            assert_eq!(response.headers()[name], value);
        }
        assert!(response.headers().get("content-length").is_none());
        assert_eq!(Body::size_hint(response.body()).exact(), None);
    }

    use futures_util::StreamExt;
}
