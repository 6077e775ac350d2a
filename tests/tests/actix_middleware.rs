//! `SseMiddleware` in front of actix-web over real TCP: the same behaviour as the tower
//! `SseLayer` (shared core logic): `LastEventId` in the request extensions, the
//! stream limit with a browser-friendly back-off, slots given back when streams end,
//! and the shutdown signal ending open streams.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use actix_web::{web, App, HttpMessage, HttpRequest, HttpServer};
use futures_util::stream::{self, StreamExt};
use sse_actix::limit::StreamLimit;
use sse_actix::middleware::SseMiddleware;
use sse_actix::{Event, Shutdown};
use sse_tests::{
    assert_told_to_retry, assert_unannounced_streams_count, open_event_stream as open, spawn_actix,
    wait_until, EventReader,
};

/// An endless stream whose data is the Last-Event-ID the middleware put into the
/// request.
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

fn start(middleware: SseMiddleware) -> SocketAddr {
    spawn_actix(|listener| async move {
        HttpServer::new(move || {
            App::new()
                .wrap(middleware.clone())
                .route("/events", web::get().to(events))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)?
        .run()
        .await
    })
}

#[tokio::test]
async fn last_event_id_is_in_the_extensions() {
    let addr = start(SseMiddleware::new());
    let mut with = EventReader::new(open(addr, Some("41")).await);
    assert_eq!(with.events_until(1).await[0].data, "41");
    let mut without = EventReader::new(open(addr, None).await);
    assert_eq!(without.events_until(1).await[0].data, "none");
}

#[tokio::test]
async fn over_the_limit_a_browser_is_told_to_retry_later_and_gets_in_once_a_stream_ends() {
    let limit = StreamLimit::new(1).back_off(Duration::from_millis(150));
    let addr = start(SseMiddleware::new().limit(limit.clone()));
    let mut first = EventReader::new(open(addr, None).await);
    first.events_until(1).await;
    assert_eq!(limit.available(), 0);

    let response = open(addr, None).await;
    assert_told_to_retry(response, Duration::from_millis(150)).await;

    first.disconnect();
    assert!(
        wait_until(Duration::from_secs(5), || limit.available() == 1).await,
        "the slot of a closed stream was not given back"
    );
    let mut second = EventReader::new(open(addr, None).await);
    assert_eq!(second.events_until(1).await.len(), 1);
}

#[tokio::test]
async fn a_stream_counts_without_the_accept_header() {
    let back_off = Duration::from_millis(150);
    let limit = StreamLimit::new(1).back_off(back_off);
    let addr = start(SseMiddleware::new().limit(limit.clone()));
    assert_unannounced_streams_count(addr, back_off, || limit.available()).await;
}

#[tokio::test]
async fn the_shutdown_signal_ends_open_streams_and_frees_their_slots() {
    let (trigger, signal) = Shutdown::new();
    let limit = StreamLimit::new(4);
    let addr = start(SseMiddleware::new().limit(limit.clone()).shutdown(signal));
    let mut readers = Vec::new();
    for _ in 0..3 {
        let mut reader = EventReader::new(open(addr, None).await);
        reader.events_until(1).await;
        readers.push(reader);
    }
    assert_eq!(limit.available(), 1);
    trigger.fire();
    for mut reader in readers {
        reader.read_to_end(Duration::from_secs(5)).await;
    }
    assert!(wait_until(Duration::from_secs(5), || limit.available() == 4).await);
}

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
