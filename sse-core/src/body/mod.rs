//! [`SseBody`]: a stream of events as an HTTP response body.

use std::fmt;
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use sync_wrapper::SyncWrapper;

use crate::compress::{AcceptEncoding, Coding, Compression, Compressor};
use crate::event::{EncodedEvent, Event};
use crate::write::WriteEvent;

mod frame;
#[cfg(test)]
mod frame_tests;
mod outcome;
#[cfg(test)]
mod tests;

use outcome::Watch;
pub use outcome::{End, Outcome};

use crate::keep_alive::{KeepAlive, KeepAliveTimer};
use crate::metrics::{self, OpenStream};
pub use frame::{EventWriter, FieldId, FieldWriter};
use frame::{Spill, PASS_THROUGH, PASS_THROUGH_WHERE_COPIED, SHARED_DATA};

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
    /// Wraps any `Stream<Item = Result<T, E>>` where `T` writes events
    /// ([`WriteEvent`]: an [`Event`], an [`EncodedEvent`] encoded once and shared, or
    /// a type of the app's own that writes its fields straight into the frame) and
    /// `E` converts into a [`BoxError`].
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
    /// Events are written straight into the frame: an [`Event`] or a [`WriteEvent`]
    /// type is encoded into one buffer per frame (reused while a burst lasts, dropped
    /// when the stream goes idle), with no buffer of its own. Nothing is copied that
    /// need not be: a frame of one [`EncodedEvent`] is that event's bytes, an
    /// `EncodedEvent` of 1 KiB or more is never copied, and data of 16 KiB or more
    /// without a line break goes as it is, between its event's head and end (the
    /// server writes such pieces with one vectored write).
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
    /// body ends with that error (one poll later, so that the server writes those
    /// events out before it aborts the response). What the client sees depends on the server: hyper
    /// closes the connection without finishing the chunked body, which a browser's
    /// `EventSource` reports as an error before it reconnects (sending
    /// `Last-Event-ID`). To end cleanly instead, turn the error into a last event with
    /// [`on_error`](SseBody::on_error).
    ///
    /// # Compression
    ///
    /// Off unless set with [`compress`](SseBody::compress) (features `gzip`,
    /// `brotli`, `zstd`; see [`compress`](crate::compress) for when not to): then one
    /// compressor serves the whole stream and is flushed at the end of every frame,
    /// so no event waits for the next to be decodable.
    #[must_use]
    pub struct SseBody<S> {
        // Everything rarely set or transient, boxed together (see `Extra`): `None`
        // for a plain stream that idles, so that an idle body is its stream, one
        // pointer and the flags below. First, so that it is dropped (and the `on_end`
        // callbacks of its `ends` called) before the stream: a producer that learns
        // from the stream's drop that the client is gone finds the outcome already
        // given.
        extra: Option<Box<Extra>>,
        #[pin]
        stream: SyncWrapper<S>,
        done: bool,
        // Bytes were handed to the server: an error after them waits one turn (see
        // `poll_bytes`).
        sent: bool,
        // The error's turn was given: it is returned at the next poll.
        error_deferred: bool,
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
        T: WriteEvent,
        E: Into<BoxError>,
    {
        Self {
            extra: None,
            stream: SyncWrapper::new(stream),
            done: false,
            sent: false,
            error_deferred: false,
            bursting: false,
            server_copies: false,
            open: OpenStream::new(),
        }
    }

    fn extra_mut(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }

    fn rare_mut(&mut self) -> &mut Rare {
        self.extra_mut().rare_mut()
    }

    fn ends_mut(&mut self) -> &mut Ends {
        &mut self.rare_mut().ends
    }

    /// Whether the body holds its box of rarely set and transient things.
    #[cfg(test)]
    fn has_extra(&self) -> bool {
        self.extra.is_some()
    }

    /// Whether the body keeps a spill (a buffer, pieces, an event) for its next poll.
    #[cfg(test)]
    fn has_spill(&self) -> bool {
        self.extra
            .as_ref()
            .is_some_and(|extra| extra.spill.is_some())
    }

    /// Sends a keep-alive comment whenever the stream has been idle for its interval.
    pub fn keep_alive(mut self, keep_alive: KeepAlive) -> Self {
        self.extra_mut().keep_alive = Some(KeepAliveTimer::new(keep_alive));
        self
    }

    /// Sends `event` at once, before anything from the stream (together with the
    /// stream's events that are ready at that moment).
    ///
    /// Useful to set the client's reconnection delay up front
    /// (`Event::default().retry(..)`), or to get a byte on the wire immediately: some
    /// HTTP/2 proxies hold the response headers until the first body byte.
    pub fn initial_event(mut self, event: impl Into<EncodedEvent>) -> Self {
        self.extra_mut().spill = Some(Box::new(Spill::first(event.into().into_bytes())));
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
        self.ends_mut().on_error = Some(SyncWrapper::new(Box::new(handler)));
        self
    }

    /// Sends `event` after the stream's last one when the stream ends by itself
    /// (not after an error, a shutdown or a client that left): an explicit end that
    /// clients can tell from a dropped connection, such as OpenAI's `data: [DONE]`.
    ///
    /// ```
    /// # use futures_util::stream;
    /// use sse_rs_core::{Event, SseBody};
    ///
    /// let tokens = stream::iter(["Hel", "lo"].map(|t| Ok::<_, std::convert::Infallible>(Event::default().data(t))));
    /// let body = SseBody::new(tokens).end_event(Event::default().data("[DONE]"));
    /// ```
    pub fn end_event(mut self, event: impl Into<EncodedEvent>) -> Self {
        self.ends_mut().end_event = Some(event.into().into_bytes());
        self
    }

    /// Calls `callback` once with the stream's [`Outcome`] when the body is dropped:
    /// why it ended ([`End`]: completed, error, shutdown, or the client gone), events
    /// and bytes sent, time to the first event and duration, for logs and metrics.
    /// Callbacks set more than once are all called, in order. The clock starts when
    /// the first callback is set: set it where the body is made.
    ///
    /// The callback runs inside the server's drop of the body: keep it short and
    /// never let it panic (send the outcome to a channel, count a metric).
    ///
    /// ```
    /// # use futures_util::stream;
    /// use sse_rs_core::{End, Event, SseBody};
    ///
    /// let events = stream::iter([Ok::<_, std::convert::Infallible>(Event::default().data("hi"))]);
    /// let body = SseBody::new(events).on_end(|outcome| {
    ///     if outcome.end == End::ClientGone {
    ///         eprintln!("left after {} events", outcome.events);
    ///     }
    /// });
    /// ```
    pub fn on_end(mut self, callback: impl FnOnce(Outcome) + Send + 'static) -> Self {
        self.ends_mut()
            .watch
            .get_or_insert_with(Watch::new)
            .push(callback);
        self
    }

    /// Ends the body when `signal` fires: it stops taking events from the stream,
    /// sends `last` (if any) and ends cleanly. For graceful shutdown: see
    /// [`Shutdown`](crate::shutdown::Shutdown).
    pub fn shutdown(mut self, signal: crate::shutdown::Shutdown, last: Option<Event>) -> Self {
        let last = last.map(|event| event.encode().into_bytes());
        self.rare_mut().shutdown = Some((SyncWrapper::new(Box::pin(signal.wait())), last));
        self
    }

    /// Caps the size of a frame made of several events (default 64 KiB, at least
    /// 1): no event is added to a frame that holds this many bytes, so a frame ends
    /// within one event of the cap.
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        // The default is not stored: it needs no box.
        let bytes = bytes.max(1);
        if bytes == DEFAULT_MAX_FRAME_SIZE {
            if let Some(extra) = &mut self.extra {
                if let Some(rare) = &mut extra.rare {
                    rare.max_frame_size = None;
                }
                if extra.rare.as_ref().is_some_and(|rare| rare.is_unused()) {
                    extra.rare = None;
                }
            }
            free_if_unused(&mut self.extra);
        } else {
            self.rare_mut().max_frame_size = NonZeroUsize::new(bytes);
        }
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

    /// Compresses the stream with the coding `compression` and the request's
    /// `Accept-Encoding` agree on (see [`Compression::negotiate`]); leaves it as it
    /// is when they agree on none.
    ///
    /// One compressor serves the whole stream, flushed at the end of every frame
    /// (keep-alives included), so that each event can be decoded as soon as it
    /// arrives; the end of the stream finishes it. A compressor error ends the body
    /// with that error. The response must then carry `Content-Encoding` and
    /// `Vary: Accept-Encoding`: [`into_response`](SseBody::into_response) and every
    /// adapter of this workspace set them (see
    /// [`set_content_encoding`](crate::adapter::set_content_encoding)).
    ///
    /// Off by default, and off is the right choice for a stream that carries a secret
    /// together with text an attacker can influence: see
    /// [when not to compress](crate::compress#when-not-to-compress-secrets-next-to-attacker-controlled-text).
    /// Without the features `gzip`, `brotli` and `zstd` no coding exists and this
    /// does nothing.
    pub fn compress(self, compression: Compression, accept: &AcceptEncoding) -> Self {
        match compression.negotiate(accept) {
            Some(coding) => self.compress_with(coding, compression),
            None => self,
        }
    }

    /// Compresses the stream with `coding`, whatever the request accepts: for apps
    /// that negotiate themselves. Setting it twice replaces it.
    pub fn compress_with(mut self, coding: Coding, compression: Compression) -> Self {
        self.rare_mut().compressor = Some(Box::new(Compressor::new(coding, compression)));
        self
    }

    /// The coding the body is compressed with, for the `Content-Encoding` header;
    /// `None` when it is not compressed.
    #[must_use]
    pub fn content_encoding(&self) -> Option<Coding> {
        self.extra
            .as_deref()
            .and_then(Extra::compressor)
            .map(Compressor::coding)
    }

    /// Wraps the body in an `http::Response` with the SSE headers set
    /// (see [`set_response_headers`](crate::adapter::set_response_headers)), and
    /// `Content-Encoding` and `Vary` when the body is compressed.
    pub fn into_response(self) -> http::Response<Self> {
        let coding = self.content_encoding();
        let mut response = http::Response::new(self);
        crate::response::set_response_headers(response.headers_mut());
        crate::response::set_content_encoding(response.headers_mut(), coding);
        response
    }
}

