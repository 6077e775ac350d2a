//! The countdown contract, checked over real TCP with a real HTTP client against every
//! server we ship. Each server gets the same tests through `countdown_suite!`.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::time::Duration;

use countdown::Countdown;
use sse_rs::decode::Decoded;
use sse_tests::{client, expected_event, summary, EventReader, TestServer};

/// Long enough for any test to finish; a hang fails instead of blocking CI.
const LIMIT: Duration = Duration::from_secs(20);

async fn get(server: &TestServer, last_event_id: Option<&[u8]>) -> reqwest::Response {
    let mut request = client().get(server.url("/events"));
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    request.send().await.expect("request /events")
}

fn expected(ids: impl Iterator<Item = u64>) -> Vec<(String, String, String)> {
    ids.map(expected_event).collect()
}

async fn headers_are_those_of_an_event_stream(server: TestServer) {
    let response = get(&server, None).await;
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(headers["content-type"], "text/event-stream");
    assert_eq!(headers["cache-control"], "no-cache");
    assert_eq!(headers["x-accel-buffering"], "no");
    assert!(headers.get("content-length").is_none(), "{headers:?}");
    assert!(headers.get("connection").is_none(), "{headers:?}");
}

async fn every_event_arrives_exactly(server: TestServer) {
    let mut reader = EventReader::new(get(&server, None).await);
    let events = reader.read_to_end(LIMIT).await;
    assert_eq!(summary(&events), expected((1..=100).rev()));
    let retries = reader
        .items
        .iter()
        .filter(|(_, item)| *item == Decoded::Retry(Duration::from_millis(5000)))
        .count();
    assert_eq!(retries, 100);
    let comments = reader
        .items
        .iter()
        .filter(|(_, item)| *item == Decoded::Comment("countdown".into()))
        .count();
    assert_eq!(comments, 100);
}

async fn events_are_not_buffered(server: TestServer) {
    let interval = server.countdown.interval;
    let mut reader = EventReader::new(get(&server, None).await);
    reader.read_to_end(LIMIT).await;
    let times = reader.event_times();
    assert_eq!(times.len(), 3);
    // Produced one interval apart: if the server held them back, they would arrive
    // together.
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= interval / 2,
            "events arrived {gap:?} apart, produced {interval:?} apart"
        );
    }
}

/// Events a few milliseconds apart each leave at once: nothing holds an event back to
/// fill a frame or a segment (a frame timer in the body, or Nagle's algorithm waiting
/// for the client's delayed ACK, about 40 ms on Linux, when `TCP_NODELAY` is off).
/// That would show as gaps of tens of milliseconds, with events bunched after them.
/// (On loopback the kernel acknowledges so quickly that Nagle alone rarely stalls
/// this pattern; the servers set `TCP_NODELAY` all the same.)
async fn events_a_few_ms_apart_are_not_held_back(server: TestServer) {
    let interval = server.countdown.interval;
    let mut reader = EventReader::new(get(&server, None).await);
    let events = reader.read_to_end(LIMIT).await;
    assert_eq!(events.len(), 60);
    let times = reader.event_times();
    let stalls: Vec<Duration> = times
        .windows(2)
        .map(|pair| pair[1] - pair[0])
        .filter(|gap| *gap > 5 * interval)
        .collect();
    // A loaded machine may delay a timer or two; Nagle stalls every few events.
    assert!(
        stalls.len() <= 2,
        "{} of 59 gaps over {:?} (events produced {interval:?} apart): {stalls:?}",
        stalls.len(),
        5 * interval
    );
}

async fn resume_continues_after_the_last_event_id(server: TestServer) {
    let mut reader = EventReader::new(get(&server, Some(b"42")).await);
    let events = reader.read_to_end(LIMIT).await;
    assert_eq!(summary(&events), expected((1..=41).rev()));
}

async fn odd_last_event_ids_start_from_the_beginning(server: TestServer) {
    let long = vec![b'7'; 64 * 1024];
    for id in [&b"garbage"[..], b"", b"\xff\xfe", b"0", b"101", &long] {
        let response = get(&server, Some(id)).await;
        assert_eq!(
            response.status(),
            200,
            "Last-Event-ID of {} bytes",
            id.len()
        );
        let mut reader = EventReader::new(response);
        let first = reader.events_until(1).await;
        assert_eq!(summary(&first), expected([100].into_iter()));
    }
}

async fn a_finished_stream_answers_204(server: TestServer) {
    let response = get(&server, Some(b"1")).await;
    assert_eq!(response.status(), 204);
    assert!(response.bytes().await.expect("body").is_empty());
}

async fn keep_alive_fills_idle_gaps_between_events(server: TestServer) {
    let mut reader = EventReader::new(get(&server, None).await);
    let events = reader.read_to_end(LIMIT).await;
    assert_eq!(summary(&events), expected((1..=3).rev()));
    let keep_alives = reader
        .items
        .iter()
        .filter(|(_, item)| *item == Decoded::Comment(String::new()))
        .count();
    assert!(
        keep_alives >= 3,
        "{keep_alives} keep-alives in {:?}",
        reader.raw
    );
    // Every keep-alive (a comment line alone, `:\n`) comes between events, never
    // inside one: in each block, only before the event's first field.
    let raw = String::from_utf8(reader.raw.to_vec()).expect("UTF-8");
    for block in raw.split_terminator("\n\n") {
        let lines: Vec<&str> = block.lines().collect();
        let fields = lines
            .iter()
            .position(|line| *line != ":")
            .unwrap_or(lines.len());
        assert!(
            !lines[fields..].contains(&":"),
            "keep-alive inside an event: {block:?}"
        );
    }
}

