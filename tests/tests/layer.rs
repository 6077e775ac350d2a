//! `SseLayer` in front of an axum router over real TCP: `LastEventId` in the request
//! extensions, the stream limit with a browser-friendly back-off (or 503), slots given
//! back when streams end, and the shutdown signal ending open streams.

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
use sse_rs::limit::{OverLimit, StreamLimit};
use sse_rs::shutdown::Shutdown;
use sse_rs::{Event, LastEventId};
use sse_tests::{
    assert_told_to_retry, assert_unannounced_streams_count, client, open_event_stream as open,
    wait_until, EventReader,
};

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

async fn start(layer: SseLayer) -> SocketAddr {
    let app = Router::new()
        .route("/events", get(events))
        .route("/empty", get(|| async { StatusCode::NO_CONTENT }))
        .layer(layer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

#[tokio::test]
async fn last_event_id_is_in_the_extensions() {
    let addr = start(SseLayer::new()).await;
    let mut with = EventReader::new(open(addr, Some("41")).await);
    assert_eq!(with.events_until(1).await[0].data, "41");
    let mut without = EventReader::new(open(addr, None).await);
    assert_eq!(without.events_until(1).await[0].data, "none");
}

#[tokio::test]
async fn over_the_limit_a_browser_is_told_to_retry_later_and_gets_in_once_a_stream_ends() {
    let layer = SseLayer::new().limit(StreamLimit::new(2).back_off(Duration::from_millis(150)));
    let addr = start(layer.clone()).await;
    // A response that is not an event stream gives its slot back at once.
    let empty = client()
        .get(format!("http://{addr}/empty"))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 204);

    assert_eq!(layer.available_streams(), Some(2));

    let mut first = EventReader::new(open(addr, None).await);
    let mut second = EventReader::new(open(addr, None).await);
    first.events_until(1).await;
    second.events_until(1).await;
    assert_eq!(layer.available_streams(), Some(0));

    // Over the limit: 200 (a browser keeps trying), one retry field, the end.
    let response = open(addr, None).await;
    assert_told_to_retry(response, Duration::from_millis(150)).await;

    // A stream ends (the client leaves): its slot comes back, the next client gets in.
    first.disconnect();
    assert!(
        wait_until(Duration::from_secs(5), || layer.available_streams()
            == Some(1))
        .await,
        "the slot of a closed stream was not given back"
    );
    let mut third = EventReader::new(open(addr, None).await);
    assert_eq!(third.events_until(1).await.len(), 1);
    assert_eq!(layer.available_streams(), Some(0));
}

#[tokio::test]
async fn a_stream_counts_without_the_accept_header() {
    let back_off = Duration::from_millis(150);
    let layer = SseLayer::new().limit(StreamLimit::new(1).back_off(back_off));
    let addr = start(layer.clone()).await;
    assert_unannounced_streams_count(addr, back_off, || {
        layer.available_streams().unwrap_or(usize::MAX)
    })
    .await;
}

#[tokio::test]
async fn service_unavailable_is_an_option_for_non_browsers() {
    let layer = SseLayer::new().limit(
        StreamLimit::new(1)
            .over_limit(OverLimit::ServiceUnavailable)
            .back_off(Duration::from_secs(30)),
    );
    let addr = start(layer).await;
    let mut first = EventReader::new(open(addr, None).await);
    first.events_until(1).await;
    let response = open(addr, None).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "30");
}

#[tokio::test]
async fn the_shutdown_signal_ends_open_streams_and_frees_their_slots() {
    let (trigger, signal) = Shutdown::new();
    let layer = SseLayer::new().max_streams(4).shutdown(signal);
    let addr = start(layer.clone()).await;
    let mut readers = Vec::new();
    for _ in 0..3 {
        let mut reader = EventReader::new(open(addr, None).await);
        reader.events_until(1).await;
        readers.push(reader);
    }
    assert_eq!(layer.available_streams(), Some(1));
    trigger.fire();
    for mut reader in readers {
        // The endless streams end cleanly.
        reader.read_to_end(Duration::from_secs(5)).await;
    }
    assert!(
        wait_until(Duration::from_secs(5), || layer.available_streams()
            == Some(4))
        .await
    );
}
