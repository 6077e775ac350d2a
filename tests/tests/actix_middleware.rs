//! `SseMiddleware` in front of actix-web over real TCP. It has the same logic below
//! it as the tower `SseLayer`, and the same suite checks both (`sse_tests::middleware`,
//! run here and in `layer.rs`): `LastEventId` in the request extensions, the stream
//! limit with a browser-friendly back-off or 503, slots given back when streams end,
//! and the shutdown signal ending open streams. What is actix's own is below it.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::convert::Infallible;
use std::time::Duration;

use actix_web::{web, App, HttpMessage, HttpRequest, HttpResponse, HttpServer};
use futures_util::stream::{self, StreamExt};
use sse_actix::middleware::SseMiddleware;
use sse_actix::Event;
use sse_tests::middleware::{MiddlewareServer, Setup};
use sse_tests::{spawn_actix, wait_until};

/// An endless stream, one event every 20 ms, whose data is the Last-Event-ID the
/// middleware put into the request.
async fn events(
    request: HttpRequest,
) -> sse_actix::Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let seen = request
        .extensions()
        .get::<sse_rs::LastEventId>()
        .and_then(|last| last.as_str().map(str::to_owned))
        .unwrap_or_else(|| "none".to_owned());
    let ticks = stream::iter(0_u64..).then(move |n| {
        let seen = seen.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(Event::default().id(n).data(seen))
        }
    });
    sse_actix::Sse::new(ticks)
}

/// The suite's server: the middleware set up as `setup` says.
async fn start(setup: Setup) -> MiddlewareServer {
    let mut middleware = SseMiddleware::new();
    if let Some(limit) = setup.limit {
        middleware = middleware.limit(limit);
    }
    if let Some(signal) = setup.shutdown {
        middleware = middleware.shutdown(signal);
    }
    let wrapped = middleware.clone();
    let addr = spawn_actix(|listener| async move {
        HttpServer::new(move || {
            App::new()
                .wrap(wrapped.clone())
                .route("/events", web::get().to(events))
                .route(
                    "/empty",
                    web::get().to(|| async { HttpResponse::NoContent().finish() }),
                )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)?
        .run()
        .await
    });
    MiddlewareServer::new(addr, move || middleware.available_streams())
}

sse_tests::middleware_suite!(start);

/// A client that stops reading loses its connection (`stall_timeout`, the kernel's
/// `TCP_USER_TIMEOUT`), and the server lets its stream go.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_client_that_stops_reading_loses_its_stream() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use sse_tests::Firehose;

    let dropped = Arc::new(AtomicBool::new(false));
    let flag = dropped.clone();
    let addr = spawn_actix(move |listener| async move {
        HttpServer::new(move || {
            let flag = flag.clone();
            App::new().route(
                "/events",
                web::get().to(move || {
                    let flag = flag.clone();
                    async move { sse_actix::Sse::new(Firehose(flag)) }
                }),
            )
        })
        .workers(1)
        .disable_signals()
        .on_connect(sse_actix::stall_timeout(Duration::from_millis(500)))
        .listen(listener)?
        .run()
        .await
    });
    let client = sse_tests::stalled_client(addr).await;
    assert!(
        wait_until(Duration::from_secs(15), || dropped.load(Ordering::SeqCst)).await,
        "the stream of a client that stopped reading was never let go"
    );
    drop(client);
}