async fn a_client_disconnect_drops_the_stream(server: TestServer) {
    let mut reader = EventReader::new(get(&server, None).await);
    assert_eq!(reader.events_until(1).await.len(), 1);
    assert_eq!(server.countdown.open_streams(), 1);
    reader.disconnect();
    assert!(
        server.wait_for_no_streams(Duration::from_secs(5)).await,
        "the server still holds {} stream(s) after the client left",
        server.countdown.open_streams()
    );
}

async fn shutdown_completes_with_streams_open(server: TestServer) {
    let mut readers = Vec::new();
    for _ in 0..3 {
        let mut reader = EventReader::new(get(&server, None).await);
        assert_eq!(reader.events_until(1).await.len(), 1);
        readers.push(reader);
    }
    let took = server.shutdown(Duration::from_secs(5)).await;
    assert!(
        took.is_some(),
        "the server did not shut down with streams open"
    );
    for mut reader in readers {
        // The streams end cleanly, short of the full countdown.
        let events = reader.read_to_end(LIMIT).await;
        assert!(events.len() < 100);
    }
}

async fn the_page_is_served(server: TestServer) {
    let response = client().get(server.url("/")).send().await.expect("GET /");
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .expect("ASCII")
        .starts_with("text/html"));
    let page = response.text().await.expect("page");
    assert!(page.contains("new EventSource("), "{page}");
    assert!(page.contains("id=\"close\""), "{page}");
    let missing = client()
        .get(server.url("/nope"))
        .send()
        .await
        .expect("GET /nope");
    assert_eq!(missing.status(), 404);
}

/// A stream that fails after 3 events (`drop_after`) still delivers all 3 before
/// the connection is cut: the servers drop what they buffered when a body fails, so
/// the body gives them a turn to write it first (before: 2 of 3 arrived).
async fn the_events_before_an_error_arrive(serve_server: TestServer) {
    let mut reader = EventReader::new(get(&serve_server, None).await);
    // The reader panics at the cut if it comes before the third event.
    let events = tokio::time::timeout(LIMIT, reader.events_until(3))
        .await
        .expect("three events in time");
    assert_eq!(summary(&events), expected((8..=10).rev()));
}

/// Runs every test of the contract against one server's `serve` function.
macro_rules! countdown_suite {
    ($name:ident, $serve:path) => {
        mod $name {
            use super::*;

            async fn start(count: u64, interval_ms: u64, keep_alive_ms: u64) -> TestServer {
                let countdown = Countdown::new(count, Duration::from_millis(interval_ms))
                    .keep_alive(Duration::from_millis(keep_alive_ms));
                TestServer::start($serve, countdown).await
            }

            #[tokio::test]
            async fn headers_are_those_of_an_event_stream() {
                super::headers_are_those_of_an_event_stream(start(100, 1000, 15_000).await).await;
            }

            #[tokio::test]
            async fn every_event_arrives_exactly() {
                super::every_event_arrives_exactly(start(100, 1, 15_000).await).await;
            }

            #[tokio::test]
            async fn events_are_not_buffered() {
                super::events_are_not_buffered(start(3, 200, 15_000).await).await;
            }

            #[tokio::test]
            async fn events_a_few_ms_apart_are_not_held_back() {
                super::events_a_few_ms_apart_are_not_held_back(start(60, 5, 15_000).await).await;
            }

            #[tokio::test]
            async fn resume_continues_after_the_last_event_id() {
                super::resume_continues_after_the_last_event_id(start(100, 1, 15_000).await).await;
            }

            #[tokio::test]
            async fn odd_last_event_ids_start_from_the_beginning() {
                super::odd_last_event_ids_start_from_the_beginning(start(100, 1, 15_000).await)
                    .await;
            }

            #[tokio::test]
            async fn a_finished_stream_answers_204() {
                super::a_finished_stream_answers_204(start(100, 1, 15_000).await).await;
            }

            #[tokio::test]
            async fn keep_alive_fills_idle_gaps_between_events() {
                super::keep_alive_fills_idle_gaps_between_events(start(3, 250, 60).await).await;
            }

            #[tokio::test]
            async fn a_client_disconnect_drops_the_stream() {
                super::a_client_disconnect_drops_the_stream(start(100, 20, 15_000).await).await;
            }

            #[tokio::test]
            async fn shutdown_completes_with_streams_open() {
                super::shutdown_completes_with_streams_open(start(100, 20, 15_000).await).await;
            }

            #[tokio::test]
            async fn the_events_before_an_error_arrive() {
                let countdown = Countdown::new(10, Duration::from_millis(20)).drop_after(Some(3));
                super::the_events_before_an_error_arrive(
                    TestServer::start($serve, countdown).await,
                )
                .await;
            }

            #[tokio::test]
            async fn the_page_is_served() {
                super::the_page_is_served(start(100, 1000, 15_000).await).await;
            }
        }
    };
}

countdown_suite!(hyper, hyper_countdown::serve);
countdown_suite!(axum, axum_countdown::serve);
countdown_suite!(warp, warp_countdown::serve);
countdown_suite!(actix, actix_countdown::serve);
