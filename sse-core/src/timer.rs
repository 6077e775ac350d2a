//! [`Timer`]: the clock a [`KeepAlive`](crate::KeepAlive) runs on.
//!
//! With the default feature `tokio`, keep-alive uses tokio's timer (`TokioTimer`)
//! and nothing needs to be set. Without it the crate has no runtime dependency at all,
//! and a keep-alive runs on the timer given to
//! [`KeepAlive::timer`](crate::KeepAlive::timer): a small implementation of these two
//! traits for the executor at hand (async-io, a wasm timer, a test clock).
//!
//! ```
//! use std::future::Future;
//! use std::pin::Pin;
//! use std::task::{Context, Poll};
//! use std::time::Duration;
//!
//! use sse_rs_core::timer::{Sleep, Timer};
//! use sse_rs_core::KeepAlive;
//!
//! /// A timer that never fires: keep-alive is configured but never due.
//! #[derive(Debug)]
//! struct Never;
//!
//! struct NeverSleep;
//!
//! impl Future for NeverSleep {
//!     type Output = ();
//!     fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
//!         Poll::Pending
//!     }
//! }
//!
//! impl Sleep for NeverSleep {
//!     fn reset(self: Pin<&mut Self>, _after: Duration) {}
//! }
//!
//! impl Timer for Never {
//!     fn sleep(&self, _after: Duration) -> Pin<Box<dyn Sleep>> {
//!         Box::pin(NeverSleep)
//!     }
//! }
//!
//! let keep_alive = KeepAlive::new().timer(Never);
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// Makes the sleeps a keep-alive waits on. Implement it to run keep-alive on an
/// executor other than tokio (see the [module docs](self)).
pub trait Timer: fmt::Debug + Send + Sync + 'static {
    /// A future that completes once `after` has passed.
    fn sleep(&self, after: Duration) -> Pin<Box<dyn Sleep>>;
}

/// A sleep made by a [`Timer`], which can be restarted without being made anew: a
/// keep-alive restarts its sleep at every frame, so this is on the hot path.
pub trait Sleep: Future<Output = ()> + Send + Sync {
    /// Restarts the sleep: it completes once `after` has passed from now, also when
    /// it had completed before.
    fn reset(self: Pin<&mut Self>, after: Duration);
}

/// The tokio timer (feature `tokio`, on by default): what a keep-alive uses when no
/// other timer is set. Its sleeps must be polled inside a tokio runtime with time
/// enabled (axum, actix-web, warp and hyper-util servers all are).
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioTimer;

#[cfg(feature = "tokio")]
impl Timer for TokioTimer {
    fn sleep(&self, after: Duration) -> Pin<Box<dyn Sleep>> {
        Box::pin(TokioSleep {
            inner: tokio::time::sleep(after),
        })
    }
}

#[cfg(feature = "tokio")]
pin_project_lite::pin_project! {
    struct TokioSleep {
        #[pin]
        inner: tokio::time::Sleep,
    }
}

#[cfg(feature = "tokio")]
impl Future for TokioSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        self.project().inner.poll(cx)
    }
}

#[cfg(feature = "tokio")]
impl Sleep for TokioSleep {
    fn reset(self: Pin<&mut Self>, after: Duration) {
        self.project()
            .inner
            .reset(tokio::time::Instant::now() + after);
    }
}
