//! Response compression must not buffer an event stream: tower-http's
//! `CompressionLayer` (default predicate) in front of sse-axum, and actix-web's
//! `Compress` in front of sse-actix. A control case shows the check can fail: with a
//! predicate that compresses everything, tower-http gzips the stream.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::stream::{self, Stream, StreamExt};
use sse_rs::Event;
use tokio::net::TcpListener;

const GAP: Duration = Duration::from_millis(200);

/// Three events, `GAP` apart.
fn slow() -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
    stream::iter(1..=3_u32).then(|n| async move {
        tokio::time::sleep(GAP).await;
        Ok(Event::default().id(n).data(format!("event {n}")))
    })
}

/// Requests `/events` accepting gzip; returns the content-encoding and the arrival
/// time of every body chunk.
async fn read(addr: SocketAddr) -> (Option<String>, Vec<(Instant, usize)>) {
    let mut response = sse_tests::client()
        .get(format!("http://{addr}/events"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let encoding = response
        .headers()
        .get("content-encoding")
        .map(|value| value.to_str().unwrap().to_owned());
    let mut chunks = Vec::new();
    while let Some(chunk) = response.chunk().await.expect("body") {
        chunks.push((Instant::now(), chunk.len()));
    }
    (encoding, chunks)
}

/// Whether the three events arrived spread out rather than together at the end.
fn streamed(chunks: &[(Instant, usize)]) -> bool {
    let (Some(first), Some(last)) = (chunks.first(), chunks.last()) else {
        return false;
    };
    chunks.len() >= 3 && last.0 - first.0 >= GAP
}

async fn axum_server(compress_everything: bool) -> SocketAddr {
    use axum::http::{Extensions, HeaderMap, StatusCode, Version};
    use tower_http::compression::predicate::DefaultPredicate;
    use tower_http::compression::CompressionLayer;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = axum::Router::new().route(
        "/events",
        axum::routing::get(|| async { sse_axum::Sse::new(slow()) }),
    );
    let app = if compress_everything {
        let always = |_: StatusCode, _: Version, _: &HeaderMap, _: &Extensions| true;
        router.layer(CompressionLayer::new().compress_when(always))
    } else {
        router.layer(CompressionLayer::new().compress_when(DefaultPredicate::new()))
    };
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

#[tokio::test]
async fn tower_http_compression_with_its_default_predicate_passes_events_through() {
    let (encoding, chunks) = read(axum_server(false).await).await;
    assert_eq!(encoding, None, "the event stream was compressed");
    assert!(streamed(&chunks), "events were buffered: {chunks:?}");
}

#[tokio::test]
async fn control_a_predicate_that_compresses_everything_gzips_the_stream() {
    // Proves the check above can fail: only the default predicate skips
    // `text/event-stream`. (tower-http 0.6 flushes its gzip encoder whenever the
    // stream has nothing ready, so even then events are not held back; we do not rely
    // on that.)
    let (encoding, chunks) = read(axum_server(true).await).await;
    assert_eq!(encoding.as_deref(), Some("gzip"));
    assert!(!chunks.is_empty());
}

#[tokio::test]
async fn actix_compress_passes_events_through() {
    let addr = sse_tests::spawn_actix(|listener| async move {
        actix_web::HttpServer::new(|| {
            actix_web::App::new()
                .wrap(actix_web::middleware::Compress::default())
                .route(
                    "/events",
                    actix_web::web::get().to(|| async { sse_actix::Sse::new(slow()) }),
                )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)?
        .run()
        .await
    });
    let (encoding, chunks) = read(addr).await;
    assert_eq!(encoding.as_deref(), Some("identity"));
    assert!(streamed(&chunks), "events were buffered: {chunks:?}");
}
