//! The scale workload: as many event streams as one server holds at once, opened
//! once and read for the whole run, then one event to all of them and a steady rate
//! to all of them (`compare scale`).
//!
//! Over HTTP/2 the streams share TLS connections (many per connection, as a gateway or
//! a browser with many tabs on one origin would); over HTTP/1.1 each stream is a
//! connection of its own, bound to a source address spread over `127.0.0.0/8` so that
//! no single source runs out of ports. Every stream is read by hyper's client (the
//! chunked encoding and the HTTP/2 framing decoded properly) into the wire crate's
//! decoder, and every delivery's latency goes into a [`Watch`] of its phase.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::StreamExt;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use sse_rs::server::rustls;

use crate::fanout::{now_nanos, Watch};

/// The phases a run measures: one event to all, then a steady rate.
pub const PHASES: usize = 2;

/// What every stream's reader adds to: deliveries and their latencies per phase,
/// and the streams that ended (refused, reset or failed).
#[derive(Debug, Default)]
pub struct Tally {
    phase: AtomicUsize,
    watches: [Watch; PHASES],
    delivered: [AtomicU64; PHASES],
    ended: AtomicU64,
}

impl Tally {
    /// Deliveries of `phase` so far.
    #[must_use]
    pub fn delivered(&self, phase: usize) -> u64 {
        self.delivered[phase].load(Ordering::Relaxed)
    }

    /// The streams that ended so far.
    #[must_use]
    pub fn ended(&self) -> u64 {
        self.ended.load(Ordering::Relaxed)
    }

    /// The latencies of `phase` at quantiles `qs`, in milliseconds (see [`Watch`]).
    #[must_use]
    pub fn latency_ms<const N: usize>(&self, phase: usize, qs: [f64; N]) -> [f64; N] {
        self.watches[phase].snapshot(qs).1
    }

    /// From now on, deliveries count for `phase`.
    pub fn start(&self, phase: usize) {
        self.phase.store(phase, Ordering::Relaxed);
    }

    fn record(&self, latencies: &[u64]) {
        let phase = self.phase.load(Ordering::Relaxed);
        self.watches[phase].extend(latencies);
        self.delivered[phase].fetch_add(latencies.len() as u64, Ordering::Relaxed);
    }
}

/// The open streams of a run: their readers, ended (and the connections closed)
/// when this is dropped.
#[derive(Debug, Default)]
pub struct Streams {
    readers: Vec<tokio::task::JoinHandle<()>>,
}

impl Streams {
    /// How many streams were opened.
    #[must_use]
    pub fn len(&self) -> usize {
        self.readers.len()
    }

    /// Whether none was.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.readers.is_empty()
    }
}

impl Drop for Streams {
    fn drop(&mut self) {
        for reader in &self.readers {
            reader.abort();
        }
    }
}

/// Reads one event stream until it ends, adding each event's latency (its data
/// starts with its send time) to `tally`; `keep` (the connection's sender) lives as
/// long as the reader.
async fn read<K>(mut body: Incoming, tally: Arc<Tally>, keep: K) {
    let _keep = keep;
    let mut decoder = sse_rs::decode::Decoder::new();
    let mut latencies = Vec::new();
    while let Some(Ok(frame)) = body.frame().await {
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let now = now_nanos();
        let Ok(items) = decoder.decode(&data) else {
            break;
        };
        for item in items {
            crate::fanout::record(&item, now, &mut latencies);
        }
        if !latencies.is_empty() {
            tally.record(&latencies);
            latencies.clear();
        }
    }
    tally.ended.fetch_add(1, Ordering::Relaxed);
}

fn subscribe_request(
    scheme: &str,
    addr: SocketAddr,
) -> std::io::Result<http::Request<Empty<Bytes>>> {
    http::Request::builder()
        .uri(format!("{scheme}://{addr}/fanout"))
        .header("host", addr.to_string())
        .header("accept", "text/event-stream")
        .body(Empty::new())
        .map_err(std::io::Error::other)
}

