//! `compare bench`: bursts of events from every variant in alternation, at each
//! event size: events/s and the server's CPU time per event; with `--compress`, each
//! variant compressing the way its framework does, and the bytes on the wire per
//! event.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use compare::compress::{read_burst_compressed, Encoding, NotCompressed};
use compare::{read_burst, read_burst_counted, Burst};

use crate::cli::args::Only;
use crate::cli::go;
use crate::cli::output::{emit, json_lines, progress, reporting, set_json_lines, write_json_to};
use crate::cli::process::{client_runtime, pin_client};
use crate::cli::racer::Racer;
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
    /// Race compressed: each variant's `/burst` compressed the way its framework does
    /// it, the client asking for this coding only, checking `Content-Encoding` and
    /// counting events in the decompressed body; adds bytes on the wire per event.
    #[arg(long, value_enum, default_value = "none")]
    compress: Encoding,
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
        compress: args.compress,
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
    /// The coding of a compressed race; identity: the race as it always ran.
    pub(crate) compress: Encoding,
}

/// One variant's bursts at one event size.
#[derive(Clone, serde::Serialize)]
pub(crate) struct BurstRow {
    pub(crate) variant: &'static str,
    #[serde(skip)]
    pub(crate) of: Racer,
    pub(crate) events_per_second: Vec<f64>,
    /// The server's CPU time per event, in nanoseconds.
    pub(crate) cpu_ns_per_event: Vec<f64>,
    /// Compressed races: the bytes after the response head (the compressed body with
    /// its chunked framing) per event.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) wire_bytes_per_event: Vec<f64>,
    /// Compressed races: how the variant compresses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) compressed_by: Option<&'static str>,
    /// Compressed races: why the variant did not race (it cannot compress with the
    /// coding, or its response was not compressed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) not_raced: Option<String>,
}

/// Every variant's bursts at one event size.
#[derive(Clone, serde::Serialize)]
pub(crate) struct BurstResult {
    pub(crate) size: usize,
    pub(crate) events: u64,
    pub(crate) connections: usize,
    pub(crate) rounds: usize,
    pub(crate) pinned: bool,
    /// The coding of a compressed race (absent: not compressed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) compress: Option<&'static str>,
    pub(crate) rows: Vec<BurstRow>,
}

/// How many events a burst of `size`-byte events has: `events`, fewer for large
/// events so that a connection carries at most `max_bytes` of data, at least 1000.
fn events_for(size: usize, events: u64, max_bytes: usize) -> u64 {
    let fit = (max_bytes / size.max(1)) as u64;
    events.min(fit).max(1000)
}

/// Runs `plan` against every variant in alternation, one server per variant and
/// round; one result per event size. Go's net/http races only where `go` builds it
/// (one line says why not).
pub(crate) fn bench(variants: &[Racer], plan: &BenchPlan) -> std::io::Result<Vec<BurstResult>> {
    let pinned = pin_client();
    let runtime = client_runtime()?;
    let compressed = plan.compress != Encoding::Identity;
    let mut variants = variants.to_vec();
    if !compressed && variants.contains(&Racer::GoNetHttp) {
        if let Err(why) = go::program() {
            skipped(Racer::GoNetHttp, why);
            variants.retain(|&v| v != Racer::GoNetHttp);
        }
    }
    let mut results: Vec<BurstResult> = plan
        .sizes
        .iter()
        .map(|&size| BurstResult {
            size,
            events: events_for(size, plan.events, plan.max_bytes),
            connections: plan.connections,
            rounds: plan.rounds,
            pinned,
            compress: compressed.then(|| plan.compress.name()),
            rows: variants
                .iter()
                .map(|&v| {
                    let how = v.compression(plan.compress);
                    BurstRow {
                        variant: v.name(),
                        of: v,
                        events_per_second: vec![],
                        cpu_ns_per_event: vec![],
                        wire_bytes_per_event: vec![],
                        compressed_by: compressed.then(|| how.ok()).flatten(),
                        not_raced: how.err().map(str::to_owned),
                    }
                })
                .collect(),
        })
        .collect();
    let total = plan.rounds * variants.len() * plan.sizes.len();
    let mut done = 0;
    for (i, &variant) in variants.iter().enumerate() {
        if let Some(why) = results.first().and_then(|r| r.rows[i].not_raced.as_ref()) {
            skipped(variant, why);
        }
    }
    for round in 1..=plan.rounds {
        for (i, &variant) in variants.iter().enumerate() {
            if results
                .first()
                .is_some_and(|r| r.rows[i].not_raced.is_some())
            {
                done += plan.sizes.len();
                continue;
            }
            // One server per variant and round, for every size in turn.
            let (server, addr) = variant.start(plan.compress, pinned)?;
            let pid = server.0.id();
            for r in 0..results.len() {
                let result = &results[r];
                let burst = Burst {
                    n: result.events,
                    size: result.size,
                };
                let measured = runtime.block_on(race(variant, round, addr, pid, burst, plan));
                let (rate, cpu, wire) = match measured {
                    Ok(measured) => measured,
                    Err(error) => {
                        let Some(not) = NotCompressed::of(&error) else {
                            return Err(error);
                        };
                        // The server answered uncompressed (or otherwise): say so, and
                        // race it no more.
                        let why = format!(
                            "not compressed: content-encoding {}",
                            not.got.as_deref().unwrap_or("absent")
                        );
                        skipped(variant, &why);
                        for result in &mut results {
                            result.rows[i].not_raced = Some(why.clone());
                        }
                        done += results.len() - r;
                        break;
                    }
                };
                done += 1;
                if json_lines() {
                    let mut line = serde_json::json!({
                        "kind": "result", "variant": variant.name(), "round": round,
                        "rounds": plan.rounds, "size": burst.size,
                        "events": burst.n * plan.connections as u64,
                        "events_per_second": rate, "cpu_ns_per_event": cpu,
                    });
                    if let Some(wire) = wire {
                        line["wire_bytes_per_event"] = wire.into();
                    }
                    emit(&line);
                }
                let bytes =
                    wire.map_or_else(String::new, |wire| format!(" {wire:>7.1} B per event"));
                progress(
                    done,
                    total,
                    &format!(
                        "round {round}: {:<20} {:>6} B {:>8.3} M events/s {:>9.0} ns CPU per event{bytes}",
                        variant.name(),
                        burst.size,
                        rate / 1e6,
                        cpu
                    ),
                );
                let row = &mut results[r].rows[i];
                row.events_per_second.push(rate);
                row.cpu_ns_per_event.push(cpu);
                row.wire_bytes_per_event.extend(wire);
            }
            drop(server);
        }
    }
    Ok(results)
}

