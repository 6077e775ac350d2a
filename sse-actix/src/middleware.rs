//! [`SseMiddleware`]: the actix-web counterpart of sse-rs's tower `SseLayer`, with the
//! same logic below it ([`StreamLimit`], [`Shutdown`]).

use std::future::{ready, Ready};
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
use sse_rs::adapter::{StreamGate, StreamGuard};
use sse_rs::limit::{Refusal, StreamLimit};
use sse_rs::shutdown::Shutdown;

/// actix-web middleware for event-stream endpoints:
///
/// - puts the request's [`sse_rs::LastEventId`] into its extensions;
/// - limits how many event streams are open at once ([`StreamLimit`]: over the
///   limit, a browser is told to retry later with a `200` and a `retry:` field);
/// - ends every event-stream response when a [`Shutdown`] signal fires.
///
/// What counts is the response: every response that is an event stream holds a slot
/// until its body ends or is dropped, whether or not the request said
/// `Accept: text/event-stream`. A request that does say so takes its slot before the
/// handler runs; a response that is not an event stream gives the slot back at once.
/// The logic is the core's [`StreamGate`], the same as the tower `SseLayer`'s.
///
/// ```
/// use actix_web::App;
/// use sse_actix::limit::StreamLimit;
/// use sse_actix::middleware::SseMiddleware;
/// use sse_actix::Shutdown;
///
/// let (trigger, signal) = Shutdown::new();
/// let app = App::new().wrap(SseMiddleware::new().limit(StreamLimit::new(1000)).shutdown(signal));
/// # let _ = (trigger, app);
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct SseMiddleware {
    gate: StreamGate,
}

impl SseMiddleware {
    /// Middleware that only adds `LastEventId` to request extensions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Limits open event streams.
    pub fn limit(mut self, limit: StreamLimit) -> Self {
        self.gate = self.gate.limit(limit);
        self
    }

    /// Ends every event-stream response body when `signal` fires.
    pub fn shutdown(mut self, signal: Shutdown) -> Self {
        self.gate = self.gate.shutdown(signal);
        self
    }

    /// How many more event streams may open now (`None` without a limit).
    #[must_use]
    pub fn available_streams(&self) -> Option<usize> {
        self.gate.stream_limit().map(StreamLimit::available)
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
            .get(sse_rs::LastEventId::HEADER)
            .map_or_else(sse_rs::LastEventId::none, |value| {
                sse_rs::LastEventId::from_bytes(value.as_bytes())
            });
        request.extensions_mut().insert(last);

        let accept = request.headers().get_all(ACCEPT).map(HeaderValue::as_bytes);
        let admission = match self.config.gate.request(accept) {
            Ok(admission) => admission,
            Err(refusal) => {
                let refusal = refusal_response(&refusal);
                return Box::pin(ready(Ok(request
                    .into_response(refusal)
                    .map_into_right_body())));
            }
        };

        let future = self.service.call(request);
        Box::pin(async move {
            let response = future.await?;
            let content_type = response
                .headers()
                .get(CONTENT_TYPE)
                .map(HeaderValue::as_bytes);
            match admission.response(content_type) {
                Ok(guard) => {
                    Ok(response.map_body(|_, body| EitherBody::left(SlotBody { body, guard })))
                }
                // An event stream over the limit: drop it, answer the refusal.
                Err(refusal) => Ok(response
                    .into_response(refusal_response(&refusal))
                    .map_into_right_body()),
            }
        })
    }
}

fn refusal_response(refusal: &Refusal) -> HttpResponse<BoxBody> {
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

pin_project_lite::pin_project! {
    /// The response body of [`SseMiddleware`]: the inner body, holding its stream slot
    /// until it ends or is dropped, and ending when the shutdown signal fires (after
    /// what the body has ready then, such as an `Sse`'s last event).
    pub struct SlotBody<B> {
        #[pin]
        body: B,
        guard: StreamGuard,
    }
}

impl<B> std::fmt::Debug for SlotBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlotBody")
            .field("guard", &self.guard)
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
        let mut body = this.body;
        this.guard.poll_next(cx, |cx| body.as_mut().poll_next(cx))
    }
}
