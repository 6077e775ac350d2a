//! Compressed countdown streams in a real browser (headless Chromium over WebDriver),
//! against every example server: `--compress` (here [`Countdown::compress`]) with
//! gzip over plain HTTP/1.1, and brotli, then zstd, over HTTPS (HTTP/2 by ALPN),
//! each next to an uncompressed run of the same server over the same protocol.
//!
//! For each compressed run this proves that
//!
//! - Chromium's `EventSource` receives every event, in order, with the right id,
//!   type and data, on one connection (no error, no reconnection);
//! - the stream really was compressed, with the intended coding: the server allows
//!   only that coding, the page's `fetch` of the same URL reads it in
//!   `Content-Encoding`, and the finished stream's Resource Timing entry has fewer
//!   bytes on the wire than decoded (`encodedBodySize < decodedBodySize`), where the
//!   uncompressed run has as many (and no coding: no `Content-Encoding`, or
//!   actix's `identity`);
//! - compression holds no event back: each event arrives within 50 ms of when the
//!   uncompressed stream delivered the same event.
//!
//! # The timing method
//!
//! The page records `performance.now()` at the stream's `open` and at each
//! `message`. An event's arrival is its time after `open` (the response head, which
//! compression does not touch), which takes the page load and the connection set-up
//! out of the figure. The server sends its n-th event n × 100 ms after the request,
//! on a fixed schedule ([`Countdown::fixed_schedule`]): a timer late on a busy
//! machine delays that one event, not every later one, which in the default
//! schedule shifted whole runs by up to 40 ms. The uncompressed and then the
//! compressed run of one server and protocol follow one another, each with a fresh
//! server and page, and for every event the two arrivals must agree within 50 ms.
//! A compressor that buffered frames, or a layer in front that did, delivers events
//! late or in bunches: with an interval of 100 ms, holding back even one event per
//! pair puts it 100 ms late, and the test fails (checked by making the hyper example
//! bunch its compressed events in fours: deviations of 100 to 300 ms). The 50 ms are
//! the issue's rule; the noise they must absorb (timers, the page's event loop, a
//! two-core machine building other crates at the same time) measured 1 to 10 ms for
//! most events of most runs, 35 ms at worst (with a load average of 5), and once over
//! 50 ms with three Chromium-free builds running: a pair over the slack is measured
//! again, both runs, up to three times. A compressor that holds events back is late
//! in every attempt.
//!
//! # What Chromium sends
//!
//! Chromium 156 sends `Accept-Encoding: gzip, deflate, br, zstd` for the page, for
//! `fetch` and for `EventSource` over HTTPS, and also over plain HTTP to
//! `127.0.0.1` or `localhost` (loopback counts as a secure context); over plain
//! HTTP to any other address it sends `gzip, deflate` only: `br` and `zstd` are for
//! HTTPS. Hence gzip, which every browser offers everywhere, is the coding tested
//! over plain HTTP; and each server allows one coding only, so that a compressed
//! stream cannot have been compressed with another.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use countdown::Countdown;
use sse_rs::compress::{Coding, Compression};
use sse_rs::server::rustls::ServerConfig;
use sse_tests::browser::Browser;
use sse_tests::{ShutdownSignal, TestServer};
use tokio::net::TcpListener;

/// One browser at a time: two cores do not run several Chromiums well.
static BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Events per stream, one per [`INTERVAL`].
const COUNT: u64 = 12;
const INTERVAL: Duration = Duration::from_millis(100);
/// How much later (or earlier) than uncompressed a compressed event may arrive.
const SLACK_MS: f64 = 50.0;

/// Closes the demo page's own stream and opens `/events?probe` (a URL of its own,
/// so that its Resource Timing entry is the only one of that name), recording the
/// times of its `open` and of each event; closes it when it ends after the last
/// event (`arguments[0]` events).
const OPEN: &str = "const count = arguments[0]; window.source.close(); \
    const run = { open: null, messages: [], errors: 0, done: false }; window.run = run; \
    const source = new EventSource('/events?probe'); \
    source.onopen = () => { run.open = performance.now(); }; \
    source.onmessage = (e) => { run.messages.push({ at: performance.now(), \
        id: e.lastEventId, type: e.type, data: e.data }); }; \
    source.onerror = () => { if (run.messages.length >= count) { source.close(); \
        run.done = true; } else { run.errors += 1; } }; \
    return true;";

/// The Resource Timing entry of the finished stream, `null` until there is one.
const ENTRY: &str = "const entry = performance.getEntriesByType('resource') \
    .filter(e => e.name.endsWith('/events?probe') && e.responseEnd > 0).pop(); \
    return entry ? { encoded: entry.encodedBodySize, decoded: entry.decodedBodySize, \
    protocol: entry.nextHopProtocol } : null;";

