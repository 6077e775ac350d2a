//! `compare compress`: compressed event streams side by side, in one run. Three
//! payloads (LLM tokens, MCP progress, ticker), identity, gzip, brotli and zstd,
//! compressed by sse-axum's stream itself or by tower-http's `CompressionLayer`
//! around axum's built-in SSE, paced (one event per frame) and in a burst: bytes
//! per event, the server's CPU per event, and each event's delay from production to
//! decoded. Then a fan-out of one hub topic to many subscribers, each stream
//! compressed on its own: the server's CPU per delivery.
//!
//! The server (`compare serve-compress`) runs pinned to core 0, the client on core
//! 1; one server per round, every cell in turn. Delays compare two clocks of the
//! same machine: the server notes when it produced each event (`SystemTime`,
//! `CLOCK_REALTIME`, shared by every process) and hands the list over after the
//! stream; the client notes when it decoded each one. The events carry no
//! timestamp, so the bytes measured are the payload's own.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use compare::compress::{
    get_stream, open_subscribers, production_times, read_subscriber, Encoding, Pattern, Payload,
    Received, Setup, StreamQuery,
};

use crate::cli::args::Port;
use crate::cli::compress_tables::{self, Cell, FanoutCell, Measure};
use crate::cli::output::{progress, write_json_to};
use crate::cli::process::{client_runtime, pin_client, start_with};

/// The arguments of `compare compress`.
#[derive(clap::Args)]
pub(crate) struct CompressArgs {
    /// Rounds (one server each); the tables show medians.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Events per stream, paced and burst.
    #[arg(long, default_value_t = 1000)]
    events: u64,
    /// Concurrent streams per measurement, alike (more events per measurement, and
    /// a server that is not idle between two events).
    #[arg(long, default_value_t = 8)]
    streams: usize,
    /// Events per second of a paced stream: it sleeps 1/rate after each event
    /// (tokio's timer has a 1 ms resolution: up to 1000).
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    /// The payloads (default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    payloads: Vec<Payload>,
    /// The delivery patterns (default: both).
    #[arg(long, value_enum, value_delimiter = ',')]
    patterns: Vec<Pattern>,
    /// Subscribers of the fan-out (0: no fan-out).
    #[arg(long, default_value_t = 200)]
    subscribers: usize,
    /// Token events published to the fan-out's subscribers (at most 4096).
    #[arg(long, default_value_t = 200)]
    fanout_events: u64,
    /// Events per second published to the fan-out.
    #[arg(long, default_value_t = 100)]
    fanout_rate: u64,
    /// Where to write the JSON results (default `target/compare-compress.json`).
    #[arg(long)]
    json: Option<PathBuf>,
}

/// The arguments of `compare serve-compress`.
#[derive(clap::Args)]
pub(crate) struct ServeCompressArgs {
    #[command(flatten)]
    port: Port,
}

/// Serves the compressed-stream app (used by `compress`).
pub(crate) fn serve(args: ServeCompressArgs) -> std::io::Result<()> {
    compare::compress::serve(args.port.addr())
}

/// Runs every cell, prints the tables and writes JSON.
pub(crate) fn run(args: CompressArgs) -> std::io::Result<()> {
    let payloads = if args.payloads.is_empty() {
        Payload::ALL.to_vec()
    } else {
        args.payloads
    };
    let patterns = if args.patterns.is_empty() {
        vec![Pattern::Paced, Pattern::Burst]
    } else {
        args.patterns
    };
    let plan = Plan {
        rounds: args.rounds.max(1),
        events: args.events.max(1),
        streams: args.streams.max(1),
        rate: args.rate.max(1),
        subscribers: args.subscribers,
        fanout_events: args.fanout_events.clamp(1, 4096),
        fanout_rate: args.fanout_rate.max(1),
    };
    let mut cells: Vec<Cell> = Vec::new();
    for &pattern in &patterns {
        for &payload in &payloads {
            for setup in Setup::ALL {
                for coding in Encoding::ALL {
                    cells.push(Cell::new(payload, pattern, setup, coding));
                }
            }
        }
    }
    let mut fanout: Vec<FanoutCell> = if plan.subscribers > 0 {
        Encoding::ALL.map(FanoutCell::new).to_vec()
    } else {
        Vec::new()
    };
    measure(&plan, &mut cells, &mut fanout)?;
    let markdown = compress_tables::markdown(&plan, &patterns, &cells, &fanout);
    print!("{markdown}");
    let report = compress_tables::json(&plan, &cells, &fanout);
    write_json_to(args.json, "target/compare-compress.json", &report)
}

/// What `compress` runs.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub(crate) struct Plan {
    pub(crate) rounds: usize,
    pub(crate) events: u64,
    pub(crate) streams: usize,
    pub(crate) rate: u64,
    pub(crate) subscribers: usize,
    pub(crate) fanout_events: u64,
    pub(crate) fanout_rate: u64,
}

