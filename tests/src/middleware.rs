//! One suite for the SSE middlewares, run over real TCP against each of them: sse-rs's
//! tower `SseLayer` in front of axum (`tests/layer.rs`) and sse-actix's
//! `SseMiddleware` (`tests/actix_middleware.rs`). Both translate the core's
//! `StreamGate`; the suite checks that each translation keeps its meaning, so the two
//! cannot drift apart.
//!
//! A test file writes `async fn start(setup: Setup) -> MiddlewareServer`, which puts
//! its middleware, set up as [`Setup`] says, in front of the app [`MiddlewareServer`]
//! describes, then calls [`middleware_suite!(start)`](crate::middleware_suite). What
//! only one middleware can do stays in its own file.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use sse_rs::limit::{OverLimit, StreamLimit};
use sse_rs::shutdown::Shutdown;

use crate::limits::{assert_told_to_retry, assert_unannounced_streams_count};
use crate::programs::wait_until;
use crate::readers::{client, open_event_stream as open, EventReader};

/// How the suite wants the middleware set up: the middleware's `limit(...)` and
/// `shutdown(...)` when they are `Some`, nothing else.
#[derive(Clone, Debug, Default)]
pub struct Setup {
    /// The stream limit to give the middleware.
    pub limit: Option<StreamLimit>,
    /// The shutdown signal to give the middleware.
    pub shutdown: Option<Shutdown>,
}

/// A server on 127.0.0.1 with the middleware under test in front of two routes:
///
/// - `GET /events`: an endless event stream, one event every 20 ms with ids 0, 1,
///   2..., whose data is the `LastEventId` the middleware put into the request's
///   extensions (`none` when the request had none);
/// - `GET /empty`: `204 No Content`, a response that is not an event stream.
pub struct MiddlewareServer {
    /// Where it listens.
    pub addr: SocketAddr,
    available_streams: Box<dyn Fn() -> Option<usize>>,
}

impl MiddlewareServer {
    /// The server at `addr`, whose middleware's `available_streams()` is what
    /// `available_streams` returns.
    #[must_use]
    pub fn new(addr: SocketAddr, available_streams: impl Fn() -> Option<usize> + 'static) -> Self {
        Self {
            addr,
            available_streams: Box::new(available_streams),
        }
    }

    /// What the middleware says about its free stream slots (`None` without a limit).
    #[must_use]
    pub fn available_streams(&self) -> Option<usize> {
        (self.available_streams)()
    }
}

impl fmt::Debug for MiddlewareServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MiddlewareServer")
            .field("addr", &self.addr)
            .field("available_streams", &self.available_streams())
            .finish()
    }
}

/// The request's `Last-Event-ID` reaches the handler through the extensions, and a
/// request without one gets an empty `LastEventId`.
pub async fn last_event_id_is_in_the_extensions<F, Fut>(start: F)
where
    F: FnOnce(Setup) -> Fut,
    Fut: Future<Output = MiddlewareServer>,
{
    let server = start(Setup::default()).await;
    let addr = server.addr;
    let mut with = EventReader::new(open(addr, Some("41")).await);
    assert_eq!(with.events_until(1).await[0].data, "41");
    let mut without = EventReader::new(open(addr, None).await);
    assert_eq!(without.events_until(1).await[0].data, "none");
}

/// Under a limit of two: a response that is not an event stream gives its slot back
/// at once; two streams take both slots (as the middleware and the limit it was given
/// both say); a third is told to retry later (200, one `retry:` field, the end); once
/// a client leaves, its slot comes back and the next client gets in.
pub async fn over_the_limit_a_browser_is_told_to_retry_later_and_gets_in_once_a_stream_ends<
    F,
    Fut,
>(
    start: F,
) where
    F: FnOnce(Setup) -> Fut,
    Fut: Future<Output = MiddlewareServer>,
{
    let limit = StreamLimit::new(2).back_off(Duration::from_millis(150));
    let server = start(Setup {
        limit: Some(limit.clone()),
        ..Setup::default()
    })
    .await;
    let addr = server.addr;
    // A response that is not an event stream gives its slot back at once.
    let empty = client()
        .get(format!("http://{addr}/empty"))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 204);

    assert_eq!(server.available_streams(), Some(2));

    let mut first = EventReader::new(open(addr, None).await);
    let mut second = EventReader::new(open(addr, None).await);
    first.events_until(1).await;
    second.events_until(1).await;
    assert_eq!(server.available_streams(), Some(0));
    assert_eq!(limit.available(), 0);

    // Over the limit: 200 (a browser keeps trying), one retry field, the end.
    let response = open(addr, None).await;
    assert_told_to_retry(response, Duration::from_millis(150)).await;

    // A stream ends (the client leaves): its slot comes back, the next client gets in.
    first.disconnect();
    assert!(
        wait_until(Duration::from_secs(5), || server.available_streams()
            == Some(1))
        .await,
        "the slot of a closed stream was not given back"
    );
    assert_eq!(limit.available(), 1);
    let mut third = EventReader::new(open(addr, None).await);
    assert_eq!(third.events_until(1).await.len(), 1);
    assert_eq!(server.available_streams(), Some(0));
}

