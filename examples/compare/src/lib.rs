//! The same SSE workload on every server we support, with our adapters and with each
//! framework's built-in SSE, for side-by-side measurement.
//!
//! Every variant serves `GET /burst?n=N&size=S`: `N` events (`id: 1..N`,
//! `event: tick`, `S` bytes of data) as fast as the stream is polled, then the end.
//! Every server sets `TCP_NODELAY` on its sockets, so no variant's last write waits
//! for the client's delayed ACK (Nagle's algorithm would hold it back ~40 ms).

pub mod compress;
pub mod fanout;
pub mod fanout_h2;
pub mod live;
pub mod scale;

use fanout::{Broadcast, Publish};

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::stream::{self, Stream};
use serde::Deserialize;

/// A server and SSE implementation under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Variant {
    /// Plain hyper 1 with `sse_rs::SseBody`.
    HyperSseCore,
    /// axum 0.8 with `sse-axum`.
    SseAxum,
    /// axum 0.8 with `axum::response::sse` (built in).
    AxumBuiltin,
    /// warp 0.4 with `sse-warp`.
    SseWarp,
    /// warp 0.4 with `warp::sse` (built in).
    WarpBuiltin,
    /// actix-web 4 with `sse-actix`.
    SseActix,
    /// actix-web 4 with `actix-web-lab`'s `sse` (the reference for actix).
    ActixWebLab,
    /// No framework and no SSE library: the same chunked bytes written by hand in
    /// 1 MiB writes (payloads of 16 KiB and more vectored, not copied), the ceiling of a
    /// burst (serves `/burst` only).
    RawWriter,
}

impl Variant {
    /// Every variant that serves the whole workload, ours next to the reference of
    /// the same framework.
    pub const ALL: [Variant; 7] = [
        Variant::SseAxum,
        Variant::AxumBuiltin,
        Variant::SseWarp,
        Variant::WarpBuiltin,
        Variant::SseActix,
        Variant::ActixWebLab,
        Variant::HyperSseCore,
    ];

    /// The variants of a burst: all of them and the raw writer, the ceiling.
    pub const BURST: [Variant; 8] = [
        Variant::SseAxum,
        Variant::AxumBuiltin,
        Variant::SseWarp,
        Variant::WarpBuiltin,
        Variant::SseActix,
        Variant::ActixWebLab,
        Variant::HyperSseCore,
        Variant::RawWriter,
    ];

    /// Whether the variant serves the fan-out and idle-stream workloads.
    #[must_use]
    pub fn serves_fanout(self) -> bool {
        self != Variant::RawWriter
    }

    /// A short name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Variant::HyperSseCore => "hyper + sse-rs-core",
            Variant::SseAxum => "sse-axum",
            Variant::AxumBuiltin => "axum built-in",
            Variant::SseWarp => "sse-warp",
            Variant::WarpBuiltin => "warp built-in",
            Variant::SseActix => "sse-actix",
            Variant::ActixWebLab => "actix-web-lab",
            Variant::RawWriter => "raw writer",
        }
    }

    /// The built-in reference this variant of ours is compared with.
    #[must_use]
    pub fn reference(self) -> Option<Variant> {
        match self {
            Variant::SseAxum => Some(Variant::AxumBuiltin),
            Variant::SseWarp => Some(Variant::WarpBuiltin),
            Variant::SseActix => Some(Variant::ActixWebLab),
            _ => None,
        }
    }
}

/// The query of `/burst`.
#[derive(Clone, Copy, Debug, Deserialize)]
pub struct Burst {
    /// How many events.
    pub n: u64,
    /// Bytes of data per event.
    pub size: usize,
}

impl Burst {
    fn parse(query: Option<&str>) -> Burst {
        let mut burst = Burst { n: 1000, size: 64 };
        for pair in query.unwrap_or("").split('&') {
            match pair.split_once('=') {
                Some(("n", n)) => burst.n = n.parse().unwrap_or(burst.n),
                Some(("size", size)) => burst.size = size.parse().unwrap_or(burst.size),
                _ => {}
            }
        }
        burst.size = burst.size.min(1 << 20);
        burst
    }

