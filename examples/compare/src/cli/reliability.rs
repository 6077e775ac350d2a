//! `compare reliability`: the attacks of the robustness work, measured against the
//! chat example (`axum-broadcast`, started as `compare serve-broadcast`), with the
//! figures RELIABILITY.md records. Every step is bounded in count and time.
//!
//! - **Far-back resumes** (with `--redis`): the chat's stream filled with 10 000
//!   entries, then 20 clients resume from the first one and never read; the server's
//!   memory growth per resume.
//! - **Stop with stalled readers**: 5 clients that stopped reading, with the server's
//!   buffers to them full; the time from SIGTERM to the server's exit.
//! - **Slowloris**: 500 connections that send half a request head; the server's open
//!   file descriptors just after, and once the head timeout has passed.
//! - **HTTP/2 streams without window**: 51 h2c connections announce a window of 0 and
//!   open 200 event streams each (10,200), never grant a byte and keep reading; the
//!   event streams the chat holds just after, and once its 30 s write stall timeout has
//!   passed.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};

use crate::cli::process::{rss, start_with};

/// The arguments of `compare reliability`.
#[derive(clap::Args)]
pub(crate) struct ReliabilityArgs {
    /// A Redis server for the far-back resumes (default: `SSE_REDIS_URL`; without
    /// either they are skipped).
    #[arg(long)]
    redis: Option<String>,
    /// Where to write the JSON results.
    #[arg(long, default_value = "target/compare-reliability.json")]
    json: PathBuf,
}

/// Runs [`measure`], with the Redis server of `--redis` or `SSE_REDIS_URL` if any.
pub(crate) fn run(args: ReliabilityArgs) -> std::io::Result<()> {
    let redis = args.redis.or_else(|| std::env::var("SSE_REDIS_URL").ok());
    measure(redis.as_deref(), &args.json)
}

/// The figures of one run.
#[derive(Debug, Default, serde::Serialize)]
pub(crate) struct Report {
    /// Server RSS growth per unread far-back resume, bytes (`None` without Redis).
    replay_rss_per_client: Option<f64>,
    /// Bytes in the resumed stream (what a replay could hold without a bound).
    replay_window_bytes: Option<u64>,
    /// Seconds from SIGTERM to exit, with stalled readers (`None`: it did not exit
    /// within the limit and was killed).
    stop_seconds_with_stalled_readers: Option<f64>,
    /// The grace the server was started with, seconds.
    stop_grace_seconds: f64,
    /// The server's open file descriptors before the slow clients, just after they
    /// connected, and after the request-head timeout.
    slowloris_fds: (usize, usize, usize),
    /// The number of slow clients.
    slowloris_clients: usize,
    /// HTTP/2 connections and streams per connection of the no-window attack.
    no_window_attack: (usize, usize),
    /// Streams whose response head the attacker got.
    no_window_answered: usize,
    /// The chat's open event streams 3 s after the attack opened, and once the stall
    /// timeout (30 s) has passed (each without the observer's own).
    no_window_held: (usize, usize),
}

/// Opens a connection that sends `request` and then never reads, with a tiny
/// receive buffer.
async fn stalled(addr: SocketAddr, request: &str) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.set_recv_buffer_size(1024)?;
    let mut stream = socket.connect(addr).await?;
    stream.write_all(request.as_bytes()).await?;
    Ok(stream)
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

fn say(text: &str) {
    eprintln!("{text}");
    let _ = std::io::stderr().flush();
}

