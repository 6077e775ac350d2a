//! `compare redis-fanout`: the fan-out through Redis, subscribers spread over two
//! instances of the sse-axum app on the sse-redis backplane (`compare serve-redis`),
//! next to the same workload on one instance with the in-process hub.

use std::path::{Path, PathBuf};

use compare::fanout::Publish;
use compare::Variant;

use crate::cli::fanout::{publish, summary, FanoutRow};
use crate::cli::output::{progress, write_json};
use crate::cli::process::{client_runtime, start, start_with};
use crate::cli::tables::median;

/// The arguments of `compare redis-fanout`.
#[derive(clap::Args)]
pub(crate) struct RedisFanoutArgs {
    /// The Redis server (default: `SSE_REDIS_URL`, else the local default port).
    #[arg(long)]
    redis: Option<String>,
    /// Subscribers in all, half on each instance.
    #[arg(long, default_value_t = 1000)]
    subscribers: usize,
    /// Events published per run (at most 4096: the local queues' size).
    #[arg(long, default_value_t = 1000)]
    events: u64,
    /// Events per second; 0 publishes as fast as one publisher can.
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Bytes of data per event (at least 20).
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Rounds; the table shows medians.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Where to write the JSON results.
    #[arg(long, default_value = "target/compare-redis-fanout.json")]
    json: PathBuf,
}

/// Finds the Redis server, measures, prints the table and writes JSON.
pub(crate) fn run(args: RedisFanoutArgs) -> std::io::Result<()> {
    let redis = args
        .redis
        .or_else(|| std::env::var("SSE_REDIS_URL").ok())
        .unwrap_or_else(|| "redis://127.0.0.1:6379/".to_owned());
    let publish = publish(args.events, args.size, args.rate);
    redis_fanout(
        &redis,
        args.rounds.max(1),
        args.subscribers.max(2),
        publish,
        &args.json,
    )
}

/// `redis-fanout`: two instances on the Redis backplane next to one in-process hub.
fn redis_fanout(
    redis: &str,
    rounds: usize,
    subscribers: usize,
    publish: Publish,
    json: &Path,
) -> std::io::Result<()> {
    const SETUPS: [&str; 2] = [
        "sse-axum, in-process Hub, 1 instance",
        "sse-axum, sse-redis, 2 instances",
    ];
    let runtime = client_runtime()?;
    let mut rows: Vec<FanoutRow> = SETUPS
        .iter()
        .map(|name| FanoutRow::new(name, None))
        .collect();
    let mut events_per_second: [Vec<f64>; 2] = [vec![], vec![]];
    let total = rounds * SETUPS.len();
    let mut done = 0;
    for round in 1..=rounds {
        for (i, name) in SETUPS.iter().enumerate() {
            let mut servers = Vec::new();
            let mut addrs = Vec::new();
            if i == 0 {
                let (server, addr) = start(Variant::SseAxum, false)?;
                servers.push(server);
                addrs.push(addr);
            } else {
                // A fresh stream per run: no replay window left over from the last.
                let prefix = format!("sse-bench:{}:{round}:", std::process::id());
                for _ in 0..2 {
                    let (server, addr) = start_with(
                        name,
                        &["serve-redis", "--redis", redis, "--prefix", &prefix],
                        false,
                    )?;
                    servers.push(server);
                    addrs.push(addr);
                }
            }
            let result = runtime.block_on(compare::fanout::run_fanout_spread(
                &addrs,
                subscribers,
                publish,
                None,
            ))?;
            drop(servers);
            done += 1;
            progress(
                done,
                total,
                &format!("round {round}: {name:<38} {}", summary(&result)),
            );
            rows[i].push(&result);
            events_per_second[i].push(publish.n as f64 / result.seconds);
        }
    }
    let rate = if publish.rate == 0 {
        "as fast as one publisher can".to_owned()
    } else {
        format!("{} per second", publish.rate)
    };
    println!(
        "\nFan-out through Redis: {subscribers} subscribers, {} events of {} bytes {rate}, {rounds} round(s), medians, nothing pinned\n",
        publish.n, publish.size
    );
    println!("| setup | events/s | deliveries/s | p50 | p99 | max |");
    println!("|---|---|---|---|---|---|");
    for (row, events) in rows.iter().zip(&events_per_second) {
        println!(
            "| {} | {:.0} | {:.3} M | {:.2} ms | {:.2} ms | {:.2} ms |",
            row.variant,
            median(events),
            median(&row.deliveries_per_second) / 1e6,
            median(&row.p50_ms),
            median(&row.p99_ms),
            median(&row.max_ms),
        );
    }
    let report = serde_json::json!({
        "workload": { "kind": "redis-fanout", "subscribers": subscribers, "events": publish.n, "size": publish.size, "rate": publish.rate, "rounds": rounds },
        "results": rows,
        "events_per_second": events_per_second,
    });
    write_json(json, &report)
}
