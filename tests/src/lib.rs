//! Helpers for the suite that runs against every countdown server over real TCP:
//! start a server on 127.0.0.1, read its event stream with a real HTTP client and
//! our decoder, stop it.

// Test support: a failed expectation is a failed test, so panicking is the point.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

pub mod browser;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use countdown::Countdown;
use sse_rs::decode::{Decoded, Decoder, MessageEvent};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A future that completes when the server should shut down.
pub use countdown::Signal as ShutdownSignal;

/// A countdown server running in this process on 127.0.0.1.
#[derive(Debug)]
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The countdown it serves (its `open_streams` shows what the server holds).
    pub countdown: Countdown,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<io::Result<()>>,
}

impl TestServer {
    /// Starts `serve` on a free port of 127.0.0.1.
    pub async fn start<F, Fut>(serve: F, countdown: Countdown) -> Self
    where
        F: FnOnce(TcpListener, Countdown, ShutdownSignal) -> Fut,
        Fut: Future<Output = io::Result<()>> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let (stop, stopped) = oneshot::channel::<()>();
        let signal: ShutdownSignal = Box::pin(async move {
            let _ = stopped.await;
        });
        let task = tokio::spawn(serve(listener, countdown.clone(), signal));
        Self {
            addr,
            countdown,
            stop: Some(stop),
            task,
        }
    }

    /// `http://127.0.0.1:PORT{path}`.
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Asks the server to shut down and waits for it; `None` if it did not stop
    /// within `limit`.
    pub async fn shutdown(mut self, limit: Duration) -> Option<Duration> {
        let start = Instant::now();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match tokio::time::timeout(limit, &mut self.task).await {
            Ok(result) => {
                result
                    .expect("server task panicked")
                    .expect("server failed");
                Some(start.elapsed())
            }
            Err(_) => {
                self.task.abort();
                None
            }
        }
    }

    /// Waits until the server holds no countdown stream, up to `limit`. Returns
    /// whether it got there.
    pub async fn wait_for_no_streams(&self, limit: Duration) -> bool {
        wait_until(limit, || self.countdown.open_streams() == 0).await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A plain HTTP client: no proxy, no compression asked for (see [`gzip_client`]).
#[must_use]
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .gzip(false)
        .build()
        .expect("an HTTP client")
}

/// A client that asks for gzip and decodes it as it streams, as browsers do.
#[must_use]
pub fn gzip_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .gzip(true)
        .build()
        .expect("an HTTP client")
}

/// One event stream response being read: raw bytes, chunk arrival times and
/// decoded items.
#[derive(Debug)]
pub struct EventReader {
    response: reqwest::Response,
    decoder: Decoder,
    /// Every byte of the body so far.
    pub raw: BytesMut,
    /// Every item decoded so far, with the time its chunk arrived.
    pub items: Vec<(Instant, Decoded)>,
    done: bool,
}

impl EventReader {
    /// Starts reading `response`.
    #[must_use]
    pub fn new(response: reqwest::Response) -> Self {
        Self {
            response,
            decoder: Decoder::new().comments(true),
            raw: BytesMut::new(),
            items: Vec::new(),
            done: false,
        }
    }

    /// Reads one more chunk; `false` at the end of the body.
    ///
    /// # Panics
    ///
    /// On a transport error or a decoding error.
    pub async fn read_chunk(&mut self) -> bool {
        if self.done {
            return false;
        }
        match self.response.chunk().await.expect("reading the body") {
            Some(chunk) => {
                self.push(&chunk);
                true
            }
            None => {
                self.done = true;
                false
            }
        }
    }

    fn push(&mut self, chunk: &Bytes) {
        let now = Instant::now();
        self.raw.extend_from_slice(chunk);
        let decoded = self.decoder.decode(chunk).expect("a valid event stream");
        self.items.extend(decoded.map(|item| (now, item)));
    }

    /// Reads until `n` events have arrived (or the body ends); returns them.
    pub async fn events_until(&mut self, n: usize) -> Vec<MessageEvent> {
        while self.events().len() < n && self.read_chunk().await {}
        self.events()
    }

