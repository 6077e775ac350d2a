//! `GET /metrics`: what the server does, as Prometheus text (OpenMetrics), with
//! `prometheus-client`.
//!
//! | metric | type | what |
//! |---|---|---|
//! | `llm_streams_open` | gauge | streamed answers and MCP calls now open |
//! | `llm_tokens_sent_total` | counter | tokens handed to streams |
//! | `llm_generations_total{outcome}` | counter | answers by outcome: `completed`, `cancelled` (the client left, or a shutdown), `failed` |
//! | `llm_mcp_calls_total{outcome}` | counter | MCP tool calls, the same outcomes |
//! | `llm_time_to_first_token_seconds` | histogram | from the stream's start to its first event (`Outcome::first_event`) |
//! | `llm_stream_ends_total{end}` | counter | why streams ended, as the body saw it: `completed`, `error`, `shutdown`, `client_gone` |

use std::sync::Arc;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use sse_axum::Outcome;

/// The content type of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

type Labels = [(&'static str, &'static str); 1];

/// How a piece of work ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkEnd {
    /// It said all it had.
    Completed,
    /// The client left, or the server is stopping: the work stopped.
    Cancelled,
    /// It failed (the fake model's failure).
    Failed,
}

impl WorkEnd {
    fn label(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
        }
    }
}

/// The server's metrics; clones share them.
#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Arc<Registry>,
    streams_open: Gauge,
    tokens_sent: Counter,
    answers_resumed: Counter,
    generations: Family<Labels, Counter>,
    mcp_calls: Family<Labels, Counter>,
    stream_ends: Family<Labels, Counter>,
    first_token: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh set, all zero.
    #[must_use]
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("llm");
        let streams_open = Gauge::default();
        let tokens_sent = Counter::default();
        let answers_resumed = Counter::default();
        let generations = Family::<Labels, Counter>::default();
        let mcp_calls = Family::<Labels, Counter>::default();
        let stream_ends = Family::<Labels, Counter>::default();
        // 5 ms to about 20 s.
        let first_token = Histogram::new(exponential_buckets(0.005, 2.0, 13));
        registry.register(
            "streams_open",
            "Streamed answers and MCP calls now open",
            streams_open.clone(),
        );
        registry.register(
            "tokens_sent",
            "Tokens handed to streams",
            tokens_sent.clone(),
        );
        registry.register(
            "answers_resumed",
            "Kept answers read again (GET /v1/answers/{id})",
            answers_resumed.clone(),
        );
        registry.register("generations", "Answers by outcome", generations.clone());
        registry.register("mcp_calls", "MCP tool calls by outcome", mcp_calls.clone());
        registry.register(
            "stream_ends",
            "Why event streams ended",
            stream_ends.clone(),
        );
        registry.register(
            "time_to_first_token_seconds",
            "From a stream's start to its first event",
            first_token.clone(),
        );
        Self {
            registry: Arc::new(registry),
            streams_open,
            tokens_sent,
            answers_resumed,
            generations,
            mcp_calls,
            stream_ends,
            first_token,
        }
    }

    /// The metrics as OpenMetrics text.
    #[must_use]
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a `String` cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    /// A stream opened.
    pub fn stream_opened(&self) {
        self.streams_open.inc();
    }

    /// A stream ended: counts why, and its time to first event.
    pub fn stream_ended(&self, outcome: &Outcome) {
        self.streams_open.dec();
        self.stream_ends
            .get_or_create(&[("end", outcome.end.as_str())])
            .inc();
        if let Some(first) = outcome.first_event {
            self.first_token.observe(first.as_secs_f64());
        }
    }

    /// A token was handed to a stream.
    pub fn token_sent(&self) {
        self.tokens_sent.inc();
    }

    /// A kept answer was read again.
    pub fn answer_resumed(&self) {
        self.answers_resumed.inc();
    }

    /// An answer ended.
    pub fn generation(&self, end: WorkEnd) {
        self.generations
            .get_or_create(&[("outcome", end.label())])
            .inc();
    }

    /// An MCP tool call ended.
    pub fn mcp_call(&self, end: WorkEnd) {
        self.mcp_calls
            .get_or_create(&[("outcome", end.label())])
            .inc();
    }

    /// The counts now, for tests and logs.
    #[must_use]
    pub fn snapshot(&self) -> Snapshot {
        let generations = |end: WorkEnd| {
            self.generations
                .get_or_create(&[("outcome", end.label())])
                .get()
        };
        let mcp = |end: WorkEnd| {
            self.mcp_calls
                .get_or_create(&[("outcome", end.label())])
                .get()
        };
        Snapshot {
            streams_open: self.streams_open.get(),
            tokens_sent: self.tokens_sent.get(),
            answers_resumed: self.answers_resumed.get(),
            completed: generations(WorkEnd::Completed),
            cancelled: generations(WorkEnd::Cancelled),
            failed: generations(WorkEnd::Failed),
            mcp_completed: mcp(WorkEnd::Completed),
            mcp_cancelled: mcp(WorkEnd::Cancelled),
        }
    }
}

/// The counts of [`Metrics`] at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Streams now open.
    pub streams_open: i64,
    /// Tokens handed to streams.
    pub tokens_sent: u64,
    /// Kept answers read again.
    pub answers_resumed: u64,
    /// Answers completed.
    pub completed: u64,
    /// Answers cancelled.
    pub cancelled: u64,
    /// Answers failed.
    pub failed: u64,
    /// MCP calls completed.
    pub mcp_completed: u64,
    /// MCP calls cancelled.
    pub mcp_cancelled: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_has_every_metric() {
        let metrics = Metrics::new();
        metrics.stream_opened();
        metrics.token_sent();
        metrics.generation(WorkEnd::Cancelled);
        let text = metrics.encode();
        for line in [
            "llm_streams_open 1",
            "llm_tokens_sent_total 1",
            "llm_generations_total{outcome=\"cancelled\"} 1",
            "# TYPE llm_time_to_first_token_seconds histogram",
            "# EOF",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
        assert_eq!(metrics.snapshot().cancelled, 1);
        assert_eq!(metrics.snapshot().completed, 0);
    }
}
