//! [`Client`]: the transport (hyper-util's pooled client, rustls) that event streams
//! are opened with.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Uri};
use http_body_util::Full;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::{BoxError, RequestBuilder};

#[cfg(feature = "rustls")]
type Connector = hyper_rustls::HttpsConnector<HttpConnector>;
#[cfg(not(feature = "rustls"))]
type Connector = HttpConnector;

pub(crate) type Transport = hyper_util::client::legacy::Client<Connector, Full<Bytes>>;

/// Opens event streams: a pooled HTTP client (hyper-util's) with HTTPS by rustls,
/// HTTP/2 or HTTP/1.1 chosen by ALPN.
///
/// Cheap to clone (one `Arc`); clones share the connection pool, so event streams to
/// one HTTPS origin share one HTTP/2 connection. Make one and keep it. Each request
/// starts with [`get`](Client::get), [`post`](Client::post) or
/// [`request`](Client::request) and becomes an [`EventSource`](crate::EventSource) with
/// [`RequestBuilder::stream`].
///
/// Needs a tokio runtime (with the time driver) when streams are polled.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) transport: Transport,
    /// Why HTTPS cannot be used, if it cannot.
    pub(crate) tls_error: Option<String>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("https", &self.inner.tls_error.is_none())
            .finish_non_exhaustive()
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
                transport,
                tls_error,
            }),
        }
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
