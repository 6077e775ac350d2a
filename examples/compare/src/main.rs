//! `cargo run --release -p compare -- bench`: our adapters against each framework's
//! built-in SSE on the same workload, side by side, servers in alternation, server and
//! client on different cores.
//!
//! This file is the command line; each subcommand lives in its own module under
//! `cli/`, and the arguments several of them share in `cli/args.rs`.

use clap::{Parser, Subcommand};

mod cli;

use cli::{
    bench, compress, fanout, h2, live, memory, redis_fanout, reliability, report, scale, serve,
    serve_broadcast, serve_redis,
};

/// The command line: a subcommand, or none for `live`.
#[derive(Parser)]
#[command(
    about = "Compare SSE servers: the countdown demo on every framework side by side (default), or a benchmark against each framework's built-in SSE"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
}

/// The subcommands. Their doc comments are their `--help` text.
#[derive(Subcommand)]
enum Cmd {
    /// The countdown demo on hyper, axum, actix-web and warp at once, with one page
    /// that shows them side by side (the default).
    Live(live::LiveArgs),
    /// Run every variant in alternation and print a Markdown table per event size:
    /// events/s and the server's CPU time per event (and write JSON). With
    /// `--compress gzip|br|zstd`, each variant compresses the way its framework does,
    /// and the table adds the bytes on the wire per event.
    Bench(bench::BenchArgs),
    /// Fan-out: subscribers on one server, events published once, delivery rate and
    /// latency (p50/p99/max), every variant in alternation.
    Fanout(fanout::FanoutArgs),
    /// Everything BENCHMARKS.md shows, from one run: bursts at 64 B, 1 KiB, 16 KiB and
    /// 64 KiB, fan-out at full speed and at 100 events/s, idle memory. Writes the
    /// Markdown and its SVG charts.
    Report(report::ReportArgs),
    /// Idle memory: the server's resident memory per open, idle event stream, at each
    /// number of connections (every variant in alternation).
    Memory(memory::MemoryArgs),
    /// Fan-out through Redis: subscribers spread over two instances of the sse-axum
    /// app on the sse-redis backplane, events published on one of them; next to the
    /// same workload on one instance with the in-process hub, in alternation.
    RedisFanout(redis_fanout::RedisFanoutArgs),
    /// Serve the sse-axum fan-out app as one instance on the Redis backplane (used by
    /// `redis-fanout`).
    ServeRedis(serve_redis::ServeRedisArgs),
    /// The attacks of the robustness work against the chat example, with figures:
    /// memory per far-back resume (with Redis), the stop with stalled readers, the
    /// file descriptors slowloris clients hold. Prints a table, writes JSON.
    Reliability(reliability::ReliabilityArgs),
    /// Serve the chat example (`axum-broadcast`; used by `reliability`): its own hub,
    /// or one instance on Redis with `--redis`. Stops on SIGTERM, with a 5 s grace.
    ServeBroadcast(serve_broadcast::ServeBroadcastArgs),
    /// Compressed event streams side by side: LLM tokens, MCP progress and ticks,
    /// identity, gzip, brotli and zstd, compressed by sse-axum's stream or by
    /// tower-http's `CompressionLayer` around axum's built-in SSE, one event per frame
    /// and in bursts: bytes per event, server CPU per event, delay per event; then a
    /// compressed fan-out. Prints Markdown tables, writes JSON.
    Compress(compress::CompressArgs),
    /// Serve the compressed-stream app (used by `compress`).
    ServeCompress(compress::ServeCompressArgs),
    /// Serve one variant (used by `bench`, which starts each server pinned to core 0).
    Serve(serve::ServeArgs),
    /// Bursts over HTTPS and HTTP/2, measured by h2load (nghttp2's client, which the
    /// project did not write): many streams on one connection, and one stream per
    /// connection, every variant in alternation; events/s and server CPU per event.
    /// Then fan-out over HTTP/2 (our client): deliveries/s, latency, CPU per delivery.
    H2(h2::H2Args),
    /// One machine's capacity: 100,000 event streams over HTTP/2 (1,000 TLS
    /// connections x 100), and over HTTP/1.1 as many as the open-file limit allows;
    /// memory per stream, time to open, one event to all, then a steady rate to all,
    /// every variant in turn.
    Scale(scale::ScaleArgs),
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("compare: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Parses the command line and runs the subcommand (`live` without one).
fn run() -> std::io::Result<()> {
    let command = Cli::parse()
        .command
        .unwrap_or_else(|| Cmd::Live(live::LiveArgs::default()));
    match command {
        Cmd::Live(args) => live::run(args),
        Cmd::Bench(args) => bench::run(args),
        Cmd::Fanout(args) => fanout::run(args),
        Cmd::Report(args) => report::run(args),
        Cmd::Memory(args) => memory::run(args),
        Cmd::RedisFanout(args) => redis_fanout::run(args),
        Cmd::ServeRedis(args) => serve_redis::run(args),
        Cmd::Reliability(args) => reliability::run(args),
        Cmd::ServeBroadcast(args) => serve_broadcast::run(args),
        Cmd::Compress(args) => compress::run(args),
        Cmd::ServeCompress(args) => compress::serve(args),
        Cmd::Serve(args) => serve::run(args),
        Cmd::H2(args) => h2::run(args),
        Cmd::Scale(args) => scale::run(args),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    /// clap's own consistency checks (unique ids, `requires` naming real arguments,
    /// flattened groups), which otherwise run only when a command line is parsed.
    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    /// No subcommand is `live` with its defaults, as `compare live` is.
    #[test]
    fn no_subcommand_is_live_with_its_defaults() {
        let parsed = Cli::try_parse_from(["compare", "live"]).map(|cli| cli.command);
        let Ok(Some(Cmd::Live(parsed))) = parsed else {
            panic!("`compare live` did not parse as live");
        };
        assert_eq!(parsed, live::LiveArgs::default());
    }
}
