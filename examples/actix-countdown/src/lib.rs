//! The countdown demo on actix-web 4 with `sse-actix`.
//!
//! `cargo run -p actix-countdown`, then open <http://127.0.0.1:8083/>.

use std::future::Future;
use std::io;

use actix_web::http::StatusCode;
use actix_web::{web, App, Either, HttpResponse, HttpServer, Responder};
use countdown::{Countdown, Plan, Shutdown};
use sse_actix::{AcceptEncoding, LastEventId, Sse};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Seconds a shutdown waits for open connections before it drops them.
const SHUTDOWN_GRACE_SECS: u64 = 5;

#[derive(Clone)]
struct AppState {
    countdown: Countdown,
    stop: Shutdown,
}

async fn page() -> impl Responder {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(countdown::PAGE)
}

async fn events(
    state: web::Data<AppState>,
    last: LastEventId,
    accept: AcceptEncoding,
) -> impl Responder {
    match state.countdown.plan(&last) {
        Plan::Finished => Either::Left(HttpResponse::new(StatusCode::NO_CONTENT)),
        Plan::Stream { from } => Either::Right(
            Sse::new(state.countdown.events(from))
                .shutdown(state.stop.clone(), None)
                .keep_alive(state.countdown.keep_alive_config())
                .compress(state.countdown.compression(), &accept),
        ),
    }
}

/// Serves the demo on `listener` until `shutdown` completes, then ends every open
/// event stream and waits (up to 5 seconds) for the connections to finish.
///
/// actix-web runs on its own single-threaded runtimes, so the server runs on a thread
/// of its own with an actix system; this future only starts and stops it, and can be
/// awaited on any tokio runtime.
///
/// # Errors
///
/// When the server cannot start or its thread fails.
pub async fn serve(
    listener: TcpListener,
    countdown: Countdown,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let listener = listener.into_std()?;
    let tls = countdown.tls_config();
    let (trigger, stop) = Shutdown::new();
    let state = AppState { countdown, stop };
    let (handle_tx, handle_rx) = oneshot::channel();
    let thread = std::thread::Builder::new()
        .name("actix-countdown".into())
        .spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(web::Data::new(state.clone()))
                        .route("/", web::get().to(page))
                        .route("/events", web::get().to(events))
                })
                .workers(2)
                .disable_signals()
                .shutdown_timeout(SHUTDOWN_GRACE_SECS)
                // A client that stops reading loses its connection after 30 s.
                .on_connect(sse_actix::stall_timeout(std::time::Duration::from_secs(30)))
                // A client that closes its connection ends its stream at once, not at
                // the next event (actix-web otherwise notices only when it writes).
                .h1_allow_half_closed(false);
                // HTTPS: HTTP/2 or HTTP/1.1 by ALPN, with actix-web's own rustls support.
                let server = match tls {
                    Some(config) => server.listen_rustls_0_23(listener, (*config).clone())?,
                    None => server.listen(listener)?,
                }
                .run();
                let _ = handle_tx.send(server.handle());
                server.await
            })
        })?;
    let joined = || async move {
        tokio::task::spawn_blocking(move || thread.join())
            .await
            .map_err(io::Error::other)?
            .map_err(|_| io::Error::other("the actix server thread panicked"))?
    };
    let Ok(handle) = handle_rx.await else {
        // The server did not start: its thread has the error.
        return joined().await;
    };
    shutdown.await;
    // End the event streams, or the graceful stop would wait for them.
    trigger.fire();
    handle.stop(true).await;
    joined().await
}
