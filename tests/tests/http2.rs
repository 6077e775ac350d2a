//! HTTPS with HTTP/2 by ALPN, against every countdown example, checked with a real
//! client that is not ours (`curl --http2`): the SSE response keeps its headers, has
//! no connection-specific ones, and streams events; HTTP/1.1 over TLS still works.

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
    let config = sse_rs_core::server::tls_config(&cert, &key).expect("a TLS config");
    TestServer::start(serve, countdown.tls(config)).await
}

/// `curl -sk <protocol> -D - <url>` for at most `seconds`: (head, body).
async fn curl(protocol: &str, url: &str, seconds: u32) -> Option<(String, String)> {
    let curl = require_program("curl", "for the HTTP/2 tests")?;
    let output = tokio::process::Command::new(curl)
        .args([
            "-sk",
            protocol,
            "-D",
            "-",
            "--max-time",
            &seconds.to_string(),
            url,
        ])
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

macro_rules! http2_suite {
    ($name:ident, $serve:path) => {
        mod $name {
            #[tokio::test]
            async fn an_event_stream_over_http2_has_the_sse_headers_and_streams() {
                super::an_event_stream_over_http2_has_the_sse_headers_and_streams($serve).await;
            }
        }
    };
}

http2_suite!(hyper, hyper_countdown::serve);
http2_suite!(axum, axum_countdown::serve);
http2_suite!(warp, warp_countdown::serve);
http2_suite!(actix, actix_countdown::serve);
