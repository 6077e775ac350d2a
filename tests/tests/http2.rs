//! HTTPS with HTTP/2 by ALPN, against every countdown example, checked with a real
//! client that is not ours (`curl --http2`): the SSE response keeps its headers, has
//! no connection-specific ones, and streams events; HTTP/1.1 over TLS still works;
//! and through nginx with `ssl` and HTTP/2 (plain HTTP/1.1 to the example), a resume
//! with `Last-Event-ID` goes on after that id.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use countdown::Countdown;
use sse_tests::{require_program, self_signed_tls, TestServer};
use tokio::net::TcpListener;

/// Starts `serve` over HTTPS with a fresh self-signed certificate.
async fn start_tls<F, Fut>(serve: F, countdown: Countdown) -> TestServer
where
    F: FnOnce(TcpListener, Countdown, sse_tests::ShutdownSignal) -> Fut,
    Fut: Future<Output = std::io::Result<()>> + Send + 'static,
{
    let (cert, key) = self_signed_tls(&PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
    let config = sse_rs::server::tls_config(&cert, &key).expect("a TLS config");
    TestServer::start(serve, countdown.tls(config)).await
}

/// `curl -sk <protocol> -D - <url>` for at most `seconds`: (head, body).
async fn curl(protocol: &str, url: &str, seconds: u32) -> Option<(String, String)> {
    curl_with(protocol, &[], url, seconds).await
}

/// [`curl`] with more arguments (before the URL).
async fn curl_with(
    protocol: &str,
    extra: &[&str],
    url: &str,
    seconds: u32,
) -> Option<(String, String)> {
    let curl = require_program("curl", "for the HTTP/2 tests")?;
    let output = tokio::process::Command::new(curl)
        .args([
            "-sk",
            protocol,
            "-D",
            "-",
            "--max-time",
            &seconds.to_string(),
        ])
        .args(extra)
        .arg(url)
        .output()
        .await
        .expect("run curl");
    let text = String::from_utf8(output.stdout).expect("UTF-8 from curl");
    let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
    Some((head.to_ascii_lowercase(), body.to_owned()))
}

async fn an_event_stream_over_http2_has_the_sse_headers_and_streams<F, Fut>(serve: F)
where
    F: FnOnce(TcpListener, Countdown, sse_tests::ShutdownSignal) -> Fut,
    Fut: Future<Output = std::io::Result<()>> + Send + 'static,
{
    let server = start_tls(serve, Countdown::new(3, Duration::from_millis(50))).await;
    let url = server.url("/events").replacen("http://", "https://", 1);
    let Some((head, body)) = curl("--http2", &url, 10).await else {
        return;
    };
    assert!(head.starts_with("http/2 200"), "{head}");
    for header in ["content-type: text/event-stream", "cache-control: no-cache"] {
        assert!(head.contains(header), "{header} missing: {head}");
    }
    for header in [
        "connection:",
        "transfer-encoding:",
        "content-length:",
        "keep-alive:",
    ] {
        assert!(!head.contains(header), "{header} over HTTP/2: {head}");
    }
    assert_eq!(body.matches("\n\n").count(), 3, "{body:?}");
    assert!(body.contains("id: 1\n"), "{body:?}");

    // The same origin still speaks HTTP/1.1 to a client that asks for it.
    let (head, body) = curl("--http1.1", &url, 10).await.unwrap();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("content-type: text/event-stream"), "{head}");
    assert_eq!(body.matches("\n\n").count(), 3, "{body:?}");
    assert!(server.shutdown(Duration::from_secs(10)).await.is_some());
}

