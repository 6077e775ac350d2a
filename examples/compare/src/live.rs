//! The comparison page (`cargo run -p compare`): the countdown demo on hyper, axum,
//! actix-web and warp at once, a live summary of what each delivers, and two
//! benchmarks started from the page: a race (the same burst against every variant,
//! ours and each framework's built-in SSE) and a fan-out (subscribers opened by the
//! tool, live delivery latency).
//!
//! - Each pane is the demo's own page in a frame loaded from its own server, so every
//!   stream is same-origin and each origin has its own browser limit of six HTTP/1.1
//!   connections. Each frame reports its figures (events, reconnects, gaps, first-event
//!   latency, whether it overflows) to this page with `postMessage`.
//! - Each server's public port is a relay in front of the server, which counts the
//!   bytes the server sends: the bytes on the wire, HTTP framing included.
//! - The race and the fan-out run `compare bench` and `compare fanout` with
//!   `--json-lines` as child processes (each variant's server in its own process,
//!   pinned like the command-line benchmarks), one job at a time. Their lines, and the
//!   servers' figures twice a second, reach the page on `/updates`, an event stream
//!   served by sse-axum from an sse-rs-core hub. `/race.json` and `/fanout.json`
//!   answer the last report of each, as the tool wrote it; `/servers.json` the
//!   servers' figures now.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use countdown::{Countdown, Signal};
use serde::Deserialize;
use sse_axum::hub::Hub;
use sse_axum::{Event, EventType, KeepAlive, LastEventId, Sse};
use sse_rs::shutdown::Shutdown;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The servers of the live page, in the order of their ports after the page's.
pub const SERVERS: [&str; 4] = ["hyper", "axum", "actix-web", "warp"];

/// The page: plain HTML, CSS and a script, nothing fetched from elsewhere.
const PAGE: &str = include_str!("../page.html");

/// The topics of `/updates`: the servers' figures, the race's and the fan-out's lines.
const TOPICS: [&str; 3] = ["servers", "race", "fanout"];

/// The longest a race or a fan-out may run before it is stopped.
const JOB_LIMIT: Duration = Duration::from_secs(600);

/// The page for servers on `ports`: the ports go into the script, which builds each
/// frame's address from the host the page was opened at.
#[must_use]
pub fn page(ports: [u16; 4]) -> String {
    let servers: Vec<serde_json::Value> = SERVERS
        .iter()
        .zip(ports)
        .map(|(name, port)| serde_json::json!({ "name": name, "port": port }))
        .collect();
    let races: Vec<serde_json::Value> = compare_variants(&crate::Variant::BURST);
    let fanouts: Vec<serde_json::Value> = compare_variants(&crate::Variant::ALL);
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let config = serde_json::json!({
        "servers": servers, "race": races, "fanout": fanouts, "build": build,
    });
    // JSON in a script: `<` escaped so that no value can close the element.
    PAGE.replace(
        "/*CONFIG*/null",
        &config.to_string().replace('<', "\\u003c"),
    )
}

/// The variants a panel shows, each with the built-in it is compared with.
fn compare_variants(variants: &[crate::Variant]) -> Vec<serde_json::Value> {
    variants
        .iter()
        .map(|v| serde_json::json!({ "name": v.name(), "reference": v.reference().map(crate::Variant::name) }))
        .collect()
}

/// What the relay in front of one server counted.
#[derive(Debug, Default)]
struct Tap {
    /// Bytes the server sent to browsers.
    sent: AtomicU64,
    /// Connections browsers opened.
    connections: AtomicU64,
}

/// The most connections one relay holds at once; more wait in the listen queue.
const RELAY_CONNECTIONS: usize = 256;

/// A server that sends nothing for this long (a stream sends a keep-alive comment
/// every 15 s) has its browser connection closed by the relay.
const RELAY_IDLE: Duration = Duration::from_secs(120);

