//! `cargo run --release -p compare -- bench`: our adapters against each framework's
//! built-in SSE on the same workload, side by side, servers in alternation, server and
//! client on different cores.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use compare::{read_burst, read_burst_counted, Burst, Variant};

mod h2;
mod reliability;
mod report;

#[derive(Parser)]
#[command(
    about = "Compare SSE servers: the countdown demo on every framework side by side (default), or a benchmark against each framework's built-in SSE"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// The countdown demo on hyper, axum, actix-web and warp at once, with one page
    /// that shows them side by side (the default).
    Live {
        /// Port of the side-by-side page; the four servers take the next four ports.
        #[arg(long, default_value_t = 8083)]
        port: u16,
        /// Milliseconds between two events.
        #[arg(long, default_value_t = 1000)]
        interval_ms: u64,
        /// The number the countdowns start at.
        #[arg(long, default_value_t = 100)]
        count: u64,
    },
    /// Run every variant in alternation and print a Markdown table per event size:
    /// events/s and the server's CPU time per event (and write JSON).
    Bench {
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
        /// Only these variants (default: all).
        #[arg(long, value_enum)]
        only: Vec<Variant>,
        /// Where to write the JSON results (default `target/compare-bench.json`;
        /// with `--json-lines`, nowhere unless given: the last line has them).
        #[arg(long)]
        json: Option<PathBuf>,
        /// Print progress and results on stdout as one JSON object per line, instead
        /// of tables (what the comparison page reads).
        #[arg(long)]
        json_lines: bool,
    },
    /// Fan-out: subscribers on one server, events published once, delivery rate and
    /// latency (p50/p99/max), every variant in alternation.
    Fanout {
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
        /// Only these variants (default: all).
        #[arg(long, value_enum)]
        only: Vec<Variant>,
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
    },
    /// Everything BENCHMARKS.md shows, from one run: bursts at 64 B, 1 KiB, 16 KiB and
    /// 64 KiB, fan-out at full speed and at 100 events/s, idle memory. Writes the
    /// Markdown and its SVG charts.
    Report {
        /// Rounds per variant and workload.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// The Markdown file to write; the charts go into `benchmarks/` beside it.
        #[arg(long, default_value = "BENCHMARKS.md")]
        out: PathBuf,
    },
    /// Idle memory: the server's resident memory per open, idle event stream, at each
    /// number of connections (every variant in alternation).
    Memory {
        /// Where to write the JSON results.
        #[arg(long, default_value = "target/compare-memory.json")]
        json: PathBuf,
        /// Numbers of idle connections to measure at.
        #[arg(long, value_delimiter = ',', default_value = "1000,5000")]
        connections: Vec<usize>,
        /// Only these variants (default: all).
        #[arg(long, value_enum)]
        only: Vec<Variant>,
    },
    /// Fan-out through Redis: subscribers spread over two instances of the sse-axum
    /// app on the sse-redis backplane, events published on one of them; next to the
    /// same workload on one instance with the in-process hub, in alternation.
    RedisFanout {
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
    },
    /// Serve the sse-axum fan-out app as one instance on the Redis backplane (used by
    /// `redis-fanout`).
    ServeRedis {
        /// Port on 127.0.0.1.
        #[arg(long)]
        port: u16,
        /// The Redis server.
        #[arg(long)]
        redis: String,
        /// The prefix of the stream keys (instances that share it share the events).
        #[arg(long)]
        prefix: String,
    },
    /// The attacks of the robustness work against the chat example, with figures:
    /// memory per far-back resume (with Redis), the stop with stalled readers, the
    /// file descriptors slowloris clients hold. Prints a table, writes JSON.
    Reliability {
        /// A Redis server for the far-back resumes (default: `SSE_REDIS_URL`; without
        /// either they are skipped).
        #[arg(long)]
        redis: Option<String>,
        /// Where to write the JSON results.
        #[arg(long, default_value = "target/compare-reliability.json")]
        json: PathBuf,
    },
    /// Serve the chat example (`axum-broadcast`; used by `reliability`): its own hub,
    /// or one instance on Redis with `--redis`. Stops on SIGTERM, with a 5 s grace.
    ServeBroadcast {
        /// Port on 127.0.0.1.
        #[arg(long)]
        port: u16,
        /// The Redis server, if any.
        #[arg(long)]
        redis: Option<String>,
        /// With `--redis`: the prefix of the stream keys.
        #[arg(long, default_value = "sse-broadcast:")]
        prefix: String,
    },
    /// Serve one variant (used by `bench`, which starts each server pinned to core 0).
    Serve {
        /// Which server and SSE implementation.
        #[arg(long, value_enum)]
        variant: Variant,
        /// Port on 127.0.0.1.
        #[arg(long)]
        port: u16,
        /// Serve HTTPS (HTTP/2 or HTTP/1.1 by ALPN) with this PEM certificate chain.
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The PEM private key of `--tls-cert`.
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
    /// Bursts over HTTPS and HTTP/2, measured by h2load (nghttp2's client, which the
    /// project did not write): many streams on one connection, and one stream per
    /// connection, every variant in alternation; events/s and server CPU per event.
    /// Then fan-out over HTTP/2 (our client): deliveries/s, latency, CPU per delivery.
    H2 {
        /// Rounds per variant; medians, ratios paired by round.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Events per stream.
        #[arg(long, default_value_t = 20_000)]
        events: u64,
        /// Bytes of data per event.
        #[arg(long, default_value_t = 64)]
        size: usize,
        /// Streams per run: on one connection, or one per connection.
        #[arg(long, default_value_t = 10)]
        streams: usize,
        /// Subscribers of the fan-out (each on a TLS connection of its own); 1000
        /// events of 64 bytes are published as fast as possible.
        #[arg(long, default_value_t = 1000)]
        subscribers: usize,
        /// Where to write the JSON results.
        #[arg(long, default_value = "target/compare-h2.json")]
        json: PathBuf,
    },
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

fn run() -> std::io::Result<()> {
    let command = Cli::parse().command.unwrap_or(Cmd::Live {
        port: 8083,
        interval_ms: 1000,
        count: 100,
    });
    match command {
        Cmd::Live {
            port,
            interval_ms,
            count,
        } => compare::live::run(
            port,
            Duration::from_millis(interval_ms),
            count,
            std::env::current_exe()?,
        ),
        Cmd::Fanout {
            subscribers,
            events,
            rate,
            size,
            rounds,
            only,
            json,
            at,
            json_lines,
        } => {
            JSON_LINES.store(json_lines, Ordering::Relaxed);
            let publish = compare::fanout::Publish {
                n: events.clamp(1, 4096),
                size: size.max(20),
                rate,
            };
            if let Some(addr) = at {
                let result = client_runtime()?.block_on(compare::fanout::run_fanout(
                    addr,
                    subscribers.max(1),
                    publish,
                    None,
                ))?;
                println!("{addr}: {}", fanout_summary(&result));
                return Ok(());
            }
            let variants = all_if_empty(only);
            let rows = fanout(&variants, rounds.max(1), subscribers.max(1), publish)?;
            let report = report::fanout_json(&rows, subscribers.max(1), publish, rounds.max(1));
            if json_lines {
                emit(&serde_json::json!({ "kind": "done", "report": report }));
            } else {
                print!(
                    "{}",
                    report::fanout_table(&rows, subscribers.max(1), publish, rounds.max(1))
                );
            }
            write_json_to(json, "target/compare-fanout.json", &report)
        }
        Cmd::Report { rounds, out } => report::run(rounds.max(1), &out),
        Cmd::Memory {
            connections,
            only,
            json,
        } => {
            let variants = all_if_empty(only);
            let table = memory(&variants, &connections)?;
            print!("{}", report::memory_table(&table));
            write_json(&json, &report::memory_json(&table))
        }
        Cmd::ServeRedis {
            port,
            redis,
            prefix,
        } => compare::serve_redis(
            SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            &redis,
            &prefix,
        ),
        Cmd::RedisFanout {
            redis,
            subscribers,
            events,
            rate,
            size,
            rounds,
            json,
        } => {
            let redis = redis
                .or_else(|| std::env::var("SSE_REDIS_URL").ok())
                .unwrap_or_else(|| "redis://127.0.0.1:6379/".to_owned());
            let publish = compare::fanout::Publish {
                n: events.clamp(1, 4096),
                size: size.max(20),
                rate,
            };
            redis_fanout(&redis, rounds.max(1), subscribers.max(2), publish, &json)
        }
        Cmd::Reliability { redis, json } => {
            let redis = redis.or_else(|| std::env::var("SSE_REDIS_URL").ok());
            reliability::run(redis.as_deref(), &json)
        }
        Cmd::ServeBroadcast {
            port,
            redis,
            prefix,
        } => serve_broadcast(port, redis.as_deref(), &prefix),
        Cmd::Serve {
            variant,
            port,
            tls_cert,
            tls_key,
        } => {
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => Some(sse_rs::server::tls_config(&cert, &key)?),
                _ => None,
            };
            compare::serve(variant, SocketAddr::from((Ipv4Addr::LOCALHOST, port)), tls)
        }
        Cmd::H2 {
            rounds,
            events,
            size,
            streams,
            subscribers,
            json,
        } => h2::run(
            rounds.max(1),
            Burst { n: events, size },
            streams.max(1),
            subscribers.max(1),
            &json,
        ),
        Cmd::Bench {
            rounds,
            events,
            sizes,
            max_bytes,
            connections,
            only,
            json,
            json_lines,
        } => {
            JSON_LINES.store(json_lines, Ordering::Relaxed);
            let variants = if only.is_empty() {
                Variant::BURST.to_vec()
            } else {
                only
            };
            let plan = BenchPlan {
                rounds: rounds.max(1),
                events,
                sizes,
                max_bytes,
                connections: connections.max(1),
            };
            let results = bench(&variants, &plan)?;
            let report = report::burst_json(&results);
            if json_lines {
                emit(&serde_json::json!({ "kind": "done", "report": report }));
            } else {
                for result in &results {
                    print!("{}", report::burst_table(result));
                }
            }
            write_json_to(json, "target/compare-bench.json", &report)
        }
    }
}

