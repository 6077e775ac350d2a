//! [`SseService`]: the service made by [`SseLayer`](super::SseLayer).

use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{HeaderValue, ACCEPT};
use http::{Request, Response};
use http_body::Body;

use super::{ResponseFuture, SseLayerBody};
use crate::adapter::StreamGate;
use crate::{BoxError, LastEventId};

/// The service made by [`SseLayer`](super::SseLayer).
#[derive(Clone, Debug)]
pub struct SseService<S> {
    inner: S,
    gate: StreamGate,
}

impl<S> SseService<S> {
    pub(super) fn new(inner: S, gate: StreamGate) -> Self {
        Self { inner, gate }
    }
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
        let accept = request
            .headers()
            .get_all(ACCEPT)
            .iter()
            .map(HeaderValue::as_bytes);
        match self.gate.request(accept) {
            Ok(admission) => ResponseFuture::inner(self.inner.call(request), admission),
            Err(refusal) => ResponseFuture::refused(&refusal),
        }
    }
}
