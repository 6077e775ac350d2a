//! The fan-out workload over HTTPS and HTTP/2: each subscriber on a TLS connection
//! of its own (as each browser tab is), one stream each; the publish request too.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use sse_rs::server::rustls;

use crate::fanout::{now_nanos, FanoutResult, Publish, Reader};

/// A client config that trusts exactly the certificate in `cert_pem` and speaks `h2`.
///
/// # Errors
///
/// When the file cannot be read or holds no certificate.
pub fn client_config(cert_pem: &std::path::Path) -> std::io::Result<Arc<rustls::ClientConfig>> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(cert_pem).map_err(std::io::Error::other)? {
        roots
            .add(cert.map_err(std::io::Error::other)?)
            .map_err(std::io::Error::other)?;
    }
    // *ring*, as the servers measured use: deprecated in rustls 0.23.48 only for its
    // lack of post-quantum key exchange, which a benchmark's loopback does not need.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// An HTTP/2 connection over TLS to `addr`, within 10 s.
///
/// # Errors
///
/// When it cannot be opened in time.
pub async fn connect(
    addr: SocketAddr,
    config: &Arc<rustls::ClientConfig>,
) -> std::io::Result<SendRequest<Empty<Bytes>>> {
    tokio::time::timeout(Duration::from_secs(10), connect_now(addr, config))
        .await
        .map_err(|_| std::io::Error::other(format!("no HTTP/2 connection to {addr} in 10 s")))?
}

async fn connect_now(
    addr: SocketAddr,
    config: &Arc<rustls::ClientConfig>,
) -> std::io::Result<SendRequest<Empty<Bytes>>> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
    let tls = tokio_rustls::TlsConnector::from(config.clone())
        .connect(name, tcp)
        .await?;
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .map_err(std::io::Error::other)?;
    tokio::spawn(connection);
    Ok(sender)
}

fn request(
    method: &str,
    addr: SocketAddr,
    path: &str,
) -> std::io::Result<http::Request<Empty<Bytes>>> {
    http::Request::builder()
        .method(method)
        .uri(format!("https://{addr}{path}"))
        .header("accept", "text/event-stream")
        .body(Empty::new())
        .map_err(std::io::Error::other)
}

/// A whole small response, as text.
///
/// # Errors
///
/// When the request fails.
pub async fn fetch(
    sender: &mut SendRequest<Empty<Bytes>>,
    method: &str,
    addr: SocketAddr,
    path: &str,
) -> std::io::Result<String> {
    sender.ready().await.map_err(std::io::Error::other)?;
    let response = sender
        .send_request(request(method, addr, path)?)
        .await
        .map_err(std::io::Error::other)?;
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(std::io::Error::other)?
        .to_bytes();
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// Subscribes `subscribers` clients to `/fanout` over HTTP/2, one TLS connection each,
/// publishes, and measures delivery as [`crate::fanout::run_fanout`] does.
///
/// # Errors
///
/// On a connection error, or when the subscribers do not all connect or receive every
/// event within a minute.
pub async fn run_fanout_h2(
    addr: SocketAddr,
    config: &Arc<rustls::ClientConfig>,
    subscribers: usize,
    publish: Publish,
    server: Option<u32>,
) -> std::io::Result<FanoutResult> {
    let mut control = connect(addr, config).await?;
    let mut bodies = Vec::with_capacity(subscribers);
    for _ in 0..subscribers {
        let mut sender = connect(addr, config).await?;
        sender.ready().await.map_err(std::io::Error::other)?;
        let response = sender
            .send_request(request("GET", addr, "/fanout")?)
            .await
            .map_err(std::io::Error::other)?;
        if response.version() != http::Version::HTTP_2 {
            return Err(std::io::Error::other("not HTTP/2"));
        }
        // The sender keeps the connection open.
        bodies.push((sender, response.into_body()));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let now: usize = fetch(&mut control, "GET", addr, "/subscribers")
            .await?
            .trim()
            .parse()
            .unwrap_or(0);
        if now >= subscribers {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            return Err(std::io::Error::other(format!(
                "only {now} of {subscribers} subscribed"
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let readers: Vec<Reader> = bodies
        .into_iter()
        .map(|(sender, mut body)| {
            tokio::spawn(async move {
                let _keep = sender;
                let mut decoder = sse_rs::decode::Decoder::new();
                let mut latencies = Vec::with_capacity(publish.n as usize);
                let mut last = 0;
                while (latencies.len() as u64) < publish.n {
                    let Some(frame) = body.frame().await else {
                        return Err(std::io::Error::other("the stream ended early"));
                    };
                    let frame = frame.map_err(std::io::Error::other)?;
                    let now = now_nanos();
                    if let Ok(data) = frame.into_data() {
                        for item in decoder.decode(&data).map_err(std::io::Error::other)? {
                            crate::fanout::record(&item, now, &mut latencies);
                        }
                    }
                    last = now;
                }
                Ok::<_, std::io::Error>((latencies, last))
            })
        })
        .collect();
    crate::fanout::measure(readers, publish, deadline, server, move |path| async move {
        fetch(&mut control, "POST", addr, &path).await
    })
    .await
}
