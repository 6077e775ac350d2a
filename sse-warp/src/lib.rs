//! Server-Sent Events for [warp] 0.4, on [`sse_rs`].
//!
//! Add it to an existing app: reply with an [`Sse`] (or [`reply`]), take
//! [`last_event_id()`] to resume.
//!
//! ```no_run
//! use std::{convert::Infallible, time::Duration};
//! use futures_util::{stream, StreamExt};
//! use sse_warp::{Event, KeepAlive, LastEventId, Sse};
//! use warp::Filter;
//!
//! # async fn run() {
//! let events = warp::path("events").and(sse_warp::last_event_id()).map(|last: LastEventId| {
//!     let first = last.parse::<u64>().map_or(1, |seen| seen + 1);
//!     let ticks = stream::iter(first..).then(|n| async move {
//!         tokio::time::sleep(Duration::from_secs(1)).await;
//!         Ok::<_, Infallible>(Event::default().id(n).data(format!("tick {n}")))
//!     });
//!     sse_warp::reply(Sse::new(ticks).keep_alive(KeepAlive::default()))
//! });
//! warp::serve(events).run(([127, 0, 0, 1], 8083)).await;
//! # }
//! ```
//!
//! Compared with `warp::sse`: CRLF and CR in data are one line break each, empty data
//! is still dispatched, a bad id is a typed error instead of a silently broken stream,
//! ready events are sent as one frame, `X-Accel-Buffering: no` is set, and
//! `Last-Event-ID` never turns into a `400` (warp's typed header filter rejects an
//! empty or non-ASCII value, and a browser stops reconnecting for good on a 4xx).
//!
//! # Moving from `warp::sse`
//!
//! See [`migration`]: every public item of `warp::sse` and what to write instead,
//! and what a client sees differently.
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `json` | no | `Event::json_data`, serialising with `serde_json` |
//! | `gzip`, `brotli`, `zstd` | no | [`Sse::compress`]: the stream compressed with a coding the request accepts ([`accept_encoding()`]); see [`compress`] for when not to |
//! | `signal` | no | `shutdown::os_signal`: Ctrl-C or SIGTERM |
//! | `server` | no | `server::Server`: serves `warp::service(filter)` with request timeouts, `TCP_NODELAY` and a stop with a deadline (`warp::serve` has none of them) |
//! | `tls` | no | `Server::tls` and `server::tls_config`: HTTPS with rustls, HTTP/2 or HTTP/1.1 by ALPN (past the browser's six connections per origin) |
//!
//! [warp]: https://docs.rs/warp/0.4
#![cfg_attr(docsrs, feature(doc_cfg))]

use std::convert::Infallible;

use futures_core::Stream;
use warp::reply::{Reply, Response};
use warp::Filter;

sse_rs::__adapter_reexports!();

/// A server loop with request timeouts, `TCP_NODELAY` and a stop with a deadline
/// (feature `server`): `axum::serve` and `warp::serve` set no request timeouts.
#[cfg(feature = "server")]
#[cfg_attr(docsrs, doc(cfg(feature = "server")))]
#[doc(inline)]
pub use sse_rs::server;

#[doc = include_str!("migration.md")]
pub mod migration {}

sse_rs::__adapter_sse! {
    /// An SSE reply: `Sse::new(stream).keep_alive(KeepAlive::default())`.
    ///
    /// Sets `Content-Type: text/event-stream`, `Cache-Control: no-cache` and
    /// `X-Accel-Buffering: no`; streams the events as they come (see [`SseBody`]).
}

impl<S, T, E> Reply for Sse<S>
where
    S: Stream<Item = Result<T, E>> + Send + 'static,
    T: WriteEvent + 'static,
    E: Into<BoxError> + 'static,
{
    fn into_response(self) -> Response {
        // `SseBody` is a `Stream` of frames, and `Sync` without asking it of `S`.
        let coding = self.0.content_encoding();
        let mut response = warp::reply::stream(self.0).into_response();
        sse_rs::adapter::set_response_headers(response.headers_mut());
        sse_rs::adapter::set_content_encoding(response.headers_mut(), coding);
        response
    }
}

/// `sse` as a warp reply (the same as returning the [`Sse`] itself).
pub fn reply<S, T, E>(sse: Sse<S>) -> impl Reply
where
    S: Stream<Item = Result<T, E>> + Send + 'static,
    T: WriteEvent + 'static,
    E: Into<BoxError> + 'static,
{
    sse
}

/// A keep-alive builder, as `warp::sse::keep_alive()` starts one: set its
/// [`interval`](KeepAlive::interval) and [`text`](KeepAlive::text), then give it to
/// [`Sse::keep_alive`] (warp's wraps the stream instead:
/// `keep_alive().interval(d).stream(events)` becomes
/// `Sse::new(events).keep_alive(keep_alive().interval(d))`).
pub fn keep_alive() -> KeepAlive {
    KeepAlive::new()
}

sse_rs::__adapter_last_event_id! {
    /// The `Last-Event-ID` of the request, from the [`last_event_id()`] filter, which
    /// never rejects: absent, empty, invalid UTF-8 or over-long values are "none" (see
    /// [`sse_rs::LastEventId`]). A rejection would answer 4xx, and a browser stops
    /// reconnecting for good on anything but 200.
}

/// Extracts the request's [`LastEventId`]; never rejects (absent, empty, invalid
/// UTF-8 or over-long values are "none").
pub fn last_event_id() -> impl Filter<Extract = (LastEventId,), Error = Infallible> + Clone {
    warp::header::headers_cloned()
        .map(|headers| LastEventId(sse_rs::LastEventId::from_headers(&headers)))
}

sse_rs::__adapter_accept_encoding! {
    /// The request's `Accept-Encoding`, from the [`accept_encoding()`] filter, for
    /// [`Sse::compress`] (features `gzip`, `brotli`, `zstd`; see [`compress`] for
    /// when not to).
}

/// Extracts the request's [`AcceptEncoding`]; never rejects.
pub fn accept_encoding() -> impl Filter<Extract = (AcceptEncoding,), Error = Infallible> + Clone {
    warp::header::headers_cloned()
        .map(|headers| AcceptEncoding(compress::AcceptEncoding::from_headers(&headers)))
}

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
