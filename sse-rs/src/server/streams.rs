//! The streams of one connection: a progress deadline for every HTTP/2 stream, and a
//! cap on the event streams one connection may hold.
//!
//! Over HTTP/2 a client that never grants flow-control window (`SETTINGS_INITIAL_
//! WINDOW_SIZE = 0`, no `WINDOW_UPDATE`) and keeps reading the socket holds its streams
//! forever: the connection is not stalled (PING and SETTINGS flow), so the
//! [`StallGuard`](super::StallGuard) never fires, and hyper never polls a body it is
//! not allowed to send. Each stream is therefore watched on its own: hyper spawns it
//! through [`StreamExecutor`], which runs it with a [`Progress`] its response body
//! updates. A body that has yielded a frame (or has been made) and has not been polled
//! again for the stall timeout is waiting on the client: the stream's task ends, hyper's
//! handles to it drop, and h2 resets it (`RST_STREAM`), giving back its slot, its
//! subscription and its buffers, while the connection's other streams go on.
//!
//! Over HTTP/1.1 a connection carries one stream at a time and the stall guard on the
//! socket covers it; the executor is only used for HTTP/2 streams.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};

use super::timeout::{BodyTimeout, ReadTimeoutBody};
use crate::adapter::is_event_stream;
use crate::limit::{StreamLimit, StreamSlot};

tokio::task_local! {
    /// The progress of the HTTP/2 stream whose task is running.
    static STREAM: Arc<Progress>;
}

/// Whether one HTTP/2 stream's body is waiting on the client: since when hyper has not
/// polled it again after it had something to send. Set on every frame, so it is one
/// atomic store (no lock); `0` means not waiting.
#[derive(Debug, Default)]
pub(super) struct Progress {
    /// Nanoseconds from [`origin`] to the start of the wait, plus one.
    waiting_since: AtomicU64,
}

/// The instant [`Progress`] counts from: the first time any stream needed one.
fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

impl Progress {
    fn set(&self, since: Option<Instant>) {
        let nanos = since.map_or(0, |since| {
            let nanos = since.saturating_duration_since(origin()).as_nanos();
            u64::try_from(nanos).unwrap_or(u64::MAX - 1) + 1
        });
        self.waiting_since.store(nanos, Ordering::Relaxed);
    }

    fn waiting_since(&self) -> Option<Instant> {
        match self.waiting_since.load(Ordering::Relaxed) {
            0 => None,
            nanos => Some(origin() + Duration::from_nanos(nanos - 1)),
        }
    }

    /// The progress of the stream being served now, if it is an HTTP/2 stream of a
    /// [`StreamExecutor`].
    fn current() -> Option<Arc<Self>> {
        STREAM.try_with(Arc::clone).ok()
    }
}

/// Spawns hyper's HTTP/2 stream tasks on tokio, each watched for progress: see the
/// [module docs](self).
#[derive(Clone, Debug)]
pub(super) struct StreamExecutor {
    pub(super) stall: Duration,
}

impl<F> hyper::rt::Executor<F> for StreamExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        let progress = Arc::new(Progress::default());
        tokio::spawn(Watched {
            inner: STREAM.scope(Arc::clone(&progress), future),
            progress,
            stall: self.stall,
            sleep: None,
        });
    }
}

pin_project! {
    /// One HTTP/2 stream's task, ended when its body has waited on the client for the
    /// stall timeout.
    struct Watched<F: Future> {
        #[pin]
        inner: tokio::task::futures::TaskLocalFuture<Arc<Progress>, F>,
        progress: Arc<Progress>,
        stall: Duration,
        // Made the first time the stream waits on its client, then reset in place.
        sleep: Option<Pin<Box<Sleep>>>,
    }
}

impl<F: Future> Future for Watched<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        if this.inner.poll(cx).is_ready() {
            return Poll::Ready(());
        }
        // Every change of the progress happens while the stream's task runs (hyper
        // polls the body from it), so it is read here, after each run.
        let Some(since) = this.progress.waiting_since() else {
            return Poll::Pending;
        };
        let deadline = since + *this.stall;
        // The timer is moved only when it would fire too late (rarely: the first wait,
        // or a wait that began earlier than the one it was set for) or when it fired
        // early; a stream that makes progress only moves `since`, not the timer wheel.
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if sleep.deadline() > deadline {
            sleep.as_mut().reset(deadline);
        }
        while sleep.as_mut().poll(cx).is_ready() {
            if Instant::now() >= deadline {
                // Dropping the task drops hyper's handles to the stream: h2 resets it.
                crate::metrics::__record::stalled_close();
                return Poll::Ready(());
            }
            // Set for an earlier wait that ended: wait for this one's deadline.
            sleep.as_mut().reset(deadline);
        }
        Poll::Pending
    }
}

