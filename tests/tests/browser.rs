//! The countdown examples in a real browser: Debian's headless Chromium, driven over
//! WebDriver (chromedriver), against every server we ship.
//!
//! - the page's `EventSource` receives every event in order, with the right data,
//!   `lastEventId` and type, even when the server drops the connection mid-stream (the
//!   browser reconnects by itself and sends `Last-Event-ID`);
//! - after the last event, the server's `204` stops the browser for good;
//! - the Close button ends the stream, and the server sees the disconnect;
//! - a screenshot of each page mid-countdown is kept under the target directory's
//!   `tmp/browser/` for a person to look at;
//! - the chat example as two instances sharing Redis behind a real nginx: when the
//!   instance holding the page's stream stops, the browser reconnects through nginx
//!   to the other one and gets every message once, in order.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use countdown::Countdown;
use fantoccini::Locator;
use serde_json::Value;
use sse_tests::browser::Browser;
use sse_tests::{BroadcastInstance, Nginx, ShutdownSignal, TestServer};
use tokio::net::TcpListener;

/// One browser at a time: two cores do not run several Chromiums well.
static BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const STATE: &str = "return { received: window.received, readyState: window.source.readyState, \
                     connections: window.connections, label: document.getElementById('state').textContent };";

fn ids(state: &Value) -> Vec<String> {
    state["received"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn every_event_once_across_drops_then_204_stops_the_browser<F, Fut>(name: &str, serve: F)
where
    F: FnOnce(TcpListener, Countdown, ShutdownSignal) -> Fut,
    Fut: Future<Output = io::Result<()>> + Send + 'static,
{
    let _one_at_a_time = BROWSER.lock().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    // 10 events; every connection is dropped after 4 of them; reconnect after 200 ms.
    let countdown = Countdown::new(10, Duration::from_millis(40))
        .retry(Duration::from_millis(200))
        .drop_after(Some(4));
    let server = TestServer::start(serve, countdown).await;
    browser
        .client()
        .goto(&server.url("/"))
        .await
        .expect("open the page");

    let state = browser
        .wait_for(STATE, Duration::from_secs(30), |state| {
            state["readyState"] == 2
        })
        .await;
    assert_eq!(
        state["readyState"], 2,
        "{name}: the browser did not stop: {state}"
    );
    let expected: Vec<String> = (1..=10).rev().map(|n: u64| n.to_string()).collect();
    assert_eq!(ids(&state), expected, "{name}: {state}");
    for (event, n) in state["received"]
        .as_array()
        .unwrap()
        .iter()
        .zip((1..=10).rev())
    {
        assert_eq!(event["type"], "message", "{name}");
        assert_eq!(
            event["data"],
            format!(r#"{{"type":"counter","value":{n}}}"#),
            "{name}"
        );
    }
    // 10,9,8,7 | drop | 6,5,4,3 | drop | 2,1 | end | reconnect: 204.
    assert_eq!(state["connections"], 3, "{name}: {state}");
    assert_eq!(server.countdown.requests(), 4, "{name}");
    // Well past the retry delay: no further request reaches the server.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        server.countdown.requests(),
        4,
        "{name}: the browser kept reconnecting after 204"
    );
    browser.close().await;
}

async fn close_button_ends_the_stream<F, Fut>(name: &str, serve: F)
where
    F: FnOnce(TcpListener, Countdown, ShutdownSignal) -> Fut,
    Fut: Future<Output = io::Result<()>> + Send + 'static,
{
    let _one_at_a_time = BROWSER.lock().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let server = TestServer::start(serve, Countdown::new(100, Duration::from_millis(50))).await;
    browser
        .client()
        .goto(&server.url("/"))
        .await
        .expect("open the page");
    let state = browser
        .wait_for(STATE, Duration::from_secs(20), |state| {
            ids(state).len() >= 5
        })
        .await;
    assert_eq!(
        ids(&state)[..5],
        ["100", "99", "98", "97", "96"],
        "{name}: {state}"
    );
    assert_eq!(state["label"], "open", "{name}");
    assert_eq!(server.countdown.open_streams(), 1, "{name}");

    let shot = browser.client().screenshot().await.expect("a screenshot");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).expect("artifact directory");
    let path = dir.join(format!("countdown-{name}.png"));
    std::fs::write(&path, &shot).expect("write the screenshot");
    assert!(shot.starts_with(b"\x89PNG"), "{name}: not a PNG");
    eprintln!(
        "screenshot of the {name} page mid-countdown: {}",
        path.display()
    );

    browser
        .client()
        .find(Locator::Id("close"))
        .await
        .expect("the Close button")
        .click()
        .await
        .expect("click Close");
    assert!(
        server.wait_for_no_streams(Duration::from_secs(5)).await,
        "{name}: the server did not see the browser leave"
    );
    let state = browser.eval(STATE).await;
    assert_eq!(state["readyState"], 2, "{name}");
    assert_eq!(state["label"], "closed", "{name}");
    browser.close().await;
}

/// Closes the demo page's own stream and opens 12 to `/events` (its 12 come on top).
const OPEN_12: &str = "window.source.close(); \
    window.counts = new Array(12).fill(0); window.sources = []; \
    for (let i = 0; i < 12; i++) { const s = new EventSource('/events'); \
    s.onmessage = () => { window.counts[i] += 1; }; window.sources.push(s); } return 12;";
/// How many of the 12 received an event, and the protocol of the page's connection.
const STATE_12: &str = "return { receiving: window.counts.filter(c => c > 0).length, \
    protocol: performance.getEntriesByType('navigation')[0].nextHopProtocol };";

/// Opens 12 `EventSource`s from one page to the example's `/events` and counts those
/// that received an event: over HTTPS (HTTP/2 by ALPN) every one of them, and the
/// page's connection is `h2`; over plain HTTP/1.1, the control, exactly 6 (Chromium's
/// limit of connections per origin: the 7th stream waits until one closes).
async fn twelve_event_sources_share_one_http2_connection<F, Fut>(name: &str, serve: F)
where
    F: Fn(TcpListener, Countdown, ShutdownSignal) -> Fut,
    Fut: Future<Output = io::Result<()>> + Send + 'static,
{
    let _one = BROWSER.lock().await;
    let Some(browser) = Browser::start_with(&["--ignore-certificate-errors"]).await else {
        return;
    };
    let (cert, key) = sse_tests::self_signed_tls(&PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
    let config = sse_rs::server::tls_config(&cert, &key).expect("a TLS config");
    for https in [true, false] {
        // Slow enough to stay open for the whole test, fast enough to see events soon.
        let countdown = Countdown::new(1000, Duration::from_millis(100));
        let countdown = if https {
            countdown.tls(config.clone())
        } else {
            countdown
        };
        let server = TestServer::start(&serve, countdown).await;
        let origin = if https {
            server.url("").replacen("http://", "https://", 1)
        } else {
            server.url("")
        };
        // The demo page, whose own stream is closed first: its 12 come on top.
        browser
            .client()
            .goto(&format!("{origin}/"))
            .await
            .expect("open the page");
        browser.eval(OPEN_12).await;
        let state = if https {
            browser
                .wait_for(STATE_12, Duration::from_secs(10), |v| v["receiving"] == 12)
                .await
        } else {
            // Give the control every chance to open more than it may.
            tokio::time::sleep(Duration::from_secs(3)).await;
            browser.eval(STATE_12).await
        };
        if https {
            assert_eq!(state["receiving"], 12, "{name} over HTTPS: {state}");
            assert_eq!(state["protocol"], "h2", "{name}: {state}");
            let streams = &server.countdown;
            assert!(
                sse_tests::wait_until(Duration::from_secs(5), || streams.open_streams() == 12)
                    .await,
                "{name}: {} streams open",
                streams.open_streams()
            );
        } else {
            assert_eq!(state["receiving"], 6, "{name} over HTTP/1.1: {state}");
            assert_eq!(state["protocol"], "http/1.1", "{name}: {state}");
        }
        browser
            .eval("window.sources.forEach(s => s.close()); return 0;")
            .await;
        assert!(
            server.shutdown(Duration::from_secs(10)).await.is_some(),
            "{name}: no stop"
        );
    }
    browser.close().await;
}

/// The same 12 `EventSource`s through nginx as most deployments have it: HTTPS with
/// HTTP/2 to the browser, plain HTTP/1.1 to the example (one upstream connection per
/// stream). All 12 receive, over `h2`, and the example sees 12 streams.
async fn twelve_event_sources_through_nginx_over_http2<F, Fut>(
    name: &str,
    serve: F,
    browser: &Browser,
    tls: (&std::path::Path, &std::path::Path),
) where
    F: FnOnce(TcpListener, Countdown, ShutdownSignal) -> Fut,
    Fut: Future<Output = io::Result<()>> + Send + 'static,
{
    let server = TestServer::start(serve, Countdown::new(1000, Duration::from_millis(100))).await;
    let Some(nginx) = Nginx::start_tls(&[server.addr], tls, "", "").await else {
        return;
    };
    browser
        .client()
        .goto(&format!("https://127.0.0.1:{}/", nginx.port))
        .await
        .expect("open the page through nginx");
    browser.eval(OPEN_12).await;
    let state = browser
        .wait_for(STATE_12, Duration::from_secs(10), |v| v["receiving"] == 12)
        .await;
    assert_eq!(state["receiving"], 12, "{name} through nginx: {state}");
    assert_eq!(state["protocol"], "h2", "{name} through nginx: {state}");
    // The page's own closed stream may take a write to be noticed behind the proxy.
    let streams = &server.countdown;
    assert!(
        sse_tests::wait_until(Duration::from_secs(5), || streams.open_streams() == 12).await,
        "{name}: {} streams open upstream",
        streams.open_streams()
    );
    browser
        .eval("window.sources.forEach(s => s.close()); return 0;")
        .await;
    drop(nginx);
    assert!(server.shutdown(Duration::from_secs(10)).await.is_some());
}

#[tokio::test]
async fn twelve_event_sources_through_nginx_over_http2_reach_every_example() {
    let _one = BROWSER.lock().await;
    let Some(browser) = Browser::start_with(&["--ignore-certificate-errors"]).await else {
        return;
    };
    let (cert, key) = sse_tests::self_signed_tls(&PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
    let tls = (cert.as_path(), key.as_path());
    twelve_event_sources_through_nginx_over_http2("hyper", hyper_countdown::serve, &browser, tls)
        .await;
    twelve_event_sources_through_nginx_over_http2("axum", axum_countdown::serve, &browser, tls)
        .await;
    twelve_event_sources_through_nginx_over_http2("actix", actix_countdown::serve, &browser, tls)
        .await;
    twelve_event_sources_through_nginx_over_http2("warp", warp_countdown::serve, &browser, tls)
        .await;
    browser.close().await;
}

macro_rules! browser_suite {
    ($name:ident, $serve:path) => {
        mod $name {
            #[tokio::test]
            async fn every_event_once_across_drops_then_204_stops_the_browser() {
                super::every_event_once_across_drops_then_204_stops_the_browser(
                    stringify!($name),
                    $serve,
                )
                .await;
            }

            #[tokio::test]
            async fn close_button_ends_the_stream() {
                super::close_button_ends_the_stream(stringify!($name), $serve).await;
            }

            #[tokio::test]
            async fn twelve_event_sources_share_one_http2_connection() {
                super::twelve_event_sources_share_one_http2_connection(stringify!($name), $serve)
                    .await;
            }
        }
    };
}

browser_suite!(hyper, hyper_countdown::serve);
browser_suite!(axum, axum_countdown::serve);
browser_suite!(actix, actix_countdown::serve);
browser_suite!(warp, warp_countdown::serve);

/// The chat page's messages (id, text) as the page received them.
const CHAT: &str = "return { received: window.received.map(m => [m.id, m.text]), \
                    notes: [...document.querySelectorAll('li.note')].map(n => n.textContent), \
                    label: document.getElementById('state').textContent };";

fn chat_texts(state: &Value) -> Vec<String> {
    state["received"]
        .as_array()
        .map(|messages| {
            messages
                .iter()
                .map(|m| m[1].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The scenario the Redis backplane is for, in a real browser behind a real load
/// balancer: the chat page is served through nginx by two instances sharing Redis; the
/// instance holding its stream stops; `EventSource` reconnects by itself, nginx sends
/// it to the other instance, and the page gets the messages sent meanwhile exactly
/// once, in order, then live ones.
#[tokio::test]
async fn the_chat_page_moves_to_the_other_instance_without_loss_or_duplicates() {
    let Some(url) = sse_tests::redis_url() else {
        return;
    };
    let _one_at_a_time = BROWSER.lock().await;
    let prefix = sse_tests::unique_prefix("browser");
    let a = BroadcastInstance::start(&url, &prefix).await;
    let b = BroadcastInstance::start(&url, &prefix).await;
    let Some(nginx) = Nginx::start(&[a.addr, b.addr], "", "").await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let page = format!("http://127.0.0.1:{}/", nginx.port);
    browser.client().goto(&page).await.expect("open the page");
    let state = browser
        .wait_for(CHAT, Duration::from_secs(20), |s| s["label"] == "open")
        .await;
    assert_eq!(state["label"], "open", "{state}");

    let post = |addr: std::net::SocketAddr, text: String| async move {
        let status = sse_tests::client()
            .post(format!("http://{addr}/publish"))
            .form(&[("name", "test"), ("text", text.as_str())])
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 204);
    };
    for i in 1..=3 {
        post(if i % 2 == 0 { a.addr } else { b.addr }, format!("m{i}")).await;
    }
    let state = browser
        .wait_for(CHAT, Duration::from_secs(10), |s| chat_texts(s).len() >= 3)
        .await;
    assert_eq!(chat_texts(&state), ["m1", "m2", "m3"], "{state}");

    // Stop the instance that holds the page's stream; send while the page is away.
    let (holder, survivor) = if a.hub.subscribers_of(axum_broadcast::TOPIC) == 1 {
        (a, b)
    } else {
        (b, a)
    };
    assert_eq!(holder.hub.subscribers_of(axum_broadcast::TOPIC), 1);
    assert!(holder.stop(Duration::from_secs(5)).await, "did not stop");
    for i in 4..=6 {
        post(survivor.addr, format!("m{i}")).await;
    }
    // EventSource reconnects with Last-Event-ID; nginx passes it to the survivor.
    let state = browser
        .wait_for(CHAT, Duration::from_secs(30), |s| chat_texts(s).len() >= 6)
        .await;
    assert_eq!(
        survivor.hub.subscribers_of(axum_broadcast::TOPIC),
        1,
        "{state}"
    );
    post(survivor.addr, "m7".to_owned()).await;
    browser
        .wait_for(CHAT, Duration::from_secs(10), |s| chat_texts(s).len() >= 7)
        .await;
    // A repeated message would have arrived by now.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let state = browser.eval(CHAT).await;
    assert_eq!(
        chat_texts(&state),
        ["m1", "m2", "m3", "m4", "m5", "m6", "m7"],
        "lost, repeated or reordered across the move: {state}"
    );
    let ids: Vec<sse_redis::EntryId> = state["received"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m[0].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let notes = state["notes"].to_string();
    assert!(notes.contains("server is stopping"), "no bye: {notes}");
    assert!(
        !notes.contains("missed"),
        "a reset on a retained cursor: {notes}"
    );

    let shot = browser.client().screenshot().await.expect("a screenshot");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).expect("artifact directory");
    std::fs::write(dir.join("broadcast-two-instances.png"), &shot).expect("write the screenshot");
    browser.close().await;
    drop(nginx);
    assert!(survivor.stop(Duration::from_secs(5)).await);
}

/// Page parameters an attacker controls: the countdown page's `?events=` only ever
/// opens a stream of its own origin, and the chat page counts a message's size in
/// UTF-8 bytes, as the server does (700 "€" are 2100 bytes: refused in the page,
/// with a note, instead of a `422` from the server).
#[tokio::test]
async fn hostile_page_parameters_are_refused_in_the_page() {
    let _one_at_a_time = BROWSER.lock().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let server = TestServer::start(
        hyper_countdown::serve,
        Countdown::new(100, Duration::from_millis(50)),
    )
    .await;
    let own = server.url("/events");
    for (query, expected) in [
        ("?events=http://127.0.0.1:9/elsewhere", own.clone()),
        ("?events=//example.invalid/events", own.clone()),
        // `/\host` is `//host` to a URL parser: another origin.
        ("?events=/%5Cexample.invalid/events", own.clone()),
        (
            "?events=not a url at all",
            server.url("/not%20a%20url%20at%20all"),
        ),
        ("?events=/events%3Fagain", server.url("/events?again")),
    ] {
        browser
            .client()
            .goto(&server.url(&format!("/{query}")))
            .await
            .expect("open the page");
        let url = browser.eval("return window.source.url;").await;
        assert_eq!(url.as_str(), Some(expected.as_str()), "{query}");
    }

    let chat = sse_tests::BroadcastInstance::start_local(Duration::from_secs(3600)).await;
    browser
        .client()
        .goto(&format!("http://{}/", chat.addr))
        .await
        .expect("open the chat page");
    browser
        .eval(
            "document.getElementById('name').value = 'ada'; \
             document.getElementById('text').removeAttribute('maxlength'); \
             document.getElementById('text').value = '€'.repeat(700); \
             document.getElementById('form').requestSubmit(); return true;",
        )
        .await;
    let notes = browser
        .wait_for(CHAT, Duration::from_secs(10), |state| {
            state["notes"].to_string().contains("Too long")
        })
        .await;
    assert!(
        notes["notes"].to_string().contains("2100 bytes"),
        "the page did not refuse a message over 2000 bytes: {notes}"
    );
    browser.close().await;
}