/// Says that `variant` does not race, and why (a line of `--json-lines`, or on
/// stderr).
fn skipped(variant: Racer, why: &str) {
    if json_lines() {
        emit(&serde_json::json!({
            "kind": "skipped", "variant": variant.name(), "why": why,
        }));
    } else {
        eprintln!("{}: not raced: {why}", variant.name());
    }
}

/// Events/s, server CPU per event and (compressed) bytes on the wire per event.
type Measured = (f64, f64, Option<f64>);

/// One burst of `plan.connections` connections against `variant`'s server at `addr`
/// (process `pid`), after a warm-up: compressed with `plan.compress`, or read as the
/// uncompressed race always read it.
async fn race(
    variant: Racer,
    round: usize,
    addr: std::net::SocketAddr,
    pid: u32,
    burst: Burst,
    plan: &BenchPlan,
) -> std::io::Result<Measured> {
    let coding = plan.compress;
    // Warm-up: connections, allocator, caches (and the codec's tables).
    let warm_up = Burst {
        n: (burst.n / 10).clamp(100, 1000),
        size: burst.size,
    };
    if coding == Encoding::Identity {
        read_burst(addr, warm_up).await?;
    } else {
        read_burst_compressed(addr, warm_up, coding, &AtomicU64::new(0)).await?;
    }
    let cpu_before = compare::cpu_ns(pid)?;
    let start = std::time::Instant::now();
    let mut tasks = Vec::new();
    let counters: Vec<Arc<AtomicU64>> = (0..plan.connections).map(|_| Arc::default()).collect();
    for counter in &counters {
        let counter = Arc::clone(counter);
        // Identity reads as the race always read (no decoder); a compressed race
        // decodes and counts the bytes on the wire.
        tasks.push(tokio::spawn(async move {
            if coding == Encoding::Identity {
                let (events, _) = read_burst_counted(addr, burst, &counter).await?;
                Ok::<_, std::io::Error>((events, None))
            } else {
                let read = read_burst_compressed(addr, burst, coding, &counter).await?;
                Ok((read.events, Some(read.wire_bytes)))
            }
        }));
    }
    let expected = burst.n * counters.len() as u64;
    let progress = json_lines().then_some(move || {
        let received: u64 = counters.iter().map(|c| c.load(Ordering::Relaxed)).sum();
        emit(&serde_json::json!({
            "kind": "progress", "variant": variant.name(), "round": round,
            "rounds": plan.rounds, "size": burst.size, "received": received,
            "events": expected,
        }));
    });
    let read_all = async {
        let mut events = 0;
        let mut wire: Option<u64> = None;
        for task in tasks {
            let (got, bytes) = task.await.map_err(std::io::Error::other)??;
            if got != burst.n {
                return Err(std::io::Error::other(format!(
                    "{}: {got} events of {}",
                    variant.name(),
                    burst.n
                )));
            }
            events += got;
            if let Some(bytes) = bytes {
                *wire.get_or_insert(0) += bytes;
            }
        }
        Ok((events, wire))
    };
    let (events, wire) = reporting(read_all, Duration::from_millis(100), progress).await?;
    let seconds = start.elapsed().as_secs_f64();
    let cpu = compare::cpu_ns(pid)?.saturating_sub(cpu_before);
    Ok((
        events as f64 / seconds,
        cpu as f64 / events as f64,
        wire.map(|wire| wire as f64 / events as f64),
    ))
}
