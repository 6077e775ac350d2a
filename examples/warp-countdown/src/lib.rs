//! The countdown demo on warp 0.4 with `sse-warp`.
//!
//! `cargo run -p warp-countdown`, then open <http://127.0.0.1:8083/>.

use std::future::Future;
use std::io;
use std::time::Duration;

use countdown::{Countdown, Plan, Shutdown};
use sse_warp::{LastEventId, Sse};
use tokio::net::TcpListener;
use warp::filters::path::FullPath;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};
use warp::Filter;

/// How long a shutdown waits for open connections before it gives up on them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Serves the demo on `listener` until `shutdown` completes, then ends every open
/// event stream and waits (up to 5 seconds) for the connections to finish.
///
/// # Errors
///
/// Never: warp's server reports no errors.
pub async fn serve(
    listener: TcpListener,
    countdown: Countdown,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let (trigger, stop) = Shutdown::new();
    // One handler that matches the path itself: warp's `path("..")` filters make
    // the server future fail the higher-ranked `Send` check of `tokio::spawn`.
    let routes = warp::get()
        .and(warp::path::full())
        .and(sse_warp::last_event_id())
        .map(move |path: FullPath, last: LastEventId| -> Response {
            match path.as_str() {
                "/" => warp::reply::html(countdown::PAGE).into_response(),
                "/events" => match countdown.plan(&last) {
                    Plan::Finished => StatusCode::NO_CONTENT.into_response(),
                    Plan::Stream { from } => Sse::new(countdown.events(from))
                        .shutdown(stop.clone(), None)
                        .keep_alive(countdown.keep_alive_config())
                        .into_response(),
                },
                _ => StatusCode::NOT_FOUND.into_response(),
            }
        });
    // Written out rather than through `countdown::serve_gracefully`: inside that
    // generic function warp's server future fails the higher-ranked `Send` check of
    // `tokio::spawn` (the same rustc limitation as with `path("..")` above).
    let (stopping_tx, stopping) = tokio::sync::oneshot::channel::<()>();
    let server = warp::serve(routes)
        .incoming(listener)
        .graceful(async move {
            shutdown.await;
            // End the event streams, or graceful shutdown would wait for them forever.
            trigger.fire();
            let _ = stopping_tx.send(());
        })
        .run();
    tokio::select! {
        () = server => {}
        () = async {
            let _ = stopping.await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => {}
    }
    Ok(())
}
