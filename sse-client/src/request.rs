//! [`RequestBuilder`]: the request an [`EventSource`] sends (and sends again on each
//! reconnection), and how the stream behaves.

use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, Uri};
use sse_rs_core::decode::Decoder;

use crate::{BoxError, Client, Error, EventSource, Reconnect};

/// The request, as sent on every connection (before redirects).
#[derive(Clone, Debug)]
pub(crate) struct RequestSpec {
    pub(crate) method: Method,
    pub(crate) url: Uri,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

/// How the stream behaves.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    pub(crate) reconnect: Reconnect,
    pub(crate) connect_timeout: Duration,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) max_redirects: usize,
    pub(crate) max_event_size: usize,
    pub(crate) comments: bool,
    pub(crate) retry_fields: bool,
    pub(crate) connection_events: bool,
    pub(crate) end_on_eof: bool,
    pub(crate) end_marker: Option<String>,
    pub(crate) last_event_id: Option<String>,
}

/// A request that becomes an [`EventSource`] with [`stream`](RequestBuilder::stream).
///
/// Made by [`Client::get`], [`Client::post`] or [`Client::request`]. The request
/// (method, headers, body) is sent again on every reconnection, with
/// `Last-Event-ID` once an id is known. Every request carries
/// `Accept: text/event-stream` and `Cache-Control: no-store` unless set here.
///
/// A bad URL, header or id does not fail here: the stream's first item is the
/// [`Error::InvalidRequest`].
#[must_use]
#[derive(Debug)]
pub struct RequestBuilder {
    client: Client,
    request: Result<RequestSpec, BoxError>,
    options: Options,
}

impl RequestBuilder {
    pub(crate) fn new(client: Client, method: Method, url: Result<Uri, BoxError>) -> Self {
        let request = url.and_then(|url| {
            match url.scheme_str() {
                Some("http" | "https") if url.authority().is_some() => {}
                _ => return Err(format!("not an absolute http or https URL: {url}").into()),
            }
            Ok(RequestSpec {
                method,
                url,
                headers: HeaderMap::new(),
                body: Bytes::new(),
            })
        });
        Self {
            client,
            request,
            options: Options {
                reconnect: Reconnect::new(),
                connect_timeout: Duration::from_secs(30),
                idle_timeout: None,
                max_redirects: 10,
                max_event_size: Decoder::DEFAULT_MAX_EVENT_SIZE,
                comments: false,
                retry_fields: false,
                connection_events: false,
                end_on_eof: false,
                end_marker: None,
                last_event_id: None,
            },
        }
    }

    /// Adds a header (a second value for a name already set is appended).
    pub fn header<K, V>(mut self, name: K, value: V) -> Self
    where
        HeaderName: TryFrom<K>,
        <HeaderName as TryFrom<K>>::Error: Into<http::Error>,
        HeaderValue: TryFrom<V>,
        <HeaderValue as TryFrom<V>>::Error: Into<http::Error>,
    {
        if let Ok(request) = &mut self.request {
            let name = HeaderName::try_from(name).map_err(Into::into);
            let value = HeaderValue::try_from(value).map_err(Into::into);
            match (name, value) {
                (Ok(name), Ok(value)) => {
                    request.headers.append(name, value);
                }
                (Err(error), _) | (_, Err(error)) => self.request = Err(Box::new(error)),
            }
        }
        self
    }

    /// Adds all of `headers` (appended to those already set).
    pub fn headers(mut self, headers: HeaderMap) -> Self {
        if let Ok(request) = &mut self.request {
            let mut last = None;
            for (name, value) in headers {
                let name = match name {
                    Some(name) => {
                        last = Some(name.clone());
                        name
                    }
                    None => match &last {
                        Some(name) => name.clone(),
                        None => continue,
                    },
                };
                request.headers.append(name, value);
            }
        }
        self
    }