/// Accepts browsers on `listener` and relays each to the server at `upstream`,
/// counting what the server sends, until `stop`.
async fn relay(listener: TcpListener, upstream: SocketAddr, tap: Arc<Tap>, stop: Shutdown) {
    let limit = Arc::new(tokio::sync::Semaphore::new(RELAY_CONNECTIONS));
    loop {
        let accept = async {
            let permit = Arc::clone(&limit).acquire_owned().await;
            (permit, listener.accept().await)
        };
        tokio::select! {
            () = stop.clone().wait() => return,
            (permit, accepted) = accept => match (permit, accepted) {
                (Ok(permit), Ok((client, _))) => {
                    tap.connections.fetch_add(1, Ordering::Relaxed);
                    let tap = Arc::clone(&tap);
                    tokio::spawn(async move {
                        let _ = pipe(client, upstream, tap).await;
                        drop(permit);
                    });
                }
                // Out of file descriptors, most likely: let some close.
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            },
        }
    }
}

/// One browser connection through the relay: both ways until either side closes, then
/// both are closed (a browser never half-closes an event stream). Each way holds one
/// 16 KiB buffer; a browser that stops reading stops the server's writes, as it would
/// without the relay.
async fn pipe(client: TcpStream, upstream: SocketAddr, tap: Arc<Tap>) -> io::Result<()> {
    let server = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(upstream))
        .await
        .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    let up = async {
        let mut buf = vec![0_u8; 16 * 1024];
        loop {
            let read = from_client.read(&mut buf).await?;
            if read == 0 {
                return Ok::<_, io::Error>(());
            }
            to_server.write_all(&buf[..read]).await?;
        }
    };
    let down = async {
        let mut buf = vec![0_u8; 16 * 1024];
        loop {
            let read = tokio::time::timeout(RELAY_IDLE, from_server.read(&mut buf))
                .await
                .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
            if read == 0 {
                return Ok::<_, io::Error>(());
            }
            to_client.write_all(&buf[..read]).await?;
            tap.sent.fetch_add(read as u64, Ordering::Relaxed);
        }
    };
    tokio::select! {
        result = up => result,
        result = down => result,
    }
}

/// Binds `port` of 127.0.0.1; a port in use says which, and how to pick others (the
/// page takes `--port`, its servers the four ports after it).
async fn bind(port: u16, page: u16) -> io::Result<TcpListener> {
    TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .await
        .map_err(|error| {
            if error.kind() == io::ErrorKind::AddrInUse {
                io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!(
                        "port {port} on 127.0.0.1 is taken (another program, or a comparison already running); \
                         the page uses --port {page} and its servers the next four ports: pick others with \
                         `cargo run -p compare -- live --port {}`",
                        page.saturating_add(10)
                    ),
                )
            } else {
                error
            }
        })
}

/// The page's listener and its four servers', all bound before anything starts.
async fn bind_all(port: u16) -> io::Result<(TcpListener, [TcpListener; 4])> {
    let page = bind(port, port).await?;
    let mut servers = Vec::with_capacity(4);
    for offset in 1..=4 {
        servers.push(bind(port.saturating_add(offset), port).await?);
    }
    let servers: [TcpListener; 4] = servers
        .try_into()
        .map_err(|_| io::Error::other("four listeners"))?;
    Ok((page, servers))
}

/// One countdown server as the page sees it.
struct Served {
    port: u16,
    countdown: Countdown,
    tap: Arc<Tap>,
}

/// The page server's state.
#[derive(Clone)]
struct App {
    /// The page's port: requests must name it (see [`from_the_page`]).
    port: u16,
    hub: Hub,
    stop: Shutdown,
    /// The program whose `bench` and `fanout` subcommands run the jobs.
    exe: Arc<PathBuf>,
    servers: Arc<[Served]>,
    /// The job running now, if any: at most one, so that two never share the cores.
    busy: Arc<Mutex<Option<Job>>>,
    /// The last report of each job, as the tool printed it.
    reports: Arc<Mutex<Reports>>,
}

#[derive(Default)]
struct Reports {
    race: Option<serde_json::Value>,
    fanout: Option<serde_json::Value>,
}

/// The two benchmarks the page starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Job {
    Race,
    Fanout,
}

