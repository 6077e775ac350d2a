//! Certificates for the HTTPS tests.

use crate::programs::free_port;

/// A throw-away self-signed certificate for `127.0.0.1` and `localhost` (rcgen), as
/// PEM files in a fresh folder under `dir`: (certificate, key). For HTTPS tests; the
/// clients skip verification (`curl -k`, Chromium's `--ignore-certificate-errors`).
///
/// # Panics
///
/// When the certificate cannot be made or written.
#[must_use]
pub fn self_signed_tls(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("a self-signed certificate");
    let dir = dir.join(format!("tls-{}-{}", std::process::id(), free_port()));
    std::fs::create_dir_all(&dir).expect("a folder for the certificate");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).expect("write the certificate");
    std::fs::write(&key, certified.signing_key.serialize_pem()).expect("write the key");
    (cert, key)
}

/// A TLS client configuration that trusts only `cert` (a PEM certificate from
/// [`self_signed_tls`]) and offers `alpn` (e.g. `[b"h2"]`), with *ring*, as the
/// servers under test use (deprecated in rustls 0.23.48 only for its lack of
/// post-quantum key exchange, which loopback does not need).
///
/// # Panics
///
/// When `cert` cannot be read.
#[must_use]
pub fn trusting(cert: &std::path::Path, alpn: &[&[u8]]) -> sse_rs::server::rustls::ClientConfig {
    use sse_rs::server::rustls;
    use sse_rs::server::rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(cert).expect("the certificate") {
        roots.add(cert.expect("a PEM certificate")).expect("a root");
    }
    #[allow(deprecated)]
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
    config
}
