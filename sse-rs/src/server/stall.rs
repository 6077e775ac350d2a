//! [`StallGuard`]: a connection whose writes fail once no byte has moved for a while.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};

pin_project! {
    /// A connection (any tokio `AsyncRead + AsyncWrite`) whose writes fail with
    /// `TimedOut` once they have waited `timeout` without a byte moving: a client that
    /// stops reading gets its connection closed, instead of holding it, its stream and
    /// its buffers forever. The [`Server`](super::Server) wraps every connection in one; use it
    /// yourself around the sockets of another server loop.
    ///
    /// Only a write that cannot go on counts: an idle connection, or one that is slow
    /// but moving, is never closed by it.
    pub struct StallGuard<Io> {
        #[pin]
        io: Io,
        // Boxed, so that a guard around an `Unpin` connection is `Unpin` too.
        sleep: Pin<Box<Sleep>>,
        timeout: Duration,
        stalled: bool,
    }
}

impl<Io> StallGuard<Io> {
    /// Wraps `io`, closing it after `timeout` without progress on a pending write.
    pub fn new(io: Io, timeout: Duration) -> Self {
        Self {
            io,
            sleep: Box::pin(tokio::time::sleep(timeout)),
            timeout,
            stalled: false,
        }
    }

    /// The connection inside.
    pub fn get_ref(&self) -> &Io {
        &self.io
    }
}

impl<Io> fmt::Debug for StallGuard<Io> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StallGuard")
            .field("timeout", &self.timeout)
            .field("stalled", &self.stalled)
            .finish_non_exhaustive()
    }
}

/// What a write (or flush) of a [`StallGuard`] gives when its inner one is pending:
/// still pending, or `TimedOut` once the stall has lasted the timeout.
fn stall<T>(
    sleep: &mut Pin<Box<Sleep>>,
    stalled: &mut bool,
    timeout: Duration,
    cx: &mut Context<'_>,
) -> Poll<io::Result<T>> {
    if !*stalled {
        *stalled = true;
        sleep.as_mut().reset(Instant::now() + timeout);
    }
    match sleep.as_mut().poll(cx) {
        Poll::Ready(()) => Poll::Ready(Err({
            crate::metrics::__record::stalled_close();
            io::Error::new(
                io::ErrorKind::TimedOut,
                "the client took no bytes for the write stall timeout",
            )
        })),
        Poll::Pending => Poll::Pending,
    }
}

impl<Io: tokio::io::AsyncRead> tokio::io::AsyncRead for StallGuard<Io> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.project().io.poll_read(cx, buf)
    }
}

impl<Io: tokio::io::AsyncWrite> tokio::io::AsyncWrite for StallGuard<Io> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        match this.io.poll_write(cx, buf) {
            Poll::Ready(result) => {
                *this.stalled = false;
                Poll::Ready(result)
            }
            Poll::Pending => stall(this.sleep, this.stalled, *this.timeout, cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        match this.io.poll_write_vectored(cx, bufs) {
            Poll::Ready(result) => {
                *this.stalled = false;
                Poll::Ready(result)
            }
            Poll::Pending => stall(this.sleep, this.stalled, *this.timeout, cx),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.project();
        match this.io.poll_flush(cx) {
            Poll::Ready(result) => {
                *this.stalled = false;
                Poll::Ready(result)
            }
            Poll::Pending => stall(this.sleep, this.stalled, *this.timeout, cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_shutdown(cx)
    }
}
