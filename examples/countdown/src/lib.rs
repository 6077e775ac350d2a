//! The countdown demo's contract, written once for every framework's example.
//!
//! A counter from `--count` down to 1, one event per `--interval-ms`, each event
//!
//! ```text
//! : countdown
//! event: message
//! id: N
//! retry: 5000
//! data: {"type":"counter","value":N}
//! ```
//!
//! and a page at `/` that shows them live with `EventSource`. A client that
//! reconnects with `Last-Event-ID: K` resumes at `K - 1`; one that says it saw the last
//! event gets `204 No Content`, which tells a browser to stop reconnecting.
//!
//! With `--compress gzip,br,zstd` the stream is compressed with a coding the request
//! accepts (off by default; the page is never compressed).
//!
//! The example crates only translate this to their framework: [`Countdown::plan`] says
//! what to answer, [`Countdown::events`] is the stream to send, compressed as
//! [`Countdown::compression`] says.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, Stream};
use sse_rs::compress::{Coding, Compression};
pub use sse_rs::shutdown::Shutdown;
use sse_rs::{Event, EventType, KeepAlive, LastEventId};

/// The page at `/`: shows each event as it arrives, the connection state, and a
/// Close button. The same file for every framework.
pub const PAGE: &str = include_str!("../page.html");

/// The `event:` of every countdown event.
pub const MESSAGE: EventType = EventType::from_static("message");

/// The reconnection delay sent with every event.
pub const RETRY: Duration = Duration::from_millis(5000);

/// The demo's command line, the same for every framework.
#[derive(Clone, Debug, clap::Parser)]
#[command(about = "The SSE countdown demo: open http://127.0.0.1:8083/ in a browser")]
pub struct Args {
    /// Port to listen on.
    #[arg(long, default_value_t = 8083)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
    /// Milliseconds between two events.
    #[arg(long, default_value_t = 1000)]
    pub interval_ms: u64,
    /// The number the countdown starts at.
    #[arg(long, default_value_t = 100)]
    pub count: u64,
    /// Milliseconds of silence before a keep-alive comment is sent.
    #[arg(long, default_value_t = 15_000)]
    pub keep_alive_ms: u64,
    /// The reconnection delay sent to clients (`retry:`), in milliseconds.
    #[arg(long, default_value_t = 5000)]
    pub retry_ms: u64,
    /// Test aid: drop every connection after this many events, as a failing network
    /// would (the browser then reconnects with `Last-Event-ID`).
    #[arg(long)]
    pub drop_after: Option<u64>,
    /// Serve HTTPS (HTTP/2 or HTTP/1.1 by ALPN) with this PEM certificate chain, on
    /// the same port; needs `--tls-key`.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The PEM private key of `--tls-cert`.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
    /// Compress `/events` with the first of these codings the request accepts, a
    /// comma-separated list in the server's order of preference: `gzip`, `br`,
    /// `zstd` (browsers offer `br` and `zstd` over HTTPS and to localhost only).
    /// Default: off.
    #[arg(long, value_name = "CODINGS", value_delimiter = ',', value_parser = parse_coding)]
    pub compress: Vec<Coding>,
}

/// One coding of `--compress`, by its `Content-Encoding` name.
fn parse_coding(name: &str) -> Result<Coding, String> {
    Coding::ALL
        .iter()
        .copied()
        .find(|coding| coding.as_str() == name)
        .ok_or_else(|| {
            let known: Vec<&str> = Coding::ALL.iter().map(|coding| coding.as_str()).collect();
            format!("unknown coding, expected one of: {}", known.join(", "))
        })
}

impl Args {
    /// The address to listen on.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.bind, self.port)
    }

    /// The countdown these arguments describe.
    ///
    /// # Errors
    ///
    /// When `--tls-cert` or `--tls-key` cannot be read or do not make a TLS config.
    pub fn countdown(&self) -> std::io::Result<Countdown> {
        let countdown = Countdown::new(self.count, Duration::from_millis(self.interval_ms))
            .keep_alive(Duration::from_millis(self.keep_alive_ms))
            .retry(Duration::from_millis(self.retry_ms))
            .drop_after(self.drop_after)
            .compress(Compression::new().codings(self.compress.iter().copied()));
        Ok(match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => countdown.tls(sse_rs::server::tls_config(cert, key)?),
            _ => countdown,
        })
    }
}

