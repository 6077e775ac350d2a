//! The countdown demo on warp 0.4 with `sse-warp`.
//!
//! `cargo run -p warp-countdown`, then open <http://127.0.0.1:8083/>.

use std::future::Future;
use std::io;
use std::time::Duration;

use countdown::{Countdown, Plan, Shutdown};
use sse_warp::server::Server;
use sse_warp::{AcceptEncoding, LastEventId, Sse};
use tokio::net::TcpListener;
use warp::filters::path::FullPath;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};
use warp::Filter;

/// How long a shutdown waits for open connections before it gives up on them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Serves the demo on `listener` until `shutdown` completes, then ends every open
/// event stream and waits (up to 5 seconds) for the connections to finish. Served by
/// the core's `Server` (`warp::serve` sets no request timeouts): slow request heads
/// and bodies time out, `TCP_NODELAY` is on.
///
/// # Errors
///
/// Never in practice: accept errors are retried.
pub async fn serve(
    listener: TcpListener,
    countdown: Countdown,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let server = countdown.configure(Server::new(listener));
    let (trigger, stop) = Shutdown::new();
    // One handler that matches the path itself: warp's `path("..")` filters make
    // the server future fail the higher-ranked `Send` check of `tokio::spawn`.
    let routes = warp::get()
        .and(warp::path::full())
        .and(sse_warp::last_event_id())
        .and(sse_warp::accept_encoding())
        .map(
            move |path: FullPath, last: LastEventId, accept: AcceptEncoding| -> Response {
                match path.as_str() {
                    "/" => warp::reply::html(countdown::PAGE).into_response(),
                    "/events" => match countdown.plan(&last) {
                        Plan::Finished => StatusCode::NO_CONTENT.into_response(),
                        Plan::Stream { from } => Sse::new(countdown.events(from))
                            .shutdown(stop.clone(), None)
                            .keep_alive(countdown.keep_alive_config())
                            .compress(countdown.compression(), &accept)
                            .into_response(),
                    },
                    _ => StatusCode::NOT_FOUND.into_response(),
                }
            },
        );
    server
        .grace(SHUTDOWN_GRACE)
        .serve(warp::service(routes), shutdown, trigger)
        .await
}