impl Job {
    fn topic(self) -> &'static str {
        match self {
            Job::Race => "race",
            Job::Fanout => "fanout",
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl App {
    fn publish(&self, topic: &'static str, value: &serde_json::Value) {
        self.hub.publish(
            topic,
            Event::default()
                .event(EventType::from_static(topic))
                .data(value.to_string()),
        );
    }

    /// The servers' figures, as `/updates` sends them.
    fn figures(&self) -> serde_json::Value {
        let servers: Vec<serde_json::Value> = SERVERS
            .iter()
            .zip(self.servers.iter())
            .map(|(name, served)| {
                serde_json::json!({
                    "name": name,
                    "port": served.port,
                    "open_streams": served.countdown.open_streams(),
                    "requests": served.countdown.requests(),
                    "bytes": served.tap.sent.load(Ordering::Relaxed),
                    "connections": served.tap.connections.load(Ordering::Relaxed),
                })
            })
            .collect();
        serde_json::json!({ "servers": servers })
    }
}

/// The race's settings, from the page.
#[derive(Debug, Deserialize)]
struct RaceQuery {
    events: u64,
    size: usize,
    #[serde(default = "one")]
    rounds: usize,
}

/// The fan-out's settings, from the page.
#[derive(Debug, Deserialize)]
struct FanoutQuery {
    subscribers: usize,
    rate: u64,
    events: u64,
    #[serde(default = "sixty_four")]
    size: usize,
}

fn one() -> usize {
    1
}

fn sixty_four() -> usize {
    64
}

/// A request the page may not make, with why.
fn refuse(status: StatusCode, why: impl Into<String>) -> Response {
    (status, why.into()).into_response()
}

impl RaceQuery {
    /// The arguments of `compare bench`, or why the settings are refused.
    fn args(&self) -> Result<Vec<String>, String> {
        if !(1000..=2_000_000).contains(&self.events) {
            return Err("events: from 1000 to 2000000".into());
        }
        if !(1..=65536).contains(&self.size) {
            return Err("size: from 1 to 65536 bytes".into());
        }
        if !(1..=5).contains(&self.rounds) {
            return Err("rounds: from 1 to 5".into());
        }
        // A burst carries at most 256 MiB of data (the tool's bound): fewer events
        // when they are large, never fewer than 1000.
        Ok(vec![
            "bench".into(),
            "--events".into(),
            self.events.to_string(),
            "--sizes".into(),
            self.size.to_string(),
            "--rounds".into(),
            self.rounds.to_string(),
        ])
    }
}

impl FanoutQuery {
    /// The arguments of `compare fanout`, or why the settings are refused.
    fn args(&self) -> Result<Vec<String>, String> {
        if !(1..=2000).contains(&self.subscribers) {
            return Err("subscribers: from 1 to 2000".into());
        }
        if !(1..=4096).contains(&self.events) {
            return Err("events: from 1 to 4096 (the broadcast queues' size)".into());
        }
        if self.rate > 100_000 {
            return Err("rate: at most 100000 per second (0: as fast as possible)".into());
        }
        if !(20..=65536).contains(&self.size) {
            return Err("size: from 20 to 65536 bytes".into());
        }
        // The tool gives each run a minute.
        if self.rate > 0 && self.events > 50 * self.rate {
            return Err("events ÷ rate: at most 50 s of publishing".into());
        }
        Ok(vec![
            "fanout".into(),
            "--subscribers".into(),
            self.subscribers.to_string(),
            "--rate".into(),
            self.rate.to_string(),
            "--events".into(),
            self.events.to_string(),
            "--size".into(),
            self.size.to_string(),
            "--rounds".into(),
            "1".into(),
        ])
    }
}

async fn race(State(app): State<App>, Query(query): Query<RaceQuery>) -> Response {
    match query.args() {
        Ok(args) => start_job(&app, Job::Race, args),
        Err(why) => refuse(StatusCode::BAD_REQUEST, why),
    }
}

async fn fanout(State(app): State<App>, Query(query): Query<FanoutQuery>) -> Response {
    match query.args() {
        Ok(args) => start_job(&app, Job::Fanout, args),
        Err(why) => refuse(StatusCode::BAD_REQUEST, why),
    }
}

/// Starts `job` unless one runs: `202 Accepted`, its lines follow on `/updates`.
fn start_job(app: &App, job: Job, args: Vec<String>) -> Response {
    {
        let mut busy = lock(&app.busy);
        if let Some(running) = *busy {
            return refuse(
                StatusCode::CONFLICT,
                format!("the {} is running: one at a time", running.topic()),
            );
        }
        *busy = Some(job);
    }
    let app = app.clone();
    tokio::spawn(async move {
        // Free for the next job however this task ends, before the page hears of it.
        let guard = Busy(Arc::clone(&app.busy));
        app.publish(
            job.topic(),
            &serde_json::json!({ "kind": "start", "args": args }),
        );
        let outcome = tokio::select! {
            outcome = tokio::time::timeout(JOB_LIMIT, run_job(&app, job, &args)) => {
                outcome.unwrap_or_else(|_| Err(format!("stopped after {} s", JOB_LIMIT.as_secs())))
            }
            () = app.stop.clone().wait() => Err("the page is stopping".into()),
        };
        let end = match outcome {
            Ok(()) => serde_json::json!({ "kind": "end" }),
            Err(message) => serde_json::json!({ "kind": "error", "message": message }),
        };
        drop(guard);
        app.publish(job.topic(), &end);
    });
    (StatusCode::ACCEPTED, "started").into_response()
}

/// Runs the tool with `args` and `--json-lines`, passing each line it prints to the
/// page; its report is kept for `/race.json` or `/fanout.json`. The child is killed
/// if this future is dropped (a timeout, a stop).
async fn run_job(app: &App, job: Job, args: &[String]) -> Result<(), String> {
    let mut command = tokio::process::Command::new(app.exe.as_path());
    command
        .args(args)
        .arg("--json-lines")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // In a process group of its own, with the servers it starts: a job stopped early
    // ends them all (see `Group`).
    #[cfg(unix)]
    command.process_group(0);
    let mut child = command
        .spawn()
        .map_err(|error| format!("cannot start {}: {error}", app.exe.display()))?;
    let mut group = Group(child.id());
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    // The last lines the tool wrote on stderr, to say why it failed.
    let complaints = tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        let mut last = std::collections::VecDeque::new();
        while let Ok(Some(line)) = lines.next_line().await {
            if last.len() == 3 {
                last.pop_front();
            }
            last.push_back(line);
        }
        Vec::from(last).join(" / ")
    });
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    while let Some(line) = lines.next_line().await.map_err(|e| e.to_string())? {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if value["kind"] == "done" {
            let mut reports = lock(&app.reports);
            let report = Some(value["report"].clone());
            match job {
                Job::Race => reports.race = report,
                Job::Fanout => reports.fanout = report,
            }
        }
        app.publish(job.topic(), &value);
    }
    let status = child.wait().await.map_err(|e| e.to_string())?;
    group.0 = None;
    if status.success() {
        Ok(())
    } else {
        let why = tokio::time::timeout(Duration::from_secs(2), complaints)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        Err(format!("the {} failed ({status}): {why}", job.topic()))
    }
}

