//! `SseLayer` in front of an axum router over real TCP. The behaviour it shares with
//! sse-actix's `SseMiddleware` (`LastEventId` in the request extensions, the stream
//! limit with a browser-friendly back-off or 503, slots given back when streams end,
//! the shutdown signal ending open streams) is `sse_tests::middleware`'s suite, run
//! here and in `actix_middleware.rs`; what is the layer's own is below it.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::Extension;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use futures_util::stream::{self, StreamExt};
use sse_rs::layer::SseLayer;
use sse_rs::{Event, LastEventId};
use sse_tests::middleware::{MiddlewareServer, Setup};
use sse_tests::{assert_told_to_retry, open_event_stream as open, EventReader};

/// An endless stream, one event every 20 ms, whose data is the Last-Event-ID the
/// layer put into the request.
async fn events(Extension(last): Extension<LastEventId>) -> impl IntoResponse {
    let seen = last.as_str().unwrap_or("none").to_owned();
    let ticks = stream::iter(0_u64..).then(move |n| {
        let seen = seen.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok::<_, Infallible>(Event::default().id(n).data(seen))
        }
    });
    sse_axum::Sse::new(ticks)
}

async fn serve(layer: SseLayer) -> SocketAddr {
    let app = Router::new()
        .route("/events", get(events))
        .route("/empty", get(|| async { StatusCode::NO_CONTENT }))
        .layer(layer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// The suite's server: the layer set up as `setup` says.
async fn start(setup: Setup) -> MiddlewareServer {
    let mut layer = SseLayer::new();
    if let Some(limit) = setup.limit {
        layer = layer.limit(limit);
    }
    if let Some(signal) = setup.shutdown {
        layer = layer.shutdown(signal);
    }
    let addr = serve(layer.clone()).await;
    MiddlewareServer::new(addr, move || layer.available_streams())
}

sse_tests::middleware_suite!(start);

/// `max_streams(n)` is a limit of `n` with the default answer over it: a retry after
/// 10 s.
#[tokio::test]
async fn max_streams_is_a_limit_with_the_default_answer() {
    let layer = SseLayer::new().max_streams(1);
    let addr = serve(layer.clone()).await;
    assert_eq!(layer.available_streams(), Some(1));
    let mut first = EventReader::new(open(addr, None).await);
    first.events_until(1).await;
    assert_eq!(layer.available_streams(), Some(0));
    assert_told_to_retry(open(addr, None).await, Duration::from_secs(10)).await;
}
