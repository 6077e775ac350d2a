//! Streams that answer one request (`Sse::channel` in every adapter, `channel::body`
//! on plain hyper): the producer learns that the client is gone, and why, as soon as
//! it is, however it left. Over HTTP/1.1 (the connection closed) and HTTP/2 (the
//! stream reset, the connection closed), the producer's `cancelled()` completes with
//! `End::ClientGone` within 100 ms of the client leaving; a shutdown gives
//! `End::Shutdown`; behind the core's `Server`, a client that stops reading is let go
//! after the write stall timeout and the producer hears `End::ClientGone` too.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sse_rs::channel::EventSender;
use sse_rs::shutdown::{Shutdown, ShutdownTrigger};
use sse_rs::{End, Event};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::timeout;

/// How long a producer may take to learn that its client left.
const PROMPTLY: Duration = Duration::from_millis(100);

/// What the producers tell the test: why their stream ended, and when they knew.
type Reports = mpsc::UnboundedSender<(End, Instant)>;

/// A producer as a handler spawns it. On `/events`: one event, then it waits for the
/// stream to end. On `/flood`: 64 KiB events for as long as they can be sent.
fn produce(path: &str, sender: EventSender, reports: Reports) {
    let flood = path == "/flood";
    tokio::spawn(async move {
        if flood {
            let data = "x".repeat(64 * 1024);
            while sender
                .send(Event::default().data(data.as_str()))
                .await
                .is_ok()
            {}
        } else {
            let _ = sender.send(Event::default().id(1).data("token")).await;
        }
        let end = sender.cancelled().await;
        let _ = reports.send((end, Instant::now()));
    });
}

/// The core's `Server` (HTTP/1.1 and h2c) with a short write stall timeout.
fn short_stall(server: sse_rs::server::Server) -> sse_rs::server::Server {
    server.write_stall_timeout(Duration::from_millis(500))
}
async fn hyper_server(reports: Reports, stop: Shutdown) -> SocketAddr {
    sse_tests::serve_core(
        short_stall,
        tower::service_fn(move |request: http::Request<_>| {
            let (sender, body) = sse_rs::channel::body(4);
            produce(request.uri().path(), sender, reports.clone());
            let response = body.shutdown(stop.clone(), None).into_response();
            async move { Ok::<_, Infallible>(response) }
        }),
    )
    .await
}

async fn axum_server(reports: Reports, stop: Shutdown) -> SocketAddr {
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let (sender, sse) = sse_axum::Sse::channel(4);
        produce(uri.path(), sender, reports.clone());
        let sse = sse.shutdown(stop.clone(), None);
        async move { sse }
    });
    sse_tests::serve_core(short_stall, app).await
}

async fn warp_server(reports: Reports, stop: Shutdown) -> SocketAddr {
    use warp::Filter;
    let route = warp::path::full().map(move |path: warp::path::FullPath| {
        let (sender, sse) = sse_warp::Sse::channel(4);
        produce(path.as_str(), sender, reports.clone());
        sse.shutdown(stop.clone(), None)
    });
    sse_tests::serve_core(short_stall, warp::service(route)).await
}

/// How often actix-web's streams write a keep-alive: over HTTP/2 actix-web notices a
/// client that left only when it writes to it (actix-web#1313). Long enough that an
/// HTTP/1.1 close noticed only by a keep-alive (two writes: 400 ms) fails the test.
const ACTIX_KEEP_ALIVE: Duration = Duration::from_millis(200);

/// actix-web's own server, HTTP/1.1 and h2c on one port, with
/// `h1_allow_half_closed(false)` (actix-web then reads the socket while it streams, and
/// ends the connection at the client's end of it) and a keep-alive every
/// [`ACTIX_KEEP_ALIVE`] (which is how an HTTP/2 stream learns).
fn actix_server(reports: Reports, stop: Shutdown) -> SocketAddr {
    sse_tests::spawn_actix(move |listener| async move {
        actix_web::HttpServer::new(move || {
            let (reports, stop) = (reports.clone(), stop.clone());
            actix_web::App::new().default_service(actix_web::web::to(
                move |request: actix_web::HttpRequest| {
                    let (sender, sse) = sse_actix::Sse::channel(4);
                    produce(request.path(), sender, reports.clone());
                    let keep_alive = sse_actix::KeepAlive::new()
                        .interval(ACTIX_KEEP_ALIVE)
                        .blank_line(false);
                    let sse = sse.shutdown(stop.clone(), None).keep_alive(keep_alive);
                    async move { sse }
                },
            ))
        })
        .workers(1)
        .disable_signals()
        .on_connect(sse_actix::stall_timeout(Duration::from_secs(30)))
        .h1_allow_half_closed(false)
        .listen_auto_h2c(listener)?
        .run()
        .await
    })
}

/// A client that reads `GET path` over HTTP/1.1 until it has the first event.
async fn http1_first_event(addr: SocketAddr, path: &str) -> TcpStream {
    let mut socket = TcpStream::connect(addr).await.unwrap();
    let request =
        format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\naccept: text/event-stream\r\n\r\n");
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut seen = Vec::new();
    while !seen.windows(11).any(|w| w == b"data: token") {
        let mut buf = [0; 1024];
        let n = timeout(Duration::from_secs(5), socket.read(&mut buf))
            .await
            .expect("no event for 5 s")
            .unwrap();
        assert!(n > 0, "the connection closed");
        seen.extend_from_slice(&buf[..n]);
    }
    socket
}

