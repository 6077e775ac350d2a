//! What a client over a stream limit must see, checked the same way for every server
//! and middleware that limits streams.

use std::net::SocketAddr;
use std::time::Duration;

use sse_rs::decode::Decoded;

use crate::programs::wait_until;
use crate::readers::{open_event_stream, open_unannounced_event_stream, EventReader};

/// Checks that `response` turns a browser away for now: `200` (an error status would
/// make `EventSource` give up for good), an event stream whose only item is
/// `retry: <delay>`, then the end.
///
/// # Panics
///
/// When it is anything else.
pub async fn assert_told_to_retry(response: reqwest::Response, delay: Duration) {
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut refused = EventReader::new(response);
    assert!(refused.read_to_end(Duration::from_secs(5)).await.is_empty());
    let items: Vec<&Decoded> = refused.items.iter().map(|(_, item)| item).collect();
    assert_eq!(items, [&Decoded::Retry(delay)]);
}

/// Under a limit of one stream on `addr` (with `back_off`), whose free slots
/// `available` reads: a stream opened without `Accept: text/event-stream` still takes
/// the slot, and the next stream, announced or not, is told to retry later.
///
/// # Panics
///
/// When any of that does not hold.
pub async fn assert_unannounced_streams_count(
    addr: SocketAddr,
    back_off: Duration,
    available: impl Fn() -> usize,
) {
    assert_eq!(available(), 1);
    let response = open_unannounced_event_stream(addr).await;
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut sneaky = EventReader::new(response);
    assert_eq!(sneaky.events_until(1).await.len(), 1);
    assert_eq!(
        available(),
        0,
        "a stream without the Accept header was not counted"
    );
    assert_told_to_retry(open_unannounced_event_stream(addr).await, back_off).await;
    assert_told_to_retry(open_event_stream(addr, None).await, back_off).await;
    sneaky.disconnect();
    assert!(
        wait_until(Duration::from_secs(5), || available() == 1).await,
        "the slot of a closed stream was not given back"
    );
}
