//! The countdown demo on axum 0.8 with `sse-axum`.
//!
//! `cargo run -p axum-countdown`, then open <http://127.0.0.1:8083/>.

use std::future::Future;
use std::io;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use countdown::{Countdown, Plan, Shutdown};
use sse_axum::server::Server;
use sse_axum::{AcceptEncoding, LastEventId, Sse};
use tokio::net::TcpListener;

/// How long a shutdown waits for open connections before it gives up on them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

#[derive(Clone)]
struct App {
    countdown: Countdown,
    stop: Shutdown,
}

/// The demo's routes: `/` (the page) and `/events` (the countdown).
fn router(app: App) -> Router {
    Router::new()
        .route("/", get(|| async { Html(countdown::PAGE) }))
        .route("/events", get(events))
        .with_state(app)
}

async fn events(State(app): State<App>, last: LastEventId, accept: AcceptEncoding) -> Response {
    match app.countdown.plan(&last) {
        Plan::Finished => StatusCode::NO_CONTENT.into_response(),
        Plan::Stream { from } => Sse::new(app.countdown.events(from))
            .shutdown(app.stop.clone(), None)
            .keep_alive(app.countdown.keep_alive_config())
            .compress(app.countdown.compression(), &accept)
            .into_response(),
    }
}

/// Serves the demo on `listener` until `shutdown` completes, then ends every open
/// event stream and waits (up to 5 seconds) for the connections to finish. Served by
/// the core's `Server` (`axum::serve` sets no request timeouts): slow request heads
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
    let app = router(App { countdown, stop });
    server
        .grace(SHUTDOWN_GRACE)
        .serve(app, shutdown, trigger)
        .await
}
