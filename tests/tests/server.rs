//! The core's `Server` (what hyper-countdown, axum-countdown, warp-countdown and
//! axum-broadcast run on) against slow clients over real TCP: a request head or body
//! that does not arrive in time costs the client its connection, other clients are
//! served meanwhile, and a client that stops reading loses its stream.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use sse_rs::server::{ReadTimeoutBody, Server};
use sse_rs::shutdown::Shutdown;
use sse_rs::SseBody;
use sse_tests::{client, stalled_client, wait_until, EventReader, Firehose};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HEAD_TIMEOUT: Duration = Duration::from_millis(300);
const BODY_TIMEOUT: Duration = Duration::from_millis(300);

/// A server whose one service reads the whole request body and answers with its
/// length, or `408` when reading it failed.
async fn start() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = tower::service_fn(
        |request: http::Request<ReadTimeoutBody<Incoming>>| async move {
            let response = match request.into_body().collect().await {
                Ok(body) => http::Response::new(body.to_bytes().len().to_string()),
                Err(_) => {
                    let mut response = http::Response::new(String::from("too slow"));
                    *response.status_mut() = http::StatusCode::REQUEST_TIMEOUT;
                    response
                }
            };
            Ok::<_, Infallible>(response)
        },
    );
    let (trigger, _streams) = Shutdown::new();
    tokio::spawn(
        Server::new(listener)
            .header_read_timeout(HEAD_TIMEOUT)
            .body_read_timeout(BODY_TIMEOUT)
            .serve(service, std::future::pending(), trigger),
    );
    addr
}

/// Reads until the server closes the connection (bounded); what it sent.
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut received))
        .await
        .expect("the server did not close the connection")
        .ok();
    received
}

#[tokio::test]
async fn a_request_head_that_does_not_arrive_in_time_loses_its_connection() {
    let addr = start().await;
    let mut slow = Vec::new();
    for _ in 0..20 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        // Half a head, then nothing: a slowloris client.
        stream
            .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n")
            .await
            .unwrap();
        slow.push(stream);
    }
    // Others are served meanwhile.
    let response = client()
        .get(format!("http://{addr}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let start = Instant::now();
    for stream in &mut slow {
        read_until_closed(stream).await;
    }
    let took = start.elapsed();
    assert!(
        took < HEAD_TIMEOUT + Duration::from_secs(2),
        "slow heads held their connections for {took:?}"
    );
}

#[tokio::test]
async fn a_request_body_that_stalls_fails_and_loses_its_connection() {
    let addr = start().await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n0123456789")
        .await
        .unwrap();
    let received = read_until_closed(&mut stream).await;
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");

    // A body that keeps coming, if slowly, is read whole.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 6\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    for part in [&b"ab"[..], b"cd", b"ef"] {
        tokio::time::sleep(BODY_TIMEOUT / 2).await;
        stream.write_all(part).await.unwrap();
    }
    let received = read_until_closed(&mut stream).await;
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.ends_with("\r\n\r\n6"), "{text}");
}

async fn start_firehose(stall_timeout: Duration) -> (SocketAddr, Arc<AtomicBool>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = dropped.clone();
    let service = tower::service_fn(move |_: http::Request<ReadTimeoutBody<Incoming>>| {
        let stream = Firehose(flag.clone());
        async move { Ok::<_, Infallible>(SseBody::new(stream).into_response()) }
    });
    let (trigger, _streams) = Shutdown::new();
    tokio::spawn(
        Server::new(listener)
            .write_stall_timeout(stall_timeout)
            .serve(service, std::future::pending(), trigger),
    );
    (addr, dropped)
}

#[tokio::test]
async fn a_client_that_stops_reading_loses_its_stream() {
    let stall = Duration::from_millis(500);
    let (addr, dropped) = start_firehose(stall).await;
    let stalled_before = sse_rs::metrics::snapshot().stalled_closes;
    let client = stalled_client(addr).await;
    assert!(
        wait_until(Duration::from_secs(10), || dropped.load(Ordering::SeqCst)).await,
        "the stream of a client that stopped reading was never let go"
    );
    // Operators see it (only this test stalls a client in this binary).
    assert!(sse_rs::metrics::snapshot().stalled_closes > stalled_before);
    drop(client);

    // A client that reads keeps its stream, however long it stays.
    let (addr, dropped) = start_firehose(stall).await;
    let response = sse_tests::open_event_stream(addr, None).await;
    let mut reader = EventReader::new(response);
    let start = Instant::now();
    while start.elapsed() < stall * 4 {
        assert!(reader.read_chunk().await);
        reader.items.clear();
        reader.raw.clear();
    }
    assert!(
        !dropped.load(Ordering::SeqCst),
        "a reading client lost its stream"
    );
}

/// An HTTP/2 client with prior knowledge (h2c), as a proxy speaks to its upstream.
fn h2c_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .http2_prior_knowledge()
        .build()
        .unwrap()
}