    fn payload(self) -> String {
        "x".repeat(self.size)
    }
}

const TICK: sse_rs::EventType = sse_rs::EventType::from_static("tick");

/// Our burst. Every implementation takes the same payload the cheapest way its API
/// allows: ours and actix-web-lab share it (`Data` and `ByteString` are counted
/// references), axum's and warp's events copy it (their `data` takes `&str` or
/// `String`). Ours write each event through [`sse_rs::WriteEvent`], the API's fast
/// path: the fields go straight into the frame, with no `Event` in between.
fn ours(burst: Burst) -> impl Stream<Item = Result<Tick, Infallible>> + Send + 'static {
    let data = sse_rs::Data::from(burst.payload());
    stream::iter((1..=burst.n).map(move |id| {
        Ok(Tick {
            id,
            data: data.clone(),
        })
    }))
}

/// One event of a burst: `id`, `event: tick`, the shared payload.
struct Tick {
    id: u64,
    data: sse_rs::Data,
}

impl sse_rs::WriteEvent for Tick {
    fn write_event(self, out: &mut sse_rs::EventWriter<'_>) {
        out.event().id(self.id).event(&TICK).shared_data(&self.data);
    }
}

/// The CPU time (user and system) process `pid` has used, summed over its threads,
/// in nanoseconds, from `/proc/PID/task/*/schedstat`.
///
/// # Errors
///
/// When the process is gone or `/proc` cannot be read.
pub fn cpu_ns(pid: u32) -> io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        // A thread that ended meanwhile has no file any more.
        let Ok(text) = std::fs::read_to_string(entry?.path().join("schedstat")) else {
            continue;
        };
        total += text
            .split_whitespace()
            .next()
            .and_then(|ns| ns.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Ok(total)
}

/// A throw-away self-signed certificate for `127.0.0.1` and `localhost` (rcgen), as
/// PEM files in `dir`: (certificate, key). For the HTTPS benchmarks; the clients trust
/// exactly this certificate.
///
/// # Errors
///
/// When the certificate cannot be made or written.
pub fn self_signed(dir: &std::path::Path) -> io::Result<(std::path::PathBuf, std::path::PathBuf)> {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .map_err(io::Error::other)?;
    std::fs::create_dir_all(dir)?;
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, certified.cert.pem())?;
    std::fs::write(&key, certified.signing_key.serialize_pem())?;
    Ok((cert, key))
}

/// A listening socket on `addr` with `TCP_NODELAY`, which Linux passes on to every
/// socket it accepts.
fn listen(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    configure(std::net::TcpListener::bind(addr)?)
}

/// `TCP_NODELAY` for every accepted socket (Linux passes it on from the listener),
/// and non-blocking, as the runtimes want it.
fn configure(listener: std::net::TcpListener) -> io::Result<std::net::TcpListener> {
    socket2::SockRef::from(&listener).set_tcp_nodelay(true)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// The largest chunk the raw writer writes at once: 1 MiB, the fastest of 64 KiB to
/// 4 MiB on this kind of machine (`compare bench --only raw-writer --only
/// hyper-sse-core --sizes 64,1024`, 3 rounds, runs of each size alternated; server CPU
/// per event at 64 B: 64 KiB 43-45 ns, 256 KiB 40 ns, 512 KiB 36-38, 1 MiB 33-34, 2
/// MiB 36-51, 4 MiB 45; at 1 KiB: 313-314, 258-314, 281-305, 226-252, 261-269, 259
/// ns). In 256 KiB writes hyper's 64 KiB frames (several per `writev`) beat it at 1
/// KiB (247-265 ns), which a ceiling must not allow.
const RAW_CHUNK: usize = 1024 * 1024;

/// The raw writer: reads a request head, answers with the burst's events as chunked
/// bytes, encoded by hand into one reused buffer and written 1 MiB at a time (large
/// payloads from where they are, vectored).
async fn serve_raw(listener: tokio::net::TcpListener) -> io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    loop {
        let (mut socket, _) = listener.accept().await?;
        tokio::spawn(async move {
            let mut head = Vec::with_capacity(1024);
            let mut buf = [0_u8; 1024];
            while memchr::memmem::find(&head, b"\r\n\r\n").is_none() {
                let read = socket.read(&mut buf).await?;
                if read == 0 || head.len() > 8 * 1024 {
                    return Ok(());
                }
                head.extend_from_slice(&buf[..read]);
            }
            let target = head.split(|&b| b == b' ').nth(1).unwrap_or_default();
            let query = std::str::from_utf8(target)
                .ok()
                .and_then(|target| target.split_once('?'))
                .map(|(_, query)| query);
            let burst = Burst::parse(query);
            let payload = burst.payload();
            socket
                .write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n",
                )
                .await?;
            if payload.len() >= RAW_VECTORED {
                write_raw_vectored(&mut socket, burst.n, payload.as_bytes()).await?;
            } else {
                write_raw_copied(&mut socket, burst.n, payload.as_bytes()).await?;
            }
            socket.write_all(b"0\r\n\r\n").await?;
            socket.shutdown().await?;
            Ok::<_, io::Error>(())
        });
    }
}