    /// Reads to the end of the body (bounded by `limit`); returns every event.
    ///
    /// # Panics
    ///
    /// If the body does not end within `limit`.
    pub async fn read_to_end(&mut self, limit: Duration) -> Vec<MessageEvent> {
        tokio::time::timeout(limit, async { while self.read_chunk().await {} })
            .await
            .expect("the stream did not end in time");
        self.events()
    }

    /// The events decoded so far.
    #[must_use]
    pub fn events(&self) -> Vec<MessageEvent> {
        self.items
            .iter()
            .filter_map(|(_, item)| match item {
                Decoded::Event(event) => Some(event.clone()),
                _ => None,
            })
            .collect()
    }

    /// The arrival time of each event decoded so far.
    #[must_use]
    pub fn event_times(&self) -> Vec<Instant> {
        self.items
            .iter()
            .filter(|(_, item)| matches!(item, Decoded::Event(_)))
            .map(|(at, _)| *at)
            .collect()
    }

    /// Consumes the reader, closing the connection.
    pub fn disconnect(self) {
        drop(self);
    }
}

/// What event `n` of the countdown must look like in a browser.
#[must_use]
pub fn expected_event(n: u64) -> (String, String, String) {
    (
        "message".to_owned(),
        format!(r#"{{"type":"counter","value":{n}}}"#),
        n.to_string(),
    )
}

/// The (type, data, id) of decoded events, for comparison with [`expected_event`].
#[must_use]
pub fn summary(events: &[MessageEvent]) -> Vec<(String, String, String)> {
    events
        .iter()
        .map(|e| (e.event.clone(), e.data.clone(), e.last_event_id.clone()))
        .collect()
}

/// Finds an external program the tests need (`chromium`, `nginx`, ...), looking in
/// `PATH` and the usual system directories.
///
/// When it is missing: under CI (`CI` set) the test fails with a clear message, since
/// CI installs it; elsewhere the test is skipped, and says so.
///
/// # Panics
///
/// Under CI, when the program is missing.
#[must_use]
pub fn require_program(name: &str, why: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .chain(["/usr/bin", "/usr/sbin", "/bin", "/sbin"].map(std::path::PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file());
    if found.is_none() {
        let message = format!(
            "`{name}` is not installed; it is needed {why} (.ci/run installs it with apt-get)"
        );
        if std::env::var_os("CI").is_some() {
            panic!("{message}");
        }
        eprintln!("SKIPPED: {message}");
    }
    found
}

/// A free TCP port on 127.0.0.1 (bound, then released).
///
/// # Panics
///
/// When no port can be bound.
#[must_use]
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

/// Waits until something accepts connections on `127.0.0.1:port`, up to `limit`.
pub async fn wait_for_port(port: u16, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// A child process that is killed when dropped.
#[derive(Debug)]
pub struct ChildGuard(pub std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A redis-server of the test's own on `port` of 127.0.0.1, with `args` added (no
/// persistence unless they ask for it); `None` (skipped) when it is not installed
/// outside CI.
///
/// # Panics
///
/// When it cannot be started.
pub fn spawn_redis(port: u16, args: &[&std::ffi::OsStr]) -> Option<ChildGuard> {
    let program = require_program("redis-server", "for the tests with a Redis of their own")?;
    Some(ChildGuard(
        std::process::Command::new(program)
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start redis-server"),
    ))
}

/// Sends `signal` (`-STOP`, `-CONT`, `-TERM`) to process `pid`, which the test started
/// (or is).
///
/// # Panics
///
/// When `kill` fails.
pub fn send_signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill {signal} {pid}");
}

/// An endless event stream of 16 KiB events, as fast as it is polled, that sets its
/// flag when dropped: a server let go of the stream.
#[derive(Debug)]
pub struct Firehose(pub std::sync::Arc<std::sync::atomic::AtomicBool>);

impl futures_core::Stream for Firehose {
    type Item = Result<sse_rs::Event, std::convert::Infallible>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        std::task::Poll::Ready(Some(Ok(
            sse_rs::Event::default().data("x".repeat(16 * 1024))
        )))
    }
}

impl Drop for Firehose {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A child process started as the leader of its own process group (see
/// [`ProcessGroup::spawn`]), whose whole group is killed when dropped: for a program
/// that starts others, as chromedriver starts Chromium, which would outlive it when a
/// test fails before it closes its session.
#[derive(Debug)]
pub struct ProcessGroup(std::process::Child);

impl ProcessGroup {
    /// Spawns `command` in a process group of its own.
    ///
    /// # Errors
    ///
    /// When it cannot be started.
    pub fn spawn(command: &mut std::process::Command) -> std::io::Result<Self> {
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(command, 0);
        command.spawn().map(Self)
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        #[cfg(unix)]
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `GET http://{addr}/events` as `EventSource` sends it (`Accept: text/event-stream`),
/// with `Last-Event-ID: last` if given.
///
/// # Panics
///
/// When the request fails.
pub async fn open_event_stream(addr: SocketAddr, last: Option<&str>) -> reqwest::Response {
    let mut request = client()
        .get(format!("http://{addr}/events"))
        .header("accept", "text/event-stream");
    if let Some(last) = last {
        request = request.header("last-event-id", last);
    }
    request.send().await.expect("request /events")
}

/// Opens `/events` on `addr` without `Accept: text/event-stream` (reqwest sends
/// `*/*`): how a client would get around a stream limit that trusts the request.
///
/// # Panics
///
/// When the request fails.
pub async fn open_unannounced_event_stream(addr: SocketAddr) -> reqwest::Response {
    client()
        .get(format!("http://{addr}/events"))
        .send()
        .await
        .expect("request /events")
}

/// Under a limit of one stream on `addr` (with `back_off`), whose free slots
/// `available` reads: a stream opened without `Accept: text/event-stream` still takes
/// the slot, and the next stream, announced or not, is told to retry later.
///
/// # Panics
///
/// When any of that does not hold.
pub async fn assert_unannounced_streams_count(
    addr: SocketAddr,
    back_off: Duration,
    available: impl Fn() -> usize,
) {
    assert_eq!(available(), 1);
    let response = open_unannounced_event_stream(addr).await;
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut sneaky = EventReader::new(response);
    assert_eq!(sneaky.events_until(1).await.len(), 1);
    assert_eq!(
        available(),
        0,
        "a stream without the Accept header was not counted"
    );
    assert_told_to_retry(open_unannounced_event_stream(addr).await, back_off).await;
    assert_told_to_retry(open_event_stream(addr, None).await, back_off).await;
    sneaky.disconnect();
    assert!(
        wait_until(Duration::from_secs(5), || available() == 1).await,
        "the slot of a closed stream was not given back"
    );
}

/// Polls `done` every 10 ms until it holds or `limit` passes; returns its last value.
pub async fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    done()
}

/// The URL of the redis-server the backplane tests share, from `SSE_REDIS_URL`
/// (`.ci/run` starts one on a free loopback port and sets it). Without it: under CI
/// the test fails, elsewhere it is skipped and says so.
///
/// # Panics
///
/// Under CI, when `SSE_REDIS_URL` is not set.
#[must_use]
pub fn redis_url() -> Option<String> {
    match std::env::var("SSE_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("SSE_REDIS_URL is not set: .ci/run starts redis-server and sets it")
        }
        _ => {
            eprintln!("SKIPPED: set SSE_REDIS_URL=redis://127.0.0.1:<port>/ to run");
            None
        }
    }
}

/// A Redis key prefix no other test, or earlier run, uses.
///
/// # Panics
///
/// When the clock is before 1970.
#[must_use]
pub fn unique_prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_nanos();
    format!("sse-test:{test}:{nanos}:")
}

/// A real nginx on a free loopback port, proxying to `upstreams` (one `upstream` block,
/// round robin; a server that refuses connections is skipped for the next), with
/// nginx's defaults for buffering. Stops when dropped.
#[derive(Debug)]
pub struct Nginx {
    /// The port nginx listens on, on 127.0.0.1.
    pub port: u16,
    _process: ChildGuard,
}

impl Nginx {
    /// Starts nginx with `http_extra` in its `http` block and `location_extra` in its
    /// one `location /`. `None` (skipped) when nginx is missing outside CI.
    ///
    /// # Panics
    ///
    /// When nginx cannot be started, or under CI when it is missing.
    pub async fn start(
        upstreams: &[SocketAddr],
        http_extra: &str,
        location_extra: &str,
    ) -> Option<Self> {
        Self::start_with(upstreams, None, http_extra, location_extra).await
    }

    /// [`start`](Self::start) serving HTTPS with HTTP/2 (`ssl` and `http2`, as most
    /// deployments have it) with the PEM `cert` and `key`, in front of the same plain
    /// HTTP/1.1 upstreams (nginx cannot proxy to an h2c upstream but for gRPC).
    ///
    /// # Panics
    ///
    /// As [`start`](Self::start).
    pub async fn start_tls(
        upstreams: &[SocketAddr],
        (cert, key): (&std::path::Path, &std::path::Path),
        http_extra: &str,
        location_extra: &str,
    ) -> Option<Self> {
        Self::start_with(upstreams, Some((cert, key)), http_extra, location_extra).await
    }

    async fn start_with(
        upstreams: &[SocketAddr],
        tls: Option<(&std::path::Path, &std::path::Path)>,
        http_extra: &str,
        location_extra: &str,
    ) -> Option<Self> {
        let nginx = require_program("nginx", "for the reverse-proxy tests")?;
        let port = free_port();
        let listen = match tls {
            None => format!("listen 127.0.0.1:{port};"),
            Some((cert, key)) => {
                // `http2 on;` since nginx 1.25.1; `listen ... http2` before.
                let version = std::process::Command::new(&nginx)
                    .arg("-v")
                    .output()
                    .map(|out| String::from_utf8_lossy(&out.stderr).into_owned())
                    .unwrap_or_default();
                let numbers: Vec<u32> = version
                    .rsplit('/')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .split('.')
                    .filter_map(|n| n.parse().ok())
                    .collect();
                let http2 = if numbers.as_slice() >= [1, 25, 1].as_slice() {
                    format!("listen 127.0.0.1:{port} ssl;\n        http2 on;")
                } else {
                    format!("listen 127.0.0.1:{port} ssl http2;")
                };
                format!(
                    "{http2}\n        ssl_certificate {};\n        ssl_certificate_key {};",
                    cert.display(),
                    key.display()
                )
            }
        };
        let dir = std::env::temp_dir().join(format!("sse-tests-nginx-{port}"));
        std::fs::create_dir_all(&dir).expect("nginx's directory");
        let d = dir.display();
        let servers: String = upstreams
            .iter()
            .map(|addr| format!("server {addr};\n        "))
            .collect();
        let config = format!(
            "daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    {http_extra}
    upstream app {{
        {servers}
    }}
    server {{
        {listen}
        location / {{
            # proxy_buffering is on by default; X-Accel-Buffering turns it off.
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            {location_extra}
        }}
    }}
}}
"
        );
        let conf = dir.join("nginx.conf");
        std::fs::write(&conf, config).expect("nginx.conf");
        let process = ChildGuard(
            std::process::Command::new(nginx)
                .arg("-p")
                .arg(&dir)
                .arg("-e")
                .arg(dir.join("error.log"))
                .arg("-c")
                .arg(&conf)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::inherit())
                .spawn()
                .expect("start nginx"),
        );
        assert!(
            wait_for_port(port, Duration::from_secs(10)).await,
            "nginx did not start"
        );
        Some(Self {
            port,
            _process: process,
        })
    }
}

