//! `compare serve-broadcast`: the chat example (`axum-broadcast`), as `reliability`
//! starts it, on its own hub or on Redis.

use std::time::Duration;

use crate::cli::args::Port;

/// The arguments of `compare serve-broadcast`.
#[derive(clap::Args)]
pub(crate) struct ServeBroadcastArgs {
    #[command(flatten)]
    port: Port,
    /// The Redis server, if any.
    #[arg(long)]
    redis: Option<String>,
    /// With `--redis`: the prefix of the stream keys.
    #[arg(long, default_value = "sse-broadcast:")]
    prefix: String,
}

/// `compare serve-broadcast`: the chat example until SIGTERM or Ctrl-C.
pub(crate) fn run(args: ServeBroadcastArgs) -> std::io::Result<()> {
    let ServeBroadcastArgs {
        port,
        redis,
        prefix,
    } = args;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let listener = tokio::net::TcpListener::bind(port.addr()).await?;
            match redis.as_deref() {
                None => serve_on(listener, sse_axum::hub::Hub::new()).await,
                Some(url) => {
                    let client =
                        sse_redis::redis::Client::open(url).map_err(std::io::Error::other)?;
                    let hub = sse_redis::RedisHub::builder(client)
                        .key_prefix(&prefix)
                        .connect()
                        .await
                        .map_err(std::io::Error::other)?;
                    serve_on(listener, hub).await
                }
            }
        })
}

/// The chat on `broker` (one instance's hub, or Redis), ticking every second.
async fn serve_on(
    listener: tokio::net::TcpListener,
    broker: impl sse_axum::hub::Backplane,
) -> std::io::Result<()> {
    axum_broadcast::serve(
        listener,
        broker,
        Duration::from_secs(1),
        sse_axum::shutdown::os_signal(),
        axum_broadcast::SHUTDOWN_GRACE,
    )
    .await
}
