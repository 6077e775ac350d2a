//! `compare h2`: bursts over HTTPS and HTTP/2 against every variant, measured by
//! h2load, with the server's CPU time per event.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use compare::{Burst, Variant};

use crate::cli::fanout::{fanout_over, Transport};
use crate::cli::output::{progress, write_json};
use crate::cli::process::{pin_client, start_variant};
use crate::cli::tables::{self, median};

/// The arguments of `compare h2`.
#[derive(clap::Args)]
pub(crate) struct H2Args {
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
}

/// Runs [`measure`] with at least one round, stream and subscriber.
pub(crate) fn run(args: H2Args) -> std::io::Result<()> {
    measure(
        args.rounds.max(1),
        Burst {
            n: args.events,
            size: args.size,
        },
        args.streams.max(1),
        args.subscribers.max(1),
        &args.json,
    )
}

/// One way to spread the streams: `connections` connections, `per_connection`
/// streams at once on each.
#[derive(Clone, Copy, serde::Serialize)]
struct Shape {
    name: &'static str,
    connections: usize,
    per_connection: usize,
}

/// One variant's runs of one shape.
#[derive(Clone, serde::Serialize)]
struct Row {
    variant: &'static str,
    shape: &'static str,
    events_per_second: Vec<f64>,
    cpu_ns_per_event: Vec<f64>,
}

/// What one h2load run reported.
#[derive(Debug, PartialEq)]
pub(crate) struct H2load {
    pub(crate) seconds: f64,
    pub(crate) succeeded: u64,
    pub(crate) data_bytes: u64,
}

/// Reads h2load's summary: `finished in 1.23s` (or ms, us), `requests: ... N
/// succeeded`, `traffic: ... (BYTES) data`.
pub(crate) fn parse(output: &str) -> Option<H2load> {
    let finished = output.split("finished in ").nth(1)?;
    let time = finished.split(',').next()?.trim();
    let (number, scale) = if let Some(n) = time.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = time.strip_suffix("us") {
        (n, 1e-6)
    } else {
        (time.strip_suffix('s')?, 1.0)
    };
    let seconds = number.parse::<f64>().ok()? * scale;
    let requests = output.lines().find(|l| l.starts_with("requests:"))?;
    let succeeded = requests
        .split(',')
        .find_map(|part| part.trim().strip_suffix(" succeeded"))?
        .trim()
        .parse()
        .ok()?;
    let traffic = output.lines().find(|l| l.starts_with("traffic:"))?;
    let data = traffic.rsplit(',').next()?.trim();
    let data_bytes = data.split('(').nth(1)?.split(')').next()?.parse().ok()?;
    Some(H2load {
        seconds,
        succeeded,
        data_bytes,
    })
}

/// The body bytes of one `/burst`: `id: N\nevent: tick\ndata: <size>\n\n` per event
/// (every variant writes these fields, in some order).
pub(crate) fn burst_bytes(burst: Burst) -> u64 {
    (1..=burst.n)
        .map(|id| {
            let digits = id.to_string().len();
            (4 + digits + 1 + 12 + 6 + burst.size + 1 + 1) as u64
        })
        .sum()
}

/// The body bytes of one `/burst` from `variant`: warp's built-in writes its fields
/// without the space after the colon (`data:x`), 3 bytes fewer per event.
pub(crate) fn expected_bytes(variant: Variant, burst: Burst) -> u64 {
    let bytes = burst_bytes(burst);
    if variant == Variant::WarpBuiltin {
        bytes - 3 * burst.n
    } else {
        bytes
    }
}

fn h2load(pinned: bool, shape: Shape, url: &str) -> std::io::Result<H2load> {
    let streams = shape.connections * shape.per_connection;
    let mut command = if pinned {
        let mut command = Command::new("taskset");
        command.args(["-c", "1", "h2load"]);
        command
    } else {
        Command::new("h2load")
    };
    let output = command
        .args(["-n", &streams.to_string()])
        .args(["-c", &shape.connections.to_string()])
        .args(["-m", &shape.per_connection.to_string()])
        // A server that stops sending fails the run instead of hanging it.
        .args(["--connection-inactivity-timeout", "30"])
        .arg(url)
        .output()
        .map_err(|e| std::io::Error::other(format!("h2load (Debian: nghttp2-client): {e}")))?;
    let text = String::from_utf8_lossy(&output.stdout);
    parse(&text).ok_or_else(|| std::io::Error::other(format!("unreadable h2load output: {text}")))
}