/// `compare serve-broadcast`: the chat example until SIGTERM or Ctrl-C.
fn serve_broadcast(port: u16, redis: Option<&str>, prefix: &str) -> std::io::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let broker: axum_broadcast::Broker = match redis {
                None => sse_axum::hub::Hub::new().into(),
                Some(url) => {
                    let client =
                        sse_redis::redis::Client::open(url).map_err(std::io::Error::other)?;
                    sse_redis::RedisHub::builder(client)
                        .key_prefix(prefix)
                        .connect()
                        .await
                        .map_err(std::io::Error::other)?
                        .into()
                }
            };
            let listener =
                tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
                    .await?;
            axum_broadcast::serve(
                listener,
                broker,
                Duration::from_secs(1),
                sse_axum::shutdown::os_signal(),
                axum_broadcast::SHUTDOWN_GRACE,
            )
            .await
        })
}

/// Whether progress and results go to stdout as JSON lines (`--json-lines`).
static JSON_LINES: AtomicBool = AtomicBool::new(false);

fn json_lines() -> bool {
    JSON_LINES.load(Ordering::Relaxed)
}

/// Prints `value` as one line of JSON on stdout, at once (a reader waits for it).
fn emit(value: &serde_json::Value) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{value}");
    let _ = stdout.flush();
}

