//! `cargo run -p axum-broadcast -- --help`

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use clap::Parser;
use sse_axum::hub::{Backplane, Hub};
use sse_redis::{redis, RedisHub};

/// A live chat and ticker over Server-Sent Events.
#[derive(Parser)]
struct Args {
    /// Port to listen on.
    #[arg(long, default_value_t = 8084)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
    /// Milliseconds between two ticker events.
    #[arg(long, default_value_t = 1000)]
    tick_ms: u64,
    /// Share the hub with other instances through this Redis server
    /// (`redis://127.0.0.1:6379/`); without it the hub is in-process.
    #[arg(long)]
    redis: Option<String>,
    /// With --redis: the prefix of the stream keys (instances that share it share the chat).
    #[arg(long, default_value = "sse-broadcast:")]
    key_prefix: String,
    /// On Ctrl-C or SIGTERM, how long open connections get to finish before they are
    /// dropped (a client that stopped reading would hold the stop up forever).
    #[arg(long, default_value_t = 5000)]
    shutdown_grace_ms: u64,
    /// Serve HTTPS (HTTP/2 or HTTP/1.1 by ALPN) with this PEM certificate chain, on
    /// the same port; needs `--tls-key`.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,
    /// The PEM private key of `--tls-cert`.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
}

#[tokio::main]
async fn main() -> io::Result<()> {
    let args = Args::parse();
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(sse_axum::server::tls_config(cert, key)?),
        _ => None,
    };
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(args.bind, args.port)).await?;
    println!(
        "broadcast on {}://{}/ , Ctrl-C (or SIGTERM) to stop",
        if tls.is_some() { "https" } else { "http" },
        listener.local_addr()?
    );
    // Ctrl-C or SIGTERM (systemd, Docker, Kubernetes): a graceful stop.
    let tick = Duration::from_millis(args.tick_ms);
    let grace = Duration::from_millis(args.shutdown_grace_ms);
    let stop = sse_axum::shutdown::os_signal();
    match &args.redis {
        None => run(listener, tls, Hub::new(), tick, stop, grace).await?,
        Some(url) => {
            let client = redis::Client::open(url.as_str()).map_err(io::Error::other)?;
            let hub = RedisHub::builder(client)
                .key_prefix(&args.key_prefix)
                .connect()
                .await
                .map_err(io::Error::other)?;
            println!("sharing events through redis at {url}");
            run(listener, tls, hub, tick, stop, grace).await?;
        }
    }
    println!("stopped");
    Ok(())
}

/// Serves the chat on `broker`, over HTTPS when `tls` is given: the same app on one
/// instance's hub or on Redis, chosen by the constructor alone.
async fn run(
    listener: tokio::net::TcpListener,
    tls: Option<std::sync::Arc<sse_axum::server::rustls::ServerConfig>>,
    broker: impl Backplane,
    tick: Duration,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> io::Result<()> {
    match tls {
        Some(tls) => axum_broadcast::serve_https(listener, tls, broker, tick, stop, grace).await,
        None => axum_broadcast::serve(listener, broker, tick, stop, grace).await,
    }
}