/// Payloads at least this large are written from where they are (vectored), not
/// copied, so that the raw writer stays the fastest way to write these bytes at every
/// size. Measured with `compare bench --only raw-writer --only sse-axum`, server CPU
/// per event, 3 runs of 3 rounds each way: at 4 KiB copying wins (1.50-1.66 against
/// 1.70-1.94 us, in 64 KiB writes); at 8 KiB too (hyper and axum copying it, 1.95-2.32
/// us, beat the raw writer's vectored 2.29-2.81 us); at 16 KiB, copied into 64 KiB
/// writes 4.8-8.8 us (slower than sse-axum's 4.2-5.3), vectored in 256 KiB writes
/// 4.7-4.8 us; at 64 KiB 18.6-21.1 against 17.9-24.9 us. The same threshold as the
/// body's own (`SHARED_DATA` in `sse-rs-core`).
const RAW_VECTORED: usize = 16 * 1024;
/// Bytes of events per vectored write: 1 MiB, as for copied events. In 256 KiB
/// writes hyper beat the raw writer at 16 and 64 KiB (109-124% of its events/s);
/// `compare bench --only raw-writer --only hyper-sse-core --sizes 16384,65536`, 3
/// rounds, runs alternated twice, server CPU per event at 16 KiB / 64 KiB: 64 KiB
/// writes 4.68-6.88 us / 17.7-18.0 us, 256 KiB 4.67-4.68 / 18.2-18.5, 1 MiB
/// 3.55-3.58 / 14.3-14.4, where hyper took 4.10-4.72 / 17.1-17.8.
const RAW_VECTORED_WRITE: usize = 1024 * 1024;

/// Small events: one chunk per 1 MiB, a fixed-width size line (leading zeros are
/// allowed), the events copied in, CRLF; one `write_all` each.
async fn write_raw_copied(
    socket: &mut tokio::net::TcpStream,
    n: u64,
    payload: &[u8],
) -> io::Result<()> {
    use tokio::io::AsyncWriteExt;
    const SIZE_LINE: usize = 10;
    let mut chunk: Vec<u8> = Vec::with_capacity(RAW_CHUNK + payload.len() + 64);
    chunk.resize(SIZE_LINE, 0);
    let mut id = itoa::Buffer::new();
    for event in 1..=n {
        chunk.extend_from_slice(b"id: ");
        chunk.extend_from_slice(id.format(event).as_bytes());
        chunk.extend_from_slice(b"\nevent: tick\ndata: ");
        chunk.extend_from_slice(payload);
        chunk.extend_from_slice(b"\n\n");
        if chunk.len() >= RAW_CHUNK || event == n {
            let size = format!("{:08X}\r\n", chunk.len() - SIZE_LINE);
            chunk[..SIZE_LINE].copy_from_slice(size.as_bytes());
            chunk.extend_from_slice(b"\r\n");
            socket.write_all(&chunk).await?;
            chunk.truncate(SIZE_LINE);
        }
    }
    Ok(())
}

