//! Server-Sent Events for [actix-web] 4, on [`sse_rs`].
//!
//! Add it to an existing app: return [`Sse`] from a handler, take [`LastEventId`] to
//! resume.
//!
//! ```no_run
//! use std::{convert::Infallible, time::Duration};
//! use actix_web::{get, App, HttpServer, Responder};
//! use futures_util::{stream, StreamExt};
//! use sse_actix::{Event, KeepAlive, LastEventId, Sse};
//!
//! #[get("/events")]
//! async fn ticks(last: LastEventId) -> impl Responder {
//!     let first = last.parse::<u64>().map_or(1, |seen| seen + 1);
//!     let events = stream::iter(first..).then(|n| async move {
//!         tokio::time::sleep(Duration::from_secs(1)).await;
//!         Ok::<_, Infallible>(Event::default().id(n).data(format!("tick {n}")))
//!     });
//!     Sse::new(events).keep_alive(KeepAlive::default())
//! }
//!
//! #[actix_web::main]
//! async fn main() -> std::io::Result<()> {
//!     HttpServer::new(|| App::new().service(ticks)).bind(("127.0.0.1", 8083))?.run().await
//! }
//! ```
//!
//! Responses carry `Content-Encoding: identity`, so actix-web's `Compress`
//! middleware passes the stream through instead of buffering it. To compress an
//! event stream, let the stream do it (features `gzip`, `brotli`, `zstd`):
//! `Sse::new(events).compress(Compression::default(), &accept)` with an
//! [`AcceptEncoding`] extractor; one compressor per stream, flushed after every
//! frame, and `Content-Encoding: <coding>` instead of `identity` (which `Compress`
//! leaves alone too). Off unless a route asks; see [`compress`] for when not to.
//!
//! [`middleware::SseMiddleware`] (the counterpart of the tower `SseLayer`) bounds open
//! streams and ends them on shutdown; [`stall_timeout`] closes connections whose
//! client stopped reading.
//!
//! # A client that leaves
//!
//! By default actix-web notices a client that closed its HTTP/1.1 connection only when
//! it next writes to it (actix-web#1313): a producer tied to an idle stream
//! (`Sse::channel`: an LLM answer between tokens) goes on for a client long gone.
//! Set `HttpServer::h1_allow_half_closed(false)` (actix-web 4.12 and later): actix-web
//! then reads the socket while it streams and ends the connection at the client's
//! end of it, and the producer learns within a millisecond (measured: 0.18 ms, in the
//! workspace's `tests/tests/request_streams.rs`). Over HTTP/2 actix-web's streams
//! learn it at their next write: give request streams a short keep-alive (the
//! producer learned after 51 ms with a 50 ms keep-alive).
//!
//! # Moving from `actix_web_lab::sse`
//!
//! See [`migration`]: every public item of `actix_web_lab::sse` and what to write instead,
//! and what a client sees differently.
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `json` | no | `Event::json_data`, serialising with `serde_json` |
//! | `gzip`, `brotli`, `zstd` | no | [`Sse::compress`]: the stream compressed with a coding the request accepts ([`AcceptEncoding`]) |
//! | `signal` | no | `shutdown::os_signal`: Ctrl-C or SIGTERM |
//!
//! [actix-web]: https://docs.rs/actix-web/4
#![cfg_attr(docsrs, feature(doc_cfg))]

use std::convert::Infallible;
use std::fmt;
use std::future::{ready, Ready};

use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use actix_web::http::header::{HeaderName, HeaderValue, CONTENT_ENCODING};
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{dev::Payload, FromRequest, HttpRequest, HttpResponse, Responder};
use futures_core::Stream;

mod compat;
pub mod middleware;
mod stall;

pub use compat::{InfallibleStream, ReceiverStream};
pub use stall::stall_timeout;

sse_rs::__adapter_reexports!();

#[doc = include_str!("migration.md")]
pub mod migration {}