/// An HTTP/2 (h2c) stream of `/events` that has its first event: the request's send
/// half (to reset it), its body, and the connection's task.
async fn http2_first_event(
    addr: SocketAddr,
) -> (
    h2::SendStream<Bytes>,
    h2::RecvStream,
    h2::client::SendRequest<Bytes>,
    tokio::task::JoinHandle<()>,
) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    // As browsers do: a reset is one small frame, which Nagle's algorithm would hold
    // for the server's delayed ACK (40 ms).
    tcp.set_nodelay(true).unwrap();
    let (send, connection) = h2::client::handshake(tcp).await.unwrap();
    let task = tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut send = send.ready().await.unwrap();
    let request = http::Request::get(format!("http://{addr}/events"))
        .body(())
        .unwrap();
    let (response, stream) = send.send_request(request, false).unwrap();
    let response = timeout(Duration::from_secs(5), response)
        .await
        .expect("no response for 5 s")
        .unwrap();
    let mut body = response.into_body();
    let first = timeout(Duration::from_secs(5), body.data())
        .await
        .expect("no event for 5 s")
        .unwrap()
        .unwrap();
    assert!(first.ends_with(b"data: token\n\n"), "{first:?}");
    (stream, body, send, task)
}

/// Waits for the one report of a stream: why it ended and how long after `left` the
/// producer knew.
async fn report(
    reports: &mut mpsc::UnboundedReceiver<(End, Instant)>,
    left: Instant,
) -> (End, Duration) {
    let (end, at) = timeout(Duration::from_secs(5), reports.recv())
        .await
        .expect("the producer never learned the stream ended")
        .unwrap();
    (end, at.saturating_duration_since(left))
}

/// Starts the server with `start`; the producer must learn that the client left
/// within `promptly.0` over HTTP/1.1, `promptly.1` over HTTP/2.
async fn the_producer_learns_at_once<F, Fut>(
    name: &str,
    start: F,
    promptly: (Duration, Duration),
    stalls_time_out: bool,
) where
    F: Fn(Reports, Shutdown) -> Fut,
    Fut: std::future::Future<Output = SocketAddr>,
{
    let (tx, mut reports) = mpsc::unbounded_channel();
    let (trigger, stop): (ShutdownTrigger, Shutdown) = Shutdown::new();
    let addr = start(tx, stop).await;
    let mut latencies = Vec::new();

    // HTTP/1.1: the client closes the connection.
    let socket = http1_first_event(addr, "/events").await;
    let left = Instant::now();
    drop(socket);
    let (end, after) = report(&mut reports, left).await;
    assert_eq!(end, End::ClientGone, "{name}, HTTP/1.1 close");
    latencies.push(("HTTP/1.1 connection closed", after));

    // HTTP/2: the client resets the stream, the connection stays.
    let (mut stream, _body, _send, task) = http2_first_event(addr).await;
    let left = Instant::now();
    stream.send_reset(h2::Reason::CANCEL);
    let (end, after) = report(&mut reports, left).await;
    assert_eq!(end, End::ClientGone, "{name}, HTTP/2 reset");
    latencies.push(("HTTP/2 stream reset", after));
    task.abort();

    // HTTP/2: the client closes the whole connection.
    let (_stream, _body, send, task) = http2_first_event(addr).await;
    let left = Instant::now();
    task.abort();
    drop(send);
    let (end, after) = report(&mut reports, left).await;
    assert_eq!(end, End::ClientGone, "{name}, HTTP/2 connection closed");
    latencies.push(("HTTP/2 connection closed", after));

    for (how, after) in &latencies {
        eprintln!("{name}: {how}: the producer knew after {after:?}");
        let bound = if how.starts_with("HTTP/1.1") {
            promptly.0
        } else {
            promptly.1
        };
        assert!(*after < bound, "{name}, {how}: {after:?}");
    }

    if stalls_time_out {
        // A client that stops reading: let go after the write stall timeout (500 ms).
        let mut socket = TcpStream::connect(addr).await.unwrap();
        let request = format!("GET /flood HTTP/1.1\r\nhost: {addr}\r\n\r\n");
        socket.write_all(request.as_bytes()).await.unwrap();
        let asked = Instant::now();
        let (end, after) = report(&mut reports, asked).await;
        assert_eq!(end, End::ClientGone, "{name}, stalled client");
        eprintln!("{name}: a client that never reads: the producer knew after {after:?}");
        drop(socket);
    }

    // A shutdown ends the stream, and says so.
    let _socket = http1_first_event(addr, "/events").await;
    let fired = Instant::now();
    trigger.fire();
    let (end, after) = report(&mut reports, fired).await;
    assert_eq!(end, End::Shutdown, "{name}, shutdown");
    eprintln!("{name}: shutdown: the producer knew after {after:?}");
}

#[tokio::test]
async fn hyper() {
    the_producer_learns_at_once("hyper", hyper_server, (PROMPTLY, PROMPTLY), true).await;
}

#[tokio::test]
async fn axum() {
    the_producer_learns_at_once("axum", axum_server, (PROMPTLY, PROMPTLY), true).await;
}

#[tokio::test]
async fn warp() {
    the_producer_learns_at_once("warp", warp_server, (PROMPTLY, PROMPTLY), true).await;
}

#[tokio::test]
async fn actix() {
    the_producer_learns_at_once(
        "actix",
        |reports, stop| async move { actix_server(reports, stop) },
        // HTTP/1.1: actix-web's read of the socket. HTTP/2: the next keep-alive fails
        // on a reset stream; on a closed connection the kernel takes one more write,
        // and the second fails.
        (PROMPTLY, 2 * ACTIX_KEEP_ALIVE + PROMPTLY),
        false,
    )
    .await;
}
