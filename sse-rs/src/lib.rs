//! Server-Sent Events services on the [`sse_rs_core`] wire: a broadcast hub with
//! replay, stream limits that browsers understand, tower middleware, channels that tie
//! a producer to its client, a graceful stop with a deadline, and a hardened hyper
//! server with TLS and HTTP/2.
//!
//! This crate is to `sse-rs-core` what `axum` is to `axum-core`: it re-exports the
//! whole wire vocabulary ([`Event`], [`SseBody`], [`KeepAlive`], [`LastEventId`], the
//! [`decode`] module...) and adds the services, each a module behind its feature. The
//! adapters `sse-axum`, `sse-actix` and `sse-warp` re-export all of it, so an app
//! depends on one adapter alone; use this crate directly with plain hyper.
//!
//! ```
//! use sse_rs::hub::Hub;
//! use sse_rs::{Event, LastEventId, SseBody};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let hub = Hub::new();
//! // A request handler: subscribe, resuming after the client's Last-Event-ID.
//! let subscription = hub.subscribe(&["chat"], &LastEventId::none());
//! let response = SseBody::new(subscription).into_response();
//! // Anywhere else: publish once, every subscriber of the topic gets it.
//! hub.publish("chat", Event::default().data("hello"));
//! # assert_eq!(response.headers()["content-type"], "text/event-stream");
//! # }
//! ```
//!
//! # Layout
//!
//! The root re-exports the wire's vocabulary. The services: `hub` (broadcast and
//! replay), `channel` (a producer tied to its client), `resume` (answers a client
//! picks up again after a reload), `relay` (an upstream stream passed on to a
//! client), `limit` (a limit on open
//! streams), `layer` (tower middleware, feature `tower`), [`shutdown`] (the signal, and
//! a graceful stop with a deadline), `server` (feature `server`), and [`adapter`] for
//! what only framework adapters use.
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `hub` | yes | `hub::Hub`: topics, replay for reconnecting clients, one bounded ring per topic |
//! | `channel` | yes | `channel::channel`: push events from anywhere, learn when the client is gone |
//! | `limit` | yes | `limit::StreamLimit` and the gate adapters build on |
//! | `resume` | yes | `resume::Answers`: answers kept under an id, resumed with `Last-Event-ID` after a reload |
//! | `relay` | yes | `relay::Relay`: an upstream event stream (bytes, a body, or decoded events) passed on to a client, checked and encoded again or byte for byte, with a hook on each event (an LLM gateway) |
//! | `tower` | no | `layer::SseLayer`: tower middleware (`LastEventId` in extensions, a limit on open streams, shutdown) |
//! | `signal` | no | `shutdown::os_signal`: Ctrl-C or SIGTERM, for a graceful stop |
//! | `server` | no | `server::Server`: a hyper 1 server loop with request timeouts (slowloris), `TCP_NODELAY`, a write stall timeout and a stop with a deadline |
//! | `tls` | no | `Server::tls` and `server::tls_config`: HTTPS with rustls, HTTP/2 or HTTP/1.1 by ALPN (past the browser's six connections per origin) |
//! | `json` | no | `Event::json_data`, serialising with `serde_json` |
//! | `gzip` | no | `compress::Coding::Gzip`: gzip-compressed event streams (see [`compress`]) |
//! | `brotli` | no | `compress::Coding::Brotli`: brotli-compressed event streams |
//! | `zstd` | no | `compress::Coding::Zstd`: zstd-compressed event streams (builds zstd's C library) |
//!
//! # Compatibility
//!
//! `http` 1, `http-body` 1, tokio 1, hyper 1 (feature `server`). Built and tested with
//! the latest stable Rust; the declared minimum is Rust 1.85.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod adapter;
#[cfg(feature = "channel")]
#[cfg_attr(docsrs, doc(cfg(feature = "channel")))]
pub mod channel;
#[cfg(feature = "hub")]
#[cfg_attr(docsrs, doc(cfg(feature = "hub")))]
pub mod hub;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod layer;
#[cfg(feature = "limit")]
#[cfg_attr(docsrs, doc(cfg(feature = "limit")))]
pub mod limit;
#[cfg(feature = "relay")]
#[cfg_attr(docsrs, doc(cfg(feature = "relay")))]
pub mod relay;
#[cfg(feature = "resume")]
#[cfg_attr(docsrs, doc(cfg(feature = "resume")))]
pub mod resume;
#[cfg(feature = "server")]
#[cfg_attr(docsrs, doc(cfg(feature = "server")))]
pub mod server;
pub mod shutdown;

#[doc(inline)]
pub use sse_rs_core::{compress, decode, metrics, timer};
#[doc(inline)]
pub use sse_rs_core::{
    BoxError, Data, EncodedEvent, End, Event, EventFields, EventId, EventType, EventWriter,
    FieldId, FieldKind, FieldWriter, InvalidField, KeepAlive, LastEventId, Outcome, SseBody,
    WriteEvent,
};

// The wire's adapter macros, for the adapters of this workspace. Not a public API.
#[doc(hidden)]
pub use sse_rs_core as __core;
#[doc(hidden)]
pub use sse_rs_core::{__adapter_accept_encoding, __adapter_last_event_id, __adapter_sse_methods};

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