/// The `Content-Encoding` of a `fetch` of `/events?probe` from the page (the browser's own
/// `Accept-Encoding`), which is aborted as soon as its head is in.
const FETCH_ENCODING: &str = "const abort = new AbortController(); \
    return fetch('/events?probe', { signal: abort.signal, headers: { accept: 'text/event-stream' } }) \
    .then(response => { const coding = response.headers.get('content-encoding'); \
    abort.abort(); return coding; });";

/// How one stream looked from the page.
#[derive(Debug)]
struct Seen {
    /// Each event's arrival, in milliseconds after the stream's `open`.
    arrivals: Vec<f64>,
    /// The `Content-Encoding` the page reads from the same URL (`None`: no header).
    coding: Option<String>,
    /// The finished stream's body size on the wire (not counting HTTP framing).
    encoded: u64,
    /// ... and once decoded.
    decoded: u64,
    /// `http/1.1` or `h2`.
    protocol: String,
}

/// Serves a countdown of [`COUNT`] events (over HTTPS with `tls`, compressed as
/// `compression` says), lets the page watch one stream to its end, and checks that
/// every event came once, in order, with the right data.
async fn watch<F, Fut>(
    browser: &Browser,
    serve: F,
    tls: Option<&Arc<ServerConfig>>,
    compression: Compression,
    name: &str,
) -> Seen
where
    F: FnOnce(TcpListener, Countdown, ShutdownSignal) -> Fut,
    Fut: Future<Output = io::Result<()>> + Send + 'static,
{
    let countdown = Countdown::new(COUNT, INTERVAL)
        .fixed_schedule(true)
        .compress(compression);
    let countdown = match tls {
        Some(config) => countdown.tls(Arc::clone(config)),
        None => countdown,
    };
    let server = TestServer::start(serve, countdown).await;
    let origin = match tls {
        Some(_) => server.url("").replacen("http://", "https://", 1),
        None => server.url(""),
    };
    browser
        .client()
        .goto(&format!("{origin}/"))
        .await
        .expect("open the page");
    browser
        .client()
        .execute(OPEN, vec![COUNT.into()])
        .await
        .expect("open the stream");
    // No WebDriver call into the page while the events come: each takes its main
    // thread, which the events need.
    tokio::time::sleep(INTERVAL * u32::try_from(COUNT).unwrap()).await;
    let run = browser
        .wait_for("return window.run;", Duration::from_secs(20), |run| {
            run["done"] == true
        })
        .await;
    assert_eq!(run["done"], true, "{name}: the stream did not end: {run}");
    assert_eq!(run["errors"], 0, "{name}: the stream broke: {run}");
    let messages = run["messages"].as_array().unwrap();
    let ids: Vec<&str> = messages.iter().map(|m| m["id"].as_str().unwrap()).collect();
    let expected: Vec<String> = (1..=COUNT).rev().map(|n| n.to_string()).collect();
    assert_eq!(ids, expected, "{name}: lost or reordered");
    for (message, n) in messages.iter().zip((1..=COUNT).rev()) {
        assert_eq!(message["type"], "message", "{name}");
        assert_eq!(
            message["data"],
            format!(r#"{{"type":"counter","value":{n}}}"#),
            "{name}"
        );
    }
    let open = run["open"].as_f64().expect("the stream opened");
    let arrivals = messages
        .iter()
        .map(|m| m["at"].as_f64().unwrap() - open)
        .collect();

    let entry = browser
        .wait_for(ENTRY, Duration::from_secs(5), |entry| !entry.is_null())
        .await;
    assert!(!entry.is_null(), "{name}: no Resource Timing entry");
    let coding = browser.eval(FETCH_ENCODING).await;
    assert!(
        server.shutdown(Duration::from_secs(10)).await.is_some(),
        "{name}: the server did not stop"
    );
    let size = |key: &str| entry[key].as_u64().unwrap_or_else(|| panic!("{entry}"));
    Seen {
        arrivals,
        coding: coding.as_str().map(str::to_owned),
        encoded: size("encoded"),
        decoded: size("decoded"),
        protocol: entry["protocol"].as_str().unwrap_or_default().to_owned(),
    }
}

/// The largest difference between the arrivals of the same event in two runs, and
/// the event's index.
fn deviation(reference: &[f64], compressed: &[f64]) -> (usize, f64) {
    reference
        .iter()
        .zip(compressed)
        .map(|(r, c)| (c - r).abs())
        .enumerate()
        .fold((0, 0.0), |max, (i, d)| if d > max.1 { (i, d) } else { max })
}

/// The uncompressed stream over HTTP/1.1, then gzip; the uncompressed stream over
/// HTTPS (HTTP/2), then brotli, then zstd: each compressed one checked against the
/// uncompressed one of its protocol.
async fn compressed_streams_arrive_as_soon_as_uncompressed<F, Fut>(name: &str, serve: F)
where
    F: Fn(TcpListener, Countdown, ShutdownSignal) -> Fut,
    Fut: Future<Output = io::Result<()>> + Send + 'static,
{
    let _one_at_a_time = BROWSER.lock().await;
    let Some(browser) = Browser::start_with(&["--ignore-certificate-errors"]).await else {
        return;
    };
    let (cert, key) = sse_tests::self_signed_tls(&PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
    let config = sse_rs::server::tls_config(&cert, &key).expect("a TLS config");
    let off = Compression::new().codings([]);
    for (tls, protocol, codings) in [
        (None, "http/1.1", &[Coding::Gzip][..]),
        (Some(&config), "h2", &[Coding::Brotli, Coding::Zstd][..]),
    ] {
        let label = format!("{name} over {protocol}");
        let mut reference = watch(&browser, &serve, tls, off.clone(), &label).await;
        check_reference(&reference, protocol, &label);
        for &coding in codings {
            let label = format!("{name} over {protocol} with {coding}");
            let only = Compression::new().codings([coding]);
            // A stream that holds events back is late in every attempt; a loaded
            // machine is late now and then: up to 3 attempts, each measuring both.
            for attempt in 1..=ATTEMPTS {
                let seen = watch(&browser, &serve, tls, only.clone(), &label).await;
                assert_eq!(seen.protocol, protocol, "{label}: {seen:?}");
                assert_eq!(seen.coding.as_deref(), Some(coding.as_str()), "{label}");
                assert!(
                    seen.encoded < seen.decoded,
                    "{label}: not compressed: {seen:?}"
                );
                assert_eq!(seen.decoded, reference.decoded, "{label}: other bytes");
                let (event, worst) = deviation(&reference.arrivals, &seen.arrivals);
                eprintln!(
                    "{label} (attempt {attempt}): {} of {} bytes on the wire; worst deviation \
                     {worst:.1} ms (event {}); arrivals after open, uncompressed {:?}, \
                     compressed {:?}",
                    seen.encoded,
                    seen.decoded,
                    event + 1,
                    rounded(&reference.arrivals),
                    rounded(&seen.arrivals),
                );
                if worst <= SLACK_MS {
                    break;
                }
                assert!(
                    attempt < ATTEMPTS,
                    "{label}: event {} arrived {worst:.1} ms away from uncompressed in each \
                     of {ATTEMPTS} attempts (last: uncompressed {:?}, compressed {:?})",
                    event + 1,
                    rounded(&reference.arrivals),
                    rounded(&seen.arrivals),
                );
                reference = watch(&browser, &serve, tls, off.clone(), &label).await;
                check_reference(&reference, protocol, &label);
            }
        }
    }
    browser.close().await;
}

/// How many times a compressed run and its uncompressed reference are measured before
/// a deviation over the slack fails the test.
const ATTEMPTS: u32 = 3;

/// The uncompressed run: its protocol, no coding (actix says `identity`, so that its
/// `Compress` middleware leaves the stream be), as many bytes on the wire as decoded.
fn check_reference(reference: &Seen, protocol: &str, label: &str) {
    assert_eq!(reference.protocol, protocol, "{label}: {reference:?}");
    assert!(
        reference.coding.as_deref().is_none_or(|c| c == "identity"),
        "{label}: {reference:?}"
    );
    assert_eq!(
        reference.encoded, reference.decoded,
        "{label}: uncompressed, as many bytes on the wire as decoded"
    );
    assert!(reference.decoded > 0, "{label}: {reference:?}");
}

/// Milliseconds, whole, for the messages.
fn rounded(arrivals: &[f64]) -> Vec<i64> {
    #[allow(clippy::cast_possible_truncation)]
    arrivals.iter().map(|ms| ms.round() as i64).collect()
}

macro_rules! compressed_suite {
    ($name:ident, $serve:path) => {
        // The servers' timers do not wait for the WebDriver calls.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            compressed_streams_arrive_as_soon_as_uncompressed(stringify!($name), $serve).await;
        }
    };
}

compressed_suite!(hyper, hyper_countdown::serve);
compressed_suite!(axum, axum_countdown::serve);
compressed_suite!(actix, actix_countdown::serve);
compressed_suite!(warp, warp_countdown::serve);
