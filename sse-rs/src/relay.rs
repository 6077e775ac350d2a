//! [`Relay`]: an upstream event stream passed on to a client, as an LLM gateway does:
//! every event decoded as a browser would, checked and encoded again (or forwarded
//! byte for byte), with a hook that sees each event on the way.
//!
//! The relay is a `Stream<Item = Result<EncodedEvent, RelayError>>`: give it to
//! [`SseBody::new`](crate::SseBody::new) or an adapter's `Sse::new`. Its upstream is a
//! stream of bytes ([`Relay::new`]: reqwest's `bytes_stream()`), an `http_body::Body`
//! ([`Relay::from_body`]: hyper's `Incoming`), or events already decoded
//! ([`Relay::from_events`]: the stream of `sse-rs-client`). When the client leaves, the
//! server drops the body, the relay and with it the upstream: the upstream request is
//! cancelled at once.
//!
//! ```
//! use bytes::Bytes;
//! use futures_util::{stream, StreamExt};
//! use sse_rs::relay::Relay;
//! use sse_rs::{Event, SseBody};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // Upstream: an LLM answer, read with any HTTP client (here: scripted chunks).
//! let upstream = stream::iter([
//!     Ok::<_, std::io::Error>(Bytes::from_static(b": upstream keep-alive\r\ndata: {\"token\":\"Hel")),
//!     Ok(Bytes::from_static(b"lo\"}\r\n\r\ndata: {\"usage\":{\"total_tokens\":7}}\r\n\r\n")),
//! ]);
//! let relay = Relay::new(upstream)
//!     // Read each event on the way: here, the usage count at the end of the answer.
//!     .inspect(|event| {
//!         if event.data.contains("\"usage\"") {
//!             println!("usage: {}", event.data);
//!         }
//!     })
//!     // Drop (or rewrite) events: the client does not get the usage.
//!     .filter_map(|event| (!event.data.contains("\"usage\"")).then_some(event))
//!     // OpenAI's end, added because this upstream ended without it.
//!     .ensure_end_event(Event::default().data("[DONE]"));
//! let body = SseBody::new(relay)
//!     // An upstream failure after the 200 becomes one last event the client can parse.
//!     .on_error(|error| Event::default().event(sse_rs::EventType::from_static("error")).data(error.to_string()));
//!
//! let sent: Vec<Bytes> = body.map(|frame| frame.unwrap()).collect().await;
//! assert_eq!(sent.concat(), b"data: {\"token\":\"Hello\"}\n\ndata: [DONE]\n\n");
//! # }
//! ```
//!
//! An axum gateway in front of an upstream that `sse-rs-client` reads (needs `axum`,
//! `sse-axum` and `sse-rs-client`, which turns its events into the relay's input; the
//! workspace's tests run this gateway over real sockets):
//!
//! ```ignore
//! use axum::{extract::State, routing::post, Router};
//! use sse_axum::relay::Relay;
//! use sse_axum::{Event, EventType, KeepAlive, LastEventId, Sse};
//!
//! async fn chat(State(client): State<sse_rs_client::Client>, last: LastEventId, body: String) -> Sse<Relay> {
//!     let mut upstream = client
//!         .post("https://llm.example/v1/chat/completions")
//!         .header("content-type", "application/json")
//!         .body(body)
//!         .end_on_eof(true) // an answer does not reconnect
//!         .end_marker("[DONE]"); // not yielded: the relay adds it back below
//!     if let Some(id) = last.as_str() {
//!         upstream = upstream.last_event_id(id); // resume upstream where the client is
//!     }
//!     let relay = Relay::from_events(upstream.stream())
//!         .last_event_id(last.as_str().unwrap_or("")) // the id the client has
//!         .ensure_end_event(Event::default().data("[DONE]"));
//!     Sse::new(relay)
//!         .keep_alive(KeepAlive::default())
//!         .on_error(|error| Event::default().event(EventType::from_static("error")).data(error.to_string()))
//! }
//!
//! let app = Router::new().route("/v1/chat/completions", post(chat)).with_state(sse_rs_client::Client::new());
//! ```
//!
//! # What the client gets
//!
//! By default every event is encoded again by this crate's encoder from what a browser
//! would see: its type, its data, and its id (sent when the stream's last event id
//! changed, so that each event has upstream's `lastEventId` in the client too). So
//! nothing malformed or smuggled reaches the client: CR-only and CRLF line breaks
//! become LF, a line break inside a field cannot start another field, ids with NUL are
//! dropped, a BOM, unknown fields and an unfinished event at the end are not passed
//! on. The output is the same however upstream's bytes were cut into chunks.
//!
//! No block without data goes out while the stream lasts: some clients (the `openai`
//! Python package, httpx-sse) take every empty line after an event with an id for an
//! empty event (see [`KeepAlive`](crate::KeepAlive)). So an id that moved without an
//! event (a block with only an `id`, an event [`filter_map`](Relay::filter_map)
//! dropped) goes with the next event, and so do comments and `retry` when asked for;
//! what is left when upstream ends goes with the
//! [end event](Relay::ensure_end_event), or (without one) in a block of its own.
//!
//! Comments are dropped unless [`comments`](Relay::comments) is on (the gateway sends
//! its own keep-alives: see [`KeepAlive`](crate::KeepAlive)), and `retry` fields
//! unless [`retry`](Relay::retry) is on: the client's reconnection delay is the
//! gateway's to set (with [`SseBody::initial_event`](crate::SseBody::initial_event)),
//! not upstream's.
//!
//! With [`verbatim`](Relay::verbatim) the upstream bytes are forwarded as they are
//! (cut where events end, so frames and keep-alives fall between events), for proxies
//! that must not change a byte; the decoder still reads them, so the hooks work.
//!
//! # The end
//!
//! A clean upstream end ends the relay, after [`ensure_end_event`](Relay::ensure_end_event)
//! if set and upstream's last event was not that event. An upstream error ends it with
//! [`RelayError::Upstream`]; turn it into a last event with
//! [`SseBody::on_error`](crate::SseBody::on_error) (the relay does not duplicate the
//! body's `on_error`, `end_event` and `on_end`).
//!
//! # Bounds
//!
//! A line, an event's data (and in verbatim mode a whole event block) longer than
//! [`max_event_size`](Relay::max_event_size) ends the relay with
//! [`RelayError::TooLarge`]; the events before it are sent. The relay decodes at most
//! 16 KiB of upstream input at a time, so what waits for the body to take it is
//! bounded too. Nothing an upstream sends makes it panic.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use futures_core::stream::FusedStream;
use futures_core::Stream;
use sse_rs_core::decode::{Decoded, Decoder, MessageEvent};

