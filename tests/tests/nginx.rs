//! Every countdown server behind a real nginx reverse proxy with nginx's default
//! `proxy_buffering on`: events still arrive one by one, because the responses carry
//! `X-Accel-Buffering: no`.
//!
//! nginx 1.22 alone passes small chunks on as they come even when buffering, so the
//! proxy also compresses event streams (`gzip on; gzip_types text/event-stream`, a
//! common production setting) and the client asks for gzip, as browsers do. Buffered,
//! the gzip filter then holds everything until the stream ends; unbuffered (the
//! header), nginx flushes it after every chunk. The control case makes nginx ignore
//! the header (`proxy_ignore_headers X-Accel-Buffering`) in front of the same server,
//! and the events arrive together: the check can fail.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use countdown::Countdown;
use sse_tests::{gzip_client, EventReader, ShutdownSignal, TestServer};
use tokio::net::TcpListener;

const INTERVAL: Duration = Duration::from_millis(250);

/// Whether nginx honours the upstream's `X-Accel-Buffering` header (its default).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Header {
    Honoured,
    Ignored,
}

/// An nginx in front of one server, with its defaults for buffering, compressing event
/// streams.
struct Nginx(sse_tests::Nginx);

impl Nginx {
    /// `None` (skipped) when nginx is missing outside CI.
    async fn start(upstream: SocketAddr, header: Header) -> Option<Self> {
        let ignore = if header == Header::Ignored {
            "proxy_ignore_headers X-Accel-Buffering;"
        } else {
            ""
        };
        sse_tests::Nginx::start(
            &[upstream],
            "gzip on;\n    gzip_types text/event-stream;",
            ignore,
        )
        .await
        .map(Self)
    }

    async fn events(&self) -> EventReader {
        let response = gzip_client()
            .get(format!("http://127.0.0.1:{}/events", self.0.port))
            .send()
            .await
            .expect("request through nginx");
        assert_eq!(response.status(), 200);
        EventReader::new(response)
    }
}

/// How far apart the first and the last of the events arrived.
async fn spread(mut reader: EventReader) -> Duration {
    let events = reader.read_to_end(Duration::from_secs(20)).await;
    assert_eq!(events.len(), 3, "{events:?}");
    let times = reader.event_times();
    times[2] - times[0]
}

async fn events_pass_nginx_one_by_one<F, Fut>(serve: F)
where
    F: FnOnce(TcpListener, Countdown, ShutdownSignal) -> Fut,
    Fut: Future<Output = io::Result<()>> + Send + 'static,
{
    let server = TestServer::start(serve, Countdown::new(3, INTERVAL)).await;
    let Some(nginx) = Nginx::start(server.addr, Header::Honoured).await else {
        return;
    };
    let spread = spread(nginx.events().await).await;
    // Produced 2 intervals apart from first to last; buffered, they would come together.
    assert!(
        spread >= INTERVAL,
        "events came through nginx {spread:?} apart"
    );
}

#[tokio::test]
async fn hyper_through_nginx() {
    events_pass_nginx_one_by_one(hyper_countdown::serve).await;
}

#[tokio::test]
async fn axum_through_nginx() {
    events_pass_nginx_one_by_one(axum_countdown::serve).await;
}

#[tokio::test]
async fn actix_through_nginx() {
    events_pass_nginx_one_by_one(actix_countdown::serve).await;
}

#[tokio::test]
async fn warp_through_nginx() {
    events_pass_nginx_one_by_one(warp_countdown::serve).await;
}

#[tokio::test]
async fn control_when_nginx_ignores_x_accel_buffering_it_holds_events_back() {
    let server = TestServer::start(hyper_countdown::serve, Countdown::new(3, INTERVAL)).await;
    let Some(nginx) = Nginx::start(server.addr, Header::Ignored).await else {
        return;
    };
    let spread = spread(nginx.events().await).await;
    assert!(
        spread < INTERVAL / 2,
        "nginx passed the events on {spread:?} apart: the check above could not fail"
    );
}