/// The service of one connection: the request body's read timeout, and its cap on
/// event streams (`None`: no cap).
#[derive(Clone)]
pub(super) struct ConnectionService<S> {
    pub(super) inner: BodyTimeout<S>,
    pub(super) event_streams: Option<StreamLimit>,
}

impl<S, B> tower_service::Service<http::Request<Incoming>> for ConnectionService<S>
where
    S: tower_service::Service<
        http::Request<ReadTimeoutBody<Incoming>>,
        Response = http::Response<B>,
    >,
{
    type Response = http::Response<Served<B>>;
    type Error = S::Error;
    type Future = ServedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Incoming>) -> Self::Future {
        ServedFuture {
            inner: self.inner.call(request),
            event_streams: self.event_streams.clone(),
        }
    }
}

pin_project! {
    /// A response on its way: its body is watched and counted when it comes.
    pub(super) struct ServedFuture<F> {
        #[pin]
        inner: F,
        event_streams: Option<StreamLimit>,
    }
}

impl<F, B, E> Future for ServedFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
{
    type Output = Result<http::Response<Served<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = match this.inner.poll(cx) {
            Poll::Ready(Ok(response)) => response,
            Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
            Poll::Pending => return Poll::Pending,
        };
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .map(http::HeaderValue::as_bytes);
        let slot = match this.event_streams.as_ref() {
            Some(limit) if is_event_stream(content_type) => match limit.try_acquire() {
                Some(slot) => Some(slot),
                None => {
                    // Over the connection's cap: the stream limit's own answer.
                    let refusal = limit.refusal();
                    crate::metrics::__record::refused_stream(refusal.status);
                    return Poll::Ready(Ok(refusal.to_http().map(|bytes| Served::Refused {
                        bytes: (!bytes.is_empty()).then_some(bytes),
                    })));
                }
            },
            _ => None,
        };
        let progress = Progress::current();
        if let Some(progress) = &progress {
            // Owed a poll from now: a client that grants no window never gets one.
            progress.set(Some(Instant::now()));
        }
        Poll::Ready(Ok(response.map(|inner| Served::Body {
            inner,
            progress,
            _slot: slot,
        })))
    }
}

pin_project! {
    /// A response body as the server sends it: the service's, watched (HTTP/2) and
    /// holding its place under the connection's cap (event streams); or the cap's
    /// refusal.
    #[project = ServedProj]
    pub(super) enum Served<B> {
        Body {
            #[pin]
            inner: B,
            progress: Option<Arc<Progress>>,
            _slot: Option<StreamSlot>,
        },
        Refused {
            bytes: Option<Bytes>,
        },
    }
}

/// Frames are `Bytes` whatever the service's data type: a `Bytes` frame passes as it
/// is (taking all of a `Bytes` is a reference count, not a copy), another `Buf` is
/// copied once.
impl<B: Body> Body for Served<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project() {
            ServedProj::Body {
                inner, progress, ..
            } => {
                let polled = inner.poll_frame(cx);
                if let Some(progress) = progress {
                    // A frame out: the client owes a poll again. Anything else: the
                    // body waits on the app (or is done), not on the client.
                    let since = match &polled {
                        Poll::Ready(Some(Ok(_))) => Some(Instant::now()),
                        _ => None,
                    };
                    progress.set(since);
                }
                polled.map(|frame| {
                    frame.map(|frame| {
                        frame.map(|frame| {
                            frame.map_data(|mut data| data.copy_to_bytes(data.remaining()))
                        })
                    })
                })
            }
            ServedProj::Refused { bytes } => {
                Poll::Ready(bytes.take().map(|bytes| Ok(Frame::data(bytes))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Body { inner, .. } => inner.is_end_stream(),
            Self::Refused { bytes } => bytes.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Body { inner, .. } => inner.size_hint(),
            Self::Refused { bytes } => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |bytes| bytes.len() as u64))
            }
        }
    }
}