impl<S, T, E> SseBody<S>
where
    S: Stream<Item = Result<T, E>>,
    T: WriteEvent,
    E: Into<BoxError>,
{
    fn poll_bytes(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, BoxError>>> {
        let next = self.as_mut().poll_compressed(cx);
        if let Poll::Ready(Some(Ok(bytes))) = &next {
            if let Some(watch) = watch(self.as_mut().project().extra) {
                watch.bytes(bytes.len());
            }
        }
        next
    }

    fn poll_compressed(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, BoxError>>> {
        if self
            .extra
            .as_deref()
            .is_none_or(|extra| extra.compressor().is_none())
        {
            return self.poll_plain(cx);
        }
        loop {
            let next = std::task::ready!(self.as_mut().poll_plain(cx));
            let this = self.as_mut().project();
            let Some(Extra { rare, spill, .. }) = this.extra.as_deref_mut() else {
                return Poll::Ready(next);
            };
            let Some(Rare {
                ends,
                error: waiting,
                compressor: Some(compressor),
                ..
            }) = rare.as_deref_mut()
            else {
                return Poll::Ready(next);
            };
            let compressed = match next {
                // The stream is over after this frame: finish in it.
                Some(Ok(frame)) => {
                    let last = *this.done
                        && spill.as_ref().is_none_or(|spill| spill.is_empty())
                        && waiting.is_none();
                    compressor.frame(&frame, last)
                }
                // No trailer after an error: the response is cut off anyway.
                Some(Err(error)) => {
                    compressor.abandon();
                    return Poll::Ready(Some(Err(error)));
                }
                None => compressor.finish(),
            };
            match compressed {
                Ok(bytes) if bytes.is_empty() => {
                    if compressor.is_done() && *this.done {
                        return Poll::Ready(None);
                    }
                    // Nothing to send for this frame (never a zero-byte frame): poll on.
                }
                Ok(bytes) => return Poll::Ready(Some(Ok(bytes))),
                Err(error) => {
                    *this.done = true;
                    *spill = None;
                    *waiting = None;
                    if let Some(watch) = &mut ends.watch {
                        watch.end(End::Error);
                    }
                    return Poll::Ready(Some(Err(Box::new(CompressError(error)))));
                }
            }
        }
    }

    fn poll_plain(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, BoxError>>> {
        let mut this = self.project();
        let slot = this.extra;
        // Pieces of an earlier frame go first, before an error or the end.
        let (queued, compressing, max_frame_size, spill) = match slot.as_deref_mut() {
            None => (false, false, DEFAULT_MAX_FRAME_SIZE, None),
            Some(extra) => {
                let queued = extra.spill.as_ref().is_some_and(|spill| spill.has_queued());
                if !queued && extra.has_error() {
                    return error_after_flush(extra, this.error_deferred, cx);
                }
                (
                    queued,
                    extra.compressor().is_some(),
                    extra.max_frame_size(),
                    extra.spill.as_deref_mut(),
                )
            }
        };

        let pass_through = if compressing {
            // The compressor reads every frame anyway, and flushes once per frame:
            // events of any size ready together go as one (one flush, not one each).
            usize::MAX
        } else if *this.server_copies {
            PASS_THROUGH_WHERE_COPIED
        } else {
            PASS_THROUGH
        };
        // Large one-line data goes as it is, not copied: from 16 KiB, or where the
        // server copies frames anyway from where events are no longer coalesced;
        // never when compressing (the compressor reads it all in one frame).
        let share_from = if compressing {
            usize::MAX
        } else {
            SHARED_DATA.max(pass_through)
        };
        let mut out = EventWriter::new(
            spill,
            max_frame_size,
            pass_through,
            share_from,
            *this.bursting,
        );
        let mut stream = this.stream.as_mut().get_pin_mut();
        if !queued {
            if let Some(rare) = slot
                .as_deref_mut()
                .and_then(|extra| extra.rare.as_deref_mut())
            {
                if let Some(shutdown) = &mut rare.shutdown {
                    if shutdown.0.get_mut().as_mut().poll(cx).is_ready() {
                        *this.done = true;
                        if let Some(watch) = &mut rare.ends.watch {
                            watch.end(End::Shutdown);
                        }
                        if let Some(last) = rare.shutdown.take().and_then(|shutdown| shutdown.1) {
                            out.shared(last);
                        }
                    }
                }
            }
        }
        while !queued && !*this.done && !out.is_full() {
            match stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(item))) => item.write_event(&mut out),
                Poll::Ready(Some(Err(error))) => {
                    *this.done = true;
                    if let Some(watch) = watch(slot) {
                        watch.end(End::Error);
                    }
                    let error = error.into();
                    metrics::count_stream_error(&*error);
                    let handler = slot
                        .as_deref_mut()
                        .and_then(|extra| extra.rare.as_deref_mut())
                        .and_then(|rare| rare.ends.on_error.take());
                    match handler {
                        Some(handler) => {
                            out.shared((handler.into_inner())(error).encode().into_bytes());
                        }
                        None if out.is_empty() && !*this.sent => {
                            drop(out.finish(false, slot));
                            return Poll::Ready(Some(Err(error)));
                        }
                        None => {
                            slot.get_or_insert_with(Box::default).rare_mut().error = Some(error);
                        }
                    }
                }
                Poll::Ready(None) => {
                    *this.done = true;
                    if let Some(rare) = slot
                        .as_deref_mut()
                        .and_then(|extra| extra.rare.as_deref_mut())
                    {
                        if let Some(watch) = &mut rare.ends.watch {
                            watch.end(End::Completed);
                        }
                        if let Some(last) = rare.ends.end_event.take() {
                            out.shared(last);
                        }
                    }
                }
                Poll::Pending => break,
            }
        }

        let full = if queued {
            *this.bursting
        } else {
            out.is_full()
        };
        let events = out.events;
        let bytes = out.finish(full, slot);
        *this.bursting = full;
        let Some(extra) = slot.as_deref_mut() else {
            // The usual trickle: nothing set, nothing kept.
            if let Some(bytes) = bytes {
                metrics::count_frame(events as u64, bytes.len());
                *this.sent = true;
                return Poll::Ready(Some(Ok(bytes)));
            }
            return if *this.done {
                Poll::Ready(None)
            } else {
                Poll::Pending
            };
        };
        if let Some(watch) = extra.watch() {
            watch.events(events as u64);
        }
        if let Some(bytes) = bytes {
            if let Some(keep_alive) = &mut extra.keep_alive {
                keep_alive.reset();
            }
            metrics::count_frame(events as u64, bytes.len());
            *this.sent = true;
            return Poll::Ready(Some(Ok(bytes)));
        }
        if extra.has_error() {
            return error_after_flush(extra, this.error_deferred, cx);
        }
        if *this.done {
            return Poll::Ready(None);
        }
        match &mut extra.keep_alive {
            Some(keep_alive) => keep_alive.poll_tick(cx).map(|bytes| {
                metrics::count_keep_alive(bytes.len());
                *this.sent = true;
                Some(Ok(bytes))
            }),
            None => Poll::Pending,
        }
    }
}

