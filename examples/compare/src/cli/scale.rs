//! `compare scale`: one machine's capacity. As many event streams as one server
//! process holds (100,000 over HTTP/2, up to the open-file limit over HTTP/1.1),
//! what they cost in memory and time to open, one event to all of them, then a
//! steady rate to all of them for a while; every variant in turn, side by side.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use compare::scale::{self, Phase, Streams, Tally};
use compare::Variant;
use sse_rs::server::rustls;

use crate::cli::args::Only;
use crate::cli::output::{progress, write_json};
use crate::cli::process::{client_runtime, pin_client, rss, start, start_variant, Server};

/// The arguments of `compare scale`.
#[derive(clap::Args)]
pub(crate) struct ScaleArgs {
    /// Which protocols to measure, in this order.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "h2,h1")]
    protocols: Vec<Protocol>,
    /// HTTP/2: connections (over TLS), each with `--streams-per-connection` streams.
    #[arg(long, default_value_t = 1000)]
    connections: usize,
    /// HTTP/2: event streams on each connection (the servers allow 100).
    #[arg(long, default_value_t = 100)]
    streams_per_connection: usize,
    /// HTTP/1.1: event streams, one connection each. Client and server each need a
    /// file descriptor per connection: keep it under both processes' open-file limit.
    #[arg(long, default_value_t = 19_900)]
    h1_streams: usize,
    /// How long the steady rate lasts, in seconds.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// The steady rate: events per second, each to every stream.
    #[arg(long, default_value_t = 1)]
    rate: u64,
    /// Bytes of data per event (at least 20).
    #[arg(long, default_value_t = 64)]
    size: usize,
    #[command(flatten)]
    only: Only,
    /// Where to write the JSON results.
    #[arg(long, default_value = "target/compare-scale.json")]
    json: PathBuf,
}

/// A protocol to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
enum Protocol {
    /// HTTP/2 over TLS (ALPN), many streams per connection.
    H2,
    /// HTTP/1.1 in the clear, one stream per connection.
    H1,
}

/// What one variant measured over one protocol.
#[derive(Clone, Debug, Default, serde::Serialize)]
struct Row {
    protocol: &'static str,
    variant: &'static str,
    /// Streams asked for.
    asked: usize,
    /// Streams the server held (counted as subscribers) once all were opened.
    held: usize,
    /// From the first connection to the server counting the last subscriber.
    open_seconds: f64,
    /// Growth of the server's resident memory, divided by the streams held.
    rss_bytes_per_stream: f64,
    /// Growth of the kernel's slab and TCP buffer memory (both ends of each loopback
    /// connection), divided by the streams held.
    kernel_bytes_per_stream: f64,
    /// One event to every stream.
    one: Option<Phase>,
    /// The steady rate to every stream.
    steady: Option<Phase>,
    /// Streams that ended (refused, reset or failed) by the end.
    ended: u64,
    /// Why the variant did not get through, if it did not.
    error: Option<String>,
}

/// The TLS files for HTTP/2 and the client config that trusts them.
struct Tls {
    cert: String,
    key: String,
    client: Arc<rustls::ClientConfig>,
}

/// Runs every protocol and variant, prints the table and writes JSON.
pub(crate) fn run(args: ScaleArgs) -> std::io::Result<()> {
    let variants = args.only.clone().or_all();
    let (cert, key) = compare::self_signed(Path::new("target/tmp/compare-tls"))?;
    let tls = Tls {
        client: compare::fanout_h2::client_config(&cert)?,
        cert: cert.display().to_string(),
        key: key.display().to_string(),
    };
    let pinned = pin_client();
    let runtime = client_runtime()?;
    let total = args.protocols.len() * variants.len();
    let mut rows = Vec::new();
    for &protocol in &args.protocols {
        for &variant in &variants {
            let mut row = Row {
                protocol: protocol_name(protocol),
                variant: variant.name(),
                ..Row::default()
            };
            if let Err(e) =
                runtime.block_on(measure(&args, protocol, variant, &tls, pinned, &mut row))
            {
                row.error = Some(e.to_string());
            }
            progress(rows.len() + 1, total, &summary(&row));
            rows.push(row);
        }
    }
    println!("{}", table(&args, &rows));
    write_json(
        &args.json,
        &serde_json::json!({
            "connections": args.connections,
            "streams_per_connection": args.streams_per_connection,
            "h1_streams": args.h1_streams,
            "seconds": args.seconds,
            "rate": args.rate,
            "size": args.size,
            "rows": rows,
        }),
    )
}

