//! [`Shutdown`]: one signal that ends every open event stream, and [`graceful`]: a
//! graceful stop with a deadline, which a stalled client cannot hold up.
//!
//! `Shutdown` and `ShutdownTrigger` are the wire crate's (they need no runtime);
//! the stop with a deadline and the OS signals are tokio's, here.

use std::future::Future;
use std::task::Poll;
use std::time::Duration;

#[doc(inline)]
pub use sse_rs_core::shutdown::{Shutdown, ShutdownTrigger};

/// Runs a server until it stops by itself, or until `stop` completes: then fires
/// `trigger` (every event stream sends its last event and ends, or the server's own
/// graceful shutdown would wait for them forever) and gives the server `grace` to
/// finish. After `grace` the server future is dropped, and with it every connection
/// still open. Returns the server's output, or `None` when it was dropped.
///
/// The deadline is what makes a stop certain. A client that stops reading leaves its
/// connection unable to take more bytes; the server then stops polling that response
/// body, so the shutdown signal never reaches it, and a graceful shutdown (axum's
/// `with_graceful_shutdown`, hyper-util's `GracefulShutdown`, warp's `graceful`) waits
/// for that connection forever.
///
/// `server` gets the future its own graceful shutdown should wait for: it completes
/// when `stop` does, after the trigger has fired.
///
/// ```
/// use std::time::Duration;
/// use sse_rs::shutdown::{graceful, Shutdown};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let (trigger, signal) = Shutdown::new();
/// let stop = tokio::time::sleep(Duration::from_secs(1)); // Ctrl-C, SIGTERM...
/// // A server whose graceful shutdown never completes (a stalled client):
/// let stuck = |stopping| async move {
///     stopping.await;
///     std::future::pending::<()>().await
/// };
/// let start = tokio::time::Instant::now();
/// assert_eq!(graceful(stop, trigger, Duration::from_secs(5), stuck).await, None);
/// assert_eq!(start.elapsed(), Duration::from_secs(6));
/// assert!(signal.is_fired());
/// # }
/// ```
pub async fn graceful<F, S>(
    stop: impl Future<Output = ()> + Send + 'static,
    trigger: ShutdownTrigger,
    grace: Duration,
    server: F,
) -> Option<S::Output>
where
    F: FnOnce(std::pin::Pin<Box<dyn Future<Output = ()> + Send>>) -> S,
    S: Future,
{
    let (stopping_tx, stopping) = tokio::sync::oneshot::channel::<()>();
    let server = server(Box::pin(async move {
        stop.await;
        trigger.fire();
        let _ = stopping_tx.send(());
    }));
    let deadline = async move {
        // The server ended (and dropped the stop future) before any stop: no deadline.
        if stopping.await.is_err() {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(grace).await;
    };
    let mut server = std::pin::pin!(server);
    let mut deadline = std::pin::pin!(deadline);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(output) = server.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        deadline.as_mut().poll(cx).map(|()| {
            crate::metrics::__record::forced_stop(grace);
            None
        })
    })
    .await
}

/// Completes on Ctrl-C (SIGINT) or, on Unix, SIGTERM: what a terminal, systemd,
/// Docker and Kubernetes send to stop a server (feature `signal`). Give it to
/// [`graceful`] as the stop.
#[cfg(feature = "signal")]
#[cfg_attr(docsrs, doc(cfg(feature = "signal")))]
pub async fn os_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
        std::future::poll_fn(|cx| {
            if ctrl_c.as_mut().poll(cx).is_ready() || term.poll_recv(cx).is_ready() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_server_that_stops_in_time_gives_its_output() {
        let (trigger, signal) = Shutdown::new();
        let stop = tokio::time::sleep(Duration::from_secs(1));
        let start = tokio::time::Instant::now();
        let server = |stopping: std::pin::Pin<Box<dyn Future<Output = ()> + Send>>| async move {
            stopping.await;
            // Its own graceful shutdown takes a while, but less than the grace.
            tokio::time::sleep(Duration::from_secs(2)).await;
            "stopped"
        };
        let output = graceful(stop, trigger, Duration::from_secs(5), server).await;
        assert_eq!(output, Some("stopped"));
        assert_eq!(start.elapsed(), Duration::from_secs(3));
        assert!(signal.is_fired());
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_that_ends_by_itself_needs_no_stop() {
        let (trigger, signal) = Shutdown::new();
        let server = |_stopping| async { 7 };
        let output = graceful(
            std::future::pending(),
            trigger,
            Duration::from_secs(5),
            server,
        )
        .await;
        assert_eq!(output, Some(7));
        // Its trigger was dropped with the stop future, which fires the signal too:
        // streams of a server that is gone end.
        assert!(signal.is_fired());
    }

    #[tokio::test(start_paused = true)]
    async fn a_stuck_server_is_dropped_after_the_grace() {
        let (trigger, _signal) = Shutdown::new();
        let dropped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        struct Connection(std::sync::Arc<std::sync::atomic::AtomicBool>);
        impl Drop for Connection {
            fn drop(&mut self) {
                self.0.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let connection = Connection(dropped.clone());
        let server = move |stopping: std::pin::Pin<Box<dyn Future<Output = ()> + Send>>| async move {
            let _connection = connection;
            stopping.await;
            std::future::pending::<()>().await;
        };
        let start = tokio::time::Instant::now();
        let stop = tokio::time::sleep(Duration::from_millis(500));
        assert_eq!(
            graceful(stop, trigger, Duration::from_secs(2), server).await,
            None
        );
        assert_eq!(start.elapsed(), Duration::from_millis(2500));
        assert!(
            dropped.load(std::sync::atomic::Ordering::SeqCst),
            "the connection was not dropped"
        );
    }
}