/// What a body holds besides its stream and its flags, boxed together because it is
/// rarely set (keep-alive, and the [`Rare`] parts) or transient (the spill of a
/// burst). Absent while none of it is there: an idle body without them holds no heap
/// of its own, and the box is freed again when a burst's spill drains.
///
/// The keep-alive timer is inline (one pointer to its shared settings and its boxed
/// sleep), the spill and the rare parts behind a box each: the box of every idle
/// stream with keep-alive is 40 bytes. A burst on a stream with nothing set makes the
/// box and its spill (two allocations, once per frame that fills up, not per event).
#[derive(Default)]
struct Extra {
    // Ends, shutdown, compression, a frame cap of its own, an error waiting for its
    // turn. First, so that its `ends` (and the `on_end` callbacks in them) are
    // dropped before the rest of the box (and the stream, see `SseBody`).
    rare: Option<Box<Rare>>,
    keep_alive: Option<KeepAliveTimer>,
    // What one poll left for the next: pieces of a frame not handed over yet, the
    // initial event, the rest of a burst's buffer. `None` while idle. Boxed: the box
    // of an idle stream with keep-alive stays small.
    spill: Option<Box<Spill>>,
}

/// What a body rarely holds, boxed together so that it costs the body's box one
/// pointer: `None` for a stream that sets none of it.
#[derive(Default)]
struct Rare {
    // How the stream ends: error handler, end event, `on_end` callbacks. First, so
    // that the callbacks are called before the rest is dropped.
    ends: Ends,
    // The stream's error, when events went before it (see `error_after_flush`).
    error: Option<BoxError>,
    shutdown: Option<(SyncWrapper<ShutdownFuture>, Option<Bytes>)>,
    // The stream's compressor, when compression is on (boxed: large).
    compressor: Option<Box<Compressor>>,
    // `None`: the default, `DEFAULT_MAX_FRAME_SIZE`.
    max_frame_size: Option<NonZeroUsize>,
}

