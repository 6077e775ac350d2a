//! Our client (`sse-rs-client`) against every countdown example, over plain HTTP/1.1
//! and over HTTP/2 with TLS (negotiated by ALPN, checked on each connection): every
//! event arrives in order with its id, and a stream that the server cuts resumes with
//! `Last-Event-ID`, nothing lost or repeated, until the finished countdown answers
//! `204` and the client stops.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use countdown::Countdown;
use futures_util::StreamExt;
use http::Version;
use sse_rs_client::{Client, Error, Event, Reconnect};
use sse_tests::{expected_event, self_signed_tls, ShutdownSignal, TestServer};
use tokio::net::TcpListener;

/// Long enough for any test to finish; a hang fails instead of blocking CI.
const LIMIT: Duration = Duration::from_secs(20);

/// How the client reaches the example.
#[derive(Clone, Copy, Debug)]
enum Protocol {
    /// `http://`: HTTP/1.1.
    Http1,
    /// `https://` with a self-signed certificate the client trusts: HTTP/2 by ALPN.
    Http2Tls,
}

impl Protocol {
    fn version(self) -> Version {
        match self {
            Self::Http1 => Version::HTTP_11,
            Self::Http2Tls => Version::HTTP_2,
        }
    }
}

/// Starts `serve` with `countdown` over `protocol`; returns the server, a client that
/// trusts it, and the URL of its event stream.
async fn start<F, Fut>(
    serve: F,
    countdown: Countdown,
    protocol: Protocol,
) -> (TestServer, Client, String)
where
    F: FnOnce(TcpListener, Countdown, ShutdownSignal) -> Fut,
    Fut: Future<Output = std::io::Result<()>> + Send + 'static,
{
    // The countdown sends `retry: 5000` with each event: short, so that the tests
    // reconnect at once.
    let countdown = countdown.retry(Duration::from_millis(20));
    match protocol {
        Protocol::Http1 => {
            let server = TestServer::start(serve, countdown).await;
            let url = server.url("/events");
            (server, Client::new(), url)
        }
        Protocol::Http2Tls => {
            let (cert, key) = self_signed_tls(&PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
            let config = sse_rs::server::tls_config(&cert, &key).expect("a TLS config");
            let server = TestServer::start(serve, countdown.tls(config)).await;
            let tls = sse_tests::trusting(&cert, &[]);
            let client = Client::builder().tls_config(Arc::new(tls)).build();
            let url = format!("https://localhost:{}/events", server.addr.port());
            (server, client, url)
        }
    }
}

/// Every item of the stream until it ends (bounded by [`LIMIT`]).
async fn read_all(client: &Client, url: &str) -> Vec<Result<Event, Error>> {
    let source = client
        .get(url)
        .connection_events(true)
        .reconnect(
            Reconnect::new()
                .initial_delay(Duration::from_millis(20))
                .jitter(0.0)
                .max_attempts(3),
        )
        .stream();
    tokio::time::timeout(LIMIT, source.collect::<Vec<_>>())
        .await
        .expect("the stream ends in time")
}

/// (type, data, id) of each message; panics on an error item.
fn messages(items: &[Result<Event, Error>]) -> Vec<(String, String, String)> {
    items
        .iter()
        .filter_map(|item| match item {
            Ok(Event::Message(m)) => {
                Some((m.event.clone(), m.data.clone(), m.last_event_id.clone()))
            }
            Ok(_) => None,
            Err(error) => panic!("unexpected error {error:?}"),
        })
        .collect()
}

/// (HTTP version, `Last-Event-ID` sent) of each connection that opened.
fn opens(items: &[Result<Event, Error>]) -> Vec<(Version, Option<String>)> {
    items
        .iter()
        .filter_map(|item| match item {
            Ok(Event::Open(open)) => {
                Some((open.version(), open.last_event_id().map(str::to_owned)))
            }
            _ => None,
        })
        .collect()
}

/// Checks that each connection after the first sent the id of the last event that
/// arrived before it as `Last-Event-ID`.
fn assert_resumed_after_the_last_id(items: &[Result<Event, Error>]) {
    let mut last: Option<String> = None;
    let mut first = true;
    for item in items {
        match item {
            Ok(Event::Message(message)) => last = Some(message.last_event_id.clone()),
            Ok(Event::Open(open)) => {
                if !first {
                    assert_eq!(open.last_event_id(), last.as_deref(), "{items:?}");
                }
                first = false;
            }
            _ => {}
        }
    }
}

/// Whether each reconnection followed an error (a cut) rather than a clean end.
fn reconnections(items: &[Result<Event, Error>]) -> Vec<bool> {
    items
        .iter()
        .filter_map(|item| match item {
            Ok(Event::Reconnecting(reconnecting)) => Some(reconnecting.error().is_some()),
            _ => None,
        })
        .collect()
}

/// The whole countdown in one response, then a reconnection after id 1 that the
/// server answers with `204`: the stream ends with `None`.
async fn every_event_arrives_in_order_with_its_id<F, Fut>(serve: F, protocol: Protocol)
where
    F: FnOnce(TcpListener, Countdown, ShutdownSignal) -> Fut,
    Fut: Future<Output = std::io::Result<()>> + Send + 'static,
{
    let countdown = Countdown::new(20, Duration::from_millis(1));
    let (server, client, url) = start(serve, countdown, protocol).await;
    let items = read_all(&client, &url).await;
    let expected: Vec<_> = (1..=20).rev().map(expected_event).collect();
    assert_eq!(messages(&items), expected);
    assert_eq!(opens(&items), [(protocol.version(), None)], "{items:?}");
    // The clean end is a reconnection (with `Last-Event-ID: 1`), which the finished
    // countdown answers with `204`: no second stream opens, and the client stops.
    assert_eq!(reconnections(&items), [false], "a clean end: {items:?}");
    assert_eq!(server.countdown.requests(), 2, "the stream, then the 204");
    assert!(server.shutdown(LIMIT).await.is_some());
}

/// The server cuts every response after at most 3 events: the client resumes each
/// time after the last id it got, so the countdown arrives whole, once.
async fn a_cut_stream_resumes_with_nothing_lost_or_repeated<F, Fut>(serve: F, protocol: Protocol)
where
    F: FnOnce(TcpListener, Countdown, ShutdownSignal) -> Fut,
    Fut: Future<Output = std::io::Result<()>> + Send + 'static,
{
    let countdown = Countdown::new(10, Duration::from_millis(1)).drop_after(Some(3));
    let (server, client, url) = start(serve, countdown, protocol).await;
    let items = read_all(&client, &url).await;
    let expected: Vec<_> = (1..=10).rev().map(expected_event).collect();
    assert_eq!(messages(&items), expected);
    // Each cut loses no event: a connection resumes after the last id that arrived
    // (the server may lose an event it had not sent yet at the cut; it sends it
    // again after that id).
    assert_resumed_after_the_last_id(&items);
    let opens = opens(&items);
    assert!(opens.len() >= 3, "cut at least twice: {items:?}");
    assert!(
        opens
            .iter()
            .all(|(version, _)| *version == protocol.version()),
        "{opens:?}"
    );
    // Every response but the last was cut (the server drops the connection or resets
    // the stream); the last ends cleanly after id 1, and the reconnection after it
    // gets `204`.
    let mut cuts = vec![true; opens.len() - 1];
    cuts.push(false);
    assert_eq!(reconnections(&items), cuts, "{items:?}");
    assert_eq!(server.countdown.requests(), opens.len() + 1);
    assert!(server.shutdown(LIMIT).await.is_some());
}

macro_rules! client_suite {
    ($name:ident, $serve:path) => {
        mod $name {
            use super::Protocol;

            #[tokio::test]
            async fn every_event_arrives_in_order_with_its_id_over_http1() {
                super::every_event_arrives_in_order_with_its_id($serve, Protocol::Http1).await;
            }

            #[tokio::test]
            async fn every_event_arrives_in_order_with_its_id_over_http2_tls() {
                super::every_event_arrives_in_order_with_its_id($serve, Protocol::Http2Tls).await;
            }

            #[tokio::test]
            async fn a_cut_stream_resumes_with_nothing_lost_or_repeated_over_http1() {
                super::a_cut_stream_resumes_with_nothing_lost_or_repeated($serve, Protocol::Http1)
                    .await;
            }

            #[tokio::test]
            async fn a_cut_stream_resumes_with_nothing_lost_or_repeated_over_http2_tls() {
                super::a_cut_stream_resumes_with_nothing_lost_or_repeated(
                    $serve,
                    Protocol::Http2Tls,
                )
                .await;
            }
        }
    };
}

client_suite!(hyper, hyper_countdown::serve);
client_suite!(axum, axum_countdown::serve);
client_suite!(warp, warp_countdown::serve);
client_suite!(actix, actix_countdown::serve);