use crate::{BoxError, EncodedEvent, Event};

mod error;
mod forward;
#[cfg(test)]
mod tests;
mod upstream;

pub use error::RelayError;
use forward::{EndEvent, Forwarder};
use upstream::{BodySource, Ended, StreamSource, Upstream};

/// How much upstream input is decoded at a time. The events it gives wait in a queue
/// until the body takes them: this bounds the queue.
const PIECE: usize = 16 * 1024;

/// Upstream chunks read in one poll that gave nothing to send (comments that are
/// dropped, say) before the relay lets other tasks run.
const BUDGET: usize = 32;

/// An upstream event stream, passed on: a `Stream` of [`EncodedEvent`]s for
/// [`SseBody::new`](crate::SseBody::new) or an adapter's `Sse::new`. See the
/// [module docs](self).
///
/// Options are read when the relay is first polled; setting one twice replaces it.
#[must_use = "a relay does nothing unless polled: give it to `SseBody::new` or `Sse::new`"]
pub struct Relay {
    upstream: Upstream,
    decoder: Option<Decoder>,
    /// At least the bytes the decoder holds (those since the last event boundary it
    /// reported): while this plus the next input stays within the bound, no bound
    /// error can come.
    held: usize,
    core: Forwarder,
    error: Option<RelayError>,
    done: bool,
}