    /// The request body, sent again on every reconnection (an LLM API's JSON
    /// request, say). Set `Content-Type` with [`header`](RequestBuilder::header).
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        if let Ok(request) = &mut self.request {
            request.body = body.into();
        }
        self
    }

    /// The last event id to resume from, sent as `Last-Event-ID` on the first
    /// connection and reported by events until the server sends an `id`. Empty means
    /// none. An id with a NUL, CR or LF, or that is not a valid header value, is an
    /// [`Error::InvalidRequest`].
    pub fn last_event_id(mut self, id: impl Into<String>) -> Self {
        let id = id.into();
        if id.contains(['\0', '\r', '\n']) || HeaderValue::from_bytes(id.as_bytes()).is_err() {
            self.request = Err(format!("invalid last event id {id:?}").into());
        }
        self.options.last_event_id = Some(id);
        self
    }

    /// The reconnection policy (default [`Reconnect::new`]).
    pub fn reconnect(mut self, reconnect: Reconnect) -> Self {
        self.options.reconnect = reconnect;
        self
    }

    /// How long one connection attempt may take until the response head, TCP, TLS,
    /// the request and redirects included (default 30 s); then it fails with
    /// [`Error::ConnectTimeout`] and is retried.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.options.connect_timeout = timeout;
        self
    }

    /// How long an open stream may stay without receiving a byte (comments and
    /// keep-alives count) before it is treated as a lost connection and reconnected
    /// (default: no limit). Set it above the server's keep-alive interval. Without
    /// one, a connection that died without a FIN or RST (a sleeping laptop, a NAT
    /// that forgot it) is never noticed.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.options.idle_timeout = Some(timeout);
        self
    }

    /// How many redirects in a row are followed (default 10; 0 follows none, so a
    /// redirect is [`Error::TooManyRedirects`]). 301, 302, 303, 307 and 308 are
    /// followed as fetch does: a 303 (and a 301 or 302 answering a `POST`) turns the
    /// request into a `GET` without body; credentials (`Authorization`, `Cookie`) are
    /// not sent to another origin. A reconnection starts again at the first URL.
    ///
    /// With a reqwest client (`Client::from_reqwest`, feature `reqwest`) the client's own redirect
    /// policy acts first; this limit counts only the redirects it hands back.
    pub fn max_redirects(mut self, redirects: usize) -> Self {
        self.options.max_redirects = redirects;
        self
    }

    /// Bounds one line and one event's data, in bytes (default 4 MiB); a larger one
    /// ends the stream with [`Error::EventTooLarge`].
    pub fn max_event_size(mut self, bytes: usize) -> Self {
        self.options.max_event_size = bytes;
        self
    }

    /// Yields comments as [`Event::Comment`](crate::Event::Comment) (default off).
    pub fn comments(mut self, yes: bool) -> Self {
        self.options.comments = yes;
        self
    }

    /// Yields valid `retry:` fields as [`Event::Retry`](crate::Event::Retry) (default
    /// off; they set the reconnection time either way).
    pub fn retry_fields(mut self, yes: bool) -> Self {
        self.options.retry_fields = yes;
        self
    }

    /// Yields [`Event::Open`](crate::Event::Open) for each connection and
    /// [`Event::Reconnecting`](crate::Event::Reconnecting) before each reconnection
    /// (default off): for logs and metrics.
    pub fn connection_events(mut self, yes: bool) -> Self {
        self.options.connection_events = yes;
        self
    }

    /// Whether a clean end of the response ends the stream with `None` (default
    /// `false`: as WHATWG says, a server closing the stream means "reconnect"). LLM
    /// APIs end each answer's stream this way: turn it on for them. A connection that
    /// fails (reset, truncated chunked body) is still retried.
    pub fn end_on_eof(mut self, yes: bool) -> Self {
        self.options.end_on_eof = yes;
        self
    }

    /// Ends the stream with `None` at the first event whose data equals `marker`
    /// (OpenAI's `[DONE]`); the marker event is not yielded.
    pub fn end_marker(mut self, marker: impl Into<String>) -> Self {
        self.options.end_marker = Some(marker.into());
        self
    }

    /// The event stream. Nothing is sent until it is first polled.
    pub fn stream(self) -> EventSource {
        let request = self.request.map_err(Error::InvalidRequest);
        EventSource::new(self.client, request, self.options)
    }
}