/// Runs `plan`'s rounds: one server each, every cell in turn, then the fan-out.
fn measure(plan: &Plan, cells: &mut [Cell], fanout: &mut [FanoutCell]) -> std::io::Result<()> {
    let pinned = pin_client();
    let runtime = client_runtime()?;
    let total = plan.rounds * (cells.len() + fanout.len());
    let mut done = 0;
    let mut run = 0_u64;
    for round in 1..=plan.rounds {
        let (server, addr) = start_with("serve-compress", &["serve-compress"], pinned)?;
        let pid = server.0.id();
        runtime.block_on(warm_up(addr, &mut run))?;
        for cell in cells.iter_mut() {
            let queries: Vec<StreamQuery> = (0..plan.streams)
                .map(|_| {
                    run += 1;
                    StreamQuery {
                        payload: cell.payload,
                        pattern: cell.pattern,
                        n: plan.events,
                        rate: plan.rate,
                        run,
                        coding: cell.coding,
                    }
                })
                .collect();
            let measured = runtime.block_on(stream_cell(addr, pid, &queries, cell.setup))?;
            done += 1;
            progress(
                done,
                total,
                &format!(
                    "round {round}: {} {} {:<28} {:<8} {}",
                    cell.pattern.name(),
                    cell.payload.name(),
                    cell.setup.name(),
                    cell.coding.name(),
                    measured.summary()
                ),
            );
            cell.rounds.push(measured);
        }
        for cell in fanout.iter_mut() {
            run += 1;
            let measured = runtime.block_on(fanout_cell(addr, pid, plan, cell.coding, run))?;
            done += 1;
            progress(
                done,
                total,
                &format!(
                    "round {round}: fan-out to {} {:<8} {}",
                    plan.subscribers,
                    cell.coding.name(),
                    measured.summary()
                ),
            );
            cell.rounds.push(measured);
        }
        drop(server);
    }
    Ok(())
}

/// A short burst of every setup and coding: connections, allocator, the codecs'
/// tables.
async fn warm_up(addr: SocketAddr, run: &mut u64) -> std::io::Result<()> {
    for setup in Setup::ALL {
        for coding in Encoding::ALL {
            *run += 1;
            let query = StreamQuery {
                payload: Payload::Token,
                pattern: Pattern::Burst,
                n: 50,
                rate: 1,
                run: *run,
                coding,
            };
            get_stream(addr, &query.path(setup), coding).await?;
            production_times(addr, *run).await?;
        }
    }
    Ok(())
}

/// Concurrent streams, one per query: their bytes, the server's CPU time while
/// they ran, their delays.
async fn stream_cell(
    addr: SocketAddr,
    pid: u32,
    queries: &[StreamQuery],
    setup: Setup,
) -> std::io::Result<Measure> {
    let before = compare::cpu_ns(pid)?;
    let readers: Vec<_> = queries
        .iter()
        .map(|query| {
            let path = query.path(setup);
            let coding = query.coding;
            tokio::spawn(async move { get_stream(addr, &path, coding).await })
        })
        .collect();
    let mut all = Vec::with_capacity(readers.len());
    for reader in readers {
        all.push(reader.await.map_err(std::io::Error::other)??);
    }
    let cpu = compare::cpu_ns(pid)?.saturating_sub(before);
    let mut total = Received::default();
    let mut all_delays = Vec::new();
    for (query, received) in queries.iter().zip(all) {
        let produced = production_times(addr, query.run).await?;
        if received.events != query.n || produced.len() as u64 != query.n {
            return Err(std::io::Error::other(format!(
                "{} {:?}: {} events decoded, {} produced, of {}",
                setup.name(),
                query,
                received.events,
                produced.len(),
                query.n
            )));
        }
        all_delays.extend(delays(&produced, &received.decoded_at));
        total.events += received.events;
        total.body_bytes += received.body_bytes;
        total.wire_bytes += received.wire_bytes;
        total.chunks += received.chunks;
    }
    Ok(Measure::new(
        total.events,
        total.body_bytes,
        total.wire_bytes,
        total.chunks,
        cpu,
        &mut all_delays,
    ))
}

/// Each event's delay: decoded minus produced, in nanoseconds.
fn delays(produced: &[u64], decoded: &[u64]) -> Vec<u64> {
    produced
        .iter()
        .zip(decoded)
        .map(|(&produced, &decoded)| decoded.saturating_sub(produced))
        .collect()
}

/// The fan-out of `plan.fanout_events` token events to `plan.subscribers`
/// subscribers of one topic, each stream compressed with `coding`.
async fn fanout_cell(
    addr: SocketAddr,
    pid: u32,
    plan: &Plan,
    coding: Encoding,
    run: u64,
) -> std::io::Result<Measure> {
    let n = plan.fanout_events;
    let sockets = open_subscribers(addr, plan.subscribers, coding, run).await?;
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|socket| tokio::spawn(read_subscriber(socket, coding, n)))
        .collect();
    let before = compare::cpu_ns(pid)?;
    let path = format!("/publish?n={n}&rate={}&run={run}", plan.fanout_rate);
    let publisher =
        tokio::spawn(async move { compare::fanout::request(addr, "POST", &path).await });
    // The publication takes n / rate seconds; a minute more is plenty.
    let deadline = tokio::time::Instant::now()
        + Duration::from_secs_f64(n as f64 / plan.fanout_rate as f64)
        + Duration::from_secs(60);
    let mut all = Vec::with_capacity(readers.len());
    for reader in readers {
        let received = tokio::time::timeout_at(deadline, reader)
            .await
            .map_err(|_| std::io::Error::other("a subscriber did not get every event in time"))?
            .map_err(std::io::Error::other)??;
        all.push(received);
    }
    let cpu = compare::cpu_ns(pid)?.saturating_sub(before);
    publisher.await.map_err(std::io::Error::other)??;
    let produced = production_times(addr, run).await?;
    if produced.len() as u64 != n {
        return Err(std::io::Error::other(format!(
            "{} of {n} events published",
            produced.len()
        )));
    }
    let deliveries = n * plan.subscribers as u64;
    let mut all_delays = Vec::with_capacity(deliveries as usize);
    let (mut body, mut wire, mut chunks) = (0, 0, 0);
    for received in &all {
        all_delays.extend(delays(&produced, &received.decoded_at));
        body += received.body_bytes;
        wire += received.wire_bytes;
        chunks += received.chunks;
    }
    Ok(Measure::new(
        deliveries,
        body,
        wire,
        chunks,
        cpu,
        &mut all_delays,
    ))
}