/// What to answer a request for `/events`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Stream the countdown from this number down to 1.
    Stream {
        /// The first number sent.
        from: u64,
    },
    /// The client saw the last event: answer `204 No Content`.
    Finished,
}

/// The countdown: its length and pace, and a count of the streams now open.
#[derive(Clone, Debug)]
pub struct Countdown {
    /// The number the countdown starts at.
    pub count: u64,
    /// The time between two events (also before the first one).
    pub interval: Duration,
    keep_alive: KeepAlive,
    retry: Duration,
    drop_after: Option<u64>,
    fixed_schedule: bool,
    open: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    tls: Option<Arc<sse_rs::server::rustls::ServerConfig>>,
    compression: Compression,
}

impl Countdown {
    /// A countdown from `count`, one event per `interval`.
    #[must_use]
    pub fn new(count: u64, interval: Duration) -> Self {
        Self {
            count,
            interval,
            keep_alive: KeepAlive::default(),
            retry: RETRY,
            drop_after: None,
            fixed_schedule: false,
            open: Arc::default(),
            requests: Arc::default(),
            tls: None,
            compression: Compression::new().codings([]),
        }
    }

    /// Compresses the event streams with the coding `compression` and the request's
    /// `Accept-Encoding` agree on (default: no coding, never compressed). The page
    /// is not compressed.
    #[must_use]
    pub fn compress(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// The compression every server passes to `compress` with the request's
    /// `Accept-Encoding`; without [`compress`](Countdown::compress) it allows no
    /// coding, so the stream is left as it is.
    pub fn compression(&self) -> Compression {
        self.compression.clone()
    }

    /// The codings the event streams may be compressed with, in the server's order
    /// of preference (empty: off).
    fn codings(&self) -> Vec<&'static str> {
        self.compression
            .codings_iter()
            .map(Coding::as_str)
            .collect()
    }

