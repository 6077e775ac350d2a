//! HTTPS for the [`Server`](super::Server): a rustls config from PEM files, with
//! HTTP/2 and HTTP/1.1 offered by ALPN.

use std::fmt;
use std::io;

/// The ALPN protocols of an HTTPS [`Server`]: HTTP/2 first, then HTTP/1.1.
pub(super) fn alpn() -> Vec<Vec<u8>> {
    vec![b"h2".to_vec(), b"http/1.1".to_vec()]
}

/// A rustls server config from a PEM certificate chain and a PEM private key (PKCS#8,
/// PKCS#1 or SEC1), with TLS 1.2 and 1.3 and ALPN `h2` and `http/1.1` (feature `tls`).
/// For [`Server::tls`](super::Server::tls).
///
/// The crypto provider is the process default when the app has installed one
/// (`CryptoProvider::install_default`: install aws-lc-rs's for post-quantum key
/// exchange), and *ring* otherwise, which needs no C toolchain to build.
///
/// # Errors
///
/// `InvalidInput` (with the file named) when a file cannot be read, holds no
/// certificate or no key, or the key does not match the certificate.
pub fn tls_config(
    cert_pem: &std::path::Path,
    key_pem: &std::path::Path,
) -> io::Result<std::sync::Arc<rustls::ServerConfig>> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let invalid = |what: &std::path::Path, error: &dyn fmt::Display| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{}: {error}", what.display()),
        )
    };
    let certs = CertificateDer::pem_file_iter(cert_pem)
        .map_err(|e| invalid(cert_pem, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(cert_pem, &e))?;
    if certs.is_empty() {
        return Err(invalid(cert_pem, &"no certificate in the file"));
    }
    let key = PrivateKeyDer::from_pem_file(key_pem).map_err(|e| invalid(key_pem, &e))?;
    let provider = provider();
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(cert_pem, &e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| invalid(key_pem, &e))?;
    config.alpn_protocols = alpn();
    Ok(std::sync::Arc::new(config))
}

/// The process default provider, or *ring*. rustls 0.23.48 deprecates *ring*'s
/// provider for lacking post-quantum key exchange, not for a flaw: it stays the
/// fallback here so that the crate builds without a C toolchain, and an app that wants
/// post-quantum key exchange installs aws-lc-rs's provider as the process default.
fn provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
    rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| {
            #[allow(deprecated)]
            let ring = rustls::crypto::ring::default_provider();
            std::sync::Arc::new(ring)
        })
}