impl Relay {
    /// A relay of the upstream stream of bytes `upstream`: a response body as a
    /// stream of chunks, such as reqwest's `Response::bytes_stream()`. Chunks may be
    /// split anywhere. An error from `upstream` ends the relay with
    /// [`RelayError::Upstream`]. Check the upstream response's status and
    /// `Content-Type` first: the relay reads any bytes as an event stream.
    pub fn new<S, B, E>(upstream: S) -> Self
    where
        S: Stream<Item = Result<B, E>> + Send + 'static,
        B: Buf,
        E: Into<BoxError>,
    {
        Self::with(Upstream::Bytes {
            source: Box::new(StreamSource(Box::pin(upstream))),
            rest: Bytes::new(),
        })
    }

    /// A relay of the upstream response body `body` (an `http_body::Body`, such as
    /// hyper's `Incoming`); trailers are ignored.
    pub fn from_body<B>(body: B) -> Self
    where
        B: http_body::Body + Send + 'static,
        B::Error: Into<BoxError>,
    {
        Self::with(Upstream::Bytes {
            source: Box::new(BodySource(Box::pin(body))),
            rest: Bytes::new(),
        })
    }

    /// A relay of events already decoded: items that convert into
    /// `Option<`[`Decoded`]`>`, such as the core's [`Decoded`] or the events of
    /// `sse-rs-client`'s `EventSource` (its connection events give `None` and are
    /// skipped). Events are always encoded again ([`verbatim`](Relay::verbatim) does
    /// nothing here); comments and `retry` fields are passed on only when the
    /// upstream reader reports them and the relay's options say so.
    pub fn from_events<S, T, E>(upstream: S) -> Self
    where
        S: Stream<Item = Result<T, E>> + Send + 'static,
        T: Into<Option<Decoded>>,
        E: Into<BoxError>,
    {
        Self::with(Upstream::Events(Box::new(StreamSource(Box::pin(upstream)))))
    }

    fn with(upstream: Upstream) -> Self {
        Self {
            upstream,
            decoder: None,
            held: 0,
            core: Forwarder::new(),
            error: None,
            done: false,
        }
    }

    /// Forwards the upstream bytes as they are (default `false`): each event block
    /// (its comments, `retry` and unknown fields, its line breaks) goes out unchanged,
    /// cut where it ends, so that the body's frames and keep-alives fall between
    /// events. A leading BOM is not forwarded (it belongs to the stream, and the
    /// client's stream may start with an event of the gateway's), nor an unfinished
    /// block at the end; a block that starts with the bytes of a BOM (a line no
    /// client reads) gets one more, so that it reads the same at the start of the
    /// client's stream. An event that [`filter_map`](Relay::filter_map) changes is
    /// encoded again; one it drops is dropped with its whole block (if it moved the
    /// id, a block with that id alone takes its place).
    ///
    /// The bound ([`max_event_size`](Relay::max_event_size)) then applies to whole
    /// blocks, comments included.
    pub fn verbatim(mut self, verbatim: bool) -> Self {
        // Decoded events have no bytes of their own.
        self.core.verbatim = verbatim && matches!(self.upstream, Upstream::Bytes { .. });
        self
    }

    /// Passes on the comments of event blocks (default `false`), as `:` lines of the
    /// event they came with; comments in a block without an event (keep-alives) are
    /// dropped, and so are those of a dropped event. Off by default: a gateway sends
    /// its own keep-alives. From [decoded events](Relay::from_events), which say
    /// nothing of blocks, comments go with the next event, up to
    /// [`max_event_size`](Relay::max_event_size) bytes of them.
    pub fn comments(mut self, comments: bool) -> Self {
        self.core.comments = comments;
        self
    }

    /// Passes `retry` fields on (default `false`): the last one read goes with the
    /// next event (or the end). Off by default: how long the client waits before it
    /// reconnects to the gateway is the gateway's to say.
    pub fn retry(mut self, retry: bool) -> Self {
        self.core.retry = retry;
        self
    }