fn protocol_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::H2 => "HTTP/2 + TLS",
        Protocol::H1 => "HTTP/1.1",
    }
}

/// How to reach one running server: its process, address, and for HTTP/2 the client
/// config.
struct Target<'a> {
    server: Server,
    addr: SocketAddr,
    h2: Option<&'a Arc<rustls::ClientConfig>>,
}

impl Target<'_> {
    /// A small request on a connection of its own: the body of its answer.
    async fn request(&self, method: &str, path: &str) -> std::io::Result<String> {
        match self.h2 {
            Some(config) => {
                let mut sender = compare::fanout_h2::connect(self.addr, config).await?;
                compare::fanout_h2::fetch(&mut sender, method, self.addr, path).await
            }
            None => compare::fanout::request(self.addr, method, path).await,
        }
    }

    async fn subscribers(&self) -> std::io::Result<usize> {
        Ok(self
            .request("GET", "/subscribers")
            .await?
            .trim()
            .parse()
            .unwrap_or(0))
    }

    /// Waits until the server counts at least `count` subscribers (2 minutes at most).
    async fn counted(&self, count: usize) -> std::io::Result<usize> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let now = self.subscribers().await?;
            if now >= count || Instant::now() > deadline {
                return Ok(now);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn open(
        &self,
        args: &ScaleArgs,
        streams: usize,
        tally: &Arc<Tally>,
    ) -> std::io::Result<Streams> {
        match self.h2 {
            Some(config) => {
                let per = args.streams_per_connection.clamp(1, streams.max(1));
                scale::open_h2(self.addr, config, streams.div_ceil(per), per, tally).await
            }
            None => scale::open_h1(self.addr, streams, tally).await,
        }
    }
}