/// How long a test instance of the broadcast example gives its connections on a
/// stop before it drops them.
pub const BROADCAST_SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// Opens a connection to `addr` that asks for `/events` and then never reads, with a
/// receive buffer as small as the kernel allows: once the server has filled it and its
/// own send buffer, the server cannot write to it any more (a stalled client).
///
/// # Panics
///
/// When the connection fails.
pub async fn stalled_client(addr: SocketAddr) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt as _;
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket.set_recv_buffer_size(1024).expect("SO_RCVBUF");
    let mut stream = socket.connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /events HTTP/1.1\r\nhost: test\r\naccept: text/event-stream\r\n\r\n")
        .await
        .expect("send the request");
    stream
}

/// One instance of the broadcast example (`axum-broadcast`) on a free loopback port,
/// with its in-process [`Hub`](sse_rs::hub::Hub) ([`start_local`](Self::start_local)) or
/// on the Redis backplane ([`start`](Self::start)).
#[derive(Debug)]
pub struct BroadcastInstance<H = sse_redis::RedisHub> {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its hub.
    pub hub: H,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl BroadcastInstance {
    /// Starts an instance whose streams live under `prefix` on the Redis at `url`,
    /// with a hub tuned for tests (200 ms reader block, 500 ms timeout, 20-200 ms
    /// reconnect back-off) and no ticks after the first.
    ///
    /// # Panics
    ///
    /// When Redis cannot be reached or no port can be bound.
    pub async fn start(url: &str, prefix: &str) -> Self {
        let client = sse_redis::redis::Client::open(url).expect("a Redis URL");
        let hub = sse_redis::RedisHub::builder(client)
            .key_prefix(prefix)
            .block(Duration::from_millis(200))
            .timeout(Duration::from_millis(500))
            .reconnect_backoff(Duration::from_millis(20), Duration::from_millis(200))
            .connect()
            .await
            .expect("connect to Redis");
        Self::serve(hub, Duration::from_secs(3600)).await
    }
}

impl BroadcastInstance<sse_rs::hub::Hub> {
    /// Starts an instance on its own in-process hub, ticking every `tick`.
    ///
    /// # Panics
    ///
    /// When no port can be bound.
    pub async fn start_local(tick: Duration) -> Self {
        Self::serve(sse_rs::hub::Hub::new(), tick).await
    }
}

impl<H: Clone + Into<axum_broadcast::Broker>> BroadcastInstance<H> {
    async fn serve(hub: H, tick: Duration) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let addr = listener.local_addr().expect("its address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let broker: axum_broadcast::Broker = hub.clone().into();
        let task = tokio::spawn(axum_broadcast::serve(
            listener,
            broker,
            tick,
            async {
                let _ = stopped.await;
            },
            BROADCAST_SHUTDOWN_GRACE,
        ));
        Self {
            addr,
            hub,
            stop: Some(stop),
            task,
        }
    }