/// Large events: a chunk per event, its size line and head, the payload as it is,
/// its end; about 1 MiB of events per `writev`.
async fn write_raw_vectored(
    socket: &mut tokio::net::TcpStream,
    n: u64,
    payload: &[u8],
) -> io::Result<()> {
    use std::io::IoSlice;
    use tokio::io::AsyncWriteExt;
    let per_write = u64::try_from(RAW_VECTORED_WRITE / payload.len())
        .unwrap_or(1)
        .max(1);
    let mut id = itoa::Buffer::new();
    // Heads and ends of one write's events, and where each one ends.
    let mut text: Vec<u8> = Vec::new();
    let mut ends: Vec<usize> = Vec::new();
    let mut first = 1;
    while first <= n {
        let last = (first + per_write - 1).min(n);
        text.clear();
        ends.clear();
        for event in first..=last {
            let id = id.format(event);
            // Chunk size: the event's bytes between the size line and the CRLF.
            let size = 4 + id.len() + 19 + payload.len() + 2;
            text.extend_from_slice(format!("{size:X}\r\nid: ").as_bytes());
            text.extend_from_slice(id.as_bytes());
            text.extend_from_slice(b"\nevent: tick\ndata: ");
            ends.push(text.len());
            text.extend_from_slice(b"\n\n\r\n");
            ends.push(text.len());
        }
        let mut slices = Vec::new();
        let mut start = 0;
        for pair in ends.chunks(2) {
            slices.push(IoSlice::new(&text[start..pair[0]]));
            slices.push(IoSlice::new(payload));
            slices.push(IoSlice::new(&text[pair[0]..pair[1]]));
            start = pair[1];
        }
        let mut slices = &mut slices[..];
        while !slices.is_empty() {
            let written = socket.write_vectored(slices).await?;
            if written == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            IoSlice::advance_slices(&mut slices, written);
        }
        first = last + 1;
    }
    Ok(())
}

/// A TLS config to serve HTTPS with (HTTP/2 or HTTP/1.1 by ALPN), or plain HTTP.
pub type Tls = Option<std::sync::Arc<sse_rs::server::rustls::ServerConfig>>;

/// Serves `variant` on `addr` until the process ends: plain HTTP/1.1 (as each
/// framework serves it by default), or with `tls` HTTPS with HTTP/2 by ALPN (the
/// core's `Server` for hyper, axum and warp, ours and built-in alike; actix-web's own
/// rustls support for actix). The raw writer speaks plain HTTP/1.1 only.
///
/// # Errors
///
/// When the address cannot be bound.
pub fn serve(variant: Variant, addr: SocketAddr, tls: Tls) -> io::Result<()> {
    serve_on(variant, std::net::TcpListener::bind(addr)?, tls)
}

/// [`serve`] on a listener already bound (so that nobody can take its port between
/// choosing and binding it, as tests that pick free ports in parallel would).
///
/// # Errors
///
/// When the listener cannot be configured.
pub fn serve_on(variant: Variant, listener: std::net::TcpListener, tls: Tls) -> io::Result<()> {
    let listener = configure(listener)?;
    match variant {
        Variant::SseActix | Variant::ActixWebLab => serve_actix(variant, listener, tls),
        _ => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(serve_tokio(variant, listener, tls)),
    }
}

/// Serves `service` over HTTPS with the core's `Server` until the process ends.
async fn serve_https<S, B>(
    listener: tokio::net::TcpListener,
    config: std::sync::Arc<sse_rs::server::rustls::ServerConfig>,
    service: S,
) -> io::Result<()>
where
    S: tower::Service<
            http::Request<sse_rs::server::ReadTimeoutBody<hyper::body::Incoming>>,
            Response = http::Response<B>,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<sse_rs::BoxError>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<sse_rs::BoxError>,
{
    let (trigger, _streams) = sse_rs::shutdown::Shutdown::new();
    sse_rs::server::Server::new(listener)
        .tls(config)
        // `compare scale` opens 100 event streams per connection.
        .event_streams_per_connection(100)
        .serve(service, std::future::pending(), trigger)
        .await
}

