//! Server-Sent Events for any Rust HTTP server: a correct encoder, a streaming
//! response body that coalesces ready events and keeps idle connections alive,
//! `Last-Event-ID` parsing, and a WHATWG decoder.
//!
//! This crate has no web framework inside. The adapters `sse-axum`, `sse-actix` and
//! `sse-warp` make it native in each framework; with plain hyper (or any server built
//! on `http-body` 1) use [`SseBody`] directly:
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
//!   waiting for more; keep-alive comments only go out on an idle stream.
//! - **Reconnection.** [`LastEventId`] reads the header the way browsers send it, and
//!   never fails (a 4xx stops a browser from reconnecting for good).
//! - **Decoding.** [`decode::Decoder`] parses a stream exactly like a browser, in
//!   bounded memory, for clients and tests.
//! - **Broadcast.** [`hub::Hub`] publishes an event once to every subscriber of a
//!   topic, replays what a reconnecting client missed, and bounds memory with one ring
//!   per topic, whatever the number of subscribers.
//! - **Lifecycle.** [`shutdown::Shutdown`] ends open streams so graceful shutdown
//!   completes; [`channel::channel`] tells a producer when its client is gone;
//!   [`SseLayer`] (tower) and [`limit::StreamLimit`] bound how many streams are open,
//!   the way browsers understand.
//!
//! # Layout
//!
//! The root holds the vocabulary: [`Event`] and its fields ([`EventId`], [`EventType`],
//! [`Data`]), [`EncodedEvent`], [`SseBody`], [`KeepAlive`], [`LastEventId`] and their
//! errors. Each subsystem is a module: [`hub`], [`decode`], [`channel`], [`limit`],
//! [`shutdown`], [`metrics`] (counters for operators), `layer` (feature `tower`),
//! `server` (feature `server`), and [`adapter`] for what only framework adapters use.
//! The adapters `sse-axum`, `sse-actix` and `sse-warp` re-export all of it that their
//! users need, so an app depends on one of them alone.
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `json` | no | [`Event::json_data`], serialising with `serde_json` |
//! | `tower` | no | [`SseLayer`]: tower middleware (`LastEventId` in extensions, a limit on open streams, shutdown) |
//! | `signal` | no | `shutdown::os_signal`: Ctrl-C or SIGTERM, for a graceful stop |
//! | `server` | no | `server::Server`: a hyper 1 server loop with request timeouts (slowloris), `TCP_NODELAY` and a stop with a deadline |
//! | `tls` | no | `Server::tls` and `server::tls_config`: HTTPS with rustls, HTTP/2 or HTTP/1.1 by ALPN (past the browser's six connections per origin) |
//!
//! # Compatibility
//!
//! `http` 1, `http-body` 1, tokio 1 (for the keep-alive timer). Built and tested with
//! the latest stable Rust; the declared minimum is Rust 1.85.
//!
#![cfg_attr(feature = "tower", doc = "[`SseLayer`]: crate::layer::SseLayer")]
#![cfg_attr(not(feature = "tower"), doc = "[`SseLayer`]: #features")]
#![cfg_attr(
    feature = "json",
    doc = "[`Event::json_data`]: crate::Event::json_data"
)]
#![cfg_attr(not(feature = "json"), doc = "[`Event::json_data`]: #features")]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod adapter;
mod body;
pub mod channel;
pub mod decode;
mod encode;
mod event;
mod field;
mod gate;
pub mod hub;
mod keep_alive;
mod last_event_id;
#[cfg(feature = "tower")]
pub mod layer;
pub mod limit;
pub mod metrics;
mod response;
#[cfg(feature = "server")]
pub mod server;
pub mod shutdown;

pub use body::{BoxError, SseBody};
pub use event::{Data, EncodedEvent, Event, EventFields};
pub use field::{EventId, EventType, FieldKind, InvalidField};
pub use keep_alive::KeepAlive;
pub use last_event_id::LastEventId;

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
