//! The countdown demo on plain hyper 1 with [`sse_rs::SseBody`]: no web framework,
//! which shows that the core works with anything that speaks `http-body` 1.
//!
//! `cargo run -p hyper-countdown`, then open <http://127.0.0.1:8083/>.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::time::Duration;

use bytes::Bytes;
use countdown::{Countdown, Plan, Shutdown};
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::{combinators::BoxBody, BodyExt, Empty, Full};
use sse_rs::compress::AcceptEncoding;
use sse_rs::server::Server;
use sse_rs::{BoxError, LastEventId, SseBody};
use tokio::net::TcpListener;

/// How long a shutdown waits for open connections before it drops them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

type Body = BoxBody<Bytes, BoxError>;

/// Serves the demo on `listener` until `shutdown` completes, then ends every open
/// event stream and waits (up to 5 seconds) for the connections to finish. Served by
/// the core's [`Server`]: slow request heads and bodies time out, `TCP_NODELAY` is on.
///
/// # Errors
///
/// Never in practice: accept errors (for example too many open files) are retried.
pub async fn serve(
    listener: TcpListener,
    countdown: Countdown,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let server = countdown.configure(Server::new(listener));
    let (trigger, stop) = Shutdown::new();
    let service = tower::service_fn(move |request: Request<_>| {
        let response = handle(&request, &countdown, &stop);
        async move { Ok::<_, Infallible>(response) }
    });
    server
        .grace(SHUTDOWN_GRACE)
        .serve(service, shutdown, trigger)
        .await
}

/// Routes one request: the page, the event stream, or 404 / 405.
fn handle<B>(request: &Request<B>, countdown: &Countdown, stop: &Shutdown) -> Response<Body> {
    match (request.method(), request.uri().path()) {
        (&Method::GET, "/") => {
            let mut response = Response::new(full(countdown::PAGE));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("text/html; charset=utf-8"),
            );
            response
        }
        (&Method::GET, "/events") => {
            match countdown.plan(&LastEventId::from_headers(request.headers())) {
                Plan::Finished => status(StatusCode::NO_CONTENT),
                Plan::Stream { from } => SseBody::new(countdown.events(from))
                    .shutdown(stop.clone(), None)
                    .keep_alive(countdown.keep_alive_config())
                    .compress(
                        countdown.compression(),
                        &AcceptEncoding::from_headers(request.headers()),
                    )
                    .into_response()
                    .map(BodyExt::boxed),
            }
        }
        (_, "/" | "/events") => status(StatusCode::METHOD_NOT_ALLOWED),
        _ => status(StatusCode::NOT_FOUND),
    }
}

fn full(text: &'static str) -> Body {
    Full::new(Bytes::from_static(text.as_bytes()))
        .map_err(|never| match never {})
        .boxed()
}

fn status(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Empty::new().map_err(|never| match never {}).boxed());
    *response.status_mut() = status;
    response
}