async fn measure(
    args: &ScaleArgs,
    protocol: Protocol,
    variant: Variant,
    tls: &Tls,
    pinned: bool,
    row: &mut Row,
) -> std::io::Result<()> {
    let target = match protocol {
        Protocol::H2 => {
            let (server, addr) = start_variant(variant, Some((&tls.cert, &tls.key)), pinned)?;
            Target {
                server,
                addr,
                h2: Some(&tls.client),
            }
        }
        Protocol::H1 => {
            let (server, addr) = start(variant, pinned)?;
            Target {
                server,
                addr,
                h2: None,
            }
        }
    };
    let pid = target.server.0.id();
    row.asked = match protocol {
        Protocol::H2 => args.connections * args.streams_per_connection.max(1),
        Protocol::H1 => args.h1_streams,
    };
    // Warm up the accept path and the allocator with one stream, then take the
    // baseline once it is gone (actix-web notices a closed stream only when it next
    // writes to it: it may still count as a subscriber).
    {
        let warm = target.open(args, 1, &Arc::new(Tally::default())).await?;
        target.counted(1).await?;
        drop(warm);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let baseline = target.subscribers().await?;
    let (rss_before, kernel_before) = (rss(pid)?, scale::kernel_bytes()?);
    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let streams = target.open(args, row.asked, &tally).await?;
    row.held = target
        .counted(baseline + streams.len())
        .await?
        .saturating_sub(baseline);
    row.open_seconds = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let held = row.held.max(1) as f64;
    row.rss_bytes_per_stream = rss(pid)?.saturating_sub(rss_before) as f64 / held;
    row.kernel_bytes_per_stream =
        scale::kernel_bytes()?.saturating_sub(kernel_before) as f64 / held;
    let size = args.size.max(20);
    let target = &target;
    let publish = |n: u64, rate: u64| {
        let path = format!("/publish?n={n}&size={size}&rate={rate}");
        async move { target.request("POST", &path).await }
    };
    let one = publish(1, 0);
    row.one = Some(
        scale::phase(
            &tally,
            0,
            streams.len(),
            1,
            pid,
            Duration::from_secs(60),
            one,
        )
        .await?,
    );
    let events = args.seconds * args.rate.max(1);
    let steady = publish(events, args.rate.max(1));
    row.steady = Some(
        scale::phase(
            &tally,
            1,
            streams.len(),
            events,
            pid,
            Duration::from_secs(args.seconds + 60),
            steady,
        )
        .await?,
    );
    row.ended = tally.ended();
    drop(streams);
    Ok(())
}

fn summary(row: &Row) -> String {
    let mut text = format!(
        "{} {}: {} of {} held in {:.1} s, {:.1} KiB per stream",
        row.protocol,
        row.variant,
        row.held,
        row.asked,
        row.open_seconds,
        row.rss_bytes_per_stream / 1024.0
    );
    if let Some(one) = &row.one {
        let _ = write!(text, ", one event: max {:.0} ms", one.max_ms);
    }
    if let Some(error) = &row.error {
        let _ = write!(text, " ({error})");
    }
    text
}

fn ms(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.1} ms")
    } else {
        "-".to_owned()
    }
}

fn phase_cells(phase: Option<&Phase>, rate: bool) -> String {
    let Some(p) = phase else {
        return if rate {
            "| - | - | - | - | - "
        } else {
            "| - | - | - | - "
        }
        .to_owned();
    };
    let mark = if p.complete { "" } else { " (incomplete)" };
    let mut cells = String::new();
    if rate {
        let _ = write!(cells, "| {:.0}{mark} ", p.per_second);
    }
    let _ = write!(
        cells,
        "| {} | {} | {}{} | {:.0} ns ",
        ms(p.p50_ms),
        ms(p.p99_ms),
        ms(p.max_ms),
        if rate { "" } else { mark },
        p.cpu_ns_per_delivery
    );
    cells
}

/// The Markdown table of a run.
fn table(args: &ScaleArgs, rows: &[Row]) -> String {
    let mut out = format!(
        "Scale: HTTP/2 over TLS with {} connections x {} streams; HTTP/1.1 with {} \
         connections; events of {} B; one event to all, then {} event(s)/s for {} s\n\n",
        args.connections,
        args.streams_per_connection,
        args.h1_streams,
        args.size.max(20),
        args.rate.max(1),
        args.seconds
    );
    out.push_str(
        "| protocol | variant | streams held | time to open | server memory per stream | \
         kernel per stream | one event: p50 | p99 | max | CPU per delivery | steady: \
         deliveries/s | p50 | p99 | max | CPU per delivery | streams lost |\n",
    );
    out.push_str(&"|---".repeat(16));
    out.push_str("|\n");
    for row in rows {
        if let Some(error) = &row.error {
            let _ = writeln!(
                out,
                "| {} | {} | {} of {} | failed: {} |{}",
                row.protocol,
                row.variant,
                row.held,
                row.asked,
                error.replace('|', "/"),
                " |".repeat(12)
            );
            continue;
        }
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.1} s | {:.1} KiB | {:.1} KiB {}{}| {} |",
            row.protocol,
            row.variant,
            row.held,
            row.open_seconds,
            row.rss_bytes_per_stream / 1024.0,
            row.kernel_bytes_per_stream / 1024.0,
            phase_cells(row.one.as_ref(), false),
            phase_cells(row.steady.as_ref(), true),
            row.ended
        );
    }
    out
}