    /// Stops it gracefully (open streams end with a `bye` event); whether it stopped
    /// within `limit`.
    pub async fn stop(mut self, limit: Duration) -> bool {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        matches!(
            tokio::time::timeout(limit, &mut self.task).await,
            Ok(Ok(Ok(())))
        )
    }
}

/// Checks that `response` turns a browser away for now: `200` (an error status would
/// make `EventSource` give up for good), an event stream whose only item is
/// `retry: <delay>`, then the end.
///
/// # Panics
///
/// When it is anything else.
pub async fn assert_told_to_retry(response: reqwest::Response, delay: Duration) {
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut refused = EventReader::new(response);
    assert!(refused.read_to_end(Duration::from_secs(5)).await.is_empty());
    let items: Vec<&Decoded> = refused.items.iter().map(|(_, item)| item).collect();
    assert_eq!(items, [&Decoded::Retry(delay)]);
}

/// Runs an actix-web server on a free loopback port, in a thread with its own actix
/// `System` (what actix needs); returns the address. `serve` gets the bound listener
/// and returns the server's future, built inside that system.
///
/// # Panics
///
/// When no port can be bound.
pub fn spawn_actix<F, Fut>(serve: F) -> SocketAddr
where
    F: FnOnce(std::net::TcpListener) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = std::io::Result<()>> + 'static,
{
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = listener.local_addr().expect("its address");
    std::thread::spawn(move || actix_rt::System::new().block_on(serve(listener)));
    addr
}

/// The workspace README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// A throw-away self-signed certificate for `127.0.0.1` and `localhost` (rcgen), as
/// PEM files in a fresh folder under `dir`: (certificate, key). For HTTPS tests; the
/// clients skip verification (`curl -k`, Chromium's `--ignore-certificate-errors`).
///
/// # Panics
///
/// When the certificate cannot be made or written.
#[must_use]
pub fn self_signed_tls(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("a self-signed certificate");
    let dir = dir.join(format!("tls-{}-{}", std::process::id(), free_port()));
    std::fs::create_dir_all(&dir).expect("a folder for the certificate");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).expect("write the certificate");
    std::fs::write(&key, certified.signing_key.serialize_pem()).expect("write the key");
    (cert, key)
}
