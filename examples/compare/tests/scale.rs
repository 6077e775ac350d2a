//! The scale measurement's client (`compare scale`) counts exactly: every stream it
//! opens, over HTTP/2 (many per connection) and HTTP/1.1 (one per connection, from
//! spread source addresses), gets every event of each phase, and none is lost.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use compare::scale::{self, Tally};
use compare::Variant;

/// Serves `variant` on a free port of 127.0.0.1 in a thread of its own (over HTTPS
/// with `tls` if given).
async fn start(variant: Variant, tls: compare::Tls) -> SocketAddr {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || compare::serve_on(variant, listener, tls));
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return addr;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{} did not start", variant.name());
}

/// Waits until the server at `addr` counts `count` subscribers.
async fn subscribed(addr: SocketAddr, count: usize, name: &str) {
    for _ in 0..500 {
        let now: usize = compare::fanout::request(addr, "GET", "/subscribers")
            .await
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        if now >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{name}: not every stream subscribed");
}

/// One event to all, then three more (`publish(n)` publishes `n`): every stream
/// gets each, and none ends.
async fn phases<F, P>(tally: &Tally, streams: usize, name: &str, publish: F)
where
    F: Fn(u64) -> P,
    P: std::future::Future<Output = std::io::Result<String>>,
{
    // The servers run in this process: its CPU time is theirs.
    let me = std::process::id();
    let wait = Duration::from_secs(20);
    let one = scale::phase(tally, 0, streams, 1, me, wait, publish(1))
        .await
        .unwrap();
    assert!(one.complete, "{name}: {one:?}");
    assert_eq!(one.deliveries, streams as u64, "{name}");
    assert!(one.max_ms >= one.p50_ms, "{name}: {one:?}");
    let steady = scale::phase(tally, 1, streams, 3, me, wait, publish(3))
        .await
        .unwrap();
    assert!(steady.complete, "{name}: {steady:?}");
    assert_eq!(steady.deliveries, 3 * streams as u64, "{name}");
    assert_eq!(tally.ended(), 0, "{name}");
}

#[tokio::test]
async fn every_variant_holds_and_feeds_many_http1_streams() {
    for variant in Variant::ALL {
        let addr = start(variant, None).await;
        let tally = Arc::new(Tally::default());
        // More streams than source addresses: some share one.
        let streams = scale::open_h1(addr, 70, &tally).await.unwrap();
        assert_eq!(streams.len(), 70);
        subscribed(addr, 70, variant.name()).await;
        phases(&tally, 70, variant.name(), |n| {
            let path = format!("/publish?n={n}&size=64&rate=0");
            async move { compare::fanout::request(addr, "POST", &path).await }
        })
        .await;
    }
}

#[tokio::test]
async fn every_variant_holds_and_feeds_many_streams_per_http2_connection() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("compare-scale");
    let (cert, key) = compare::self_signed(&dir).unwrap();
    let config = sse_rs::server::tls_config(&cert, &key).unwrap();
    let client = compare::fanout_h2::client_config(&cert).unwrap();
    for variant in Variant::ALL {
        let addr = start(variant, Some(config.clone())).await;
        let tally = Arc::new(Tally::default());
        // Over the default per-connection cap of the core's server (32): the
        // comparison's servers allow 100.
        let streams = scale::open_h2(addr, &client, 2, 40, &tally).await.unwrap();
        assert_eq!(streams.len(), 80);
        // Counted over HTTP/2 on a connection of its own (the server speaks TLS only).
        let mut control = compare::fanout_h2::connect(addr, &client).await.unwrap();
        for _ in 0..500 {
            let now: usize = compare::fanout_h2::fetch(&mut control, "GET", addr, "/subscribers")
                .await
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            if now >= 80 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        phases(&tally, 80, variant.name(), |n| {
            let path = format!("/publish?n={n}&size=64&rate=0");
            let client = client.clone();
            async move {
                let mut sender = compare::fanout_h2::connect(addr, &client).await?;
                compare::fanout_h2::fetch(&mut sender, "POST", addr, &path).await
            }
        })
        .await;
    }
}