/// The bursts over HTTP/2 by h2load, then the fan-out over HTTP/2; prints the
/// tables and writes JSON.
fn measure(
    rounds: usize,
    burst: Burst,
    streams: usize,
    subscribers: usize,
    json: &Path,
) -> std::io::Result<()> {
    let shapes = [
        Shape {
            name: "1 connection",
            connections: 1,
            per_connection: streams,
        },
        Shape {
            name: "1 stream per connection",
            connections: streams,
            per_connection: 1,
        },
    ];
    let (cert, key) = compare::self_signed(Path::new("target/tmp/compare-tls"))?;
    let (cert, key) = (cert.display().to_string(), key.display().to_string());
    let pinned = pin_client();
    let variants = Variant::ALL;
    let mut rows: Vec<Row> = shapes
        .iter()
        .flat_map(|shape| {
            variants.iter().map(|v| Row {
                variant: v.name(),
                shape: shape.name,
                events_per_second: vec![],
                cpu_ns_per_event: vec![],
            })
        })
        .collect();
    let total = rounds * variants.len() * shapes.len();
    let mut done = 0;
    for round in 1..=rounds {
        for (v, &variant) in variants.iter().enumerate() {
            let (server, addr) = start_variant(variant, Some((&cert, &key)), pinned)?;
            let pid = server.0.id();
            let expected = expected_bytes(variant, burst) * streams as u64;
            let url = format!("https://{addr}/burst?n={}&size={}", burst.n, burst.size);
            let warm = format!("https://{addr}/burst?n=1000&size={}", burst.size);
            for (s, &shape) in shapes.iter().enumerate() {
                h2load(pinned, shape, &warm)?;
                let before = compare::cpu_ns(pid)?;
                let result = h2load(pinned, shape, &url)?;
                let cpu = compare::cpu_ns(pid)?.saturating_sub(before);
                if result.succeeded != streams as u64 || result.data_bytes != expected {
                    return Err(std::io::Error::other(format!(
                        "{} ({}): {} of {streams} streams, {} of {expected} data bytes",
                        variant.name(),
                        shape.name,
                        result.succeeded,
                        result.data_bytes
                    )));
                }
                let events = (burst.n * streams as u64) as f64;
                let row = &mut rows[s * variants.len() + v];
                row.events_per_second.push(events / result.seconds);
                row.cpu_ns_per_event.push(cpu as f64 / events);
                done += 1;
                progress(
                    done,
                    total,
                    &format!(
                        "round {round}: {:<20} {:<24} {:>7.3} M events/s {:>6.0} ns CPU per event",
                        variant.name(),
                        shape.name,
                        events / result.seconds / 1e6,
                        cpu as f64 / events
                    ),
                );
            }
            drop(server);
        }
    }
    print!(
        "{}",
        table(&rows, &variants, &shapes, burst, streams, rounds)
    );

    // Fan-out: every subscriber on a TLS connection of its own, as browser tabs are.
    let transport = Transport::Http2 {
        cert: &cert,
        key: &key,
        client: compare::fanout_h2::client_config(Path::new(&cert))?,
    };
    let publish = compare::fanout::Publish {
        n: 1000,
        size: 64,
        rate: 0,
    };
    let fan = fanout_over(&transport, &variants, rounds, subscribers, publish)?;
    println!("\nOver HTTPS and HTTP/2, each subscriber on a TLS connection of its own:");
    print!(
        "{}",
        tables::fanout_table(&fan, subscribers, publish, rounds)
    );
    let report = serde_json::json!({
        "workload": { "kind": "h2-burst", "events": burst.n, "size": burst.size, "streams": streams, "rounds": rounds, "pinned": pinned },
        "shapes": shapes,
        "results": rows,
        "fanout": tables::fanout_json(&fan, subscribers, publish, rounds),
    });
    write_json(json, &report)
}

fn table(
    rows: &[Row],
    variants: &[Variant],
    shapes: &[Shape],
    burst: Burst,
    streams: usize,
    rounds: usize,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nHTTPS, HTTP/2 by ALPN, h2load as the client: {streams} streams of {} events of {} bytes, {rounds} round(s), medians (ratios: the median of each round's ratio)\n",
        burst.n, burst.size
    );
    out.push_str("| variant | streams | events/s | server CPU per event | server CPU, built-in / ours |\n|---|---|---|---|---|\n");
    for (s, shape) in shapes.iter().enumerate() {
        let block = &rows[s * variants.len()..(s + 1) * variants.len()];
        for (row, variant) in block.iter().zip(variants) {
            let versus = variant
                .reference()
                .and_then(|r| variants.iter().position(|v| *v == r))
                .map(|at| {
                    let ratios: Vec<f64> = block[at]
                        .cpu_ns_per_event
                        .iter()
                        .zip(&row.cpu_ns_per_event)
                        .map(|(reference, ours)| reference / ours)
                        .collect();
                    format!("{:.2}x less than {}", median(&ratios), block[at].variant)
                })
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "| {} | {} | {:.3} M | {:.0} ns | {versus} |",
                row.variant,
                shape.name,
                median(&row.events_per_second) / 1e6,
                median(&row.cpu_ns_per_event)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h2load_s_summary_is_read() {
        let output = "starting benchmark...\nfinished in 12.34ms, 810.37 req/s, 1.23MB/s\n\
            requests: 10 total, 10 started, 10 done, 9 succeeded, 1 failed, 0 errored, 0 timeout\n\
            status codes: 10 2xx, 0 3xx, 0 4xx, 0 5xx\n\
            traffic: 1.19MB (1250140) total, 1.02KB (1040) headers (space savings 90.00%), 1.19MB (1248000) data\n";
        assert_eq!(
            parse(output),
            Some(H2load {
                seconds: 0.01234,
                succeeded: 9,
                data_bytes: 1_248_000
            })
        );
        assert!(parse("finished in 2.5s, x\n").is_none(), "no requests line");
    }

    #[test]
    fn a_burst_s_bytes_are_counted_per_event() {
        // "id: 1\nevent: tick\ndata: xx\n\n" is 28 bytes; id 10 has one more digit.
        assert_eq!(burst_bytes(Burst { n: 1, size: 2 }), 28);
        assert_eq!(burst_bytes(Burst { n: 10, size: 2 }), 28 * 10 + 1);
        // warp's built-in writes no space after the colons.
        assert_eq!(
            expected_bytes(Variant::WarpBuiltin, Burst { n: 1, size: 2 }),
            25
        );
        assert_eq!(
            expected_bytes(Variant::SseWarp, Burst { n: 1, size: 2 }),
            28
        );
    }
}
