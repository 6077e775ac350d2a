//! [`SseLayer`]: tower middleware for event-stream endpoints (feature `tower`).
//!
//! - [`SseLayer`], the layer (this module);
//! - [`SseService`], the service it makes;
//! - [`ResponseFuture`], the service's future;
//! - [`SseLayerBody`], the response body, which holds a stream's slot and ends it on
//!   shutdown.
//!
//! The logic is the core's [`StreamGate`], shared with
//! sse-actix's middleware; this module only speaks tower and `http`.
//!
//! ```
//! use std::time::Duration;
//! use sse_rs::layer::SseLayer;
//! use sse_rs::limit::StreamLimit;
//! use sse_rs::shutdown::Shutdown;
//!
//! let (trigger, signal) = Shutdown::new();
//! let layer = SseLayer::new()
//!     .limit(StreamLimit::new(1000).back_off(Duration::from_secs(5)))
//!     .shutdown(signal);
//! // axum: Router::new().route("/events", get(handler)).layer(layer)
//! # let _ = (trigger, layer);
//! ```

mod body;
mod future;
mod service;

pub use body::SseLayerBody;
pub use future::ResponseFuture;
pub use service::SseService;

use crate::adapter::StreamGate;
use crate::limit::StreamLimit;
use crate::shutdown::Shutdown;

/// Tower middleware for event-stream endpoints:
///
/// - puts the request's [`LastEventId`](crate::LastEventId) into its extensions;
/// - limits how many event streams are open at once;
/// - ends every event stream when a [`Shutdown`] signal fires.
///
/// # Over the limit
///
/// A browser's `EventSource` gives up for good on any status but 200, so by default a
/// request over the limit gets `200` with one `retry:` field and an immediate end: the
/// browser backs off, reconnects, and gets in once other streams have ended. `503`
/// with `Retry-After` is an option for other clients; see [`StreamLimit`].
///
/// What counts is the response: every response that is an event stream holds a slot
/// until its body ends or is dropped, whether or not the request said
/// `Accept: text/event-stream`. A request that does say so (`EventSource` always does)
/// takes its slot before the handler runs, so that a refused client costs no work; a
/// response that turns out not to be an event stream gives the slot back at once.
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct SseLayer {
    gate: StreamGate,
}

impl SseLayer {
    /// A layer that only adds `LastEventId` to request extensions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Allows at most `streams` event streams open at once through this layer (and
    /// its clones), with the default answer over the limit; see
    /// [`limit`](SseLayer::limit) to choose another.
    pub fn max_streams(self, streams: usize) -> Self {
        self.limit(StreamLimit::new(streams))
    }

    /// Limits open event streams with `limit` (see [`StreamLimit`] for what a
    /// request over the limit gets).
    pub fn limit(mut self, limit: StreamLimit) -> Self {
        self.gate = self.gate.limit(limit);
        self
    }

    /// Ends every event-stream response body when `signal` fires.
    pub fn shutdown(mut self, signal: Shutdown) -> Self {
        self.gate = self.gate.shutdown(signal);
        self
    }

    /// How many more event streams may open now (`None` without a limit).
    #[must_use]
    pub fn available_streams(&self) -> Option<usize> {
        self.gate.stream_limit().map(StreamLimit::available)
    }
}

impl<S> tower_layer::Layer<S> for SseLayer {
    type Service = SseService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SseService::new(inner, self.gate.clone())
    }
}
