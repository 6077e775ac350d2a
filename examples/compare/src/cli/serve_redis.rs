//! `compare serve-redis`: one instance of the sse-axum fan-out app on the Redis
//! backplane, as `redis-fanout` starts two of them.

use crate::cli::args::Port;

/// The arguments of `compare serve-redis`.
#[derive(clap::Args)]
pub(crate) struct ServeRedisArgs {
    #[command(flatten)]
    port: Port,
    /// The Redis server.
    #[arg(long)]
    redis: String,
    /// The prefix of the stream keys (instances that share it share the events).
    #[arg(long)]
    prefix: String,
}

/// Serves the app on the port until stopped.
pub(crate) fn run(args: ServeRedisArgs) -> std::io::Result<()> {
    compare::serve_redis(args.port.addr(), &args.redis, &args.prefix)
}
