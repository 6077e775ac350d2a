//! The Server-Sent Events wire for any Rust HTTP server: a correct encoder, a
//! streaming response body that coalesces ready events and keeps idle connections
//! alive, `Last-Event-ID` parsing, and a WHATWG decoder.
//!
//! This crate is the vocabulary, as `axum-core` is axum's: no server, no broadcast
//! hub, no web framework, and (with its default `tokio` feature off) no runtime. What
//! an MCP or Datastar SDK, an LLM gateway or a third-party adapter needs to speak the
//! wire is here; the services (a broadcast hub with replay, stream limits, tower
//! middleware, a hardened hyper server) are in `sse-rs`, which re-exports all of this,
//! and the adapters `sse-axum`, `sse-actix` and `sse-warp` make them native in each
//! framework. With plain hyper (or any server built on `http-body` 1) use [`SseBody`]
//! directly:
//!
//! ```
//! use std::convert::Infallible;
//! use std::time::Duration;
//!
//! use futures_util::stream;
//! use sse_rs_core::{Event, EventType, KeepAlive, LastEventId, SseBody};
//!
//! const TICK: EventType = EventType::from_static("tick");
//!
//! fn handle(request: http::Request<()>) -> http::Response<impl http_body::Body> {
//!     // Resume after the last id the client saw, or start at 1.
//!     let first = LastEventId::from_headers(request.headers()).parse::<u64>().map_or(1, |id| id + 1);
//!     let events = stream::iter(first..=first + 2)
//!         .map(|n| Ok::<_, Infallible>(Event::default().id(n).event(TICK).data(format!("tick {n}"))));
//!     SseBody::new(events)
//!         .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
//!         .into_response()
//! }
//! # use futures_util::StreamExt;
//! # let response = handle(http::Request::new(()));
//! # assert_eq!(response.headers()["cache-control"], "no-cache");
//! ```
//!
//! # What it gets right
//!
//! - **Encoding.** `data` and comments are split on CRLF, CR and LF (each one line
//!   break), empty data is still dispatched, ids and types with line breaks are refused
//!   with a typed error when built, never smuggled onto the wire. An event is encoded
//!   once into [`EncodedEvent`] and can be sent to any number of streams.
//! - **Streaming.** [`SseBody`] sends every event that is ready as one frame, without
//!   waiting for more; keep-alive comments only go out on an idle stream, timed by
//!   tokio or by any [`timer::Timer`].
//! - **Reconnection.** [`LastEventId`] reads the header the way browsers send it, and
//!   never fails (a 4xx stops a browser from reconnecting for good).
//! - **Decoding.** [`decode::Decoder`] parses a stream exactly like a browser, in
//!   bounded memory, for clients and tests.
//! - **Stopping.** [`shutdown::Shutdown`] ends open streams so that a graceful
//!   shutdown completes, on any executor.
//! - **Compression** (features `gzip`, `brotli`, `zstd`). [`SseBody::compress`]
//!   keeps one compressor per stream and flushes it after every frame, so that an
//!   OpenAI-style token stream takes about 20 times fewer bytes and no event waits;
//!   negotiated from `Accept-Encoding`, off unless a route asks (see [`compress`]
//!   for the memory per stream and for when not to: secrets next to text an
//!   attacker controls).
//!
//! # Layout
//!
//! The root holds the vocabulary: [`Event`] and its fields ([`EventId`], [`EventType`],
//! [`Data`]), [`EncodedEvent`], [`SseBody`], [`KeepAlive`], [`LastEventId`] and their
//! errors. The modules: [`decode`], [`shutdown`], [`timer`], [`metrics`] (counters for
//! operators), [`compress`] (compressed streams), and [`adapter`] for what only
//! framework adapters use.
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `tokio` | yes | keep-alive timed by tokio ([`timer::TokioTimer`]); without it the crate has no runtime dependency and keep-alive runs on [`KeepAlive::timer`] |
//! | `json` | no | [`Event::json_data`], serialising with `serde_json` |
//! | `gzip` | no | `compress::Coding::Gzip`: gzip-compressed streams ([`compress`]), with `flate2` on its pure-Rust zlib-rs backend |
//! | `brotli` | no | `compress::Coding::Brotli`: brotli-compressed streams, with the pure-Rust `brotli` crate |
//! | `zstd` | no | `compress::Coding::Zstd`: zstd-compressed streams, with the `zstd` crate (builds zstd's C library: needs a C compiler) |
//!
//! # Compatibility
//!
//! `http` 1, `http-body` 1, and tokio 1 with the `tokio` feature. Built and tested with
//! the latest stable Rust; the declared minimum is Rust 1.85.
//!
#![cfg_attr(
    feature = "json",
    doc = "[`Event::json_data`]: crate::Event::json_data"
)]
#![cfg_attr(not(feature = "json"), doc = "[`Event::json_data`]: #features")]
#![cfg_attr(
    feature = "tokio",
    doc = "[`timer::TokioTimer`]: crate::timer::TokioTimer"
)]
#![cfg_attr(not(feature = "tokio"), doc = "[`timer::TokioTimer`]: #features")]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod adapter;
mod body;
pub mod compress;
pub mod decode;
mod encode;
mod event;
mod field;
mod keep_alive;
mod last_event_id;
pub mod metrics;
mod response;
pub mod shutdown;
pub mod timer;
mod write;

pub use body::{BoxError, End, EventWriter, FieldId, FieldWriter, Outcome, SseBody};
pub use event::{Data, EncodedEvent, Event, EventFields};
pub use field::{EventId, EventType, FieldKind, InvalidField};
pub use keep_alive::KeepAlive;
pub use last_event_id::LastEventId;
pub use write::WriteEvent;

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
