//! The process-wide counters of `metrics::snapshot`. One test in its own binary, so
//! that no other test moves the counters while it reads them.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::convert::Infallible;
use std::time::Duration;

use futures_util::{stream, StreamExt};
use http_body_util::BodyExt;
use sse_rs::adapter::StreamGate;
use sse_rs::hub::Hub;
use sse_rs::limit::StreamLimit;
use sse_rs::metrics::snapshot;
use sse_rs::shutdown::{graceful, Shutdown};
use sse_rs::{Event, KeepAlive, LastEventId, SseBody};

#[tokio::test(start_paused = true)]
async fn the_counters_count_what_streams_do() {
    let start = snapshot();

    // Open streams, events and bytes.
    let events =
        stream::iter((0..5).map(|n| Ok::<_, Infallible>(Event::default().data(n.to_string()))));
    let body = SseBody::new(events);
    assert_eq!(snapshot().open_streams, start.open_streams + 1);
    assert_eq!(snapshot().streams_opened, start.streams_opened + 1);
    let bytes = BodyExt::collect(body).await.unwrap().to_bytes();
    let now = snapshot();
    assert_eq!(
        now.open_streams, start.open_streams,
        "a dropped body still counted open"
    );
    assert_eq!(now.events_sent, start.events_sent + 5);
    assert_eq!(now.bytes_sent, start.bytes_sent + bytes.len() as u64);

    // Keep-alives.
    let idle = SseBody::new(stream::pending::<Result<Event, Infallible>>())
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(1)));
    let mut idle = std::pin::pin!(idle);
    let frame = idle.next().await.unwrap().unwrap();
    let now = snapshot();
    assert_eq!(now.keep_alives_sent, start.keep_alives_sent + 1);
    assert_eq!(
        now.bytes_sent,
        start.bytes_sent + (bytes.len() + frame.len()) as u64
    );

    // A stream that fails.
    let failing = SseBody::new(stream::iter([Err::<Event, _>(std::io::Error::other(
        "boom",
    ))]));
    let _ = BodyExt::collect(failing).await;
    assert_eq!(snapshot().stream_errors, start.stream_errors + 1);

    // A lagging subscriber closed, and a resume that resets.
    let hub = Hub::builder().queue_capacity(2).replay_count(2).build();
    let mut slow = hub.subscribe(&["t"], &LastEventId::none());
    for n in 0..10 {
        hub.publish("t", Event::default().data(n.to_string()));
    }
    while slow.next().await.is_some() {}
    assert_eq!(snapshot().lag_closes, start.lag_closes + 1);
    let _resumed = hub.subscribe(&["t"], &LastEventId::from_bytes(b"1"));
    assert_eq!(snapshot().resets, start.resets + 1);

    // A refusal over the limit.
    let gate = StreamGate::new().limit(StreamLimit::new(0));
    assert!(gate.request([&b"text/event-stream"[..]]).is_err());
    assert_eq!(snapshot().refused_streams, start.refused_streams + 1);

    // A stop whose grace ran out.
    let (trigger, _signal) = Shutdown::new();
    let stuck = |stopping: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>| async move {
        stopping.await;
        std::future::pending::<()>().await;
    };
    assert!(graceful(async {}, trigger, Duration::from_secs(1), stuck)
        .await
        .is_none());
    assert_eq!(snapshot().forced_stops, start.forced_stops + 1);

    // Backplanes count their own resets and malformed entries through the core.
    sse_rs::metrics::__record::reset();
    sse_rs::metrics::__record::malformed_entry();
    let now = snapshot();
    assert_eq!(now.resets, start.resets + 2);
    assert_eq!(now.malformed_entries, start.malformed_entries + 1);
}