/// A server process, ended when dropped.
struct Server(pub(crate) Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn has_taskset() -> bool {
    Command::new("taskset")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn start(variant: Variant, pinned: bool) -> std::io::Result<(Server, SocketAddr)> {
    start_variant(variant, None, pinned)
}

/// Starts `compare serve` for `variant`, over HTTPS with `tls` (PEM certificate and
/// key files) if given.
fn start_variant(
    variant: Variant,
    tls: Option<(&str, &str)>,
    pinned: bool,
) -> std::io::Result<(Server, SocketAddr)> {
    let value = clap::ValueEnum::to_possible_value(&variant)
        .map(|v| v.get_name().to_owned())
        .unwrap_or_default();
    let mut args = vec!["serve", "--variant", &value];
    if let Some((cert, key)) = tls {
        args.extend(["--tls-cert", cert, "--tls-key", key]);
    }
    start_with(variant.name(), &args, pinned)
}

/// Starts `compare <args> --port <free port>` and waits until it accepts connections.
fn start_with(name: &str, args: &[&str], pinned: bool) -> std::io::Result<(Server, SocketAddr)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let exe = std::env::current_exe()?;
    let mut command = if pinned {
        let mut command = Command::new("taskset");
        command.args(["-c", "0"]).arg(exe);
        command
    } else {
        Command::new(exe)
    };
    let child = command
        .args(args)
        .args(["--port", &port.to_string()])
        .stdout(Stdio::null())
        .spawn()?;
    let server = Server(child);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    for _ in 0..200 {
        if std::net::TcpStream::connect(addr).is_ok() {
            return Ok((server, addr));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    Err(std::io::Error::other(format!("{name} did not start")))
}

/// Runs `work` to its end; with `report`, calls it at once and every `period` until
/// then (the progress lines of `--json-lines`).
async fn reporting<F: std::future::Future>(
    work: F,
    period: Duration,
    report: Option<impl FnMut()>,
) -> F::Output {
    let Some(mut report) = report else {
        return work.await;
    };
    tokio::pin!(work);
    let mut tick = tokio::time::interval(period);
    loop {
        tokio::select! {
            output = &mut work => return output,
            _ = tick.tick() => report(),
        }
    }
}

/// `value`, or `None` (JSON `null`) when it is not a number (no delivery yet).
fn finite(value: f64) -> Option<f64> {
    value.is_finite().then_some(value)
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

/// The variants named with `--only` (those that serve the whole workload), or every
/// such variant.
fn all_if_empty(only: Vec<Variant>) -> Vec<Variant> {
    if only.is_empty() {
        Variant::ALL.to_vec()
    } else {
        only.into_iter().filter(|v| v.serves_fanout()).collect()
    }
}

/// The client's runtime: one worker thread (the process is pinned to one core).
fn client_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
}

/// One fan-out result on one line.
fn fanout_summary(result: &compare::fanout::FanoutResult) -> String {
    format!(
        "{:>7.3} M deliveries/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        result.deliveries as f64 / result.seconds / 1e6,
        result.latency_ms(0.5),
        result.latency_ms(0.99),
        result.latency_ms(1.0)
    )
}

/// Shows how far a run is: a bar redrawn in place on a terminal, one line per step
/// otherwise (logs, CI).
fn progress(done: usize, total: usize, text: &str) {
    use std::io::{IsTerminal, Write};
    let width = 24;
    let filled = width * done / total.max(1);
    let bar = format!(
        "[{}{}] {done:>3}/{total}",
        "#".repeat(filled),
        "-".repeat(width - filled)
    );
    let mut stderr = std::io::stderr();
    if stderr.is_terminal() {
        let _ = write!(stderr, "\r\x1b[2K{bar} {text}");
        if done == total {
            let _ = writeln!(stderr);
        }
        let _ = stderr.flush();
    } else {
        let _ = writeln!(stderr, "{bar} {text}");
    }
}

/// The resident memory of process `pid`, in bytes.
fn rss(pid: u32) -> std::io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .ok_or_else(|| std::io::Error::other("no VmRSS"))
}

/// Idle memory per stream: (connections, variant, bytes per connection).
fn memory(
    variants: &[Variant],
    connections: &[usize],
) -> std::io::Result<Vec<(usize, Variant, f64)>> {
    let pinned = pin_client();
    let runtime = client_runtime()?;
    let mut table = Vec::new();
    let total = connections.len() * variants.len();
    let mut done = 0;
    for &count in connections {
        for &variant in variants {
            let (server, addr) = start(variant, pinned)?;
            let pid = server.0.id();
            let per_connection = runtime.block_on(async {
                // Warm up the server's allocator and accept path with one stream.
                let before = {
                    let _one = compare::fanout::open_idle(addr, 1).await?;
                    std::thread::sleep(Duration::from_millis(200));
                    rss(pid)?
                };
                let streams = compare::fanout::open_idle(addr, count).await?;
                std::thread::sleep(Duration::from_millis(500));
                let after = rss(pid)?;
                drop(streams);
                Ok::<_, std::io::Error>(after.saturating_sub(before) as f64 / count as f64)
            })?;
            drop(server);
            done += 1;
            progress(
                done,
                total,
                &format!(
                    "{count:>6} idle streams: {:<18} {:>8.1} KiB per connection",
                    variant.name(),
                    per_connection / 1024.0
                ),
            );
            table.push((count, variant, per_connection));
        }
    }
    Ok(table)
}

fn pin_client() -> bool {
    let pinned = has_taskset();
    if pinned {
        // The client (this process) on core 1, every server on core 0.
        let _ = Command::new("taskset")
            .args(["-p", "-c", "1", &std::process::id().to_string()])
            .stdout(Stdio::null())
            .status();
    } else {
        eprintln!("taskset not found: server and client are not pinned to separate cores");
    }
    pinned
}

#[derive(serde::Serialize)]
struct FanoutRow {
    variant: &'static str,
    #[serde(skip)]
    of: Option<Variant>,
    deliveries_per_second: Vec<f64>,
    p50_ms: Vec<f64>,
    p99_ms: Vec<f64>,
    max_ms: Vec<f64>,
    /// The server's CPU time per delivery, in nanoseconds.
    cpu_ns_per_delivery: Vec<f64>,
}

impl FanoutRow {
    fn new(variant: &'static str, of: Option<Variant>) -> Self {
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

    fn push(&mut self, result: &compare::fanout::FanoutResult) {
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
enum Transport<'a> {
    /// Plain HTTP/1.1.
    Http1,
    /// HTTPS and HTTP/2: the servers' PEM certificate and key files, and a client
    /// config that trusts the certificate.
    Http2 {
        cert: &'a str,
        key: &'a str,
        client: std::sync::Arc<sse_rs::server::rustls::ClientConfig>,
    },
}

fn fanout(
    variants: &[Variant],
    rounds: usize,
    subscribers: usize,
    publish: compare::fanout::Publish,
) -> std::io::Result<Vec<FanoutRow>> {
    fanout_over(&Transport::Http1, variants, rounds, subscribers, publish)
}

fn fanout_over(
    transport: &Transport<'_>,
    variants: &[Variant],
    rounds: usize,
    subscribers: usize,
    publish: compare::fanout::Publish,
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
                    fanout_summary(&result),
                    result.server_cpu_ns.unwrap_or(0) as f64 / result.deliveries.max(1) as f64
                ),
            );
            rows[i].push(&result);
        }
    }
    Ok(rows)
}