/// Serves the sse-axum fan-out app on `addr` with the sse-redis backplane at `url`
/// (stream keys under `prefix`), until the process ends: one of several instances.
///
/// # Errors
///
/// When the address cannot be bound or Redis cannot be reached.
pub fn serve_redis(addr: SocketAddr, url: &str, prefix: &str) -> io::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let client = sse_redis::redis::Client::open(url).map_err(io::Error::other)?;
            let hub = sse_redis::RedisHub::builder(client)
                .key_prefix(prefix)
                .queue_capacity(4096)
                .connect()
                .await
                .map_err(io::Error::other)?;
            let listener = tokio::net::TcpListener::from_std(listen(addr)?)?;
            serve_axum(Variant::SseAxum, listener, Broadcast::Redis(hub), None).await
        })
}

fn is_ours(variant: Variant) -> bool {
    matches!(
        variant,
        Variant::SseAxum | Variant::SseWarp | Variant::SseActix | Variant::HyperSseCore
    )
}

fn axum_builtin_burst(
    b: Burst,
) -> impl Stream<Item = Result<axum::response::sse::Event, Infallible>> + Send + 'static {
    let payload = b.payload();
    stream::iter((1..=b.n).map(move |id| {
        Ok(axum::response::sse::Event::default()
            .id(id.to_string())
            .event("tick")
            .data(payload.as_str()))
    }))
}

fn warp_builtin_burst(
    b: Burst,
) -> impl Stream<Item = Result<warp::sse::Event, Infallible>> + Send + 'static {
    let payload = b.payload();
    stream::iter((1..=b.n).map(move |id| {
        Ok(warp::sse::Event::default()
            .id(id.to_string())
            .event("tick")
            .data(payload.as_str()))
    }))
}

fn actix_web_lab_burst(
    b: Burst,
) -> actix_web_lab::sse::Sse<
    impl Stream<Item = Result<actix_web_lab::sse::Event, Infallible>> + 'static,
> {
    use actix_web_lab::sse;
    let payload = bytestring::ByteString::from(b.payload());
    let events = stream::iter((1..=b.n).map(move |id| {
        Ok::<_, Infallible>(sse::Event::Data(
            sse::Data::new(payload.clone())
                .id(id.to_string())
                .event("tick"),
        ))
    }));
    sse::Sse::from_stream(events)
}

async fn serve_tokio(
    variant: Variant,
    listener: std::net::TcpListener,
    tls: Tls,
) -> io::Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let broadcast = Broadcast::new(is_ours(variant));
    match variant {
        Variant::SseAxum | Variant::AxumBuiltin => {
            serve_axum(variant, listener, broadcast, tls).await
        }
        Variant::SseWarp | Variant::WarpBuiltin => {
            serve_warp(variant, listener, broadcast, tls).await
        }
        Variant::RawWriter => serve_raw(listener).await,
        _ => serve_hyper(listener, broadcast, tls).await,
    }
}

async fn serve_axum(
    variant: Variant,
    listener: tokio::net::TcpListener,
    broadcast: Broadcast,
    tls: Tls,
) -> io::Result<()> {
    use axum::extract::{Query, State};
    use axum::response::{IntoResponse, Response};
    use axum::routing::{get, post};
    let app =
        axum::Router::new()
            .route(
                "/burst",
                get(move |Query(b): Query<Burst>| async move {
                    if variant == Variant::SseAxum {
                        sse_axum::Sse::new(ours(b)).into_response()
                    } else {
                        axum::response::sse::Sse::new(axum_builtin_burst(b)).into_response()
                    }
                }),
            )
            .route(
                "/fanout",
                get(move |State(broadcast): State<Broadcast>| async move {
                    let response: Response = if let Broadcast::Redis(hub) = &broadcast {
                        match hub
                            .subscribe(fanout::TOPIC, &sse_rs::LastEventId::none())
                            .await
                        {
                            Ok(subscription) => sse_axum::Sse::new(subscription).into_response(),
                            Err(e) => (axum::http::StatusCode::SERVICE_UNAVAILABLE, e.to_string())
                                .into_response(),
                        }
                    } else if variant == Variant::SseAxum {
                        sse_axum::Sse::new(broadcast.subscribe_hub()).into_response()
                    } else {
                        axum::response::sse::Sse::new(fanout::axum_events(
                            broadcast.subscribe_data(),
                        ))
                        .into_response()
                    };
                    response
                }),
            )
            .route(
                "/publish",
                post(
                    |State(broadcast): State<Broadcast>, Query(p): Query<Publish>| async move {
                        broadcast.run(p).await;
                        "published"
                    },
                ),
            )
            .route(
                "/subscribers",
                get(|State(broadcast): State<Broadcast>| async move {
                    broadcast.subscribers().to_string()
                }),
            )
            .with_state(broadcast);
    match tls {
        Some(config) => serve_https(listener, config, app).await,
        None => axum::serve(listener, app).await,
    }
}