    /// Serve the demo over HTTPS with `config` (HTTP/2 or HTTP/1.1 by ALPN) instead of
    /// plain HTTP, on the same port.
    #[must_use]
    pub fn tls(mut self, config: Arc<sse_rs::server::rustls::ServerConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// The TLS config to serve with, if any.
    #[must_use]
    pub fn tls_config(&self) -> Option<Arc<sse_rs::server::rustls::ServerConfig>> {
        self.tls.clone()
    }

    /// `server` serving HTTPS when the countdown has a TLS config.
    pub fn configure(&self, server: sse_rs::server::Server) -> sse_rs::server::Server {
        match self.tls_config() {
            Some(config) => server.tls(config),
            None => server,
        }
    }

    /// Sets the reconnection delay sent with every event (default 5 s).
    #[must_use]
    pub fn retry(mut self, retry: Duration) -> Self {
        self.retry = retry;
        self
    }

    /// Test aid: end every connection's stream with an error after `events` events,
    /// so the server drops the connection mid-stream (default: never).
    #[must_use]
    pub fn drop_after(mut self, events: Option<u64>) -> Self {
        self.drop_after = events;
        self
    }

    /// Test aid: sends a stream's n-th event n intervals after the stream began,
    /// whatever the delays of the ones before, so that a timer late on a busy
    /// machine delays one event and not every later one (default: off, each event one
    /// interval after the one before, never two at once). For tests that compare
    /// arrival times between runs.
    #[must_use]
    pub fn fixed_schedule(mut self, fixed: bool) -> Self {
        self.fixed_schedule = fixed;
        self
    }

    /// How many requests for the event stream this countdown has answered (the
    /// first connection, every reconnection, every `204`).
    #[must_use]
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Sets the idle time before a keep-alive comment (default 15 s).
    #[must_use]
    pub fn keep_alive(mut self, idle: Duration) -> Self {
        self.keep_alive = self.keep_alive.interval(idle);
        self
    }

    /// The keep-alive every server uses for the countdown's streams.
    pub fn keep_alive_config(&self) -> KeepAlive {
        self.keep_alive.clone()
    }

    /// How many of this countdown's event streams exist right now. A stream is
    /// dropped when it ends or when the server notices that its client went away, so
    /// this shows whether a server cleans up after a disconnect.
    #[must_use]
    pub fn open_streams(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    /// What to answer a client that sent `last`. An id that is not a number of this
    /// countdown (garbage, too large, absent) starts from the beginning.
    #[must_use]
    pub fn plan(&self, last: &LastEventId) -> Plan {
        self.requests.fetch_add(1, Ordering::SeqCst);
        match last.parse::<u64>() {
            Some(1) => Plan::Finished,
            Some(seen) if seen >= 2 && seen <= self.count => Plan::Stream { from: seen - 1 },
            _ if self.count == 0 => Plan::Finished,
            _ => Plan::Stream { from: self.count },
        }
    }

    /// The event for number `n`.
    pub fn event(&self, n: u64) -> Event {
        Event::default()
            .id(n)
            .event(MESSAGE)
            .retry(self.retry)
            .comment("countdown")
            .data(format!(r#"{{"type":"counter","value":{n}}}"#))
    }

    /// The events from `from` down to 1, one per interval, the first after one
    /// interval (see [`fixed_schedule`](Countdown::fixed_schedule)); with
    /// [`drop_after`](Countdown::drop_after), fails after that many events. Servers
    /// end it early on shutdown with [`SseBody::shutdown`](sse_rs::SseBody::shutdown).
    pub fn events(&self, from: u64) -> impl Stream<Item = Result<Event, Dropped>> + Send + 'static {
        let this = self.clone();
        let guard = OpenStream::new(&self.open);
        let drop_after = self.drop_after.unwrap_or(u64::MAX);
        let start = tokio::time::Instant::now();
        let state = (from, 0_u64, start, guard);
        let numbers = stream::unfold(state, move |(n, sent, due, guard)| {
            let this = this.clone();
            async move {
                if n == 0 {
                    return None;
                }
                if sent == drop_after {
                    // The error ends the stream: the server drops the connection.
                    return Some((Err(Dropped), (0, sent, due, guard)));
                }
                let due = if this.fixed_schedule {
                    due + this.interval
                } else {
                    tokio::time::Instant::now() + this.interval
                };
                tokio::time::sleep_until(due).await;
                Some((Ok(this.event(n)), (n - 1, sent + 1, due, guard)))
            }
        });
        numbers
    }
}

/// The error that ends a stream on purpose after
/// [`drop_after`](Countdown::drop_after) events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped on purpose (--drop-after)")
    }
}

impl std::error::Error for Dropped {}

/// Counts one open stream for as long as it lives.
#[derive(Debug)]
struct OpenStream(Arc<AtomicUsize>);

impl OpenStream {
    fn new(open: &Arc<AtomicUsize>) -> Self {
        open.fetch_add(1, Ordering::SeqCst);
        Self(Arc::clone(open))
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A boxed "shut down now" future, the form every example's `serve` accepts.
pub type Signal = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Runs a server that stops gracefully on a signal, the way every example needs it:
/// when `shutdown` completes, `trigger` ends every event stream (or the server's
/// graceful shutdown would wait for them forever), and the server gets `grace` to
/// finish before it is given up on.
///
/// `server` builds the server with the signal it must stop on.
///
/// # Errors
///
/// When the server fails.
pub async fn serve_gracefully<F, S>(
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    trigger: sse_rs::shutdown::ShutdownTrigger,
    grace: Duration,
    server: F,
) -> std::io::Result<()>
where
    F: FnOnce(Signal) -> S,
    S: std::future::Future<Output = std::io::Result<()>>,
{
    // Past the grace the server is dropped with its connections: a stopped server.
    sse_rs::shutdown::graceful(shutdown, trigger, grace, server)
        .await
        .unwrap_or(Ok(()))
}

/// The `main` of every example: parses the flags, binds, says where to look, and
/// serves with `serve` until Ctrl-C.
///
/// # Errors
///
/// When the address cannot be bound or the server fails.
pub async fn run_cli<F, Fut>(framework: &str, serve: F) -> std::io::Result<()>
where
    F: FnOnce(tokio::net::TcpListener, Countdown, Signal) -> Fut,
    Fut: std::future::Future<Output = std::io::Result<()>>,
{
    use clap::Parser;
    let args = Args::parse();
    let countdown = args.countdown()?;
    let listener = tokio::net::TcpListener::bind(args.addr()).await?;
    let (scheme, over) = if countdown.tls_config().is_some() {
        ("https", ", HTTP/2 or HTTP/1.1 by ALPN")
    } else {
        ("http", "")
    };
    let codings = countdown.codings();
    let compressed = if codings.is_empty() {
        String::new()
    } else {
        format!(", compressed if accepted: {}", codings.join(", "))
    };
    println!(
        "{framework} countdown on {scheme}://{}/ (events at /events{over}{compressed}), Ctrl-C to stop",
        listener.local_addr()?
    );
    serve(listener, countdown, Box::pin(ctrl_c())).await?;
    println!("stopped");
    Ok(())
}

/// Completes on Ctrl-C (or SIGTERM on Unix): the core's `shutdown::os_signal`.
pub async fn ctrl_c() {
    sse_rs::shutdown::os_signal().await;
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;
    use sse_rs::compress::AcceptEncoding;

    use super::*;

    fn demo() -> Countdown {
        Countdown::new(100, Duration::from_millis(1))
    }

    fn last(value: &[u8]) -> LastEventId {
        LastEventId::from_bytes(value)
    }

    #[test]
    fn plan_resumes_after_the_last_seen_id() {
        assert_eq!(
            demo().plan(&LastEventId::none()),
            Plan::Stream { from: 100 }
        );
        assert_eq!(demo().plan(&last(b"42")), Plan::Stream { from: 41 });
        assert_eq!(demo().plan(&last(b"100")), Plan::Stream { from: 99 });
        assert_eq!(demo().plan(&last(b"2")), Plan::Stream { from: 1 });
        assert_eq!(demo().plan(&last(b"1")), Plan::Finished);
    }

    #[test]
    fn plan_starts_over_for_ids_that_are_not_ours() {
        for id in [
            &b"0"[..],
            b"101",
            b"-3",
            b"abc",
            b"",
            b"\xff",
            b"18446744073709551616",
        ] {
            assert_eq!(demo().plan(&last(id)), Plan::Stream { from: 100 }, "{id:?}");
        }
        let empty = Countdown::new(0, Duration::from_millis(1));
        assert_eq!(empty.plan(&LastEventId::none()), Plan::Finished);
    }

    #[test]
    fn event_matches_the_seed_demo() {
        assert_eq!(
            demo().event(7).encode().as_bytes(),
            &b": countdown\nevent: message\nid: 7\nretry: 5000\ndata: {\"type\":\"counter\",\"value\":7}\n\n"[..]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn events_count_down_one_per_interval_and_end() {
        let start = tokio::time::Instant::now();
        let got: Vec<(Event, Duration)> = demo()
            .events(3)
            .map(|event| (event.unwrap(), start.elapsed()))
            .collect()
            .await;
        let expected: Vec<(Event, Duration)> = (1..=3)
            .map(|i| (demo().event(4 - i), Duration::from_millis(i)))
            .collect();
        assert_eq!(got, expected);
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_event_delays_the_next_unless_the_schedule_is_fixed() {
        for (fixed, expected) in [(false, [10, 35, 45]), (true, [10, 25, 30])] {
            let countdown = Countdown::new(3, Duration::from_millis(10)).fixed_schedule(fixed);
            let start = tokio::time::Instant::now();
            let mut events = Box::pin(countdown.events(3));
            let mut times = Vec::new();
            while let Some(event) = events.next().await {
                assert!(event.is_ok());
                times.push(start.elapsed().as_millis());
                if times.len() == 1 {
                    // A busy server polls the stream 15 ms late: the default
                    // schedule counts the next interval from then; the fixed one
                    // sends event 2 at once and event 3 on time.
                    tokio::time::sleep(Duration::from_millis(15)).await;
                }
            }
            assert_eq!(times, expected, "fixed schedule: {fixed}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn drop_after_fails_the_stream_after_that_many_events() {
        let countdown = demo().drop_after(Some(2));
        let items: Vec<Result<Event, Dropped>> = countdown.events(10).collect().await;
        assert_eq!(
            items,
            vec![
                Ok(countdown.event(10)),
                Ok(countdown.event(9)),
                Err(Dropped)
            ]
        );
    }

    #[test]
    fn plan_counts_requests_and_retry_is_configurable() {
        let countdown = demo().retry(Duration::from_millis(250));
        let _ = countdown.plan(&LastEventId::none());
        let _ = countdown.plan(&last(b"1"));
        assert_eq!(countdown.requests(), 2);
        let wire = countdown.event(3).encode();
        assert!(String::from_utf8_lossy(wire.as_bytes()).contains("\nretry: 250\n"));
    }

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        use clap::Parser;
        Args::try_parse_from(["countdown"].iter().chain(args))
    }

    #[test]
    fn compress_takes_codings_in_the_servers_order() {
        let args = parse(&["--compress", "zstd,gzip,br"]).unwrap();
        assert_eq!(args.compress, [Coding::Zstd, Coding::Gzip, Coding::Brotli]);
        let compression = args.countdown().unwrap().compression();
        assert_eq!(
            compression.codings_iter().collect::<Vec<_>>(),
            [Coding::Zstd, Coding::Gzip, Coding::Brotli]
        );
        let accept = AcceptEncoding::from_bytes(b"gzip, deflate, br, zstd");
        assert_eq!(compression.negotiate(&accept), Some(Coding::Zstd));
        // Named twice, or as two flags: one list, each coding once.
        let args = parse(&["--compress", "br", "--compress", "gzip,br"]).unwrap();
        assert_eq!(
            args.compress,
            [Coding::Brotli, Coding::Gzip, Coding::Brotli]
        );
        assert_eq!(
            args.countdown().unwrap().codings(),
            ["br", "gzip"],
            "a coding named twice counts once"
        );
    }

    #[test]
    fn compress_is_off_by_default() {
        let args = parse(&[]).unwrap();
        assert!(args.compress.is_empty());
        let compression = args.countdown().unwrap().compression();
        assert_eq!(compression.codings_iter().count(), 0);
        let chrome = AcceptEncoding::from_bytes(b"gzip, deflate, br, zstd");
        assert_eq!(compression.negotiate(&chrome), None);
        assert_eq!(demo().compression(), compression);
    }

    #[test]
    fn compress_refuses_an_unknown_coding_clearly() {
        for bad in ["deflate", "brotli", "GZIP", "gzip,", " br", ""] {
            let error = parse(&["--compress", bad]).expect_err(bad);
            assert_eq!(
                error.kind(),
                clap::error::ErrorKind::ValueValidation,
                "{bad:?}"
            );
            let message = error.to_string();
            assert!(
                message.contains("unknown coding, expected one of: br, zstd, gzip"),
                "{bad:?}: {message}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn open_streams_counts_live_streams() {
        let slow = Countdown::new(100, Duration::from_secs(1));
        let mut events = Box::pin(slow.events(100));
        assert_eq!(slow.open_streams(), 1);
        assert!(events.next().await.is_some());
        drop(events);
        assert_eq!(slow.open_streams(), 0);
    }
}
