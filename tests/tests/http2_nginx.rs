//! The README's advice for actix-web's own HTTP/2, checked: it sets no limit of
//! concurrent streams and has no deadline for a stream that gets no flow-control
//! window, so one connection holds as many event streams as it likes for as long as
//! it likes. nginx in front (HTTP/2 to the client, HTTP/1.1 to actix-web) does not
//! time such streams out either, but bounds how many one connection
//! (`http2_max_concurrent_streams`) and one client address (`limit_conn`, which counts
//! each HTTP/2 request as a connection) may hold.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use countdown::Countdown;
use sse_rs::server::rustls;
use sse_tests::{self_signed_tls, wait_until, Nginx, TestServer};

/// What nginx is told in front of actix-web (the README's advice, with small numbers
/// and a short send timeout for the test).
const NGINX_HTTP: &str = "http2_max_concurrent_streams 16;
    send_timeout 2s;
    limit_conn_zone $binary_remote_addr zone=per_address:1m;";
const NGINX_LOCATION: &str = "limit_conn per_address 20;";

/// An HTTP/2 connection over TLS (ALPN `h2`) to `addr` whose streams get no byte of
/// flow-control window, ever; the connection itself is driven (PING and SETTINGS
/// answered), so the socket never stalls.
async fn starving_connection(
    addr: SocketAddr,
    cert: &std::path::Path,
) -> h2::client::SendRequest<Bytes> {
    let config = sse_tests::trusting(cert, &[b"h2"]);
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (send, mut connection) = h2::client::Builder::new()
        .initial_window_size(0)
        .handshake::<_, Bytes>(tls)
        .await
        .unwrap();
    let mut ping = connection.ping_pong().expect("the connection's ping");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    // The server's SETTINGS come before its answer to a PING: once it is back, the
    // client knows the server's limit of concurrent streams.
    tokio::time::timeout(Duration::from_secs(5), ping.ping(h2::Ping::opaque()))
        .await
        .expect("a PING answered")
        .unwrap();
    send
}

/// Opens up to `count` event streams on `send`, as many as the server's
/// `SETTINGS_MAX_CONCURRENT_STREAMS` lets it have at once; their responses to come.
async fn open_streams(
    send: h2::client::SendRequest<Bytes>,
    authority: &str,
    count: usize,
) -> Vec<h2::client::ResponseFuture> {
    let mut send = send.ready().await.unwrap();
    let allowed = send.current_max_send_streams().min(count);
    let mut responses = Vec::new();
    for _ in 0..allowed {
        let request = http::Request::get(format!("https://{authority}/events"))
            .header("accept", "text/event-stream")
            .body(())
            .unwrap();
        let (response, _) = send.send_request(request, true).unwrap();
        send = send.ready().await.unwrap();
        responses.push(response);
    }
    responses
}

/// A countdown that never ends by itself: an event every 50 ms.
fn endless() -> Countdown {
    Countdown::new(1_000_000, Duration::from_millis(50))
}

/// The control: actix-web's own HTTP/2 takes every stream asked for on one
/// connection, and keeps every one of them, starved, well past any timeout.
#[tokio::test]
async fn actix_webs_own_http2_holds_every_starved_stream() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let (cert, key) = self_signed_tls(&dir);
    let config = sse_rs::server::tls_config(&cert, &key).unwrap();
    let server = TestServer::start(actix_countdown::serve, endless().tls(config)).await;
    let send = starving_connection(server.addr, &cert).await;
    let streams = open_streams(send, &server.addr.to_string(), 64).await;
    assert_eq!(streams.len(), 64, "no limit of concurrent streams");
    let mut heads = Vec::new();
    for response in streams {
        let response = tokio::time::timeout(Duration::from_secs(10), response)
            .await
            .expect("an answer")
            .unwrap();
        assert_eq!(response.status(), 200);
        // Kept: a response dropped is a stream the client cancels.
        heads.push(response);
    }
    assert!(
        wait_until(Duration::from_secs(5), || server.countdown.open_streams()
            == 64)
        .await
    );
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        server.countdown.open_streams(),
        64,
        "starved streams are held"
    );
}

/// Behind nginx as the README advises, one connection gets 16 streams (nginx's
/// limit per connection) and one address 20 (its `limit_conn`), however many
/// connections it opens. nginx does not time the starved streams out (measured: all
/// held for 100 s with `send_timeout 2s` and `proxy_read_timeout 3s`, nginx 1.22):
/// the limits are what bounds them.
#[tokio::test]
async fn behind_nginx_one_connection_and_one_address_get_a_bounded_share() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let (cert, key) = self_signed_tls(&dir);
    // nginx speaks HTTP/1.1 to actix-web: the app serves plain HTTP behind it.
    let server = TestServer::start(actix_countdown::serve, endless()).await;
    let Some(nginx) =
        Nginx::start_tls(&[server.addr], (&cert, &key), NGINX_HTTP, NGINX_LOCATION).await
    else {
        return;
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], nginx.port));
    let authority = addr.to_string();
    let mut streams = Vec::new();
    for _ in 0..3 {
        let send = starving_connection(addr, &cert).await;
        let opened = open_streams(send, &authority, 64).await;
        assert_eq!(opened.len(), 16, "nginx's limit per connection");
        streams.extend(opened);
    }
    let open = || server.countdown.open_streams();
    // Give nginx the time to pass on every request it takes.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        open(),
        20,
        "48 asked for, the address's limit reached the app"
    );
    // Past the send timeout, the starved streams are still there: nginx's limits, not
    // its timeouts, are what bounds them.
    assert!(
        !wait_until(Duration::from_secs(4), || open() < 20).await,
        "nginx now times starved HTTP/2 streams out: update the README"
    );
    drop(streams);
}