sse_rs::__adapter_sse! {
    /// An SSE response: `Sse::new(stream).keep_alive(KeepAlive::default())`.
    ///
    /// Sets `Content-Type: text/event-stream`, `Cache-Control: no-cache`,
    /// `X-Accel-Buffering: no` and `Content-Encoding: identity`; streams the events as
    /// they come (see [`SseBody`]).
}

impl<S, T, E> Responder for Sse<S>
where
    S: Stream<Item = Result<T, E>> + 'static,
    T: WriteEvent + 'static,
    E: Into<BoxError> + 'static,
{
    type Body = SseMessageBody<S>;

    fn respond_to(self, _request: &HttpRequest) -> HttpResponse<Self::Body> {
        // actix-web copies every frame into its write buffer: coalesce events of any size.
        let coding = self.0.content_encoding();
        let body = self.0.__server_copies_frames();
        let mut response = HttpResponse::with_body(StatusCode::OK, SseMessageBody { body });
        let headers = response.headers_mut();
        // actix-web speaks `http` 0.2, so the core's headers come as plain strings.
        for (name, value) in sse_rs::adapter::RESPONSE_HEADERS {
            headers.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        match coding {
            // `Compress` leaves a response with any `Content-Encoding` alone.
            Some(coding) => {
                let [encoding, vary] = sse_rs::adapter::content_encoding_headers(coding);
                headers.insert(
                    HeaderName::from_static(encoding.0),
                    HeaderValue::from_static(encoding.1),
                );
                headers.append(
                    HeaderName::from_static(vary.0),
                    HeaderValue::from_static(vary.1),
                );
            }
            None => {
                headers.insert(CONTENT_ENCODING, HeaderValue::from_static("identity"));
            }
        }
        response
    }
}

pin_project_lite::pin_project! {
    /// The body of an [`Sse`] response: the core [`SseBody`] polled as a stream of
    /// frames, as actix-web's [`MessageBody`].
    pub struct SseMessageBody<S> {
        #[pin]
        body: SseBody<S>,
    }
}

impl<S> fmt::Debug for SseMessageBody<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseMessageBody")
            .field("body", &self.body)
            .finish()
    }
}

impl<S, T, E> MessageBody for SseMessageBody<S>
where
    S: Stream<Item = Result<T, E>>,
    T: WriteEvent,
    E: Into<BoxError>,
{
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        // `SseBody` never yields an empty frame, which would end an actix stream.
        Stream::poll_next(self.project().body, cx)
            .map(|frame| frame.map(|frame| frame.map_err(|error| error as Self::Error)))
    }
}

sse_rs::__adapter_last_event_id! {
    /// The `Last-Event-ID` of the request, as an extractor that never fails: absent,
    /// empty, invalid UTF-8 or over-long values are "none" (see
    /// [`sse_rs::LastEventId`]). An error would answer 4xx, and a browser stops
    /// reconnecting for good on anything but 200.
}

impl FromRequest for LastEventId {
    type Error = Infallible;
    type Future = Ready<Result<Self, Infallible>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let last = request
            .headers()
            .get(sse_rs::LastEventId::HEADER)
            .map_or_else(sse_rs::LastEventId::none, |value| {
                sse_rs::LastEventId::from_bytes(value.as_bytes())
            });
        ready(Ok(Self(last)))
    }
}

sse_rs::__adapter_accept_encoding! {
    /// The request's `Accept-Encoding`, as an extractor that never fails, for
    /// [`Sse::compress`] (features `gzip`, `brotli`, `zstd`; see [`compress`] for
    /// when not to).
}

impl FromRequest for AcceptEncoding {
    type Error = Infallible;
    type Future = Ready<Result<Self, Infallible>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let values = request
            .headers()
            .get_all(compress::AcceptEncoding::HEADER)
            .map(HeaderValue::as_bytes);
        ready(Ok(Self::from_values(values)))
    }
}

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