#[tokio::test]
async fn an_event_stream_over_h2c_ends_alone_when_reset() {
    let stall = Duration::from_secs(30);
    let (addr, dropped) = start_firehose(stall).await;
    let client = h2c_client();
    let open = || {
        client
            .get(format!("http://{addr}/events"))
            .header("accept", "text/event-stream")
            .send()
    };
    let first = open().await.unwrap();
    assert_eq!(first.version(), reqwest::Version::HTTP_2);
    assert_eq!(first.headers()["content-type"], "text/event-stream");
    assert_eq!(first.headers()["cache-control"], "no-cache");
    // No connection-specific header on HTTP/2.
    for name in ["connection", "transfer-encoding", "keep-alive"] {
        assert!(!first.headers().contains_key(name), "{name} on HTTP/2");
    }
    let second = open().await.unwrap();
    assert_eq!(second.version(), reqwest::Version::HTTP_2);
    let mut second = EventReader::new(second);
    assert!(!second.events_until(3).await.is_empty());

    // Dropping one stream (RST_STREAM) ends that body alone.
    drop(first);
    assert!(
        wait_until(Duration::from_secs(5), || dropped.load(Ordering::SeqCst)).await,
        "the body of a reset stream went on"
    );
    second.items.clear();
    for _ in 0..20 {
        assert!(
            second.read_chunk().await,
            "the other stream on the connection ended"
        );
    }
    assert!(
        !second.events().is_empty(),
        "the other stream got no more events"
    );
}

/// Reads 16 MiB from one stream of `client` while another stream of the same
/// connection is never read; `false` when the read stream stalled for 3 s.
async fn read_past_an_unread_stream(client: &reqwest::Client, addr: SocketAddr) -> bool {
    let open = || {
        client
            .get(format!("http://{addr}/events"))
            .header("accept", "text/event-stream")
            .send()
    };
    let unread = open().await.unwrap();
    assert_eq!(unread.version(), reqwest::Version::HTTP_2);
    // Let the unread stream fill its window first.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut read = open().await.unwrap();
    let mut bytes = 0_usize;
    while bytes < 16 << 20 {
        let Ok(chunk) = tokio::time::timeout(Duration::from_secs(3), read.chunk()).await else {
            return false;
        };
        bytes += chunk.unwrap().expect("the read stream ended").len();
    }
    drop(unread);
    true
}

/// HTTP/2 flow control: a stream whose client stops reading fills its own window and
/// waits, and the other streams on the same connection go on: the read one gets
/// 16 MiB (reqwest's windows: 2 MiB per stream, 5 MiB per connection), and the
/// unread one is still open meanwhile. The control shows what is being checked: a
/// client whose stream window is as large as its connection window lets the unread
/// stream take the whole connection window, and then the other stream stalls.
#[tokio::test]
async fn a_stream_that_is_not_read_does_not_hold_back_the_others() {
    let (addr, dropped) = start_firehose(Duration::from_secs(30)).await;
    assert!(
        read_past_an_unread_stream(&h2c_client(), addr).await,
        "the read stream stalled behind the unread one"
    );
    assert!(
        !dropped.load(Ordering::SeqCst),
        "a stream was dropped, not held"
    );

    let one_window = reqwest::Client::builder()
        .no_proxy()
        .http2_prior_knowledge()
        .http2_initial_stream_window_size(1 << 20)
        .http2_initial_connection_window_size(1 << 20)
        .build()
        .unwrap();
    assert!(
        !read_past_an_unread_stream(&one_window, addr).await,
        "control: with one window for the stream and the connection, nothing stalled"
    );
}

/// The countdown examples that run on `Server` speak h2c on their port: checked with
/// an HTTP/2 client the project did not write (`curl --http2-prior-knowledge`).
#[tokio::test]
async fn the_countdown_examples_answer_curl_over_h2c() {
    let Some(curl) = sse_tests::require_program("curl", "for the h2c check") else {
        return;
    };
    let servers = [
        (
            "hyper",
            sse_tests::TestServer::start(hyper_countdown::serve, countdown()).await,
        ),
        (
            "axum",
            sse_tests::TestServer::start(axum_countdown::serve, countdown()).await,
        ),
        (
            "warp",
            sse_tests::TestServer::start(warp_countdown::serve, countdown()).await,
        ),
    ];
    for (name, server) in &servers {
        let output = tokio::process::Command::new(&curl)
            .args([
                "--http2-prior-knowledge",
                "-sS",
                "-D",
                "-",
                "--max-time",
                "10",
            ])
            .args(["-H", "accept: text/event-stream"])
            .arg(server.url("/events"))
            .output()
            .await
            .expect("run curl");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{name}: {text} {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
        let head = head.to_ascii_lowercase();
        assert!(head.starts_with("http/2 200"), "{name}: {head}");
        assert!(
            head.contains("content-type: text/event-stream"),
            "{name}: {head}"
        );
        assert!(head.contains("x-accel-buffering: no"), "{name}: {head}");
        assert!(
            !head.contains("connection:") && !head.contains("transfer-encoding:"),
            "{name}: {head}"
        );
        assert_eq!(body.matches("data: ").count(), 3, "{name}: {body}");
    }
}

fn countdown() -> countdown::Countdown {
    countdown::Countdown::new(3, Duration::from_millis(50))
}