/// `redis-fanout`: two instances on the Redis backplane next to one in-process hub.
fn redis_fanout(
    redis: &str,
    rounds: usize,
    subscribers: usize,
    publish: compare::fanout::Publish,
    json: &std::path::Path,
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
                &format!("round {round}: {name:<38} {}", fanout_summary(&result)),
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

/// Writes `report` to `json`, or to `default` unless the results went to stdout as
/// JSON lines.
fn write_json_to(
    json: Option<PathBuf>,
    default: &str,
    report: &serde_json::Value,
) -> std::io::Result<()> {
    match json {
        Some(json) => write_json(&json, report),
        None if json_lines() => Ok(()),
        None => write_json(std::path::Path::new(default), report),
    }
}

/// Writes `report` to `json` (creating its folder) and says where.
fn write_json(json: &std::path::Path, report: &serde_json::Value) -> std::io::Result<()> {
    if let Some(dir) = json.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(
        json,
        serde_json::to_vec_pretty(report).map_err(std::io::Error::other)?,
    )?;
    eprintln!("\nJSON: {}", json.display());
    Ok(())
}

/// What `bench` runs.
struct BenchPlan {
    rounds: usize,
    events: u64,
    sizes: Vec<usize>,
    max_bytes: usize,
    connections: usize,
}

/// One variant's bursts at one event size.
#[derive(Clone, serde::Serialize)]
struct BurstRow {
    variant: &'static str,
    #[serde(skip)]
    of: Variant,
    events_per_second: Vec<f64>,
    /// The server's CPU time per event, in nanoseconds.
    cpu_ns_per_event: Vec<f64>,
}

/// Every variant's bursts at one event size.
#[derive(Clone, serde::Serialize)]
struct BurstResult {
    size: usize,
    events: u64,
    connections: usize,
    rounds: usize,
    pinned: bool,
    rows: Vec<BurstRow>,
}

/// How many events a burst of `size`-byte events has: `events`, fewer for large
/// events so that a connection carries at most `max_bytes` of data, at least 1000.
fn events_for(size: usize, events: u64, max_bytes: usize) -> u64 {
    let fit = (max_bytes / size.max(1)) as u64;
    events.min(fit).max(1000)
}

fn bench(variants: &[Variant], plan: &BenchPlan) -> std::io::Result<Vec<BurstResult>> {
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