/// Through nginx with `ssl` and HTTP/2 in front of the example's plain HTTP/1.1: the
/// SSE headers reach the client over `h2`, and a resume with `Last-Event-ID` goes on
/// after that id.
async fn through_nginx_over_http2_a_resume_goes_on_after_the_last_id<F, Fut>(serve: F)
where
    F: FnOnce(TcpListener, Countdown, sse_tests::ShutdownSignal) -> Fut,
    Fut: Future<Output = std::io::Result<()>> + Send + 'static,
{
    let server = TestServer::start(serve, Countdown::new(100, Duration::from_millis(1))).await;
    let (cert, key) = self_signed_tls(&PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
    let Some(nginx) = sse_tests::Nginx::start_tls(&[server.addr], (&cert, &key), "", "").await
    else {
        return;
    };
    let url = format!("https://127.0.0.1:{}/events", nginx.port);
    let Some((head, body)) = curl_with("--http2", &["-H", "Last-Event-ID: 42"], &url, 20).await
    else {
        return;
    };
    assert!(head.starts_with("http/2 200"), "{head}");
    assert!(head.contains("content-type: text/event-stream"), "{head}");
    let ids: Vec<&str> = body
        .lines()
        .filter_map(|line| line.strip_prefix("id: "))
        .collect();
    let expected: Vec<String> = (1..=41).rev().map(|n| n.to_string()).collect();
    assert_eq!(ids, expected, "{body:?}");
    drop(nginx);
    assert!(server.shutdown(Duration::from_secs(10)).await.is_some());
}

/// Over HTTPS and HTTP/2, keep-alive comments fill the gaps between events, and a
/// stop ends the stream cleanly (`GOAWAY`, then the stream's end): curl, reading the
/// whole time, exits with success long before its time limit, having seen both.
async fn over_http2_keep_alive_flows_and_a_stop_ends_the_stream_cleanly<F, Fut>(serve: F)
where
    F: FnOnce(TcpListener, Countdown, sse_tests::ShutdownSignal) -> Fut,
    Fut: Future<Output = std::io::Result<()>> + Send + 'static,
{
    let countdown =
        Countdown::new(1000, Duration::from_millis(300)).keep_alive(Duration::from_millis(60));
    let server = start_tls(serve, countdown).await;
    let Some(curl) = require_program("curl", "for the HTTP/2 tests") else {
        return;
    };
    let url = server.url("/events").replacen("http://", "https://", 1);
    let child = tokio::process::Command::new(curl)
        .args(["-sk", "--http2", "-N", "--max-time", "30", &url])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run curl");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let started = std::time::Instant::now();
    assert!(server.shutdown(Duration::from_secs(10)).await.is_some());
    let output = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .expect("curl still reading after the stop")
        .expect("curl's output");
    assert!(started.elapsed() < Duration::from_secs(10));
    let body = String::from_utf8(output.stdout).expect("UTF-8");
    assert!(
        output.status.success(),
        "curl: {:?}, {body:?}",
        output.status
    );
    assert!(body.contains("id: 1000\n"), "{body:?}");
    assert!(body.contains(":\n"), "no keep-alive comment: {body:?}");
}

macro_rules! http2_suite {
    ($name:ident, $serve:path) => {
        mod $name {
            #[tokio::test]
            async fn an_event_stream_over_http2_has_the_sse_headers_and_streams() {
                super::an_event_stream_over_http2_has_the_sse_headers_and_streams($serve).await;
            }

            #[tokio::test]
            async fn over_http2_keep_alive_flows_and_a_stop_ends_the_stream_cleanly() {
                super::over_http2_keep_alive_flows_and_a_stop_ends_the_stream_cleanly($serve).await;
            }

            #[tokio::test]
            async fn through_nginx_over_http2_a_resume_goes_on_after_the_last_id() {
                super::through_nginx_over_http2_a_resume_goes_on_after_the_last_id($serve).await;
            }
        }
    };
}

http2_suite!(hyper, hyper_countdown::serve);
http2_suite!(axum, axum_countdown::serve);
http2_suite!(warp, warp_countdown::serve);
http2_suite!(actix, actix_countdown::serve);

/// The chat example over HTTPS: its event stream comes over HTTP/2 with the SSE
/// headers and the ticker's events.
#[tokio::test]
async fn the_chat_example_serves_its_stream_over_http2() {
    let (cert, key) = self_signed_tls(&PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
    let config = sse_rs::server::tls_config(&cert, &key).expect("a TLS config");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(axum_broadcast::serve_https(
        listener,
        config,
        sse_rs::hub::Hub::new(),
        Duration::from_millis(50),
        async {
            let _ = stopped.await;
        },
        Duration::from_secs(1),
    ));
    let url = format!("https://{addr}/events");
    let Some((head, body)) = curl("--http2", &url, 1).await else {
        return;
    };
    assert!(head.starts_with("http/2 200"), "{head}");
    assert!(head.contains("content-type: text/event-stream"), "{head}");
    assert!(body.contains("event: tick\n"), "{body:?}");
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the chat example did not stop")
        .unwrap()
        .unwrap();
}
