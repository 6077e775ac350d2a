//! The client side: real HTTP clients ([`client`], [`gzip_client`]), requests for an
//! event stream ([`open_event_stream`]), and [`EventReader`], which reads a response
//! with our decoder and keeps the raw bytes and arrival times.
//!
//! [`EventReader`] stays on reqwest plus the bare decoder rather than our client
//! (`sse-rs-client`, checked against every example in `tests/client.rs`): the tests
//! that use it look at one response exactly as the server sent it, which a client
//! that reconnects would change. They check its status and headers before reading,
//! keep-alive bytes in `raw` between events, the arrival time of each chunk, comments
//! and `retry` fields; they send `Last-Event-ID` values no client would send (invalid
//! UTF-8, 64 KiB); and they expect a response that ends to stay ended (a shutdown, a
//! limit), where the client would reconnect.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use sse_rs::decode::{Decoded, Decoder, MessageEvent};

/// A plain HTTP client: no proxy, no compression asked for (see [`gzip_client`]).
#[must_use]
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .gzip(false)
        .build()
        .expect("an HTTP client")
}

/// A client that asks for gzip and decodes it as it streams, as browsers do.
#[must_use]
pub fn gzip_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .gzip(true)
        .build()
        .expect("an HTTP client")
}

/// `GET http://{addr}/events` as `EventSource` sends it (`Accept: text/event-stream`),
/// with `Last-Event-ID: last` if given.
///
/// # Panics
///
/// When the request fails.
pub async fn open_event_stream(addr: SocketAddr, last: Option<&str>) -> reqwest::Response {
    let mut request = client()
        .get(format!("http://{addr}/events"))
        .header("accept", "text/event-stream");
    if let Some(last) = last {
        request = request.header("last-event-id", last);
    }
    request.send().await.expect("request /events")
}

/// Opens `/events` on `addr` without `Accept: text/event-stream` (reqwest sends
/// `*/*`): how a client would get around a stream limit that trusts the request.
///
/// # Panics
///
/// When the request fails.
pub async fn open_unannounced_event_stream(addr: SocketAddr) -> reqwest::Response {
    client()
        .get(format!("http://{addr}/events"))
        .send()
        .await
        .expect("request /events")
}

/// One event stream response being read: raw bytes, chunk arrival times and
/// decoded items.
#[derive(Debug)]
pub struct EventReader {
    response: reqwest::Response,
    decoder: Decoder,
    /// Every byte of the body so far.
    pub raw: BytesMut,
    /// Every item decoded so far, with the time its chunk arrived.
    pub items: Vec<(Instant, Decoded)>,
    done: bool,
}

impl EventReader {
    /// Starts reading `response`.
    #[must_use]
    pub fn new(response: reqwest::Response) -> Self {
        Self {
            response,
            decoder: Decoder::new().comments(true),
            raw: BytesMut::new(),
            items: Vec::new(),
            done: false,
        }
    }

    /// Reads one more chunk; `false` at the end of the body.
    ///
    /// # Panics
    ///
    /// On a transport error or a decoding error.
    pub async fn read_chunk(&mut self) -> bool {
        if self.done {
            return false;
        }
        match self.response.chunk().await.expect("reading the body") {
            Some(chunk) => {
                self.push(&chunk);
                true
            }
            None => {
                self.done = true;
                false
            }
        }
    }

    fn push(&mut self, chunk: &Bytes) {
        let now = Instant::now();
        self.raw.extend_from_slice(chunk);
        let decoded = self.decoder.decode(chunk).expect("a valid event stream");
        self.items.extend(decoded.map(|item| (now, item)));
    }

    /// Reads until `n` events have arrived (or the body ends); returns them.
    pub async fn events_until(&mut self, n: usize) -> Vec<MessageEvent> {
        while self.events().len() < n && self.read_chunk().await {}
        self.events()
    }

    /// Reads to the end of the body (bounded by `limit`); returns every event.
    ///
    /// # Panics
    ///
    /// If the body does not end within `limit`.
    pub async fn read_to_end(&mut self, limit: Duration) -> Vec<MessageEvent> {
        tokio::time::timeout(limit, async { while self.read_chunk().await {} })
            .await
            .expect("the stream did not end in time");
        self.events()
    }

    /// The events decoded so far.
    #[must_use]
    pub fn events(&self) -> Vec<MessageEvent> {
        self.items
            .iter()
            .filter_map(|(_, item)| match item {
                Decoded::Event(event) => Some(event.clone()),
                _ => None,
            })
            .collect()
    }

    /// The arrival time of each event decoded so far.
    #[must_use]
    pub fn event_times(&self) -> Vec<Instant> {
        self.items
            .iter()
            .filter(|(_, item)| matches!(item, Decoded::Event(_)))
            .map(|(at, _)| *at)
            .collect()
    }

    /// Consumes the reader, closing the connection.
    pub fn disconnect(self) {
        drop(self);
    }
}

/// What event `n` of the countdown must look like in a browser.
#[must_use]
pub fn expected_event(n: u64) -> (String, String, String) {
    (
        "message".to_owned(),
        format!(r#"{{"type":"counter","value":{n}}}"#),
        n.to_string(),
    )
}

/// The (type, data, id) of decoded events, for comparison with [`expected_event`].
#[must_use]
pub fn summary(events: &[MessageEvent]) -> Vec<(String, String, String)> {
    events
        .iter()
        .map(|e| (e.event.clone(), e.data.clone(), e.last_event_id.clone()))
        .collect()
}