/// Under a limit of one, a stream opened without `Accept: text/event-stream` takes
/// the slot all the same (see [`assert_unannounced_streams_count`]).
pub async fn a_stream_counts_without_the_accept_header<F, Fut>(start: F)
where
    F: FnOnce(Setup) -> Fut,
    Fut: Future<Output = MiddlewareServer>,
{
    let back_off = Duration::from_millis(150);
    let limit = StreamLimit::new(1).back_off(back_off);
    let server = start(Setup {
        limit: Some(limit.clone()),
        ..Setup::default()
    })
    .await;
    assert_unannounced_streams_count(server.addr, back_off, || {
        server.available_streams().unwrap_or(usize::MAX)
    })
    .await;
    assert_eq!(limit.available(), 1);
}

/// With [`OverLimit::ServiceUnavailable`], a stream over the limit gets `503` with
/// `Retry-After` in seconds, for clients other than browsers.
pub async fn service_unavailable_is_an_option_for_non_browsers<F, Fut>(start: F)
where
    F: FnOnce(Setup) -> Fut,
    Fut: Future<Output = MiddlewareServer>,
{
    let limit = StreamLimit::new(1)
        .over_limit(OverLimit::ServiceUnavailable)
        .back_off(Duration::from_secs(30));
    let server = start(Setup {
        limit: Some(limit),
        ..Setup::default()
    })
    .await;
    let addr = server.addr;
    let mut first = EventReader::new(open(addr, None).await);
    first.events_until(1).await;
    let response = open(addr, None).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "30");
}

/// When the shutdown signal fires, the open (endless) streams end cleanly and give
/// their slots back.
pub async fn the_shutdown_signal_ends_open_streams_and_frees_their_slots<F, Fut>(start: F)
where
    F: FnOnce(Setup) -> Fut,
    Fut: Future<Output = MiddlewareServer>,
{
    let (trigger, signal) = Shutdown::new();
    let limit = StreamLimit::new(4);
    let server = start(Setup {
        limit: Some(limit.clone()),
        shutdown: Some(signal),
    })
    .await;
    let mut readers = Vec::new();
    for _ in 0..3 {
        let mut reader = EventReader::new(open(server.addr, None).await);
        reader.events_until(1).await;
        readers.push(reader);
    }
    assert_eq!(server.available_streams(), Some(1));
    assert_eq!(limit.available(), 1);
    trigger.fire();
    for mut reader in readers {
        // The endless streams end cleanly.
        reader.read_to_end(Duration::from_secs(5)).await;
    }
    assert!(
        wait_until(Duration::from_secs(5), || server.available_streams()
            == Some(4))
        .await
    );
    assert_eq!(limit.available(), 4);
}

/// Runs every test of the [middleware suite](crate::middleware) against one
/// middleware: `$start` is an `async fn(Setup) -> MiddlewareServer` (or any path to a
/// function of that shape). Each test gets the name of the suite's function.
#[macro_export]
macro_rules! middleware_suite {
    ($start:path) => {
        #[tokio::test]
        async fn last_event_id_is_in_the_extensions() {
            $crate::middleware::last_event_id_is_in_the_extensions($start).await;
        }

        #[tokio::test]
        async fn over_the_limit_a_browser_is_told_to_retry_later_and_gets_in_once_a_stream_ends(
        ) {
            $crate::middleware::over_the_limit_a_browser_is_told_to_retry_later_and_gets_in_once_a_stream_ends($start).await;
        }

        #[tokio::test]
        async fn a_stream_counts_without_the_accept_header() {
            $crate::middleware::a_stream_counts_without_the_accept_header($start).await;
        }

        #[tokio::test]
        async fn service_unavailable_is_an_option_for_non_browsers() {
            $crate::middleware::service_unavailable_is_an_option_for_non_browsers($start).await;
        }

        #[tokio::test]
        async fn the_shutdown_signal_ends_open_streams_and_frees_their_slots() {
            $crate::middleware::the_shutdown_signal_ends_open_streams_and_frees_their_slots(
                $start,
            )
            .await;
        }
    };
}