/// Clears the page's "a job runs" when dropped.
struct Busy(Arc<Mutex<Option<Job>>>);

impl Drop for Busy {
    fn drop(&mut self) {
        *lock(&self.0) = None;
    }
}

/// The process group of a running job (the tool and the servers it started), killed
/// when dropped before the job ended by itself: a timeout, a stop of the page.
struct Group(Option<u32>);

impl Drop for Group {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(pid) = self.0.take() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// The event stream of the page: the servers' figures and the jobs' lines.
async fn updates(State(app): State<App>, last: LastEventId) -> Response {
    Sse::new(app.hub.subscribe(&TOPICS, &last))
        .keep_alive(KeepAlive::default())
        .shutdown(app.stop.clone(), None)
        .into_response()
}

/// Whether a request is the page's own: its `Host` is a loopback name with the
/// page's port, and its `Origin`, when it has one (a browser sends one with every
/// `POST`), is the page's too. So another site a browser visits can neither start a
/// job (a cross-site `POST` needs no preflight) nor read the page's figures through a
/// DNS name rebound to 127.0.0.1.
fn from_the_page(headers: &axum::http::HeaderMap, port: u16) -> bool {
    let local = |authority: &str| {
        authority.rsplit_once(':').is_some_and(|(host, p)| {
            ["127.0.0.1", "localhost"].contains(&host) && p.parse() == Ok(port)
        })
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    if !host.is_some_and(local) {
        return false;
    }
    match headers.get(header::ORIGIN) {
        None => true,
        Some(origin) => origin
            .to_str()
            .ok()
            .and_then(|origin| origin.strip_prefix("http://"))
            .is_some_and(local),
    }
}

/// Refuses, with `403`, what [`from_the_page`] does not accept.
async fn only_the_page(
    State(app): State<App>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if from_the_page(request.headers(), app.port) {
        next.run(request).await
    } else {
        refuse(
            StatusCode::FORBIDDEN,
            "only the comparison page, opened at 127.0.0.1 or localhost, may ask this",
        )
    }
}

/// The last report of a job, or `404` before the first.
fn report(value: Option<serde_json::Value>) -> Response {
    match value {
        Some(value) => (
            [(header::CONTENT_TYPE, "application/json")],
            value.to_string(),
        )
            .into_response(),
        None => refuse(StatusCode::NOT_FOUND, "none yet"),
    }
}

/// Runs the four countdown servers and the page until Ctrl-C. `exe` is this program,
/// whose `bench` and `fanout` subcommands run the page's benchmarks.
///
/// # Errors
///
/// When a port cannot be bound or a server fails.
pub fn run(port: u16, interval: Duration, count: u64, exe: PathBuf) -> io::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let ports = [1, 2, 3, 4].map(|offset| port.saturating_add(offset));
            let (listener, public) = bind_all(port).await?;
            let (trigger, signal) = Shutdown::new();
            let signal_of = |signal: &Shutdown| -> Signal { Box::pin(signal.clone().wait()) };
            // Each server on a port of its own that only the relay knows.
            let mut private = Vec::with_capacity(4);
            for _ in 0..4 {
                private.push(TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?);
            }
            let upstreams = private
                .iter()
                .map(TcpListener::local_addr)
                .collect::<io::Result<Vec<_>>>()?;
            let countdowns: [Countdown; 4] =
                std::array::from_fn(|_| Countdown::new(count, interval));
            let mut private = private.into_iter();
            let mut next = || {
                private
                    .next()
                    .ok_or_else(|| io::Error::other("four servers"))
            };
            let servers = vec![
                tokio::spawn(hyper_countdown::serve(
                    next()?,
                    countdowns[0].clone(),
                    signal_of(&signal),
                )),
                tokio::spawn(axum_countdown::serve(
                    next()?,
                    countdowns[1].clone(),
                    signal_of(&signal),
                )),
                tokio::spawn(actix_countdown::serve(
                    next()?,
                    countdowns[2].clone(),
                    signal_of(&signal),
                )),
                tokio::spawn(warp_countdown::serve(
                    next()?,
                    countdowns[3].clone(),
                    signal_of(&signal),
                )),
            ];
            let taps: [Arc<Tap>; 4] = std::array::from_fn(|_| Arc::default());
            for ((listener, upstream), tap) in public.into_iter().zip(upstreams).zip(&taps) {
                tokio::spawn(relay(listener, upstream, Arc::clone(tap), signal.clone()));
            }
            let served: Vec<Served> = countdowns
                .into_iter()
                .zip(taps)
                .zip(ports)
                .map(|((countdown, tap), port)| Served {
                    port,
                    countdown,
                    tap,
                })
                .collect();
            let app = App {
                port: listener.local_addr()?.port(),
                hub: Hub::new(),
                stop: signal.clone(),
                exe: Arc::new(exe),
                servers: Arc::from(served),
                busy: Arc::default(),
                reports: Arc::default(),
            };
            // The servers' figures, twice a second.
            let ticker = app.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(500));
                loop {
                    tokio::select! {
                        () = ticker.stop.clone().wait() => return,
                        _ = tick.tick() => ticker.publish("servers", &ticker.figures()),
                    }
                }
            });
            let html = page(ports);
            let router = axum::Router::new()
                .route(
                    "/",
                    axum::routing::get(move || async move { axum::response::Html(html) }),
                )
                .route("/updates", axum::routing::get(updates))
                .route("/race", axum::routing::post(race))
                .route("/fanout", axum::routing::post(fanout))
                .route(
                    "/servers.json",
                    axum::routing::get(|State(app): State<App>| async move {
                        report(Some(app.figures()))
                    }),
                )
                .route(
                    "/race.json",
                    axum::routing::get(|State(app): State<App>| async move {
                        report(lock(&app.reports).race.clone())
                    }),
                )
                .route(
                    "/fanout.json",
                    axum::routing::get(|State(app): State<App>| async move {
                        report(lock(&app.reports).fanout.clone())
                    }),
                )
                .layer(axum::middleware::from_fn_with_state(
                    app.clone(),
                    only_the_page,
                ))
                .with_state(app);
            println!(
                "side by side on http://{}/ (servers on ports {:?}), Ctrl-C to stop",
                listener.local_addr()?,
                ports
            );
            let page_signal = signal_of(&signal);
            let page_server = tokio::spawn(async move {
                axum::serve(listener, router)
                    .with_graceful_shutdown(page_signal)
                    .await
            });
            countdown::ctrl_c().await;
            trigger.fire();
            for server in servers {
                server.await.map_err(io::Error::other)??;
            }
            page_server.await.map_err(io::Error::other)??;
            println!("stopped");
            Ok(())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A port in use is named, with the way to pick others; nothing is left bound.
    #[tokio::test]
    async fn a_taken_port_is_named_with_the_way_out() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        // The page's port, then one of its servers' (the page two ports before; a
        // port between them taken by someone else is named instead, as it should be).
        for page in [port, port.saturating_sub(2)] {
            let error = bind_all(page).await.expect_err("a taken port binds");
            let text = error.to_string();
            assert_eq!(error.kind(), io::ErrorKind::AddrInUse, "{text}");
            assert!(text.contains(" is taken "), "{text}");
            assert!(text.contains("-- live --port "), "{text}");
            if page == port {
                assert!(text.contains(&format!("port {port} ")), "{text}");
            }
        }
    }

    #[test]
    fn the_page_carries_the_servers_and_variants_as_json() {
        let html = page([9001, 9002, 9003, 9004]);
        assert!(!html.contains("/*CONFIG*/"), "the placeholder is filled");
        let config = html
            .split_once("const CONFIG = ")
            .and_then(|(_, rest)| rest.split_once(";\n"))
            .map(|(json, _)| json)
            .expect("the config");
        let config: serde_json::Value = serde_json::from_str(config).expect("JSON");
        for (i, name) in SERVERS.iter().enumerate() {
            assert_eq!(config["servers"][i]["name"], *name);
            assert_eq!(config["servers"][i]["port"], 9001 + i);
        }
        assert_eq!(config["race"].as_array().map(Vec::len), Some(8));
        assert_eq!(config["fanout"].as_array().map(Vec::len), Some(7));
        assert_eq!(config["race"][0]["reference"], "axum built-in");
        // Nothing fetched from elsewhere: no CDN, no external script or style.
        for external in ["<script src", "<link", "https://", "@import"] {
            assert!(!html.contains(external), "{external}");
        }
    }

    #[test]
    fn settings_out_of_bounds_are_refused_with_why() {
        let race = |events, size, rounds| RaceQuery {
            events,
            size,
            rounds,
        };
        assert!(race(20_000, 64, 1).args().is_ok());
        for (bad, why) in [
            (race(999, 64, 1), "events"),
            (race(3_000_000, 64, 1), "events"),
            (race(20_000, 0, 1), "size"),
            (race(20_000, 65537, 1), "size"),
            (race(20_000, 64, 0), "rounds"),
            (race(20_000, 64, 6), "rounds"),
        ] {
            assert!(bad.args().unwrap_err().starts_with(why), "{bad:?}");
        }
        let fan = |subscribers, rate, events, size| FanoutQuery {
            subscribers,
            rate,
            events,
            size,
        };
        assert_eq!(
            fan(20, 100, 60, 64).args().unwrap()[..3],
            ["fanout", "--subscribers", "20"]
        );
        for (bad, why) in [
            (fan(0, 100, 60, 64), "subscribers"),
            (fan(2001, 100, 60, 64), "subscribers"),
            (fan(20, 100_001, 60, 64), "rate"),
            (fan(20, 100, 0, 64), "events"),
            (fan(20, 100, 4097, 64), "events"),
            (fan(20, 100, 60, 19), "size"),
            (fan(20, 10, 501, 64), "events ÷ rate"),
        ] {
            assert!(bad.args().unwrap_err().starts_with(why), "{bad:?}");
        }
    }

    #[test]
    fn only_the_page_itself_may_ask() {
        let headers = |pairs: &[(&str, &str)]| {
            let mut map = axum::http::HeaderMap::new();
            for (name, value) in pairs {
                map.insert(
                    axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                    value.parse().unwrap(),
                );
            }
            map
        };
        for good in [
            &[("host", "127.0.0.1:8083")][..],
            &[("host", "localhost:8083")],
            &[
                ("host", "127.0.0.1:8083"),
                ("origin", "http://127.0.0.1:8083"),
            ],
            &[
                ("host", "localhost:8083"),
                ("origin", "http://localhost:8083"),
            ],
        ] {
            assert!(from_the_page(&headers(good), 8083), "{good:?}");
        }
        for bad in [
            &[][..],
            &[("host", "127.0.0.1:8084")],
            &[("host", "evil.example:8083")],
            &[("host", "127.0.0.1")],
            &[
                ("host", "127.0.0.1:8083"),
                ("origin", "http://evil.example"),
            ],
            &[
                ("host", "127.0.0.1:8083"),
                ("origin", "http://127.0.0.1:8084"),
            ],
            &[("host", "127.0.0.1:8083"), ("origin", "null")],
            &[
                ("host", "127.0.0.1:8083"),
                ("origin", "https://127.0.0.1:8083"),
            ],
        ] {
            assert!(!from_the_page(&headers(bad), 8083), "{bad:?}");
        }
    }

    /// The relay passes both ways unchanged, counts what the server sent, and closes
    /// the server's side when the browser goes.
    #[tokio::test]
    async fn the_relay_counts_the_bytes_the_server_sends() {
        let server = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream = server.local_addr().unwrap();
        let public = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = public.local_addr().unwrap();
        let tap = Arc::new(Tap::default());
        let (trigger, stop) = Shutdown::new();
        tokio::spawn(relay(public, upstream, Arc::clone(&tap), stop));

        let mut client = TcpStream::connect(addr).await.unwrap();
        let (mut behind, _) = server.accept().await.unwrap();
        client.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        let mut request = [0_u8; 18];
        behind.read_exact(&mut request).await.unwrap();
        assert_eq!(&request, b"GET / HTTP/1.1\r\n\r\n");
        let answer = vec![b'x'; 100_000];
        behind.write_all(&answer).await.unwrap();
        let mut got = vec![0_u8; answer.len()];
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(got, answer);
        // Counted right after the write that delivered it.
        for _ in 0..500 {
            if tap.sent.load(Ordering::Relaxed) == 100_000 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(tap.sent.load(Ordering::Relaxed), 100_000);
        assert_eq!(tap.connections.load(Ordering::Relaxed), 1);

        drop(client);
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(5), behind.read_to_end(&mut rest))
            .await
            .expect("the server's side is closed");
        assert_eq!(closed.unwrap(), 0);
        trigger.fire();
    }
}
