//! `compare bench`: bursts of events from every variant in alternation, at each
//! event size: events/s and the server's CPU time per event.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use compare::{read_burst, read_burst_counted, Burst, Variant};

use crate::cli::args::Only;
use crate::cli::output::{emit, json_lines, progress, reporting, set_json_lines, write_json_to};
use crate::cli::process::{client_runtime, pin_client, start};
use crate::cli::tables;

/// The arguments of `compare bench`.
#[derive(clap::Args)]
pub(crate) struct BenchArgs {
    /// Rounds per variant; the table shows the median with min-max.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Events per connection in a burst (fewer for large events: see
    /// `--max-bytes`).
    #[arg(long, default_value_t = 200_000)]
    events: u64,
    /// Bytes of data per event, one table per size.
    #[arg(long, value_delimiter = ',', default_value = "64")]
    sizes: Vec<usize>,
    /// At most this many bytes of data per connection and burst: large events
    /// get fewer events (never fewer than 1000).
    #[arg(long, default_value_t = 256 << 20)]
    max_bytes: usize,
    /// Concurrent connections per burst.
    #[arg(long, default_value_t = 1)]
    connections: usize,
    #[command(flatten)]
    only: Only,
    /// Where to write the JSON results (default `target/compare-bench.json`;
    /// with `--json-lines`, nowhere unless given: the last line has them).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Print progress and results on stdout as one JSON object per line, instead
    /// of tables (what the comparison page reads).
    #[arg(long)]
    json_lines: bool,
}

/// Runs the bursts, prints a table per event size (or JSON lines) and writes JSON.
pub(crate) fn run(args: BenchArgs) -> std::io::Result<()> {
    set_json_lines(args.json_lines);
    let variants = args.only.or_every_burst();
    let plan = BenchPlan {
        rounds: args.rounds.max(1),
        events: args.events,
        sizes: args.sizes,
        max_bytes: args.max_bytes,
        connections: args.connections.max(1),
    };
    let results = bench(&variants, &plan)?;
    let report = tables::burst_json(&results);
    if args.json_lines {
        emit(&serde_json::json!({ "kind": "done", "report": report }));
    } else {
        for result in &results {
            print!("{}", tables::burst_table(result));
        }
    }
    write_json_to(args.json, "target/compare-bench.json", &report)
}

/// What `bench` runs.
pub(crate) struct BenchPlan {
    pub(crate) rounds: usize,
    pub(crate) events: u64,
    pub(crate) sizes: Vec<usize>,
    pub(crate) max_bytes: usize,
    pub(crate) connections: usize,
}

/// One variant's bursts at one event size.
#[derive(Clone, serde::Serialize)]
pub(crate) struct BurstRow {
    pub(crate) variant: &'static str,
    #[serde(skip)]
    pub(crate) of: Variant,
    pub(crate) events_per_second: Vec<f64>,
    /// The server's CPU time per event, in nanoseconds.
    pub(crate) cpu_ns_per_event: Vec<f64>,
}

/// Every variant's bursts at one event size.
#[derive(Clone, serde::Serialize)]
pub(crate) struct BurstResult {
    pub(crate) size: usize,
    pub(crate) events: u64,
    pub(crate) connections: usize,
    pub(crate) rounds: usize,
    pub(crate) pinned: bool,
    pub(crate) rows: Vec<BurstRow>,
}

/// How many events a burst of `size`-byte events has: `events`, fewer for large
/// events so that a connection carries at most `max_bytes` of data, at least 1000.
fn events_for(size: usize, events: u64, max_bytes: usize) -> u64 {
    let fit = (max_bytes / size.max(1)) as u64;
    events.min(fit).max(1000)
}

/// Runs `plan` against every variant in alternation, one server per variant and
/// round; one result per event size.
pub(crate) fn bench(variants: &[Variant], plan: &BenchPlan) -> std::io::Result<Vec<BurstResult>> {
    let pinned = pin_client();
    let runtime = client_runtime()?;
    let mut results: Vec<BurstResult> = plan
        .sizes
        .iter()
        .map(|&size| BurstResult {
            size,
            events: events_for(size, plan.events, plan.max_bytes),
            connections: plan.connections,
            rounds: plan.rounds,
            pinned,
            rows: variants
                .iter()
                .map(|&v| BurstRow {
                    variant: v.name(),
                    of: v,
                    events_per_second: vec![],
                    cpu_ns_per_event: vec![],
                })
                .collect(),
        })
        .collect();
    let total = plan.rounds * variants.len() * plan.sizes.len();
    let mut done = 0;
    for round in 1..=plan.rounds {
        for (i, &variant) in variants.iter().enumerate() {
            // One server per variant and round, for every size in turn.
            let (server, addr) = start(variant, pinned)?;
            let pid = server.0.id();
            for result in &mut results {
                let burst = Burst {
                    n: result.events,
                    size: result.size,
                };
                let (rate, cpu) = runtime.block_on(async {
                    // Warm-up: connections, allocator, caches.
                    read_burst(
                        addr,
                        Burst {
                            n: (burst.n / 10).clamp(100, 1000),
                            size: burst.size,
                        },
                    )
                    .await?;
                    let cpu_before = compare::cpu_ns(pid)?;
                    let start = std::time::Instant::now();
                    let mut tasks = Vec::new();
                    let counters: Vec<Arc<AtomicU64>> =
                        (0..plan.connections).map(|_| Arc::default()).collect();
                    for counter in &counters {
                        let counter = Arc::clone(counter);
                        tasks.push(tokio::spawn(async move {
                            read_burst_counted(addr, burst, &counter).await
                        }));
                    }
                    let expected = burst.n * counters.len() as u64;
                    let progress = json_lines().then_some(move || {
                        let received: u64 =
                            counters.iter().map(|c| c.load(Ordering::Relaxed)).sum();
                        emit(&serde_json::json!({
                            "kind": "progress", "variant": variant.name(), "round": round,
                            "rounds": plan.rounds, "size": burst.size, "received": received,
                            "events": expected,
                        }));
                    });
                    let read_all = async {
                        let mut events = 0;
                        for task in tasks {
                            let (got, _) = task.await.map_err(std::io::Error::other)??;
                            if got != burst.n {
                                return Err(std::io::Error::other(format!(
                                    "{}: {got} events of {}",
                                    variant.name(),
                                    burst.n
                                )));
                            }
                            events += got;
                        }
                        Ok(events)
                    };
                    let events = reporting(read_all, Duration::from_millis(100), progress).await?;
                    let seconds = start.elapsed().as_secs_f64();
                    let cpu = compare::cpu_ns(pid)?.saturating_sub(cpu_before);
                    Ok::<_, std::io::Error>((events as f64 / seconds, cpu as f64 / events as f64))
                })?;
                done += 1;
                if json_lines() {
                    emit(&serde_json::json!({
                        "kind": "result", "variant": variant.name(), "round": round,
                        "rounds": plan.rounds, "size": burst.size,
                        "events": burst.n * plan.connections as u64,
                        "events_per_second": rate, "cpu_ns_per_event": cpu,
                    }));
                }
                progress(
                    done,
                    total,
                    &format!(
                        "round {round}: {:<20} {:>6} B {:>8.3} M events/s {:>9.0} ns CPU per event",
                        variant.name(),
                        burst.size,
                        rate / 1e6,
                        cpu
                    ),
                );
                result.rows[i].events_per_second.push(rate);
                result.rows[i].cpu_ns_per_event.push(cpu);
            }
            drop(server);
        }
    }
    Ok(results)
}