/// Runs every measurement; `redis` enables the far-back resumes.
fn measure(redis: Option<&str>, json: &std::path::Path) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let mut report = Report {
        stop_grace_seconds: 5.0,
        slowloris_clients: 500,
        ..Report::default()
    };

    if let Some(url) = redis {
        let prefix = format!(
            "sse-reliability:{}:",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        );
        let (server, addr) = start_with(
            "serve-broadcast",
            &["serve-broadcast", "--redis", url, "--prefix", &prefix],
            false,
        )?;
        let pid = server.0.id();
        let (per_client, window) = runtime.block_on(async {
            say("far-back resumes: filling the chat's stream with 10 000 entries of 4 KB");
            let client = sse_redis::redis::Client::open(url).map_err(std::io::Error::other)?;
            let hub = sse_redis::RedisHub::builder(client)
                .key_prefix(&prefix)
                .connect()
                .await
                .map_err(std::io::Error::other)?;
            let text = "x".repeat(4000);
            let mut first = None;
            let mut window = 0_u64;
            for _ in 0..10_000 {
                let event = sse_redis::Event::default()
                    .event(sse_redis::EventType::from_static("message"))
                    .data(text.as_str());
                window += event.encode().len() as u64;
                let id = hub
                    .publish(axum_broadcast::TOPIC, event)
                    .await
                    .map_err(std::io::Error::other)?;
                first.get_or_insert(id);
            }
            let first = first.map(|id| id.to_string()).unwrap_or_default();
            tokio::time::sleep(Duration::from_millis(500)).await;
            let before = rss(pid)?;
            say("far-back resumes: 20 clients resume from the first entry and never read");
            let request = format!(
                "GET /events HTTP/1.1\r\nhost: x\r\naccept: text/event-stream\r\nlast-event-id: {first}\r\n\r\n"
            );
            let mut clients = Vec::new();
            for _ in 0..20 {
                clients.push(stalled(addr, &request).await?);
            }
            tokio::time::sleep(Duration::from_secs(3)).await;
            let after = rss(pid)?;
            drop(clients);
            Ok::<_, std::io::Error>((after.saturating_sub(before) as f64 / 20.0, window))
        })?;
        drop(server);
        report.replay_rss_per_client = Some(per_client);
        report.replay_window_bytes = Some(window);
    }

    // A stop with stalled readers.
    let (mut server, addr) = start_with("serve-broadcast", &["serve-broadcast"], false)?;
    let pid = server.0.id();
    let stop = runtime.block_on(async {
        say("stop: 5 clients stop reading while 20 000 messages of 2 KB go out");
        let request = "GET /events HTTP/1.1\r\nhost: x\r\naccept: text/event-stream\r\n\r\n";
        let mut clients = Vec::new();
        for _ in 0..5 {
            clients.push(stalled(addr, request).await?);
        }
        let http = Poster::new(addr);
        for _ in 0..20_000 {
            http.post().await?;
        }
        say("stop: SIGTERM");
        let start = Instant::now();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()?;
        if !status.success() {
            return Err(std::io::Error::other("kill failed"));
        }
        let limit = Duration::from_secs(30);
        while start.elapsed() < limit {
            if server.0.try_wait()?.is_some() {
                return Ok(Some(start.elapsed().as_secs_f64()));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        drop(clients);
        Ok::<_, std::io::Error>(None)
    })?;
    drop(server);
    report.stop_seconds_with_stalled_readers = stop;

    // Slowloris.
    let (server, addr) = start_with("serve-broadcast", &["serve-broadcast"], false)?;
    let pid = server.0.id();
    let fds = runtime.block_on(async {
        let before = open_fds(pid);
        say("slowloris: 500 connections send half a request head, then nothing");
        let mut clients = Vec::new();
        for _ in 0..500 {
            let mut stream = TcpStream::connect(addr).await?;
            stream.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n").await?;
            clients.push(stream);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let during = open_fds(pid);
        say("slowloris: waiting past the 10 s head timeout");
        tokio::time::sleep(Duration::from_secs(12)).await;
        let after = open_fds(pid);
        drop(clients);
        Ok::<_, std::io::Error>((before, during, after))
    })?;
    drop(server);
    report.slowloris_fds = fds;

    // HTTP/2 streams that never get window.
    let (server, addr) = start_with("serve-broadcast", &["serve-broadcast"], false)?;
    let (connections, streams) = (51, 200);
    report.no_window_attack = (connections, streams);
    let (answered, held) = runtime.block_on(async {
        say("no window: 51 h2c connections open 200 streams each, window 0, never granted");
        let mut attackers = Vec::new();
        let mut answered = 0;
        for _ in 0..connections {
            let (attacker, responses) = no_window_connection(addr, streams).await?;
            answered += responses;
            attackers.push(attacker);
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
        let just_after = open_event_streams(addr).await?;
        say("no window: waiting past the 30 s write stall timeout");
        tokio::time::sleep(Duration::from_secs(35)).await;
        let after_stall = open_event_streams(addr).await?;
        drop(attackers);
        Ok::<_, std::io::Error>((answered, (just_after, after_stall)))
    })?;
    drop(server);
    report.no_window_answered = answered;
    report.no_window_held = held;

    print_report(&report);
    if let Some(dir) = json.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(json, serde_json::to_vec_pretty(&report)?)?;
    println!("\n(JSON: {})", json.display());
    Ok(())
}

/// One h2c connection to `addr` that announces a stream window of 0 and opens
/// `streams` event streams, never granting a byte (the connection itself is driven, so
/// PING and SETTINGS are answered and the socket never stalls). Returns what keeps it
/// and its streams open (a response dropped would reset its stream), and how many
/// response heads came back within 10 s.
async fn no_window_connection(
    addr: SocketAddr,
    streams: usize,
) -> std::io::Result<(NoWindow, usize)> {
    let tcp = TcpStream::connect(addr).await?;
    let (mut send, connection) = h2::client::Builder::new()
        .initial_window_size(0)
        .handshake::<_, bytes::Bytes>(tcp)
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut pending = Vec::new();
    for _ in 0..streams {
        send = send.ready().await.map_err(std::io::Error::other)?;
        let request = http::Request::get("http://localhost/events")
            .header("accept", "text/event-stream")
            .body(())
            .map_err(std::io::Error::other)?;
        let (response, _) = send
            .send_request(request, true)
            .map_err(std::io::Error::other)?;
        pending.push(response);
    }
    let mut responses = Vec::new();
    for response in pending {
        if let Ok(Ok(response)) = tokio::time::timeout(Duration::from_secs(10), response).await {
            responses.push(response);
        }
    }
    let answered = responses.len();
    Ok(((send, responses), answered))
}

/// An attacking connection and the responses it holds.
type NoWindow = (
    h2::client::SendRequest<bytes::Bytes>,
    Vec<http::Response<h2::RecvStream>>,
);

/// The chat's open event streams, as its ticks report them (`"subscribers":N`), less
/// the one this opens to read them.
async fn open_event_streams(addr: SocketAddr) -> std::io::Result<usize> {
    use tokio::io::AsyncBufReadExt as _;
    let mut stream = TcpStream::connect(addr).await?;
    stream
        .write_all(b"GET /events HTTP/1.1\r\nhost: x\r\naccept: text/event-stream\r\n\r\n")
        .await?;
    let mut lines = tokio::io::BufReader::new(stream).lines();
    let read = async {
        while let Some(line) = lines.next_line().await? {
            if let Some(at) = line.find("\"subscribers\":") {
                let digits: String = line[at + 14..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                if let Ok(n) = digits.parse::<usize>() {
                    return Ok(n.saturating_sub(1));
                }
            }
        }
        Err(std::io::Error::other(
            "the chat's stream ended without a tick",
        ))
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .map_err(|_| std::io::Error::other("no tick within 10 s"))?
}

/// A minimal HTTP/1.1 client for the chat's `POST /publish`, on one kept-alive
/// connection.
struct Poster {
    addr: SocketAddr,
    stream: tokio::sync::Mutex<Option<TcpStream>>,
}

impl Poster {
    fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            stream: tokio::sync::Mutex::new(None),
        }
    }

    async fn post(&self) -> std::io::Result<()> {
        use tokio::io::AsyncReadExt;
        let body = format!("name=load&text={}", "y".repeat(2000));
        let request = format!(
            "POST /publish HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        let mut guard = self.stream.lock().await;
        if guard.is_none() {
            *guard = Some(TcpStream::connect(self.addr).await?);
        }
        let Some(stream) = guard.as_mut() else {
            return Err(std::io::Error::other("no connection"));
        };
        stream.write_all(request.as_bytes()).await?;
        // `204 No Content`: the head is the whole answer.
        let mut head = Vec::new();
        let mut byte = [0_u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if stream.read(&mut byte).await? == 0 {
                *guard = None;
                return Err(std::io::Error::other("the server closed the connection"));
            }
            head.push(byte[0]);
        }
        Ok(())
    }
}

fn print_report(report: &Report) {
    println!("\n| attack | figure |\n|---|---|");
    if let (Some(per_client), Some(window)) =
        (report.replay_rss_per_client, report.replay_window_bytes)
    {
        println!(
            "| 20 unread resumes from the first of 10 000 entries ({:.1} MiB window) | {:.2} MiB server memory per resume |",
            window as f64 / 1024.0 / 1024.0,
            per_client / 1024.0 / 1024.0
        );
    }
    match report.stop_seconds_with_stalled_readers {
        Some(seconds) => println!(
            "| SIGTERM with 5 stalled readers (grace {:.0} s) | exited after {seconds:.2} s |",
            report.stop_grace_seconds
        ),
        None => println!("| SIGTERM with 5 stalled readers | did not exit within 30 s |"),
    }
    let (before, during, after) = report.slowloris_fds;
    println!(
        "| {} slowloris connections | server fds {before} before, {during} with them, {after} after the 10 s head timeout |",
        report.slowloris_clients
    );
    let ((connections, streams), (just_after, after_stall)) =
        (report.no_window_attack, report.no_window_held);
    println!(
        "| {connections} h2c connections x {streams} streams, window 0 | {} answered; the chat holds {just_after} event streams 3 s after, {after_stall} after the 30 s stall timeout |",
        report.no_window_answered
    );
}
