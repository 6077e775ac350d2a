//! [`ReadTimeoutBody`]: a request body that must keep arriving.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};

/// Wraps each request's body in a [`ReadTimeoutBody`].
#[derive(Clone)]
pub(super) struct BodyTimeout<S> {
    pub(super) inner: S,
    pub(super) timeout: Duration,
}

impl<S> tower_service::Service<http::Request<Incoming>> for BodyTimeout<S>
where
    S: tower_service::Service<http::Request<ReadTimeoutBody<Incoming>>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Incoming>) -> Self::Future {
        let timeout = self.timeout;
        self.inner
            .call(request.map(|body| ReadTimeoutBody::new(body, timeout)))
    }
}

/// The error of a [`ReadTimeoutBody`] whose next chunk did not come in time.
#[derive(Debug)]
#[non_exhaustive]
pub struct BodyReadTimeout;

impl fmt::Display for BodyReadTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the request body paused longer than its read timeout")
    }
}

impl StdError for BodyReadTimeout {}

pin_project! {
    /// A request body that fails with [`BodyReadTimeout`] when, while it is read, no
    /// chunk arrives within its timeout (the [`Server`](super::Server)'s `body_read_timeout`).
    pub struct ReadTimeoutBody<B> {
        #[pin]
        inner: B,
        #[pin]
        sleep: Sleep,
        timeout: Duration,
        waiting: bool,
    }
}

impl<B> ReadTimeoutBody<B> {
    /// Wraps `inner`, with `timeout` between two chunks.
    pub fn new(inner: B, timeout: Duration) -> Self {
        Self {
            inner,
            sleep: tokio::time::sleep(timeout),
            timeout,
            waiting: false,
        }
    }
}

impl<B> fmt::Debug for ReadTimeoutBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadTimeoutBody")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl<B> Body for ReadTimeoutBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn StdError + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let mut this = self.project();
        if !*this.waiting {
            // The clock starts when the reader asks for the next chunk.
            this.sleep.as_mut().reset(Instant::now() + *this.timeout);
            *this.waiting = true;
        }
        match this.inner.poll_frame(cx) {
            Poll::Ready(frame) => {
                *this.waiting = false;
                Poll::Ready(frame.map(|frame| frame.map_err(Into::into)))
            }
            Poll::Pending => match this.sleep.poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyReadTimeout)))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
