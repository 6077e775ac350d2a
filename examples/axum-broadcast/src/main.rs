//! `cargo run -p axum-broadcast -- --help`

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use clap::Parser;
use sse_core::Hub;

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
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(args.bind, args.port)).await?;
    println!(
        "broadcast on http://{}/ , Ctrl-C to stop",
        listener.local_addr()?
    );
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    axum_broadcast::serve(
        listener,
        Hub::new(),
        Duration::from_millis(args.tick_ms),
        shutdown,
    )
    .await?;
    println!("stopped");
    Ok(())
}
