//! `compare fanout`: subscribers on one server, events published once, every
//! variant in alternation: delivery rate, latency and the server's CPU per delivery.
//! Its measuring loop also serves `report`, `h2` (over HTTP/2) and, its rows,
//! `redis-fanout`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use compare::fanout::{FanoutResult, Publish};
use compare::Variant;

use crate::cli::args::Only;
use crate::cli::output::{
    emit, finite, json_lines, progress, reporting, set_json_lines, write_json_to,
};
use crate::cli::process::{client_runtime, pin_client, start, start_variant};
use crate::cli::tables;

/// The arguments of `compare fanout`.
#[derive(clap::Args)]
pub(crate) struct FanoutArgs {
    /// Subscribers per server.
    #[arg(long, default_value_t = 1000)]
    subscribers: usize,
    /// Events published per run (at most 4096: the broadcast queues' size).
    #[arg(long, default_value_t = 100)]
    events: u64,
    /// Events per second; 0 publishes as fast as possible.
    #[arg(long, default_value_t = 100)]
    rate: u64,
    /// Bytes of data per event (at least 20).
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Rounds per variant; the table shows medians.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    #[command(flatten)]
    only: Only,
    /// Where to write the JSON results (default `target/compare-fanout.json`;
    /// with `--json-lines`, nowhere unless given: the last line has them).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Print progress (with the latency so far) and results on stdout as one JSON
    /// object per line, instead of a table (what the comparison page reads).
    #[arg(long)]
    json_lines: bool,
    /// Measure a server that is already running at this address (for example
    /// `compare serve` under `strace -c` or `perf`) instead of starting each
    /// variant; `--only` then names it (one variant).
    #[arg(long)]
    at: Option<SocketAddr>,
}

/// Runs the fan-out (or measures `--at` once), prints the table (or JSON lines) and
/// writes JSON.
pub(crate) fn run(args: FanoutArgs) -> std::io::Result<()> {
    set_json_lines(args.json_lines);
    let publish = publish(args.events, args.size, args.rate);
    let subscribers = args.subscribers.max(1);
    if let Some(addr) = args.at {
        let result = client_runtime()?.block_on(compare::fanout::run_fanout(
            addr,
            subscribers,
            publish,
            None,
        ))?;
        println!("{addr}: {}", summary(&result));
        return Ok(());
    }
    let variants = args.only.or_all();
    let rounds = args.rounds.max(1);
    let rows = fanout(&variants, rounds, subscribers, publish)?;
    let report = tables::fanout_json(&rows, subscribers, publish, rounds);
    if args.json_lines {
        emit(&serde_json::json!({ "kind": "done", "report": report }));
    } else {
        print!(
            "{}",
            tables::fanout_table(&rows, subscribers, publish, rounds)
        );
    }
    write_json_to(args.json, "target/compare-fanout.json", &report)
}

/// What is published in a run of `events` events of `size` bytes at `rate`
/// per second: 1 to 4096 events (the broadcast queues' size) of at least 20 bytes
/// (the send time the latency is read from).
pub(crate) fn publish(events: u64, size: usize, rate: u64) -> Publish {
    Publish {
        n: events.clamp(1, 4096),
        size: size.max(20),
        rate,
    }
}

/// One variant's (or setup's) fan-out runs.
#[derive(serde::Serialize)]
pub(crate) struct FanoutRow {
    pub(crate) variant: &'static str,
    #[serde(skip)]
    pub(crate) of: Option<Variant>,
    pub(crate) deliveries_per_second: Vec<f64>,
    pub(crate) p50_ms: Vec<f64>,
    pub(crate) p99_ms: Vec<f64>,
    pub(crate) max_ms: Vec<f64>,
    /// The server's CPU time per delivery, in nanoseconds.
    pub(crate) cpu_ns_per_delivery: Vec<f64>,
}

impl FanoutRow {
    /// No runs yet of `variant` (the name in the tables), which is `of` if one.
    pub(crate) fn new(variant: &'static str, of: Option<Variant>) -> Self {
        Self {
            variant,
            of,
            deliveries_per_second: vec![],
            p50_ms: vec![],
            p99_ms: vec![],
            max_ms: vec![],
            cpu_ns_per_delivery: vec![],
        }
    }

