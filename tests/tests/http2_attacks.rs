//! HTTP/2 as an attacker uses it, against the `Server`: streams that never get
//! flow-control window, and one connection asking for more event streams than its
//! share. Real sockets on 127.0.0.1, a real HTTP/2 client (the `h2` crate), small
//! sizes (3 connections x 50 streams, a 2 s stall timeout).

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use sse_tests::wait_until;

mod http2_server;

use http2_server::{start, Options, STALL};

/// An HTTP/2 connection (h2c, prior knowledge) whose streams get `window` bytes of
/// flow-control window and never more; the connection itself is driven (PING and
/// SETTINGS are answered), so the socket never stalls.
async fn connect(addr: SocketAddr, window: u32) -> h2::client::SendRequest<Bytes> {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (send, connection) = h2::client::Builder::new()
        .initial_window_size(window)
        .handshake::<_, Bytes>(tcp)
        .await
        .unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });
    send
}

/// Opens `/events` on `send`; the response head.
async fn open_events(send: &mut h2::client::SendRequest<Bytes>) -> http::Response<h2::RecvStream> {
    let request = http::Request::get("http://localhost/events")
        .header("accept", "text/event-stream")
        .body(())
        .unwrap();
    let mut ready = send.clone().ready().await.unwrap();
    let (response, _) = ready.send_request(request, true).unwrap();
    *send = ready;
    response.await.unwrap()
}

/// 3 connections x 50 streams that never get a byte of window: without a deadline per
/// stream they are held for as long as the client likes (measured: 200 of 200 held
/// for 45 s), and with enough connections every slot of the app's stream limit is
/// taken. Each stream is reset after the stall timeout and the app's streams end.
#[tokio::test]
async fn streams_that_never_get_window_are_reset_after_the_stall_timeout() {
    let server = start(Options {
        tick: Some(Duration::from_millis(50)),
        per_connection: Some(50),
        ..Options::default()
    })
    .await;
    let (addr, open) = (server.addr, server.open);
    let mut responses = Vec::new();
    for _ in 0..3 {
        let mut send = connect(addr, 0).await;
        for _ in 0..50 {
            responses.push(open_events(&mut send).await);
        }
    }
    assert!(
        responses.iter().all(|response| response.status() == 200),
        "every stream was answered"
    );
    assert_eq!(
        open.load(Ordering::SeqCst),
        150,
        "the app has every stream open"
    );
    // Well within the stall timeout nothing is reset: only a stream that waits for
    // the whole timeout is.
    tokio::time::sleep(STALL / 2).await;
    assert_eq!(
        open.load(Ordering::SeqCst),
        150,
        "reset before the stall timeout"
    );
    assert!(
        wait_until(STALL * 4, || open.load(Ordering::SeqCst) == 0).await,
        "{} of 150 streams still open {:?} after the stall timeout",
        open.load(Ordering::SeqCst),
        STALL * 4
    );
    // The client sees each stream reset, not ended.
    for response in responses {
        let mut body = response.into_body();
        match tokio::time::timeout(Duration::from_secs(5), body.data()).await {
            Ok(Some(Err(error))) => assert!(
                error.is_reset(),
                "the stream ended with {error}, not a reset"
            ),
            other => panic!("the stream was not reset: {other:?}"),
        }
    }
}

/// A client that reads is never reset, however long its stream lasts.
#[tokio::test]
async fn a_stream_that_is_read_outlives_the_stall_timeout() {
    let server = start(Options {
        tick: Some(Duration::from_millis(50)),
        ..Options::default()
    })
    .await;
    let (addr, open) = (server.addr, server.open);
    let mut send = connect(addr, 65_535).await;
    let response = open_events(&mut send).await;
    let mut body = response.into_body();
    let started = tokio::time::Instant::now();
    let mut bytes = 0;
    while started.elapsed() < STALL * 2 {
        let chunk = tokio::time::timeout(Duration::from_secs(1), body.data())
            .await
            .expect("events keep coming")
            .expect("the stream goes on")
            .expect("no reset");
        bytes += chunk.len();
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    assert!(bytes > 0);
    assert_eq!(open.load(Ordering::SeqCst), 1);
}

/// A stream read for longer than the stall timeout that then stops taking data is
/// reset one stall timeout after it stops (its timer, set when it first waited, is
/// moved on, not forgotten).
#[tokio::test]
async fn a_stream_that_stops_reading_late_is_reset_too() {
    let server = start(Options {
        tick: Some(Duration::from_millis(10)),
        ..Options::default()
    })
    .await;
    let (addr, open) = (server.addr, server.open);
    // A small window, given back while reading: once the client stops, the server
    // runs out of it within a few events.
    let mut send = connect(addr, 512).await;
    let response = open_events(&mut send).await;
    let mut body = response.into_body();
    let started = tokio::time::Instant::now();
    while started.elapsed() < STALL * 3 / 2 {
        let chunk = tokio::time::timeout(Duration::from_secs(1), body.data())
            .await
            .expect("events keep coming")
            .expect("the stream goes on")
            .expect("no reset while reading");
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    assert_eq!(open.load(Ordering::SeqCst), 1, "read streams are kept");
    // Stop giving window back (the body is kept, unread).
    assert!(
        wait_until(STALL * 3, || open.load(Ordering::SeqCst) == 0).await,
        "a stream that stopped reading is still open {:?} later",
        STALL * 3
    );
    drop(body);
}

/// One connection asking for 50 event streams gets its share (32 by default), and the
/// stream limit's refusal for the rest: `200` with only a `retry:` field.
#[tokio::test]
async fn one_connection_gets_at_most_its_share_of_event_streams() {
    // Streams that send nothing for now: only the refusals carry a frame. (Unread
    // small frames would trip the client's own guard against DATA-frame floods.)
    let server = start(Options {
        tick: Some(Duration::from_secs(3600)),
        ..Options::default()
    })
    .await;
    let (addr, open) = (server.addr, server.open);
    let mut send = connect(addr, 65_535).await;
    let mut responses = Vec::new();
    for _ in 0..50 {
        let response = open_events(&mut send).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        responses.push(response.into_body());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut held = Vec::new();
    let mut refused = 0;
    for mut body in responses {
        match tokio::time::timeout(Duration::from_millis(20), body.data()).await {
            Ok(Some(Ok(frame))) => {
                assert_eq!(&frame[..], b"retry: 10000\n\n");
                refused += 1;
            }
            Ok(other) => panic!("a stream ended with {other:?}"),
            Err(_) => held.push(body),
        }
    }
    assert_eq!((held.len(), refused), (32, 18));
    assert_eq!(
        open.load(Ordering::SeqCst),
        32,
        "refused streams end at once"
    );
    // Another connection has a share of its own.
    let mut other = connect(addr, 65_535).await;
    let response = open_events(&mut other).await;
    let mut body = response.into_body();
    assert!(
        tokio::time::timeout(Duration::from_millis(500), body.data())
            .await
            .is_err(),
        "the other connection's stream was refused"
    );
    assert_eq!(open.load(Ordering::SeqCst), 33);
}
