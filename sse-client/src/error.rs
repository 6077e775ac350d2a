//! [`Error`]: why an [`EventSource`](crate::EventSource) ended, and [`BadResponse`],
//! the answer of a server that did not open an event stream.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, StatusCode, Uri};
use sse_rs_core::decode::DecodeError;

/// A boxed error from the transport or the request builder.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why an [`EventSource`](crate::EventSource) ended with an error.
///
/// An `Err` item is always the last item of the stream: errors that the
/// [reconnection policy](crate::Reconnect) retries (network errors, timeouts, `5xx`,
/// `429`) are not yielded while it retries them; the stream yields the last one only
/// when the policy gives up. A stream that ends for good without an error (a `204`,
/// the end marker, a clean end with
/// [`end_on_eof`](crate::RequestBuilder::end_on_eof)) ends with `None`.
///
/// The message of each variant does not repeat its cause: the cause is
/// [`source`](std::error::Error::source).
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The request could not be built: a URL that is not absolute `http://` or
    /// `https://`, a bad header name or value, an invalid `Last-Event-ID` (or, with a
    /// reqwest client, a request reqwest refused to build, such as a redirect to a
    /// scheme it does not speak). Never retried.
    InvalidRequest(BoxError),
    /// HTTPS is not available: the crate was built without the `rustls` feature, or no
    /// root certificates could be loaded (see the crate's features). Never retried.
    Tls(BoxError),
    /// The connection failed before a response head arrived: name resolution, TCP,
    /// TLS, or a response the HTTP parser refused. Retried.
    Connect(BoxError),
    /// No response head within the connect timeout (which covers TCP, TLS, the
    /// request and redirects). Retried.
    ConnectTimeout(Duration),
    /// The connection failed while the event stream was read (reset, truncated).
    /// Retried.
    Body(BoxError),
    /// No byte arrived for the idle timeout (comments count). Retried.
    IdleTimeout(Duration),
    /// The server answered a status that does not open an event stream (not `200` or
    /// `204`, and not a followed redirect). `5xx` and `429` are retried; any other
    /// status ends the stream at once.
    Status(BadResponse),
    /// The server answered `200` with a `Content-Type` other than
    /// `text/event-stream`. Never retried.
    ContentType(BadResponse),
    /// More redirects in a row than the limit
    /// ([`max_redirects`](crate::RequestBuilder::max_redirects)). Never retried.
    TooManyRedirects(BadResponse),
    /// A redirect without a usable `Location` (missing, not text, not an `http` or
    /// `https` URL). Never retried.
    InvalidRedirect(BadResponse),
    /// The transport's own redirect policy stopped with an error: a reqwest client's
    /// (too many redirects, a loop, by its
    /// [`redirect::Policy`](https://docs.rs/reqwest/0.13/reqwest/redirect/struct.Policy.html))
    /// with `Client::from_reqwest`. Never retried.
    RedirectPolicy(BoxError),
    /// A line or an event's data was larger than
    /// [`max_event_size`](crate::RequestBuilder::max_event_size). Never retried: the
    /// same event would come again.
    EventTooLarge(DecodeError),
}

impl Error {
    /// The status of the response this error is about, if any.
    #[must_use]
    pub fn status(&self) -> Option<StatusCode> {
        self.response().map(BadResponse::status)
    }

    /// The response this error is about, if any: its status, headers and the start of
    /// its body.
    #[must_use]
    pub fn response(&self) -> Option<&BadResponse> {
        match self {
            Self::Status(response)
            | Self::ContentType(response)
            | Self::TooManyRedirects(response)
            | Self::InvalidRedirect(response) => Some(response),
            _ => None,
        }
    }

    /// Whether the [reconnection policy](crate::Reconnect) retries this error:
    /// network errors, timeouts, and the statuses `5xx` and `429`.
    #[must_use]
    pub fn is_retried(&self) -> bool {
        match self {
            Self::Connect(_) | Self::ConnectTimeout(_) | Self::Body(_) | Self::IdleTimeout(_) => {
                true
            }
            Self::Status(response) => retried_status(response.status),
            _ => false,
        }
    }
}

/// The statuses that are retried: `5xx` and `429 Too Many Requests`.
pub(crate) fn retried_status(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidRequest(_) => f.write_str("invalid request"),
            Self::Tls(_) => f.write_str("https is not available"),
            Self::Connect(_) => f.write_str("connection failed"),
            Self::ConnectTimeout(timeout) => {
                write!(f, "no response within the connect timeout ({timeout:?})")
            }
            Self::Body(_) => f.write_str("connection failed while reading the event stream"),
            Self::IdleTimeout(timeout) => {
                write!(f, "no byte received for the idle timeout ({timeout:?})")
            }
            Self::Status(response) => write!(f, "server answered {}", response.status),
            Self::ContentType(response) => match response.content_type() {
                Some(content_type) => write!(
                    f,
                    "server answered content type {content_type:?}, not text/event-stream"
                ),
                None => f.write_str("server answered without content type, not text/event-stream"),
            },
            Self::TooManyRedirects(response) => {
                write!(
                    f,
                    "too many redirects (the last one a {} from {})",
                    response.status, response.url
                )
            }
            Self::InvalidRedirect(response) => write!(
                f,
                "redirect {} from {} has no valid location",
                response.status, response.url
            ),
            Self::RedirectPolicy(_) => f.write_str("the client's redirect policy stopped"),
            Self::EventTooLarge(_) => f.write_str("event stream exceeded its size bound"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidRequest(error)
            | Self::Tls(error)
            | Self::Connect(error)
            | Self::RedirectPolicy(error)
            | Self::Body(error) => Some(&**error),
            Self::EventTooLarge(error) => Some(error),
            _ => None,
        }
    }
}

/// A response that did not open an event stream: its status, headers, and the first
/// bytes of its body (at most [`BadResponse::MAX_BODY`]).
#[derive(Clone, Debug)]
pub struct BadResponse {
    pub(crate) url: Uri,
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl BadResponse {
    /// How many bytes of the body are kept: 4 KiB. The rest is not read.
    pub const MAX_BODY: usize = 4 * 1024;

    /// The URL that gave this response (after the redirects followed so far).
    #[must_use]
    pub fn url(&self) -> &Uri {
        &self.url
    }

    /// The status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response headers.
    #[must_use]
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The `Content-Type` header as text, if there is one and it is text.
    #[must_use]
    pub fn content_type(&self) -> Option<&str> {
        self.headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
    }

    /// The first bytes of the body, at most [`BadResponse::MAX_BODY`] (what arrived
    /// within the connect timeout). An API's error message in JSON is usually here.
    #[must_use]
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// [`body`](BadResponse::body) as text (invalid UTF-8 replaced).
    #[must_use]
    pub fn body_text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }
}
