//! A Server-Sent Events client: an [`EventSource`] for Rust programs that reconnects
//! as browsers do, on hyper and rustls.
//!
//! Built on the wire crate's WHATWG decoder ([`sse_rs_core::decode`]): bounded,
//! linear, and it never panics on what a server sends.
//!
//! ```no_run
//! use futures_util::StreamExt;
//! use sse_rs_client::{Client, Event};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::new();
//! let mut answer = client
//!     .post("https://api.openai.com/v1/chat/completions")
//!     .header("authorization", format!("Bearer {}", std::env::var("OPENAI_API_KEY")?))
//!     .header("content-type", "application/json")
//!     .body(r#"{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Hi"}]}"#)
//!     .end_on_eof(true) // the answer is over when the response ends
//!     .end_marker("[DONE]") // and at OpenAI's last event, which is not yielded
//!     .stream();
//! while let Some(item) = answer.next().await {
//!     if let Event::Message(chunk) = item? {
//!         println!("{}", chunk.data); // one JSON chunk of the answer
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # What it does
//!
//! - **Reconnects** as WHATWG's "reestablish the connection" says: after the
//!   reconnection time (3 s, or the server's `retry:` within a cap), with
//!   `Last-Event-ID` once an id was seen or given (never an empty one), with
//!   exponential backoff and jitter while connections fail, and an optional give-up
//!   rule ([`Reconnect`]). Network errors, timeouts, `5xx` and `429` are retried
//!   (`Retry-After` honoured); `204 No Content` ends the stream for good; any other
//!   status or a `Content-Type` other than `text/event-stream` ends it with an error
//!   that carries the status and the start of the body ([`BadResponse`]).
//! - **Any transport**: hyper-util's client with rustls by default, or the
//!   `reqwest::Client` an app already has (`Client::from_reqwest`); the rules
//!   below are the same code for both.
//! - **Any request**: `GET`, `POST` (LLM APIs) or any method, with headers and a body
//!   that is sent again on each reconnection. Redirects 301, 302, 303, 307 and 308 are
//!   followed as fetch does, up to a limit.
//! - **Timeouts**: a connect timeout to the response head, and an optional idle
//!   timeout that every received byte resets, comments and keep-alives included.
//! - **Bounded**: a line or an event larger than a set size is an error
//!   ([`Error::EventTooLarge`]), never unbounded memory.
//! - **Ends cleanly**: a stream that will not be resumed ends with `None`, not an
//!   error; optionally at a clean end of the response
//!   ([`end_on_eof`](RequestBuilder::end_on_eof)) or at an end marker such as
//!   `[DONE]` ([`end_marker`](RequestBuilder::end_marker)).
//! - **Drop closes**: dropping the [`EventSource`] closes its connection; it spawns no
//!   task of its own.
//!
//! By default the stream yields [`Event::Message`] only; comments, `retry` fields and
//! connection events (opened, reconnecting) are opt-in on the [`RequestBuilder`].
//!
//! # Features
//!
//! | Feature | Default | What it adds |
//! |---|---|---|
//! | `rustls` | yes | HTTPS with rustls (the process-default crypto provider, or *ring*), HTTP/2 or HTTP/1.1 by ALPN, [`ClientBuilder::tls_config`]. Without it, `http://` only. |
//! | `webpki-roots` | yes | Trust Mozilla's root certificates (compiled in). |
//! | `native-roots` | no | Trust the system's root certificates (merged with the above when both are on). |
//! | `reqwest` | no | `Client::from_reqwest`: open streams with an app's own `reqwest::Client` (reqwest **0.13**), with its proxies, TLS and cookies. Redirects: see there. |
//!
//! # Compatibility
//!
//! MSRV 1.85. http 1, hyper 1, hyper-util 0.1, rustls 0.23, reqwest 0.13 (feature
//! `reqwest`), tokio 1 (the streams must be polled inside a tokio runtime with the
//! time driver).
#![cfg_attr(docsrs, feature(doc_cfg))]

mod client;
mod connect;
mod error;
mod event;
mod reconnect;
mod redirect;
mod request;
mod source;
mod transport;

pub use client::{Client, ClientBuilder};
pub use error::{BadResponse, BoxError, Error};
pub use event::{Event, Open, Reconnecting};
pub use reconnect::Reconnect;
pub use request::RequestBuilder;
pub use source::EventSource;
#[doc(inline)]
pub use sse_rs_core::decode::MessageEvent;

/// The reqwest crate (0.13) whose `Client` [`Client::from_reqwest`] takes (feature
/// `reqwest`).
#[cfg(feature = "reqwest")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
pub use reqwest;

/// The rustls crate this client is built with (feature `rustls`), for
/// [`ClientBuilder::tls_config`].
#[cfg(feature = "rustls")]
#[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
pub use rustls;

#[cfg(test)]
mod tests {
    /// What an app moves across tasks and threads.
    #[test]
    fn the_public_types_are_send() {
        fn send<T: Send>() {}
        fn send_sync<T: Send + Sync>() {}
        send::<crate::EventSource>();
        send_sync::<crate::Client>();
        send_sync::<crate::Error>();
        send_sync::<crate::Event>();
        send_sync::<crate::RequestBuilder>();
    }
}
