//! `cargo run --release -p compare -- bench`: our adapters against each framework's
//! built-in SSE on the same workload, side by side, servers in alternation, server and
//! client on different cores.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use clap::{Parser, Subcommand};
use compare::{read_burst, Burst, Variant};

mod reliability;

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
    /// Run every variant in alternation and print a Markdown table (and write JSON).
    Bench {
        /// Rounds per variant; the table shows the median with min-max.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Events per connection in a burst.
        #[arg(long, default_value_t = 200_000)]
        events: u64,
        /// Bytes of data per event.
        #[arg(long, default_value_t = 64)]
        size: usize,
        /// Concurrent connections per burst.
        #[arg(long, default_value_t = 1)]
        connections: usize,
        /// Only these variants (default: all).
        #[arg(long, value_enum)]
        only: Vec<Variant>,
        /// Where to write the JSON results.
        #[arg(long, default_value = "target/compare-bench.json")]
        json: PathBuf,
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
        /// Where to write the JSON results.
        #[arg(long, default_value = "target/compare-fanout.json")]
        json: PathBuf,
        /// Measure a server that is already running at this address (for example
        /// `compare serve` under `strace -c` or `perf`) instead of starting each
        /// variant; `--only` then names it (one variant).
        #[arg(long)]
        at: Option<SocketAddr>,
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
    },
}