    /// Bounds one line and one event's data (and with
    /// [`verbatim`](Relay::verbatim), one whole block), in bytes (default
    /// [`Decoder::DEFAULT_MAX_EVENT_SIZE`], 4 MiB). Over it the relay ends with
    /// [`RelayError::TooLarge`].
    pub fn max_event_size(mut self, bytes: usize) -> Self {
        self.core.max_event_size = bytes;
        self
    }

    /// The last event id the client already has (its `Last-Event-ID`, which the
    /// gateway passes on to upstream): the id is sent again only when upstream's
    /// differs. Ignored if it contains NUL.
    pub fn last_event_id(mut self, id: impl Into<String>) -> Self {
        let id = id.into();
        if !id.contains('\0') {
            self.core.sent_id = id;
        }
        self
    }

    /// Calls `hook` with every upstream event, before
    /// [`filter_map`](Relay::filter_map) (so also with those it drops): to read the
    /// usage count at the end of an LLM answer, or to count tokens.
    pub fn inspect(mut self, hook: impl FnMut(&MessageEvent) + Send + 'static) -> Self {
        self.core.inspect = Some(Box::new(hook));
        self
    }

    /// Passes each upstream event through `f`: return it (changed or not) to send
    /// it, `None` to drop it. A changed event is encoded as it is returned (an event
    /// type with a line break ends the relay with [`RelayError::InvalidField`]),
    /// except its `last_event_id`: the client's id follows upstream's, also over
    /// dropped events.
    ///
    /// ```
    /// # use futures_util::stream;
    /// use sse_rs::relay::Relay;
    ///
    /// # let upstream = stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::new())]);
    /// let relay = Relay::new(upstream).filter_map(|mut event| {
    ///     if event.event == "ping" {
    ///         return None; // not for the browser
    ///     }
    ///     event.data = event.data.replace("internal-host", "gateway");
    ///     Some(event)
    /// });
    /// ```
    pub fn filter_map(
        mut self,
        f: impl FnMut(MessageEvent) -> Option<MessageEvent> + Send + 'static,
    ) -> Self {
        self.core.filter_map = Some(Box::new(f));
        self
    }

    /// Sends `event` at a clean upstream end, unless the last event sent was the same
    /// (the same type and data): an end the client can count on, such as OpenAI's
    /// `data: [DONE]`, whether upstream sent it or not. It carries upstream's last id
    /// if the client does not have it yet (unless it has an id of its own), and a
    /// `retry` not sent yet. Not after an upstream error: see
    /// [`SseBody::on_error`](crate::SseBody::on_error).
    pub fn ensure_end_event(mut self, event: Event) -> Self {
        let fields = event.fields();
        let kind = fields.event.map_or("message", |kind| kind.as_str());
        self.core.end = Some(EndEvent {
            kind: if kind.is_empty() { "message" } else { kind }.to_owned(),
            data: fields
                .data
                .map(|data| Bytes::copy_from_slice(data.as_bytes())),
            event,
        });
        self
    }

    /// Decodes `piece`: in one call when no bound can be crossed in it, else one
    /// line per call (the decoder drops what a call completed when it fails, and a
    /// line over the bound must not take the events before it along).
    fn feed(&mut self, piece: &[u8]) -> Result<(), RelayError> {
        if self.held.saturating_add(piece.len()) <= self.core.max_event_size {
            return self.decode(piece);
        }
        let mut start = 0;
        while start < piece.len() {
            let rest = &piece[start..];
            let end = match rest.iter().position(|&b| b == b'\n' || b == b'\r') {
                Some(at) if rest[at] == b'\r' && rest.get(at + 1) == Some(&b'\n') => at + 2,
                Some(at) => at + 1,
                None => rest.len(),
            };
            self.decode(&rest[..end])?;
            start += end;
        }
        Ok(())
    }