/// Checks that `response` is an event stream.
fn event_stream(response: &http::Response<Incoming>) -> std::io::Result<()> {
    let is_events = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if response.status() == http::StatusCode::OK && is_events {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "not an event stream: {}",
            response.status()
        )))
    }
}

/// The `i`-th source address: spread over 64 addresses of `127.0.1.0/24`.
fn source(i: usize) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::new(127, 0, 1, 1 + (i % 64) as u8), 0))
}

/// One HTTP/1.1 event stream on a connection of its own from source address `i`.
async fn open_h1_one(
    addr: SocketAddr,
    i: usize,
    tally: Arc<Tally>,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(source(i))?;
    let tcp = socket.connect(addr).await?;
    tcp.set_nodelay(true)?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(std::io::Error::other)?;
    let connection = tokio::spawn(connection);
    let response = sender
        .send_request(subscribe_request("http", addr)?)
        .await
        .map_err(std::io::Error::other)?;
    event_stream(&response)?;
    Ok(tokio::spawn(read(
        response.into_body(),
        tally,
        AbortOnDrop(connection),
    )))
}

/// A task aborted when this is dropped (a connection's driver, kept by its reader).
#[derive(Debug)]
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How many connections are being opened at once.
const OPENING: usize = 64;

/// Opens `count` HTTP/1.1 event streams to `addr`, one connection each, their source
/// addresses spread over `127.0.1.1-64`, at most 64 opening at once.
///
/// # Errors
///
/// When a connection cannot be opened or its answer is not an event stream.
pub async fn open_h1(
    addr: SocketAddr,
    count: usize,
    tally: &Arc<Tally>,
) -> std::io::Result<Streams> {
    let mut streams = Streams::default();
    let mut opening = futures_util::stream::iter(0..count)
        .map(|i| open_h1_one(addr, i, tally.clone()))
        .buffer_unordered(OPENING);
    while let Some(reader) = opening.next().await {
        streams.readers.push(reader?);
    }
    Ok(streams)
}

/// An HTTP/2 connection over TLS to `addr`, within 10 s; its driver is aborted when
/// the returned guard is dropped.
async fn connect_h2(
    addr: SocketAddr,
    config: &Arc<rustls::ClientConfig>,
) -> std::io::Result<(
    hyper::client::conn::http2::SendRequest<Empty<Bytes>>,
    Arc<AbortOnDrop<()>>,
)> {
    let connect = async {
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
        let tls = tokio_rustls::TlsConnector::from(config.clone())
            .connect(name, tcp)
            .await?;
        let (sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
                .await
                .map_err(std::io::Error::other)?;
        let driver = tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok::<_, std::io::Error>((sender, Arc::new(AbortOnDrop(driver))))
    };
    tokio::time::timeout(Duration::from_secs(10), connect)
        .await
        .map_err(|_| std::io::Error::other(format!("no HTTP/2 connection to {addr} in 10 s")))?
}

/// One HTTP/2 connection with `per_connection` event streams on it.
async fn open_h2_connection(
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
    per_connection: usize,
    tally: Arc<Tally>,
) -> std::io::Result<Vec<tokio::task::JoinHandle<()>>> {
    let (mut sender, driver) = connect_h2(addr, &config).await?;
    let mut responses = Vec::with_capacity(per_connection);
    for _ in 0..per_connection {
        sender.ready().await.map_err(std::io::Error::other)?;
        responses.push(sender.send_request(subscribe_request("https", addr)?));
    }
    let mut readers = Vec::with_capacity(per_connection);
    for response in futures_util::future::join_all(responses).await {
        let response = response.map_err(std::io::Error::other)?;
        if response.version() != http::Version::HTTP_2 {
            return Err(std::io::Error::other("not HTTP/2"));
        }
        event_stream(&response)?;
        readers.push(tokio::spawn(read(
            response.into_body(),
            tally.clone(),
            (sender.clone(), driver.clone()),
        )));
    }
    Ok(readers)
}

/// Opens `connections` HTTP/2 connections over TLS to `addr` with `per_connection`
/// event streams each, at most 64 connections opening at once.
///
/// # Errors
///
/// When a connection cannot be opened or an answer is not an event stream.
pub async fn open_h2(
    addr: SocketAddr,
    config: &Arc<rustls::ClientConfig>,
    connections: usize,
    per_connection: usize,
    tally: &Arc<Tally>,
) -> std::io::Result<Streams> {
    let mut streams = Streams::default();
    let mut opening = futures_util::stream::iter(0..connections)
        .map(|_| open_h2_connection(addr, config.clone(), per_connection, tally.clone()))
        .buffer_unordered(OPENING);
    while let Some(readers) = opening.next().await {
        streams.readers.extend(readers?);
    }
    Ok(streams)
}

/// What one phase measured.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Phase {
    /// Deliveries counted (every stream's events of the phase).
    pub deliveries: u64,
    /// Deliveries per second, from the publish request to the last delivery.
    pub per_second: f64,
    /// Send-to-receive latency quantiles, in milliseconds (within 2%).
    pub p50_ms: f64,
    /// As `p50_ms`.
    pub p99_ms: f64,
    /// As `p50_ms`.
    pub max_ms: f64,
    /// The server's CPU time over the phase divided by its deliveries, in ns.
    pub cpu_ns_per_delivery: f64,
    /// Whether every live stream got every event before the deadline.
    pub complete: bool,
}

