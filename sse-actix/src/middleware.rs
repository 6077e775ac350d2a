//! [`SseMiddleware`]: the actix-web counterpart of sse-rs-core's tower `SseLayer`, with
//! the same core logic ([`StreamLimit`], [`Shutdown`]).

use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, BoxBody, EitherBody, MessageBody};
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{HttpMessage, HttpResponse};
use futures_util::future::LocalBoxFuture;
use sse_rs_core::limit::{StreamLimit, StreamSlot};
use sse_rs_core::shutdown::Shutdown;

/// actix-web middleware for event-stream endpoints:
///
/// - puts the request's [`sse_rs_core::LastEventId`] into its extensions;
/// - limits how many event streams are open at once ([`StreamLimit`]: over the
///   limit, a browser is told to retry later with a `200` and a `retry:` field);
/// - ends every event-stream response when a [`Shutdown`] signal fires.
///
/// A request counts as an event-stream request when it accepts `text/event-stream`;
/// it holds its slot until its response body ends or is dropped, and a response that
/// is not an event stream gives the slot back at once.
///
/// ```
/// use actix_web::App;
/// use sse_actix::limit::StreamLimit;
/// use sse_actix::{Shutdown, SseMiddleware};
///
/// let (trigger, signal) = Shutdown::new();
/// let app = App::new().wrap(SseMiddleware::new().limit(StreamLimit::new(1000)).shutdown(signal));
/// # let _ = (trigger, app);
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct SseMiddleware {
    limit: Option<StreamLimit>,
    shutdown: Option<Shutdown>,
}

impl SseMiddleware {
    /// Middleware that only adds `LastEventId` to request extensions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Limits open event streams.
    pub fn limit(mut self, limit: StreamLimit) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Ends every event-stream response body when `signal` fires.
    pub fn shutdown(mut self, signal: Shutdown) -> Self {
        self.shutdown = Some(signal);
        self
    }
}

impl<S, B> Transform<S, ServiceRequest> for SseMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<SlotBody<B>>>;
    type Error = actix_web::Error;
    type Transform = SseMiddlewareService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(SseMiddlewareService {
            service: Rc::new(service),
            config: self.clone(),
        }))
    }
}

/// The service made by [`SseMiddleware`].
#[derive(Debug)]
pub struct SseMiddlewareService<S> {
    service: Rc<S>,
    config: SseMiddleware,
}

impl<S, B> Service<ServiceRequest> for SseMiddlewareService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<SlotBody<B>>>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let last = request
            .headers()
            .get(sse_rs_core::LastEventId::HEADER)
            .map_or_else(sse_rs_core::LastEventId::none, |value| {
                sse_rs_core::LastEventId::from_bytes(value.as_bytes())
            });
        request.extensions_mut().insert(last);

        let mut slot = None;
        if let Some(limit) = &self.config.limit {
            let accept = request.headers().get_all(ACCEPT).map(HeaderValue::as_bytes);
            if sse_rs_core::adapter::accepts_event_stream(accept) {
                match limit.try_acquire() {
                    Some(acquired) => slot = Some(acquired),
                    None => {
                        let refusal = refusal_response(&limit.refusal());
                        return Box::pin(ready(Ok(request
                            .into_response(refusal)
                            .map_into_right_body())));
                    }
                }
            }
        }

        let shutdown = self.config.shutdown.clone();
        let future = self.service.call(request);
        Box::pin(async move {
            let response = future.await?;
            let content_type = response
                .headers()
                .get(CONTENT_TYPE)
                .map(HeaderValue::as_bytes);
            let (slot, shutdown) = if sse_rs_core::adapter::is_event_stream(content_type) {
                (slot, shutdown)
            } else {
                (None, None)
            };
            Ok(response.map_body(|_, body| {
                EitherBody::left(SlotBody {
                    body,
                    slot,
                    shutdown: shutdown.map(|signal| Box::pin(signal.wait()) as SignalFuture),
                    stopping: false,
                    done: false,
                })
            }))
        })
    }
}

fn refusal_response(refusal: &sse_rs_core::limit::Refusal) -> HttpResponse<BoxBody> {
    let status = StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::OK);
    let mut response = HttpResponse::with_body(status, BoxBody::new(refusal.body.clone()));
    for (name, value) in &refusal.headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
    }
    response
}

type SignalFuture = Pin<Box<dyn Future<Output = ()>>>;

pin_project_lite::pin_project! {
    /// The response body of [`SseMiddleware`]: the inner body, holding its stream slot
    /// until it ends or is dropped, and ending when the shutdown signal fires (after
    /// what the body has ready then, such as an `Sse`'s last event).
    pub struct SlotBody<B> {
        #[pin]
        body: B,
        slot: Option<StreamSlot>,
        shutdown: Option<SignalFuture>,
        stopping: bool,
        done: bool,
    }
}

impl<B> std::fmt::Debug for SlotBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlotBody")
            .field("holds_a_slot", &self.slot.is_some())
            .finish_non_exhaustive()
    }
}

impl<B: MessageBody> MessageBody for SlotBody<B> {
    type Error = B::Error;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.project();
        if *this.done {
            return Poll::Ready(None);
        }
        if let Some(signal) = this.shutdown {
            if signal.as_mut().poll(cx).is_ready() {
                *this.shutdown = None;
                *this.stopping = true;
            }
        }
        match this.body.poll_next(cx) {
            Poll::Ready(Some(chunk)) => Poll::Ready(Some(chunk)),
            Poll::Pending if !*this.stopping => Poll::Pending,
            // The end, or shutting down with nothing more ready: give the slot back.
            _ => {
                *this.done = true;
                *this.slot = None;
                Poll::Ready(None)
            }
        }
    }
}
