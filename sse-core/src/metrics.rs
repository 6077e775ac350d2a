//! [`snapshot`]: what the event streams of this process have done, for operators.
//!
//! Counters are process-wide and cost one relaxed atomic add where they count (once
//! per frame for events and bytes, never per subscriber). Read them with
//! [`snapshot`] and export them to whatever the service uses (Prometheus, logs, a
//! status page):
//!
//! ```
//! let before = sse_rs_core::metrics::snapshot();
//! // ... serve ...
//! let now = sse_rs_core::metrics::snapshot();
//! println!("{} streams open, {} events sent since", now.open_streams, now.events_sent - before.events_sent);
//! ```
//!
//! The abnormal ends are also `tracing` events (target `sse_rs_core`): a stream ended
//! by its stream's error, a subscriber closed for lagging, a connection closed because
//! its client stopped reading, a request refused over the stream limit, connections
//! dropped when a stop's grace ran out. Nothing is logged per event.

use std::sync::atomic::{AtomicU64, Ordering};

/// The counters, read at one moment: see [`snapshot`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Snapshot {
    /// Event-stream bodies alive now (`SseBody`, and every adapter's `Sse`).
    pub open_streams: u64,
    /// Event-stream bodies made so far.
    pub streams_opened: u64,
    /// Events sent (taken from the streams into frames).
    pub events_sent: u64,
    /// Bytes of event-stream frames sent, keep-alives included (before compression,
    /// for a compressed stream).
    pub bytes_sent: u64,
    /// Keep-alive comments sent.
    pub keep_alives_sent: u64,
    /// Streams ended by an error of their event stream.
    pub stream_errors: u64,
    /// Hub subscribers closed because they fell behind (`sse_rs::hub::LagPolicy::Close`).
    pub lag_closes: u64,
    /// Subscriptions that started with a `reset` event (the client missed events that
    /// are no longer retained), from the hub or a backplane.
    pub resets: u64,
    /// Connections closed because their client took no bytes for the write stall
    /// timeout (`sse_rs::server::StallGuard`).
    pub stalled_closes: u64,
    /// Requests answered with the stream limit's refusal.
    pub refused_streams: u64,
    /// Entries of a backplane (such as sse-redis) that could not be an event.
    pub malformed_entries: u64,
    /// Stops whose grace ran out, dropping the connections left
    /// (`sse_rs::shutdown::graceful`).
    pub forced_stops: u64,
}

/// The counters now.
#[must_use]
pub fn snapshot() -> Snapshot {
    let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
    Snapshot {
        open_streams: read(&OPEN_STREAMS),
        streams_opened: read(&STREAMS_OPENED),
        events_sent: read(&EVENTS_SENT),
        bytes_sent: read(&BYTES_SENT),
        keep_alives_sent: read(&KEEP_ALIVES_SENT),
        stream_errors: read(&STREAM_ERRORS),
        lag_closes: read(&LAG_CLOSES),
        resets: read(&RESETS),
        stalled_closes: read(&STALLED_CLOSES),
        refused_streams: read(&REFUSED_STREAMS),
        malformed_entries: read(&MALFORMED_ENTRIES),
        forced_stops: read(&FORCED_STOPS),
    }
}

static OPEN_STREAMS: AtomicU64 = AtomicU64::new(0);
static STREAMS_OPENED: AtomicU64 = AtomicU64::new(0);
static EVENTS_SENT: AtomicU64 = AtomicU64::new(0);
static BYTES_SENT: AtomicU64 = AtomicU64::new(0);
static KEEP_ALIVES_SENT: AtomicU64 = AtomicU64::new(0);
static STREAM_ERRORS: AtomicU64 = AtomicU64::new(0);
static LAG_CLOSES: AtomicU64 = AtomicU64::new(0);
static RESETS: AtomicU64 = AtomicU64::new(0);
static STALLED_CLOSES: AtomicU64 = AtomicU64::new(0);
static REFUSED_STREAMS: AtomicU64 = AtomicU64::new(0);
static MALFORMED_ENTRIES: AtomicU64 = AtomicU64::new(0);
static FORCED_STOPS: AtomicU64 = AtomicU64::new(0);

/// Held by every event-stream body: counts it open while it lives.
#[derive(Debug)]
pub(crate) struct OpenStream(());

impl OpenStream {
    pub(crate) fn new() -> Self {
        STREAMS_OPENED.fetch_add(1, Ordering::Relaxed);
        OPEN_STREAMS.fetch_add(1, Ordering::Relaxed);
        Self(())
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        OPEN_STREAMS.fetch_sub(1, Ordering::Relaxed);
    }
}

pub(crate) fn count_frame(events: u64, bytes: usize) {
    EVENTS_SENT.fetch_add(events, Ordering::Relaxed);
    BYTES_SENT.fetch_add(bytes as u64, Ordering::Relaxed);
}

pub(crate) fn count_keep_alive(bytes: usize) {
    KEEP_ALIVES_SENT.fetch_add(1, Ordering::Relaxed);
    BYTES_SENT.fetch_add(bytes as u64, Ordering::Relaxed);
}

pub(crate) fn count_stream_error(error: &(dyn std::error::Error + 'static)) {
    STREAM_ERRORS.fetch_add(1, Ordering::Relaxed);
    tracing::debug!(error, "an event stream ended with an error");
}

/// The recording side of the counters that the services crates (`sse-rs`, the
/// Redis backplane) count: one set of counters per process, whichever crate counts.
/// Not a public API: its functions may change in any release.
#[doc(hidden)]
pub mod __record {
    use std::sync::atomic::Ordering;

    use super::{
        FORCED_STOPS, LAG_CLOSES, MALFORMED_ENTRIES, REFUSED_STREAMS, RESETS, STALLED_CLOSES,
    };

    /// A hub subscriber closed for falling behind.
    pub fn lag_close(topic: &str) {
        LAG_CLOSES.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(topic, "a hub subscriber fell behind and was closed");
    }

    /// A subscription that starts with a `reset` (from the hub or a backplane).
    pub fn reset() {
        RESETS.fetch_add(1, Ordering::Relaxed);
    }

    /// A backplane entry that could not be an event.
    pub fn malformed_entry() {
        MALFORMED_ENTRIES.fetch_add(1, Ordering::Relaxed);
    }

    /// A connection closed because its client took no bytes for the stall timeout.
    pub fn stalled_close() {
        STALLED_CLOSES.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            "closed a connection whose client took no bytes for the write stall timeout"
        );
    }

    /// A request answered with the stream limit's refusal.
    pub fn refused_stream(status: u16) {
        REFUSED_STREAMS.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(status, "refused an event stream over the stream limit");
    }

    /// A stop whose grace ran out.
    pub fn forced_stop(grace: std::time::Duration) {
        FORCED_STOPS.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            grace_ms = u64::try_from(grace.as_millis()).unwrap_or(u64::MAX),
            "the stop's grace ran out: the connections left were dropped"
        );
    }
}
