//! [`Shutdown`]: one signal that ends every open event stream.

use std::fmt;

use tokio::sync::watch;

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
pub struct Shutdown(watch::Receiver<bool>);

/// Fires a [`Shutdown`]. Dropping the trigger fires it too, so a signal never waits
/// for a trigger that is gone.
pub struct ShutdownTrigger(watch::Sender<bool>);

impl Shutdown {
    /// A signal and the trigger that fires it.
    #[must_use]
    pub fn new() -> (ShutdownTrigger, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (ShutdownTrigger(tx), Shutdown(rx))
    }

    /// Whether the trigger has fired (or is gone).
    #[must_use]
    pub fn is_fired(&self) -> bool {
        *self.0.borrow() || self.0.has_changed().is_err()
    }

    /// Completes when the trigger fires (or is dropped).
    pub async fn wait(mut self) {
        // An error means the trigger is gone, which counts as fired.
        let _ = self.0.wait_for(|fired| *fired).await;
    }
}

impl ShutdownTrigger {
    /// Fires the signal: every [`Shutdown`] made with this trigger completes.
    pub fn fire(&self) {
        self.0.send_replace(true);
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
            .field("fired", &*self.0.borrow())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wait_completes_when_fired_or_when_the_trigger_is_dropped() {
        let (trigger, signal) = Shutdown::new();
        let waiting = tokio::spawn(signal.clone().wait());
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        trigger.fire();
        waiting.await.unwrap();
        assert!(signal.is_fired());

        let (trigger, signal) = Shutdown::new();
        drop(trigger);
        assert!(signal.is_fired());
        signal.wait().await;
    }
}
