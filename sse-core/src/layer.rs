//! [`SseLayer`]: tower middleware for event-stream endpoints.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use sync_wrapper::SyncWrapper;

use crate::adapter::{accepts_event_stream, is_event_stream};
use crate::limit::{Refusal, StreamLimit, StreamSlot};
use crate::shutdown::Shutdown;
use crate::{BoxError, LastEventId};

/// Tower middleware for event-stream endpoints (feature `tower`):
///
/// - puts the request's [`LastEventId`] into its extensions;
/// - limits how many event streams are open at once;
/// - ends every event stream when a [`Shutdown`] signal fires.
///
/// ```
/// use std::time::Duration;
/// use sse_rs_core::shutdown::Shutdown;
/// use sse_rs_core::layer::SseLayer;
/// use sse_rs_core::limit::StreamLimit;
///
/// let (trigger, signal) = Shutdown::new();
/// let layer = SseLayer::new()
///     .limit(StreamLimit::new(1000).back_off(Duration::from_secs(5)))
///     .shutdown(signal);
/// // axum: Router::new().route("/events", get(handler)).layer(layer)
/// # let _ = (trigger, layer);
/// ```
///
/// # Over the limit
///
/// A browser's `EventSource` gives up for good on any status but 200, so by default a
/// request over the limit gets `200` with one `retry:` field and an immediate end: the
/// browser backs off, reconnects, and gets in once other streams have ended. `503`
/// with `Retry-After` is an option for other clients; see [`StreamLimit`].
///
/// A request counts as an event-stream request when it accepts `text/event-stream`
/// (`EventSource` always sends that `Accept` header); it holds its slot until its
/// response body ends or is dropped. A response that turns out not to be an event
/// stream gives its slot back at once.
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct SseLayer {
    limit: Option<StreamLimit>,
    shutdown: Option<Shutdown>,
}

impl SseLayer {
    /// A layer that only adds `LastEventId` to request extensions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Allows at most `streams` event streams open at once through this layer (and
    /// its clones), with the default answer over the limit; see
    /// [`limit`](SseLayer::limit) to choose another.
    pub fn max_streams(self, streams: usize) -> Self {
        self.limit(StreamLimit::new(streams))
    }

    /// Limits open event streams with `limit` (see [`StreamLimit`] for what a
    /// request over the limit gets).
    pub fn limit(mut self, limit: StreamLimit) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Ends every event-stream response body when `signal` fires.
    pub fn shutdown(mut self, signal: Shutdown) -> Self {
        self.shutdown = Some(signal);
        self
    }

    /// How many more event streams may open now (`None` without a limit).
    #[must_use]
    pub fn available_streams(&self) -> Option<usize> {
        self.limit.as_ref().map(StreamLimit::available)
    }
}

impl<S> tower_layer::Layer<S> for SseLayer {
    type Service = SseService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SseService {
            inner,
            config: self.clone(),
        }
    }
}

/// The service made by [`SseLayer`].
#[derive(Clone, Debug)]
pub struct SseService<S> {
    inner: S,
    config: SseLayer,
}

fn wants_event_stream<B>(request: &Request<B>) -> bool {
    accepts_event_stream(
        request
            .headers()
            .get_all(ACCEPT)
            .iter()
            .map(HeaderValue::as_bytes),
    )
}

fn is_event_stream_response<B>(response: &Response<B>) -> bool {
    is_event_stream(
        response
            .headers()
            .get(CONTENT_TYPE)
            .map(HeaderValue::as_bytes),
    )
}

impl<S, ReqBody, ResBody> tower_service::Service<Request<ReqBody>> for SseService<S>
where
    S: tower_service::Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Body<Data = Bytes>,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<SseLayerBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let last = LastEventId::from_headers(request.headers());
        request.extensions_mut().insert(last);
        let mut permit = None;
        if let Some(limit) = &self.config.limit {
            if wants_event_stream(&request) {
                match limit.try_acquire() {
                    Some(slot) => permit = Some(slot),
                    None => {
                        return ResponseFuture {
                            state: State::Ready {
                                response: Some(refusal_response(&limit.refusal())),
                            },
                        };
                    }
                }
            }
        }
        ResponseFuture {
            state: State::Inner {
                future: self.inner.call(request),
                permit,
                shutdown: self.config.shutdown.clone(),
            },
        }
    }
}