    fn decode(&mut self, input: &[u8]) -> Result<(), RelayError> {
        let core = &mut self.core;
        let decoder = self.decoder.get_or_insert_with(|| core.decoder());
        let items = decoder
            .decode(input)
            .map_err(|error| RelayError::TooLarge {
                limit: error.limit(),
            })?;
        let mut boundary = false;
        for item in items {
            boundary |= matches!(item, Decoded::Event(_) | Decoded::Block(_));
            core.item(item)?;
        }
        self.held = if boundary {
            input.len()
        } else {
            self.held.saturating_add(input.len())
        };
        if core.last_raw {
            // The client read upstream's bytes up to the decoder's last boundary.
            decoder.last_event_id().clone_into(&mut core.sent_id);
            core.id_known = true;
        }
        Ok(())
    }

    /// Upstream ended (`clean`: by itself): the end event, and what is left to send.
    fn finish(&mut self, clean: bool) -> Result<(), RelayError> {
        let id = match &self.decoder {
            Some(decoder) => Some(decoder.last_event_id().to_owned()),
            None => self.core.owed_id.take(),
        };
        self.core.finish(id, clean)
    }
}

/// One step of reading upstream.
enum Step {
    Piece(Bytes),
    Item(Option<Decoded>),
    End,
    Failed(BoxError),
    Pending,
}

impl Stream for Relay {
    type Item = Result<EncodedEvent, RelayError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let mut budget = BUDGET;
        loop {
            if let Some(event) = this.core.queue.pop_front() {
                return Poll::Ready(Some(Ok(event)));
            }
            if let Some(error) = this.error.take() {
                this.done = true;
                return Poll::Ready(Some(Err(error)));
            }
            if this.done {
                return Poll::Ready(None);
            }
            let step = match &mut this.upstream {
                Upstream::Bytes { rest, .. } if !rest.is_empty() => {
                    Step::Piece(rest.split_to(rest.len().min(PIECE)))
                }
                _ if budget == 0 => {
                    // Upstream is always ready with nothing to send: let others run.
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Upstream::Bytes { source, rest } => {
                    budget -= 1;
                    match source.poll_chunk(cx) {
                        Poll::Ready(Some(Ok(chunk))) => {
                            *rest = chunk;
                            continue;
                        }
                        Poll::Ready(Some(Err(error))) => Step::Failed(error),
                        Poll::Ready(None) => Step::End,
                        Poll::Pending => Step::Pending,
                    }
                }
                Upstream::Events(source) => {
                    budget -= 1;
                    match source.poll_item(cx) {
                        Poll::Ready(Some(Ok(item))) => Step::Item(item),
                        Poll::Ready(Some(Err(error))) => Step::Failed(error),
                        Poll::Ready(None) => Step::End,
                        Poll::Pending => Step::Pending,
                    }
                }
            };
            let result = match step {
                Step::Piece(piece) => this.feed(&piece),
                Step::Item(Some(item)) => this.core.item(item),
                Step::Item(None) => Ok(()),
                Step::End => {
                    this.done = true;
                    this.finish(true)
                }
                Step::Failed(error) => Err(RelayError::Upstream(error)),
                Step::Pending => return Poll::Pending,
            };
            if let Err(error) = result {
                // The events before the error go first, and the id; the upstream is
                // dropped now.
                if !matches!(error, RelayError::InvalidField(_)) {
                    let _ = this.finish(false);
                }
                this.error = Some(error);
                this.upstream = Upstream::Events(Box::new(Ended));
            }
        }
    }
}

impl FusedStream for Relay {
    fn is_terminated(&self) -> bool {
        self.done && self.error.is_none() && self.core.queue.is_empty()
    }
}

impl fmt::Debug for Relay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Relay")
            .field("verbatim", &self.core.verbatim)
            .field("comments", &self.core.comments)
            .field("retry", &self.core.retry)
            .field("max_event_size", &self.core.max_event_size)
            .field("inspect", &self.core.inspect.is_some())
            .field("filter_map", &self.core.filter_map.is_some())
            .field("queued", &self.core.queue.len())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}
