//! [`ResponseFuture`]: the response future of [`SseService`](super::SseService).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::Response;
use http_body::Body;
use pin_project_lite::pin_project;

use super::SseLayerBody;
use crate::adapter::Admission;
use crate::limit::Refusal;
use crate::BoxError;

pin_project! {
    /// The response future of [`SseService`](super::SseService).
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
            admission: Option<Admission>,
        },
        // Answered without the inner service (over the limit).
        Ready {
            response: Option<Response<SseLayerBody<()>>>,
        },
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn inner(future: F, admission: Admission) -> Self {
        Self {
            state: State::Inner {
                future,
                admission: Some(admission),
            },
        }
    }

    pub(super) fn refused(refusal: &Refusal) -> Self {
        Self {
            state: State::Ready {
                response: Some(refusal_response(refusal)),
            },
        }
    }
}

/// The refusal as an `http` response.
fn refusal_response<B>(refusal: &Refusal) -> Response<SseLayerBody<B>> {
    refusal.to_http().map(SseLayerBody::once)
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
            StateProj::Inner { future, admission } => {
                let response = match future.poll(cx) {
                    Poll::Ready(Ok(response)) => response,
                    Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                    Poll::Pending => return Poll::Pending,
                };
                let Some(admission) = admission.take() else {
                    return Poll::Pending;
                };
                let content_type = response
                    .headers()
                    .get(CONTENT_TYPE)
                    .map(HeaderValue::as_bytes);
                Poll::Ready(Ok(match admission.response(content_type) {
                    Ok(guard) => response.map(|body| SseLayerBody::wrap(body, guard)),
                    // An event stream over the limit: drop it, answer the refusal.
                    Err(refusal) => refusal_response(&refusal),
                }))
            }
            StateProj::Ready { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response.map(SseLayerBody::retype))),
                None => Poll::Pending,
            },
        }
    }
}