    /// Adds the figures of one run.
    pub(crate) fn push(&mut self, result: &FanoutResult) {
        self.deliveries_per_second
            .push(result.deliveries as f64 / result.seconds);
        self.p50_ms.push(result.latency_ms(0.5));
        self.p99_ms.push(result.latency_ms(0.99));
        self.max_ms.push(result.latency_ms(1.0));
        if let Some(cpu) = result.server_cpu_ns {
            self.cpu_ns_per_delivery
                .push(cpu as f64 / result.deliveries.max(1) as f64);
        }
    }
}

/// How the fan-out client reaches the servers.
pub(crate) enum Transport<'a> {
    /// Plain HTTP/1.1.
    Http1,
    /// HTTPS and HTTP/2: the servers' PEM certificate and key files, and a client
    /// config that trusts the certificate.
    Http2 {
        cert: &'a str,
        key: &'a str,
        client: Arc<sse_rs::server::rustls::ClientConfig>,
    },
}

/// The fan-out over plain HTTP/1.1: `rounds` rounds of every variant in turn.
pub(crate) fn fanout(
    variants: &[Variant],
    rounds: usize,
    subscribers: usize,
    publish: Publish,
) -> std::io::Result<Vec<FanoutRow>> {
    fanout_over(&Transport::Http1, variants, rounds, subscribers, publish)
}

/// The fan-out over `transport`: `rounds` rounds of every variant in turn, each on
/// a server of its own.
pub(crate) fn fanout_over(
    transport: &Transport<'_>,
    variants: &[Variant],
    rounds: usize,
    subscribers: usize,
    publish: Publish,
) -> std::io::Result<Vec<FanoutRow>> {
    let pinned = pin_client();
    let runtime = client_runtime()?;
    let total = rounds * variants.len();
    let mut rows: Vec<FanoutRow> = variants
        .iter()
        .map(|&v| FanoutRow::new(v.name(), Some(v)))
        .collect();
    let mut done = 0;
    for round in 1..=rounds {
        for (i, &variant) in variants.iter().enumerate() {
            // Each server runs until its measurement ends, then stops when dropped.
            let result = match transport {
                Transport::Http1 => {
                    let (server, addr) = start(variant, pinned)?;
                    let watch = json_lines().then(|| Arc::new(compare::fanout::Watch::default()));
                    let expected = subscribers as u64 * publish.n;
                    let live = watch.clone().map(|watch| {
                        move || {
                            let (deliveries, [p50, p99]) = watch.snapshot([0.5, 0.99]);
                            emit(&serde_json::json!({
                                "kind": "progress", "variant": variant.name(), "round": round,
                                "rounds": rounds, "deliveries": deliveries, "expected": expected,
                                "p50_ms": finite(p50), "p99_ms": finite(p99),
                            }));
                        }
                    });
                    runtime.block_on(reporting(
                        compare::fanout::run_fanout_watched(
                            addr,
                            subscribers,
                            publish,
                            Some(server.0.id()),
                            watch,
                        ),
                        Duration::from_millis(250),
                        live,
                    ))?
                }
                Transport::Http2 { cert, key, client } => {
                    let (server, addr) = start_variant(variant, Some((cert, key)), pinned)?;
                    runtime.block_on(compare::fanout_h2::run_fanout_h2(
                        addr,
                        client,
                        subscribers,
                        publish,
                        Some(server.0.id()),
                    ))?
                }
            };
            done += 1;
            if json_lines() {
                emit(&serde_json::json!({
                    "kind": "result", "variant": variant.name(), "round": round,
                    "rounds": rounds, "deliveries": result.deliveries,
                    "deliveries_per_second": result.deliveries as f64 / result.seconds,
                    "p50_ms": finite(result.latency_ms(0.5)), "p99_ms": finite(result.latency_ms(0.99)),
                    "cpu_ns_per_delivery": result.server_cpu_ns.map(|cpu| cpu as f64 / result.deliveries.max(1) as f64),
                }));
            }
            progress(
                done,
                total,
                &format!(
                    "round {round}: {:<18} {}, {:.0} ns CPU per delivery",
                    variant.name(),
                    summary(&result),
                    result.server_cpu_ns.unwrap_or(0) as f64 / result.deliveries.max(1) as f64
                ),
            );
            rows[i].push(&result);
        }
    }
    Ok(rows)
}

/// One fan-out result on one line.
pub(crate) fn summary(result: &FanoutResult) -> String {
    format!(
        "{:>7.3} M deliveries/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        result.deliveries as f64 / result.seconds / 1e6,
        result.latency_ms(0.5),
        result.latency_ms(0.99),
        result.latency_ms(1.0)
    )
}
