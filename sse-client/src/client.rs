//! [`Client`]: the transport (hyper-util's pooled client with rustls, or an app's
//! `reqwest::Client`) that event streams are opened with.

use std::fmt;
use std::sync::Arc;

use http::{Method, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::transport::Transport;
use crate::{BoxError, RequestBuilder};

/// Opens event streams: a pooled HTTP client (hyper-util's) with HTTPS by rustls,
/// HTTP/2 or HTTP/1.1 chosen by ALPN.
///
/// Cheap to clone (one `Arc`); clones share the connection pool, so event streams to
/// one HTTPS origin share one HTTP/2 connection. Make one and keep it. Each request
/// starts with [`get`](Client::get), [`post`](Client::post) or
/// [`request`](Client::request) and becomes an [`EventSource`](crate::EventSource) with
/// [`RequestBuilder::stream`].
///
/// `Client::from_reqwest` (feature `reqwest`) opens the streams with an app's own
/// `reqwest::Client` instead, with its proxies, TLS and cookies.
///
/// Needs a tokio runtime (with the time driver) when streams are polled.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) transport: Transport,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Client");
        debug.field("transport", &self.inner.transport.name());
        match &self.inner.transport {
            Transport::Hyper { tls_error, .. } => {
                debug.field("https", &tls_error.is_none());
            }
            #[cfg(feature = "reqwest")]
            Transport::Reqwest(_) => {}
        }
        debug.finish_non_exhaustive()
    }
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

impl Client {
    /// A client with the default settings (see [`ClientBuilder`]).
    #[must_use]
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder to configure the transport.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client that opens its streams with `client`, an app's own
    /// [`reqwest::Client`] (feature `reqwest`, reqwest 0.13): its proxies, TLS
    /// settings, cookies, default headers and connection pool apply. Everything else
    /// is this crate's, as with the default transport: reconnection, `Last-Event-ID`,
    /// the connect and idle timeouts, the response checks, the bounds.
    ///
    /// Two settings of the reqwest client matter for event streams:
    ///
    /// - **Redirects**: reqwest follows them first, by the client's own
    ///   [`redirect::Policy`](reqwest::redirect::Policy) (by default up to 10, with
    ///   the same method changes as fetch and without credentials to another
    ///   origin); a stop by that policy ends the stream with
    ///   [`Error::RedirectPolicy`](crate::Error::RedirectPolicy). A redirect it hands
    ///   back (with `Policy::none()`, or a custom policy that stops) is followed by
    ///   this crate, by its own rules and
    ///   [`max_redirects`](crate::RequestBuilder::max_redirects). A policy cannot be
    ///   set per request on a client handed in: build it with
    ///   `.redirect(reqwest::redirect::Policy::none())` for this crate's rules only.
    /// - **Timeouts**: a total [`timeout`](reqwest::ClientBuilder::timeout) on the
    ///   client cuts every stream when it expires (the stream then reconnects);
    ///   prefer [`idle_timeout`](crate::RequestBuilder::idle_timeout) here. reqwest's
    ///   `read_timeout` works as an idle timeout too.
    ///
    /// ```no_run
    /// # fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let http = reqwest::Client::builder()
    ///     .redirect(reqwest::redirect::Policy::none()) // this crate's redirect rules
    ///     .build()?;
    /// let client = sse_rs_client::Client::from_reqwest(http);
    /// let events = client.get("https://example.com/events").stream();
    /// # drop(events); Ok(()) }
    /// ```
    #[cfg(feature = "reqwest")]
    #[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
    #[must_use]
    pub fn from_reqwest(client: reqwest::Client) -> Self {
        Self {
            inner: Arc::new(Inner {
                transport: Transport::Reqwest(client),
            }),
        }
    }

    /// A `GET` request for `url`.
    pub fn get<U>(&self, url: U) -> RequestBuilder
    where
        Uri: TryFrom<U>,
        <Uri as TryFrom<U>>::Error: Into<http::Error>,
    {
        self.request(Method::GET, url)
    }

    /// A `POST` request for `url`; give the body with [`RequestBuilder::body`].
    pub fn post<U>(&self, url: U) -> RequestBuilder
    where
        Uri: TryFrom<U>,
        <Uri as TryFrom<U>>::Error: Into<http::Error>,
    {
        self.request(Method::POST, url)
    }