async fn serve_warp(
    variant: Variant,
    listener: tokio::net::TcpListener,
    broadcast: Broadcast,
    tls: Tls,
) -> io::Result<()> {
    use warp::filters::path::FullPath;
    use warp::Filter;
    use warp::Reply;
    // One handler that matches the path itself (see the warp countdown example).
    let route = warp::path::full()
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .then(move |path: FullPath, query: String| {
            let broadcast = broadcast.clone();
            async move {
                let ours = variant == Variant::SseWarp;
                match path.as_str() {
                    "/burst" => {
                        let b = Burst::parse(Some(&query));
                        if ours {
                            sse_warp::Sse::new(self::ours(b)).into_response()
                        } else {
                            warp::sse::reply(warp_builtin_burst(b)).into_response()
                        }
                    }
                    "/fanout" if ours => {
                        sse_warp::Sse::new(broadcast.subscribe_hub()).into_response()
                    }
                    "/fanout" => warp::sse::reply(fanout::warp_events(broadcast.subscribe_data()))
                        .into_response(),
                    "/publish" => {
                        broadcast.run(Publish::parse(Some(&query))).await;
                        "published".into_response()
                    }
                    "/subscribers" => broadcast.subscribers().to_string().into_response(),
                    _ => warp::http::StatusCode::NOT_FOUND.into_response(),
                }
            }
        });
    match tls {
        Some(config) => serve_https(listener, config, warp::service(route)).await,
        None => {
            warp::serve(route).incoming(listener).run().await;
            Ok(())
        }
    }
}

type HyperBody = http_body_util::combinators::BoxBody<bytes::Bytes, sse_rs::BoxError>;

/// The hyper variant's routes, for any request body.
async fn hyper_handle(broadcast: Broadcast, uri: http::Uri) -> hyper::Response<HyperBody> {
    use http_body_util::{BodyExt, Full};
    fn text(text: String) -> hyper::Response<HyperBody> {
        hyper::Response::new(
            Full::new(bytes::Bytes::from(text))
                .map_err(|never| match never {})
                .boxed(),
        )
    }
    let query = uri.query();
    match uri.path() {
        "/fanout" => sse_rs::SseBody::new(broadcast.subscribe_hub())
            .into_response()
            .map(BodyExt::boxed),
        "/publish" => {
            broadcast.run(Publish::parse(query)).await;
            text("published".into())
        }
        "/subscribers" => text(broadcast.subscribers().to_string()),
        _ => sse_rs::SseBody::new(ours(Burst::parse(query)))
            .into_response()
            .map(BodyExt::boxed),
    }
}

async fn serve_hyper(
    listener: tokio::net::TcpListener,
    broadcast: Broadcast,
    tls: Tls,
) -> io::Result<()> {
    if let Some(config) = tls {
        let service = tower::service_fn(move |request: http::Request<_>| {
            let broadcast = broadcast.clone();
            async move { Ok::<_, Infallible>(hyper_handle(broadcast, request.uri().clone()).await) }
        });
        return serve_https(listener, config, service).await;
    }
    loop {
        let (socket, _) = listener.accept().await?;
        let broadcast = broadcast.clone();
        let service = hyper::service::service_fn(
            move |request: hyper::Request<hyper::body::Incoming>| {
                let broadcast = broadcast.clone();
                async move { Ok::<_, Infallible>(hyper_handle(broadcast, request.uri().clone()).await) }
            },
        );
        tokio::spawn(
            hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(socket), service),
        );
    }
}

