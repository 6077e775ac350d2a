//! Server-Sent Events for [axum] 0.8, on [`sse_rs`].
//!
//! Add it to an existing app: return [`Sse`] from a handler, take [`LastEventId`] to
//! resume.
//!
//! ```no_run
//! use std::{convert::Infallible, time::Duration};
//! use axum::{routing::get, Router};
//! use futures_util::{stream, StreamExt};
//! use sse_axum::{Event, KeepAlive, LastEventId, Sse};
//!
//! async fn ticks(last: LastEventId) -> Sse<impl futures_core::Stream<Item = Result<Event, Infallible>>> {
//!     let first = last.parse::<u64>().map_or(1, |seen| seen + 1);
//!     let events = stream::iter(first..).then(|n| async move {
//!         tokio::time::sleep(Duration::from_secs(1)).await;
//!         Ok(Event::default().id(n).data(format!("tick {n}")))
//!     });
//!     Sse::new(events).keep_alive(KeepAlive::default())
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let app = Router::new().route("/events", get(ticks));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8083").await?;
//! axum::serve(listener, app).await
//! # }
//! ```
//!
//! Compared with `axum::response::sse`: CRLF and CR in data are one line break each
//! (not two), `data("")` is still dispatched, a bad id is a typed error instead of a
//! panic, ready events are sent as one frame, `X-Accel-Buffering: no` is set, and
//! `Last-Event-ID` is parsed the way browsers send it.
//!
//! tower-http's `CompressionLayer` leaves these responses alone with its default
//! predicate (it skips `text/event-stream`); if you set your own predicate, keep that
//! rule, or events that are ready together wait in its encoder until the stream has
//! nothing more ready. To compress an event stream, let the stream do it
//! (features `gzip`, `brotli`, `zstd`): one compressor per stream, flushed after
//! every frame, so no event waits. Off unless a route asks; see [`compress`] for when
//! not to (secrets in the same stream as text an attacker controls):
//!
//! ```
//! use std::convert::Infallible;
//! use futures_util::stream;
//! use sse_axum::compress::Compression;
//! use sse_axum::{AcceptEncoding, Event, Sse};
//!
//! async fn tokens(accept: AcceptEncoding) -> Sse<impl futures_core::Stream<Item = Result<Event, Infallible>>> {
//!     let events = stream::iter(["Hello", " world"].map(|t| Ok(Event::default().data(t))));
//!     Sse::new(events).compress(Compression::default(), &accept)
//! }
//! # let _ = axum::Router::<()>::new().route("/tokens", axum::routing::get(tokens));
//! ```
//!
//! A compressed response carries `Content-Encoding`, which `CompressionLayer` leaves
//! alone: never compressed twice.
//!
//! # Moving from `axum::response::sse`
//!
//! See [`migration`]: every public item of `axum::response::sse` and what to write instead,
//! and what a client sees differently.
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `json` | no | `Event::json_data`, serialising with `serde_json` |
//! | `gzip`, `brotli`, `zstd` | no | [`Sse::compress`]: the stream compressed with a coding the request accepts ([`AcceptEncoding`]) |
//! | `tower` | no | `layer`: tower middleware (`Last-Event-ID` in extensions, a limit on open streams, shutdown) |
//! | `signal` | no | `shutdown::os_signal`: Ctrl-C or SIGTERM |
//! | `server` | no | `server::Server`: serves a `Router` with request timeouts, `TCP_NODELAY` and a stop with a deadline (`axum::serve` has none of them) |
//! | `tls` | no | `Server::tls` and `server::tls_config`: HTTPS with rustls, HTTP/2 or HTTP/1.1 by ALPN (past the browser's six connections per origin) |
//!
//! [axum]: https://docs.rs/axum/0.8
#![cfg_attr(docsrs, feature(doc_cfg))]

use std::convert::Infallible;

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use futures_core::Stream;

sse_rs::__adapter_reexports!();

/// A server loop with request timeouts, `TCP_NODELAY` and a stop with a deadline
/// (feature `server`): `axum::serve` and `warp::serve` set no request timeouts.
#[cfg(feature = "server")]
#[cfg_attr(docsrs, doc(cfg(feature = "server")))]
#[doc(inline)]
pub use sse_rs::server;

#[doc = include_str!("migration.md")]
pub mod migration {}

/// Tower middleware for event-stream routes (feature `tower`): `Last-Event-ID` in the
/// request extensions, a limit on open streams, shutdown. axum routes take tower layers.
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
#[doc(inline)]
pub use sse_rs::layer;

sse_rs::__adapter_sse! {
    /// An SSE response: `Sse::new(stream).keep_alive(KeepAlive::default())`.
    ///
    /// Sets `Content-Type: text/event-stream`, `Cache-Control: no-cache` and
    /// `X-Accel-Buffering: no`; streams the events as they come (see [`SseBody`]).
}

impl<S, T, E> IntoResponse for Sse<S>
where
    S: Stream<Item = Result<T, E>> + Send + 'static,
    T: WriteEvent + 'static,
    E: Into<BoxError> + 'static,
{
    fn into_response(self) -> Response {
        self.0.into_response().map(axum_core::body::Body::new)
    }
}

sse_rs::__adapter_last_event_id! {
    /// The `Last-Event-ID` of the request, as an extractor that never rejects: absent,
    /// empty, invalid UTF-8 or over-long values are "none" (see
    /// [`sse_rs::LastEventId`]). A rejection would answer 4xx, and a browser stops
    /// reconnecting for good on anything but 200.
}

impl<St: Send + Sync> FromRequestParts<St> for LastEventId {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &St,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(sse_rs::LastEventId::from_headers(&parts.headers)))
    }
}

sse_rs::__adapter_accept_encoding! {
    /// The request's `Accept-Encoding`, as an extractor that never rejects, for
    /// [`Sse::compress`]: `Sse::new(events).compress(Compression::default(), &accept)`
    /// (features `gzip`, `brotli`, `zstd`; see [`compress`] for when not to).
}

impl<St: Send + Sync> FromRequestParts<St> for AcceptEncoding {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &St,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(compress::AcceptEncoding::from_headers(&parts.headers)))
    }
}

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
