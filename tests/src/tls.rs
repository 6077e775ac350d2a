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
