//! [`SseLayerBody`]: the response body of [`SseService`](super::SseService).

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::adapter::StreamGuard;
use crate::BoxError;

pin_project! {
    /// The response body of [`SseService`](super::SseService): the inner body, which
    /// holds its stream slot until it ends or is dropped and ends when the shutdown
    /// signal fires; or the layer's own short answer over the limit.
    pub struct SseLayerBody<B> {
        #[pin]
        inner: Option<B>,
        once: Option<Bytes>,
        guard: StreamGuard,
    }
}

impl<B> SseLayerBody<B> {
    pub(super) fn wrap(body: B, guard: StreamGuard) -> Self {
        Self {
            inner: Some(body),
            once: None,
            guard,
        }
    }

    pub(super) fn once(bytes: Bytes) -> Self {
        Self {
            inner: None,
            once: (!bytes.is_empty()).then_some(bytes),
            guard: StreamGuard::unguarded(),
        }
    }

    pub(super) fn retype<C>(self) -> SseLayerBody<C> {
        SseLayerBody {
            inner: None,
            once: self.once,
            guard: StreamGuard::unguarded(),
        }
    }
}

impl<B> fmt::Debug for SseLayerBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseLayerBody")
            .field("guard", &self.guard)
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
        let mut inner = this.inner.as_mut();
        let polled = this
            .guard
            .poll_next(cx, |cx| match inner.as_mut().as_pin_mut() {
                Some(body) => body.poll_frame(cx),
                None => Poll::Ready(None),
            });
        if this.guard.is_done() {
            // Ended (by itself or by the shutdown signal): let the inner body go.
            this.inner.set(None);
        }
        polled.map(|frame| frame.map(|frame| frame.map_err(Into::into)))
    }

    fn is_end_stream(&self) -> bool {
        self.once.is_none()
            && (self.guard.is_done() || self.inner.as_ref().is_none_or(Body::is_end_stream))
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.inner, &self.once) {
            (_, Some(bytes)) => SizeHint::with_exact(bytes.len() as u64),
            (Some(inner), None) => inner.size_hint(),
            (None, None) => SizeHint::with_exact(0),
        }
    }
}