/// Runs phase `phase`: `publish` sends the publish request for `events` events, and
/// the phase ends when every one of the `streams` (less those that ended) has them,
/// or at `deadline`. The server's CPU time comes from its process `server`.
///
/// # Errors
///
/// When the publish request fails or the server's CPU time cannot be read.
pub async fn phase<P>(
    tally: &Tally,
    phase: usize,
    streams: usize,
    events: u64,
    server: u32,
    deadline: Duration,
    publish: P,
) -> std::io::Result<Phase>
where
    P: std::future::Future<Output = std::io::Result<String>>,
{
    tally.start(phase);
    let cpu_before = crate::cpu_ns(server)?;
    let start = now_nanos();
    let until = tokio::time::Instant::now() + deadline;
    let expected = |tally: &Tally| (streams as u64).saturating_sub(tally.ended()) * events;
    let arrived = async {
        while tally.delivered(phase) < expected(tally) {
            if tokio::time::Instant::now() > until {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    };
    let (published, complete) = futures_util::future::join(publish, arrived).await;
    let end = now_nanos();
    let cpu = crate::cpu_ns(server)?.saturating_sub(cpu_before);
    published?;
    let deliveries = tally.delivered(phase);
    let [p50_ms, p99_ms, max_ms] = tally.latency_ms(phase, [0.5, 0.99, 1.0]);
    Ok(Phase {
        deliveries,
        per_second: deliveries as f64 / ((end - start) as f64 / 1e9),
        p50_ms,
        p99_ms,
        max_ms,
        cpu_ns_per_delivery: cpu as f64 / deliveries.max(1) as f64,
        complete,
    })
}

/// The kernel's memory that grows with connections: slab caches plus the pages TCP
/// holds for socket buffers, in bytes (the whole machine: both ends of every loopback
/// connection).
///
/// # Errors
///
/// When `/proc/meminfo` or `/proc/net/sockstat` cannot be read.
pub fn kernel_bytes() -> std::io::Result<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo")?;
    let slab_kib = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("Slab:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0);
    let sockstat = std::fs::read_to_string("/proc/net/sockstat")?;
    let tcp_pages = sockstat
        .lines()
        .find_map(|line| line.strip_prefix("TCP:"))
        .and_then(|fields| {
            let words: Vec<&str> = fields.split_whitespace().collect();
            words
                .windows(2)
                .find(|w| w[0] == "mem")
                .and_then(|w| w[1].parse::<u64>().ok())
        })
        .unwrap_or(0);
    Ok(slab_kib * 1024 + tcp_pages * 4096)
}
