//! The clients under test, each behind a small adapter that turns what it yields into
//! one common sequence of [`Observed`] items, so that every scenario's check is
//! written once for all of them.

mod eventsource_stream;
mod launchdarkly;
mod ours;
mod reqwest_eventsource;

use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, BoxStream, StreamExt};

pub use self::eventsource_stream::EventsourceStream;
pub use self::launchdarkly::LaunchDarkly;
pub use self::ours::Ours;
pub use self::reqwest_eventsource::ReqwestEventsource;

/// A dispatched event as the client reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ev {
    /// The event type (`message` when the stream named none).
    pub event: String,
    /// The data.
    pub data: String,
    /// The last event id the client reported with the event (empty when none).
    pub id: String,
}

impl Ev {
    /// An event from string slices, for expectations.
    #[must_use]
    pub fn new(event: &str, data: &str, id: &str) -> Self {
        Self {
            event: event.to_owned(),
            data: data.to_owned(),
            id: id.to_owned(),
        }
    }
}

/// One item of a client's stream, in the common form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observed {
    /// A dispatched event.
    Event(Ev),
    /// An error item, with its message and causes. Some clients go on after one
    /// (they reconnect), some end.
    Error(String),
    /// The stream ended (it returned `None`).
    End,
}

/// How a scenario needs the client set up; each adapter maps it to its client's own
/// options.
#[derive(Clone, Debug)]
pub struct Setup {
    /// `POST` with this body (`Content-Type: application/json`); `GET` when `None`.
    pub post_body: Option<&'static str>,
    /// The reconnection delay before the server sent any `retry:` (the first
    /// reconnection's delay where the client has a backoff).
    pub initial_delay: Duration,
    /// An idle (read) timeout: a connection that receives no byte for this long is
    /// treated as lost.
    pub idle_timeout: Option<Duration>,
    /// Ask for a stream that ends at a clean end of the response instead of
    /// reconnecting, where the client has such a mode (else its closest one).
    pub end_on_eof: bool,
}

impl Default for Setup {
    /// `GET`, reconnection delay 200 ms, no idle timeout, reconnect at the end of a
    /// response.
    fn default() -> Self {
        Self {
            post_body: None,
            initial_delay: Duration::from_millis(200),
            idle_timeout: None,
            end_on_eof: false,
        }
    }
}

/// A client under test.
pub trait Adapter: Send + Sync {
    /// The column title: the crate's name.
    fn name(&self) -> &'static str;

    /// The versions built, e.g. `0.6.0 on reqwest 0.12.28`.
    fn version(&self) -> String;

    /// How each [`Setup`] option maps to this client's options, for the report.
    fn configuration(&self) -> &'static str;

    /// Why this client cannot run a scenario with `setup`, if it cannot (the cell
    /// then reads "n/a").
    fn unsupported(&self, setup: &Setup) -> Option<&'static str> {
        let _ = setup;
        None
    }

    /// Opens `url` as the client would, its items mapped to [`Observed`] and ended by
    /// [`Observed::End`] when the client's stream ends.
    fn open(&self, url: String, setup: &Setup) -> BoxStream<'static, Observed>;
}

/// The four clients, ours first.
#[must_use]
pub fn all() -> Vec<Arc<dyn Adapter>> {
    vec![
        Arc::new(Ours),
        Arc::new(ReqwestEventsource),
        Arc::new(LaunchDarkly),
        Arc::new(EventsourceStream),
    ]
}

/// `items` followed by [`Observed::End`].
fn then_end(
    items: impl futures_util::Stream<Item = Observed> + Send + 'static,
) -> BoxStream<'static, Observed> {
    items.chain(stream::once(async { Observed::End })).boxed()
}

/// A stream of one error, then the end: for a client that could not even be set up.
fn failed_setup(error: &(dyn std::error::Error + 'static)) -> BoxStream<'static, Observed> {
    then_end(stream::once(std::future::ready(Observed::Error(format!(
        "setup: {}",
        chain(error)
    )))))
}

/// An error's message and those of its causes, joined by `": "`, skipping a cause
/// whose text the message already contains.
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A `reqwest` client as the reqwest-based adapters use it: no proxy (only
/// 127.0.0.1 is reached), and the idle timeout as reqwest's read timeout (reset by
/// every successful read).
fn reqwest_client(setup: &Setup) -> Result<reqwest::Client, reqwest::Error> {
    let mut builder = reqwest::Client::builder().no_proxy();
    if let Some(idle) = setup.idle_timeout {
        builder = builder.read_timeout(idle);
    }
    builder.build()
}

/// A `reqwest` request for `setup`: `GET`, or `POST` with the JSON body.
fn reqwest_request(client: &reqwest::Client, url: &str, setup: &Setup) -> reqwest::RequestBuilder {
    match setup.post_body {
        Some(body) => client
            .post(url)
            .header("content-type", "application/json")
            .body(body),
        None => client.get(url),
    }
}
