//! The transports a [`Client`](crate::Client) sends its requests with: hyper-util's
//! pooled client with rustls (the default), or an app's own `reqwest::Client`
//! (feature `reqwest`).
//!
//! A transport only sends one request and hands back the response head and a body of
//! bytes. Everything above that (redirects as this crate follows them, the connect
//! and idle timeouts, reconnection, decoding) is the same code for both.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, Uri};
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;

use crate::{BoxError, Error};

#[cfg(feature = "rustls")]
type Connector = hyper_rustls::HttpsConnector<HttpConnector>;
#[cfg(not(feature = "rustls"))]
type Connector = HttpConnector;

/// hyper-util's pooled client, as [`ClientBuilder`](crate::ClientBuilder) builds it.
pub(crate) type HyperClient = hyper_util::client::legacy::Client<Connector, Full<Bytes>>;

/// How requests are sent.
// One per `Client`, behind its `Arc`: the size of the hyper variant costs nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Transport {
    /// hyper-util's client; `tls_error` says why HTTPS cannot be used, if it cannot.
    Hyper {
        client: HyperClient,
        tls_error: Option<String>,
    },
    /// An app's reqwest client, with its proxies, TLS, cookies and redirect policy.
    #[cfg(feature = "reqwest")]
    Reqwest(reqwest::Client),
}

/// A response head with its body.
pub(crate) struct Received {
    pub(crate) response: Response<ResponseBody>,
    /// The URL that answered: the request's, or where the transport's own redirect
    /// policy (reqwest's) led.
    pub(crate) url: Uri,
}

impl Transport {
    /// What [`Client`](crate::Client)'s `Debug` shows.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Hyper { .. } => "hyper",
            #[cfg(feature = "reqwest")]
            Self::Reqwest(_) => "reqwest",
        }
    }

    /// Sends `request` and waits for the response head. Errors are what the stream
    /// reports: [`Error::Connect`] (retried) for a failed connection, the others
    /// (never retried) for a request that cannot be sent.
    pub(crate) async fn send(&self, request: Request<Bytes>) -> Result<Received, Error> {
        match self {
            Self::Hyper { client, tls_error } => {
                if request.uri().scheme_str() == Some("https") {
                    if let Some(why) = tls_error {
                        return Err(Error::Tls(why.clone().into()));
                    }
                }
                let url = request.uri().clone();
                let response = client
                    .request(request.map(Full::new))
                    .await
                    .map_err(|error| Error::Connect(Box::new(error)))?;
                Ok(Received {
                    response: response.map(ResponseBody::Hyper),
                    url,
                })
            }
            #[cfg(feature = "reqwest")]
            Self::Reqwest(client) => {
                let sent = request.uri().clone();
                let request = reqwest::Request::try_from(request)
                    .map_err(|error| Error::InvalidRequest(Box::new(error)))?;
                let response = client.execute(request).await.map_err(reqwest_error)?;
                // A `Url` always prints as a valid URI; should it not, the request's
                // URL is the best guess.
                let url = response.url().as_str().parse().unwrap_or(sent);
                let response: Response<reqwest::Body> = response.into();
                Ok(Received {
                    response: response.map(ResponseBody::Reqwest),
                    url,
                })
            }
        }
    }
}

/// reqwest's error as the stream reports it: a request reqwest cannot build (a
/// scheme it does not speak, a redirect to one) and a stop by its redirect policy
/// are not retried; anything else failed on the way and is.
#[cfg(feature = "reqwest")]
fn reqwest_error(error: reqwest::Error) -> Error {
    if error.is_redirect() {
        Error::RedirectPolicy(Box::new(error))
    } else if error.is_builder() {
        Error::InvalidRequest(Box::new(error))
    } else {
        Error::Connect(Box::new(error))
    }
}

/// The body of an event stream, from either transport.
pub(crate) enum ResponseBody {
    Hyper(Incoming),
    #[cfg(feature = "reqwest")]
    Reqwest(reqwest::Body),
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            Self::Hyper(body) => Pin::new(body)
                .poll_frame(cx)
                .map_err(|error| -> BoxError { Box::new(error) }),
            #[cfg(feature = "reqwest")]
            Self::Reqwest(body) => Pin::new(body)
                .poll_frame(cx)
                .map_err(|error| -> BoxError { Box::new(error) }),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Hyper(body) => body.is_end_stream(),
            #[cfg(feature = "reqwest")]
            Self::Reqwest(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Hyper(body) => body.size_hint(),
            #[cfg(feature = "reqwest")]
            Self::Reqwest(body) => body.size_hint(),
        }
    }
}