fn refusal_response<B>(refusal: &Refusal) -> Response<SseLayerBody<B>> {
    let mut response = Response::new(SseLayerBody::once(refusal.body.clone()));
    *response.status_mut() = StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::OK);
    for (name, value) in &refusal.headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            response.headers_mut().insert(*name, value);
        }
    }
    response
}

pin_project! {
    /// The response future of [`SseService`].
    pub struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        // Waiting for the inner service.
        Inner {
            #[pin]
            future: F,
            permit: Option<StreamSlot>,
            shutdown: Option<Shutdown>,
        },
        // Answered without the inner service (over the limit).
        Ready {
            response: Option<Response<SseLayerBody<()>>>,
        },
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Output = Result<Response<SseLayerBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner {
                future,
                permit,
                shutdown,
            } => {
                let response = match future.poll(cx) {
                    Poll::Ready(Ok(response)) => response,
                    Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                    Poll::Pending => return Poll::Pending,
                };
                let (permit, shutdown) = if is_event_stream_response(&response) {
                    (permit.take(), shutdown.take())
                } else {
                    (None, None)
                };
                Poll::Ready(Ok(
                    response.map(|body| SseLayerBody::wrap(body, permit, shutdown))
                ))
            }
            StateProj::Ready { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response.map(SseLayerBody::retype))),
                None => Poll::Pending,
            },
        }
    }
}

type SignalFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

pin_project! {
    /// The response body of [`SseService`]: the inner body, which holds its stream
    /// slot until it ends or is dropped and ends when the shutdown signal fires; or the
    /// layer's own short answer over the limit.
    pub struct SseLayerBody<B> {
        #[pin]
        inner: Option<B>,
        once: Option<Bytes>,
        permit: Option<StreamSlot>,
        shutdown: Option<SyncWrapper<SignalFuture>>,
        stopping: bool,
    }
}

impl<B> SseLayerBody<B> {
    fn wrap(body: B, permit: Option<StreamSlot>, shutdown: Option<Shutdown>) -> Self {
        Self {
            inner: Some(body),
            once: None,
            permit,
            shutdown: shutdown
                .map(|signal| SyncWrapper::new(Box::pin(signal.wait()) as SignalFuture)),
            stopping: false,
        }
    }

    fn once(bytes: Bytes) -> Self {
        Self {
            inner: None,
            once: (!bytes.is_empty()).then_some(bytes),
            permit: None,
            shutdown: None,
            stopping: false,
        }
    }

    fn retype<C>(self) -> SseLayerBody<C> {
        SseLayerBody {
            inner: None,
            once: self.once,
            permit: None,
            shutdown: None,
            stopping: false,
        }
    }
}

impl<B> fmt::Debug for SseLayerBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseLayerBody")
            .field("holds_a_slot", &self.permit.is_some())
            .finish_non_exhaustive()
    }
}

impl<B> Body for SseLayerBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        if let Some(bytes) = this.once.take() {
            return Poll::Ready(Some(Ok(Frame::data(bytes))));
        }
        if let Some(signal) = this.shutdown.as_mut() {
            if signal.get_mut().as_mut().poll(cx).is_ready() {
                *this.shutdown = None;
                *this.stopping = true;
            }
        }
        if *this.stopping {
            // Shutting down: pass on what the body has ready now (an `SseBody` with
            // the same signal sends its last event), then end and give the slot back.
            if let Some(inner) = this.inner.as_mut().as_pin_mut() {
                if let Poll::Ready(Some(frame)) = inner.poll_frame(cx) {
                    return Poll::Ready(Some(frame.map_err(Into::into)));
                }
            }
            this.inner.set(None);
            *this.permit = None;
            return Poll::Ready(None);
        }
        let Some(inner) = this.inner.as_mut().as_pin_mut() else {
            return Poll::Ready(None);
        };
        match inner.poll_frame(cx) {
            Poll::Ready(None) => {
                this.inner.set(None);
                *this.permit = None;
                Poll::Ready(None)
            }
            Poll::Ready(Some(frame)) => Poll::Ready(Some(frame.map_err(Into::into))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.once.is_none() && self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.inner, &self.once) {
            (_, Some(bytes)) => SizeHint::with_exact(bytes.len() as u64),
            (Some(inner), None) => inner.size_hint(),
            (None, None) => SizeHint::with_exact(0),
        }
    }
}