fn serve_actix(variant: Variant, listener: std::net::TcpListener, tls: Tls) -> io::Result<()> {
    use actix_web::{web, App, Either, HttpServer};
    let broadcast = Broadcast::new(is_ours(variant));
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(broadcast.clone()))
                .route(
                    "/burst",
                    web::get().to(move |b: web::Query<Burst>| async move {
                        let b = b.into_inner();
                        if variant == Variant::SseActix {
                            return Either::Left(sse_actix::Sse::new(ours(b)));
                        }
                        Either::Right(actix_web_lab_burst(b))
                    }),
                )
                .route(
                    "/fanout",
                    web::get().to(move |broadcast: web::Data<Broadcast>| async move {
                        if variant == Variant::SseActix {
                            Either::Left(sse_actix::Sse::new(broadcast.subscribe_hub()))
                        } else {
                            Either::Right(actix_web_lab::sse::Sse::from_stream(
                                fanout::actix_events(broadcast.subscribe_data()),
                            ))
                        }
                    }),
                )
                .route(
                    "/publish",
                    web::post().to(
                        |broadcast: web::Data<Broadcast>, p: web::Query<Publish>| async move {
                            broadcast.run(p.into_inner()).await;
                            "published"
                        },
                    ),
                )
                .route(
                    "/subscribers",
                    web::get().to(|broadcast: web::Data<Broadcast>| async move {
                        broadcast.subscribers().to_string()
                    }),
                )
        })
        .workers(1)
        .disable_signals();
        match tls {
            Some(config) => server.listen_rustls_0_23(listener, (*config).clone())?,
            None => server.listen(listener)?,
        }
        .run()
        .await
    })
}

/// Reads one `/burst` over a raw socket as fast as it can: returns the number of
/// events (empty lines) and the time from request to the end of the body.
///
/// # Errors
///
/// On a socket error, or when the server does not answer 200.
pub async fn read_burst(addr: SocketAddr, burst: Burst) -> io::Result<(u64, Duration)> {
    read_burst_counted(addr, burst, &std::sync::atomic::AtomicU64::new(0)).await
}

/// [`read_burst`] that keeps `received` at the number of events read so far, for a
/// progress bar (one relaxed store per read from the socket).
///
/// # Errors
///
/// As [`read_burst`].
pub async fn read_burst_counted(
    addr: SocketAddr,
    burst: Burst,
    received: &std::sync::atomic::AtomicU64,
) -> io::Result<(u64, Duration)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let start = std::time::Instant::now();
    let mut socket = tokio::net::TcpStream::connect(addr).await?;
    let request = format!(
        "GET /burst?n={}&size={} HTTP/1.1\r\nhost: bench\r\naccept: text/event-stream\r\nconnection: close\r\n\r\n",
        burst.n, burst.size
    );
    socket.write_all(request.as_bytes()).await?;
    let mut buf = vec![0_u8; 256 * 1024];
    let mut events = 0_u64;
    let mut head = true;
    let finder = memchr::memmem::Finder::new(b"\n\n");
    let mut tail = [0_u8; 1];
    loop {
        let read = socket.read(&mut buf).await?;
        if read == 0 {
            break;
        }
        let mut chunk = &buf[..read];
        if head {
            let Some(end) = memchr::memmem::find(chunk, b"\r\n\r\n") else {
                return Err(io::Error::other("response head split across reads"));
            };
            if !chunk.starts_with(b"HTTP/1.1 200") {
                return Err(io::Error::other("not 200"));
            }
            chunk = &chunk[end + 4..];
            head = false;
        }
        // An event's "\n\n" may straddle two reads.
        if tail[0] == b'\n' && chunk.first() == Some(&b'\n') {
            events += 1;
        }
        events += finder.find_iter(chunk).count() as u64;
        if let Some(&last) = chunk.last() {
            tail[0] = last;
        }
        received.store(events, std::sync::atomic::Ordering::Relaxed);
    }
    Ok((events, start.elapsed()))
}
