//! [`Shutdown`]: one signal that ends every open event stream.
//!
//! The signal needs no runtime: it works on tokio, on any other executor and without
//! one. A graceful stop with a deadline and the OS signals that start one live in the
//! services crate `sse-rs` (`sse_rs::shutdown::graceful`, `os_signal`).

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use event_listener::Event as Notify;

/// A signal that the server is shutting down, cheap to clone into every
/// [`SseBody`](crate::SseBody) (see [`SseBody::shutdown`](crate::SseBody::shutdown)).
///
/// Servers wait for open responses when they shut down gracefully, and an event
/// stream never ends by itself: without this, `axum::serve(..).with_graceful_shutdown`,
/// hyper-util's `GracefulShutdown`, warp's `graceful` and actix-web's `stop(true)` all
/// hang until their timeout. Fire the trigger when the shutdown starts: every body
/// sends its optional last event and ends, and the server can stop.
///
/// ```
/// use sse_rs_core::shutdown::Shutdown;
///
/// let (trigger, signal) = Shutdown::new();
/// assert!(!signal.is_fired());
/// trigger.fire();
/// assert!(signal.is_fired());
/// ```
#[derive(Clone)]
pub struct Shutdown(Arc<State>);

/// Fires a [`Shutdown`]. Dropping the trigger fires it too, so a signal never waits
/// for a trigger that is gone.
pub struct ShutdownTrigger(Arc<State>);

struct State {
    fired: AtomicBool,
    notify: Notify,
}

impl Shutdown {
    /// A signal and the trigger that fires it.
    #[must_use]
    pub fn new() -> (ShutdownTrigger, Shutdown) {
        let state = Arc::new(State {
            fired: AtomicBool::new(false),
            notify: Notify::new(),
        });
        (ShutdownTrigger(state.clone()), Shutdown(state))
    }

    /// Whether the trigger has fired (or is gone).
    #[must_use]
    pub fn is_fired(&self) -> bool {
        self.0.fired.load(Ordering::Acquire)
    }

    /// Completes when the trigger fires (or is dropped).
    pub async fn wait(self) {
        loop {
            if self.is_fired() {
                return;
            }
            // Listen first, then look again: a fire between the two is not missed.
            let listener = self.0.notify.listen();
            if self.is_fired() {
                return;
            }
            listener.await;
        }
    }
}

impl ShutdownTrigger {
    /// Fires the signal: every [`Shutdown`] made with this trigger completes.
    pub fn fire(&self) {
        self.0.fired.store(true, Ordering::Release);
        self.0.notify.notify(usize::MAX);
    }
}

impl Drop for ShutdownTrigger {
    fn drop(&mut self) {
        self.fire();
    }
}

impl fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shutdown")
            .field("fired", &self.is_fired())
            .finish()
    }
}

impl fmt::Debug for ShutdownTrigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShutdownTrigger")
            .field("fired", &self.0.fired.load(Ordering::Acquire))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::sync::atomic::AtomicUsize;
    use std::task::{Context, Poll, Wake, Waker};

    use super::*;

    /// Counts its wake-ups: the signal is tested without any runtime.
    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn wait_completes_when_fired_without_a_runtime() {
        let (trigger, signal) = Shutdown::new();
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = Waker::from(counter.clone());
        let mut cx = Context::from_waker(&waker);
        let mut first = pin!(signal.clone().wait());
        let mut second = pin!(signal.clone().wait());
        assert!(first.as_mut().poll(&mut cx).is_pending());
        assert!(second.as_mut().poll(&mut cx).is_pending());
        trigger.fire();
        assert_eq!(counter.0.load(Ordering::SeqCst), 2, "every waiter is woken");
        assert_eq!(first.as_mut().poll(&mut cx), Poll::Ready(()));
        assert_eq!(second.as_mut().poll(&mut cx), Poll::Ready(()));
        assert!(signal.is_fired());
    }

    #[test]
    fn dropping_the_trigger_fires_the_signal() {
        let (trigger, signal) = Shutdown::new();
        let waker = Waker::from(Arc::new(CountingWaker(AtomicUsize::new(0))));
        let mut cx = Context::from_waker(&waker);
        let mut waiting = pin!(signal.clone().wait());
        assert!(waiting.as_mut().poll(&mut cx).is_pending());
        drop(trigger);
        assert!(signal.is_fired());
        assert_eq!(waiting.as_mut().poll(&mut cx), Poll::Ready(()));
    }

    #[tokio::test]
    async fn wait_completes_on_tokio_when_fired_from_another_task() {
        let (trigger, signal) = Shutdown::new();
        let waiting = tokio::spawn(signal.clone().wait());
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        trigger.fire();
        waiting.await.unwrap();
        assert!(signal.is_fired());
    }
}