impl Rare {
    /// Whether it holds nothing: it can go.
    fn is_unused(&self) -> bool {
        let Self {
            ends:
                Ends {
                    on_error,
                    end_event,
                    watch,
                },
            error,
            shutdown,
            compressor,
            max_frame_size,
        } = self;
        on_error.is_none()
            && end_event.is_none()
            && watch.is_none()
            && error.is_none()
            && shutdown.is_none()
            && compressor.is_none()
            && max_frame_size.is_none()
    }
}

impl Extra {
    fn rare_mut(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Box::default)
    }

    fn max_frame_size(&self) -> usize {
        self.rare
            .as_ref()
            .and_then(|rare| rare.max_frame_size)
            .map_or(DEFAULT_MAX_FRAME_SIZE, NonZeroUsize::get)
    }

    fn compressor(&self) -> Option<&Compressor> {
        self.rare.as_ref()?.compressor.as_deref()
    }

    /// Whether an error waits for its turn.
    fn has_error(&self) -> bool {
        self.rare.as_ref().is_some_and(|rare| rare.error.is_some())
    }

    /// The watch of the ends, if an `on_end` callback waits.
    fn watch(&mut self) -> Option<&mut Watch> {
        self.rare.as_mut()?.ends.watch.as_mut()
    }

    /// Whether the box holds nothing: it can go.
    fn is_unused(&self) -> bool {
        let Self {
            rare,
            keep_alive,
            spill,
        } = self;
        rare.is_none() && keep_alive.is_none() && spill.is_none()
    }
}

