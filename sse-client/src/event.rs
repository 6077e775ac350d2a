//! [`Event`]: what an [`EventSource`](crate::EventSource) yields.

use std::sync::Arc;
use std::time::Duration;

use http::{StatusCode, Uri, Version};
use sse_rs_core::decode::{Decoded, MessageEvent};

use crate::Error;

/// An item of an [`EventSource`](crate::EventSource).
///
/// By default only [`Event::Message`] is yielded; the other kinds are opt-in on the
/// [`RequestBuilder`](crate::RequestBuilder), so a `match` with a catch-all arm stays
/// short:
///
/// ```no_run
/// # async fn run(mut source: sse_rs_client::EventSource) -> Result<(), sse_rs_client::Error> {
/// use futures_util::StreamExt;
/// use sse_rs_client::Event;
///
/// while let Some(item) = source.next().await {
///     if let Event::Message(message) = item? {
///         println!("{}: {}", message.event, message.data);
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Event {
    /// A dispatched event: type, data and the last event id (the core's
    /// [`MessageEvent`]).
    Message(MessageEvent),
    /// A comment line, the text after `:` and one optional space (with
    /// [`comments`](crate::RequestBuilder::comments)).
    Comment(String),
    /// A valid `retry:` field, as the server sent it (with
    /// [`retry_fields`](crate::RequestBuilder::retry_fields)); the reconnection time
    /// uses it within [`max_delay`](crate::Reconnect::max_delay).
    Retry(Duration),
    /// A connection opened: `200` with `text/event-stream` (with
    /// [`connection_events`](crate::RequestBuilder::connection_events)).
    Open(Open),
    /// A connection ended or failed and the stream will connect again after a
    /// delay (with [`connection_events`](crate::RequestBuilder::connection_events)).
    Reconnecting(Reconnecting),
}

/// What a relay (`sse_rs::relay::Relay::from_events`) takes: a message, a comment or a
/// `retry` field as the wire crate's [`Decoded`]; the connection events give `None`.
impl From<Event> for Option<Decoded> {
    fn from(event: Event) -> Self {
        match event {
            Event::Message(message) => Some(Decoded::Event(message)),
            Event::Comment(text) => Some(Decoded::Comment(text)),
            Event::Retry(delay) => Some(Decoded::Retry(delay)),
            Event::Open(_) | Event::Reconnecting(_) => None,
        }
    }
}

/// A connection that opened an event stream.
#[derive(Clone, Debug)]
pub struct Open {
    pub(crate) url: Uri,
    pub(crate) status: StatusCode,
    pub(crate) version: Version,
    pub(crate) connection: u64,
    pub(crate) last_event_id: Option<String>,
}

impl Open {
    /// The URL that answered, after redirects.
    #[must_use]
    pub fn url(&self) -> &Uri {
        &self.url
    }

    /// The status (always `200 OK`).
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The HTTP version of the connection (`HTTP/2` when negotiated by ALPN).
    #[must_use]
    pub fn version(&self) -> Version {
        self.version
    }

    /// How many connection attempts this stream has made, this one included (1 for the
    /// first).
    #[must_use]
    pub fn connection(&self) -> u64 {
        self.connection
    }

    /// The `Last-Event-ID` the request sent, if any.
    #[must_use]
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_event_id.as_deref()
    }
}

/// A connection that ended or failed; the next one starts after
/// [`delay`](Reconnecting::delay).
#[derive(Clone, Debug)]
pub struct Reconnecting {
    pub(crate) delay: Duration,
    pub(crate) failures: u32,
    pub(crate) error: Option<Arc<Error>>,
}

impl Reconnecting {
    /// How long the stream waits before it connects again.
    #[must_use]
    pub fn delay(&self) -> Duration {
        self.delay
    }

    /// How many reconnections in a row made no progress before this one (0 after a
    /// connection that dispatched events or stayed open long enough).
    #[must_use]
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Why the connection ended: `None` when the server ended the response cleanly.
    #[must_use]
    pub fn error(&self) -> Option<&Error> {
        self.error.as_deref()
    }
}