fn main() -> std::io::Result<()> {
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
        } => compare::live::run(port, Duration::from_millis(interval_ms), count),
        Cmd::Fanout {
            subscribers,
            events,
            rate,
            size,
            rounds,
            only,
            json,
            at,
        } => {
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
                ))?;
                println!("{addr}: {}", fanout_summary(&result));
                return Ok(());
            }
            let variants = all_if_empty(only);
            fanout(&variants, rounds.max(1), subscribers.max(1), publish, &json)
        }
        Cmd::Memory {
            connections,
            only,
            json,
        } => {
            let variants = all_if_empty(only);
            memory(&variants, &connections, &json)
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
        Cmd::Serve { variant, port } => {
            compare::serve(variant, SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        }
        Cmd::Bench {
            rounds,
            events,
            size,
            connections,
            only,
            json,
        } => {
            let variants = all_if_empty(only);
            let burst = Burst { n: events, size };
            bench(&variants, rounds.max(1), burst, connections.max(1), &json)
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

/// A server process, ended when dropped.
struct Server(Child);

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
    let value = clap::ValueEnum::to_possible_value(&variant)
        .map(|v| v.get_name().to_owned())
        .unwrap_or_default();
    start_with(variant.name(), &["serve", "--variant", &value], pinned)
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

#[derive(serde::Serialize)]
struct Row {
    variant: &'static str,
    events_per_second: Vec<f64>,
    median: f64,
    reference: Option<&'static str>,
    ratio_to_reference: Option<f64>,
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

/// The variants named with `--only`, or every variant.
fn all_if_empty(only: Vec<Variant>) -> Vec<Variant> {
    if only.is_empty() {
        Variant::ALL.to_vec()
    } else {
        only
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

fn memory(
    variants: &[Variant],
    connections: &[usize],
    json: &std::path::Path,
) -> std::io::Result<()> {
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
    println!(
        "\nIdle memory: server RSS growth per open, idle event stream{}\n",
        if pinned {
            ", server on core 0, client on core 1"
        } else {
            ""
        }
    );
    println!("| variant | connections | KiB per connection |");
    println!("|---|---|---|");
    for &(count, variant, bytes) in &table {
        println!("| {} | {count} | {:.1} |", variant.name(), bytes / 1024.0);
    }
    let results: Vec<_> = table
        .iter()
        .map(|(count, variant, bytes)| serde_json::json!({ "variant": variant.name(), "connections": count, "bytes_per_connection": bytes }))
        .collect();
    let report = serde_json::json!({ "workload": { "kind": "idle-memory", "pinned": pinned }, "results": results });
    write_json(json, &report)
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
    deliveries_per_second: Vec<f64>,
    p50_ms: Vec<f64>,
    p99_ms: Vec<f64>,
    max_ms: Vec<f64>,
}

fn fanout(
    variants: &[Variant],
    rounds: usize,
    subscribers: usize,
    publish: compare::fanout::Publish,
    json: &std::path::Path,
) -> std::io::Result<()> {
    let pinned = pin_client();
    let runtime = client_runtime()?;
    let total = rounds * variants.len();
    let mut rows: Vec<FanoutRow> = variants
        .iter()
        .map(|v| FanoutRow {
            variant: v.name(),
            deliveries_per_second: vec![],
            p50_ms: vec![],
            p99_ms: vec![],
            max_ms: vec![],
        })
        .collect();
    let mut done = 0;
    for round in 1..=rounds {
        for (i, &variant) in variants.iter().enumerate() {
            let (server, addr) = start(variant, pinned)?;
            let result =
                runtime.block_on(compare::fanout::run_fanout(addr, subscribers, publish))?;
            drop(server);
            done += 1;
            let rate = result.deliveries as f64 / result.seconds;
            progress(
                done,
                total,
                &format!(
                "round {round}: {:<18} {:>7.3} M deliveries/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
                variant.name(),
                rate / 1e6,
                result.latency_ms(0.5),
                result.latency_ms(0.99),
                result.latency_ms(1.0)
            ),
            );
            let row = &mut rows[i];
            row.deliveries_per_second.push(rate);
            row.p50_ms.push(result.latency_ms(0.5));
            row.p99_ms.push(result.latency_ms(0.99));
            row.max_ms.push(result.latency_ms(1.0));
        }
    }
    let rate = if publish.rate == 0 {
        "as fast as possible".to_owned()
    } else {
        format!("{} per second", publish.rate)
    };
    println!(
        "\nFan-out: {} subscribers, {} events of {} bytes {}, {} round(s), medians{}\n",
        subscribers,
        publish.n,
        publish.size,
        rate,
        rounds,
        if pinned {
            ", server on core 0, client on core 1"
        } else {
            " (not pinned: no taskset)"
        }
    );
    println!("| variant | deliveries/s | p50 | p99 | max | ours / built-in (deliveries/s) |");
    println!("|---|---|---|---|---|---|");
    let medians: Vec<f64> = rows
        .iter()
        .map(|r| median(&r.deliveries_per_second))
        .collect();
    for ((row, &variant), &rate) in rows.iter().zip(variants).zip(&medians) {
        let ratio = variant
            .reference()
            .and_then(|r| variants.iter().position(|v| *v == r))
            .map(|at| format!("{:.2}x {}", rate / medians[at], variants[at].name()))
            .unwrap_or_default();
        println!(
            "| {} | {:.3} M | {:.2} ms | {:.2} ms | {:.2} ms | {} |",
            row.variant,
            rate / 1e6,
            median(&row.p50_ms),
            median(&row.p99_ms),
            median(&row.max_ms),
            ratio
        );
    }
    let report = serde_json::json!({
        "workload": { "kind": "fanout", "subscribers": subscribers, "events": publish.n, "size": publish.size, "rate": publish.rate, "rounds": rounds, "pinned": pinned },
        "results": rows,
    });
    write_json(json, &report)
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
        .map(|name| FanoutRow {
            variant: name,
            deliveries_per_second: vec![],
            p50_ms: vec![],
            p99_ms: vec![],
            max_ms: vec![],
        })
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
            ))?;
            drop(servers);
            done += 1;
            progress(
                done,
                total,
                &format!("round {round}: {name:<38} {}", fanout_summary(&result)),
            );
            let row = &mut rows[i];
            row.deliveries_per_second
                .push(result.deliveries as f64 / result.seconds);
            row.p50_ms.push(result.latency_ms(0.5));
            row.p99_ms.push(result.latency_ms(0.99));
            row.max_ms.push(result.latency_ms(1.0));
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

fn bench(
    variants: &[Variant],
    rounds: usize,
    burst: Burst,
    connections: usize,
    json: &std::path::Path,
) -> std::io::Result<()> {
    let pinned = pin_client();
    let runtime = client_runtime()?;
    let total = rounds * variants.len();
    let mut results: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    let mut done = 0;
    for round in 1..=rounds {
        for (i, &variant) in variants.iter().enumerate() {
            let (server, addr) = start(variant, pinned)?;
            let rate = runtime.block_on(async {
                // Warm-up: connections, allocator, caches.
                read_burst(
                    addr,
                    Burst {
                        n: 1000,
                        size: burst.size,
                    },
                )
                .await?;
                let start = std::time::Instant::now();
                let mut tasks = Vec::new();
                for _ in 0..connections {
                    tasks.push(tokio::spawn(read_burst(addr, burst)));
                }
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
                Ok::<_, std::io::Error>(events as f64 / start.elapsed().as_secs_f64())
            })?;
            drop(server);
            done += 1;
            progress(
                done,
                total,
                &format!(
                    "round {round}: {:<18} {:>7.2} M events/s",
                    variant.name(),
                    rate / 1e6
                ),
            );
            results[i].push(rate);
        }
    }

    let medians: Vec<f64> = results.iter().map(|r| median(r)).collect();
    let rows: Vec<Row> = variants
        .iter()
        .zip(&results)
        .zip(&medians)
        .map(|((&variant, rates), &median)| {
            let reference = variant.reference();
            let ratio = reference
                .and_then(|r| variants.iter().position(|v| *v == r))
                .map(|at| median / medians[at]);
            Row {
                variant: variant.name(),
                events_per_second: rates.clone(),
                median,
                reference: reference.map(Variant::name),
                ratio_to_reference: ratio,
            }
        })
        .collect();

    println!(
        "\nBurst: {} events of {} bytes per connection, {} connection(s), {} round(s), server on core 0, client on core 1{}\n",
        burst.n,
        burst.size,
        connections,
        rounds,
        if pinned { "" } else { " (not pinned: no taskset)" }
    );
    println!("| variant | events/s (median) | min - max | ours / built-in |");
    println!("|---|---|---|---|");
    for row in &rows {
        let min = row
            .events_per_second
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        let max = row.events_per_second.iter().copied().fold(0.0, f64::max);
        let ratio = match (row.ratio_to_reference, row.reference) {
            (Some(ratio), Some(reference)) => format!("{ratio:.2}x {reference}"),
            _ => String::new(),
        };
        println!(
            "| {} | {:.2} M | {:.2} - {:.2} M | {} |",
            row.variant,
            row.median / 1e6,
            min / 1e6,
            max / 1e6,
            ratio
        );
    }
    let report = serde_json::json!({
        "workload": { "kind": "burst", "events": burst.n, "size": burst.size, "connections": connections, "rounds": rounds, "pinned": pinned },
        "results": rows,
    });
    write_json(json, &report)
}