    /// A request with any method for `url`.
    pub fn request<U>(&self, method: Method, url: U) -> RequestBuilder
    where
        Uri: TryFrom<U>,
        <Uri as TryFrom<U>>::Error: Into<http::Error>,
    {
        let url = Uri::try_from(url).map_err(|error| -> BoxError { Box::new(error.into()) });
        RequestBuilder::new(self.clone(), method, url)
    }
}

/// Configures a [`Client`]'s transport.
///
/// Defaults: `TCP_NODELAY` on; idle pooled connections closed after 90 s; HTTPS
/// trusting the roots of the enabled features (`webpki-roots`, `native-roots`, both
/// merged), with the process-default rustls crypto provider or *ring*.
#[must_use]
#[derive(Clone, Debug, Default)]
pub struct ClientBuilder {
    #[cfg(feature = "rustls")]
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl ClientBuilder {
    /// Uses `config` for HTTPS instead of the default (feature `rustls`): your own
    /// roots (a private CA), client certificates, a crypto provider. Its ALPN
    /// protocols are replaced by `h2` and `http/1.1`.
    #[cfg(feature = "rustls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
    pub fn tls_config(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Builds the client. Never fails: when HTTPS cannot be set up (no root
    /// certificates), `https://` streams fail with [`Error::Tls`](crate::Error::Tls)
    /// and `http://` ones work.
    pub fn build(self) -> Client {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        #[cfg(feature = "rustls")]
        let (connector, tls_error) = {
            let (config, tls_error) = match self.tls {
                Some(config) => (Arc::unwrap_or_clone(config), None),
                None => match default_tls_config() {
                    Ok(config) => (config, None),
                    Err(error) => (fallback_tls_config(), Some(error)),
                },
            };
            let connector = hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(config)
                .https_or_http()
                .enable_all_versions()
                .wrap_connector(http);
            (connector, tls_error)
        };
        #[cfg(not(feature = "rustls"))]
        let (connector, tls_error) = (
            http,
            Some(String::from(
                "the crate was built without the `rustls` feature",
            )),
        );
        let transport = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(connector);
        Client {
            inner: Arc::new(Inner {
                transport: Transport::Hyper {
                    client: transport,
                    tls_error,
                },
            }),
        }
    }
}

/// [`Client::from_reqwest`].
#[cfg(feature = "reqwest")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
impl From<reqwest::Client> for Client {
    fn from(client: reqwest::Client) -> Self {
        Self::from_reqwest(client)
    }
}

/// The process default provider, or *ring*. rustls 0.23.48 deprecates *ring*'s
/// provider for lacking post-quantum key exchange, not for a flaw: it stays the
/// fallback so that the crate builds without a C toolchain; an app that wants
/// post-quantum key exchange installs aws-lc-rs's provider as the process default.
#[cfg(feature = "rustls")]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| {
            #[allow(deprecated)]
            let ring = rustls::crypto::ring::default_provider();
            Arc::new(ring)
        })
}

/// A config trusting the roots of the enabled features, merged.
#[cfg(feature = "rustls")]
fn default_tls_config() -> Result<rustls::ClientConfig, String> {
    #[allow(unused_mut)]
    let mut roots = rustls::RootCertStore::empty();
    #[cfg(feature = "webpki-roots")]
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    #[cfg(feature = "native-roots")]
    {
        // Unreadable system certificates are skipped, as browsers do.
        let native = rustls_native_certs::load_native_certs();
        let (_added, _skipped) = roots.add_parsable_certificates(native.certs);
    }
    if roots.is_empty() {
        return Err(String::from(
            "no root certificates: enable the feature `webpki-roots` or `native-roots` \
             (with trusted roots on the system), or give `ClientBuilder::tls_config`",
        ));
    }
    rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map(|builder| builder.with_root_certificates(roots).with_no_client_auth())
        .map_err(|error| format!("the crypto provider: {error}"))
}

/// A config that trusts nothing, for a client whose HTTPS is off: never used to
/// connect (such requests fail before), only to build the connector.
#[cfg(feature = "rustls")]
#[allow(clippy::expect_used)]
fn fallback_tls_config() -> rustls::ClientConfig {
    #[allow(deprecated)]
    let ring = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(ring)
        .with_safe_default_protocol_versions()
        // *ring* supports TLS 1.2 and 1.3: this cannot fail.
        .expect("ring supports the default TLS versions")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth()
}