/// Frees the body's box if it holds nothing.
fn free_if_unused(slot: &mut Option<Box<Extra>>) {
    if slot.as_ref().is_some_and(|extra| extra.is_unused()) {
        *slot = None;
    }
}

/// How a body ends, boxed together (rarely set): the error handler, the end event,
/// and the [`Watch`] of `on_end` callbacks.
#[derive(Default)]
struct Ends {
    on_error: Option<SyncWrapper<ErrorHandler>>,
    // Sent after the stream's last event when it ends by itself.
    end_event: Option<Bytes>,
    watch: Option<Watch>,
}

/// The watch of the body's `ends`, if an `on_end` callback waits.
fn watch(extra: &mut Option<Box<Extra>>) -> Option<&mut Watch> {
    extra.as_deref_mut().and_then(Extra::watch)
}

/// The stream's error, after the bytes before it: servers abort the connection (or
/// reset the HTTP/2 stream) as soon as a body fails, dropping what they have buffered
/// but not written, which would lose the events sent just before the error. So the
/// first poll after them gives the server a turn (`Pending`, woken at once), in which
/// hyper and actix-web write out their buffers; the next returns the error.
fn error_after_flush(
    extra: &mut Extra,
    deferred: &mut bool,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<Bytes, BoxError>>> {
    if !*deferred {
        *deferred = true;
        cx.waker().wake_by_ref();
        return Poll::Pending;
    }
    match extra.rare.as_mut().and_then(|rare| rare.error.take()) {
        Some(error) => Poll::Ready(Some(Err(error))),
        None => Poll::Ready(None),
    }
}

impl<S, T, E> Body for SseBody<S>
where
    S: Stream<Item = Result<T, E>>,
    T: WriteEvent,
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
        self.done
            && self.extra.as_deref().is_none_or(|extra| {
                extra.spill.as_ref().is_none_or(|spill| spill.is_empty())
                    && !extra.has_error()
                    && extra.compressor().is_none_or(Compressor::is_done)
            })
    }

    fn size_hint(&self) -> SizeHint {
        // Unknown length: no Content-Length, the response is streamed.
        SizeHint::default()
    }
}

impl<S, T, E> Stream for SseBody<S>
where
    S: Stream<Item = Result<T, E>>,
    T: WriteEvent,
    E: Into<BoxError>,
{
    type Item = Result<Bytes, BoxError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.poll_bytes(cx)
    }
}

/// The error a body ends with when its compressor fails.
#[derive(Debug)]
struct CompressError(std::io::Error);

impl fmt::Display for CompressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the event stream could not be compressed")
    }
}

impl std::error::Error for CompressError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl<S> fmt::Debug for SseBody<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let extra = self.extra.as_deref();
        f.debug_struct("SseBody")
            .field(
                "keep_alive",
                &extra.and_then(|extra| extra.keep_alive.as_ref()),
            )
            .field("compressor", &extra.and_then(Extra::compressor))
            .field(
                "max_frame_size",
                &extra.map_or(DEFAULT_MAX_FRAME_SIZE, Extra::max_frame_size),
            )
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}
