//! Compressed event streams, measured (`compare compress`): the server that
//! `compare serve-compress` runs and the client that reads it. And the compressed
//! race (`compare bench --compress`): its servers ([`serve_race`], each variant
//! compressing its framework's way) and its reader ([`read_burst_compressed`]).
//!
//! The server (axum 0.8 on `axum::serve`, as `compare bench` serves axum) answers:
//!
//! - `GET /ours?payload=P&pattern=paced|burst&n=N&rate=R&run=ID&coding=C`: `N`
//!   events of payload `P` through sse-axum, compressed by the stream itself
//!   (`Sse::compress` with `Compression::new().codings([C])`, the library's
//!   defaults; `identity`: not compressed);
//! - `GET /tower?…` (the same query, no `coding`): the same events through axum's
//!   built-in `Sse`, behind tower-http's `CompressionLayer` with its default levels
//!   and a predicate that lets `text/event-stream` through (its default one skips
//!   event streams); the coding is the one the request's `Accept-Encoding` names;
//! - `GET /fanout?coding=C&run=ID`: a subscription to the hub topic of run `ID`,
//!   through sse-axum, compressed as for `/ours` (the hub encodes each event once,
//!   each subscriber's stream compresses it);
//! - `POST /publish?n=N&rate=R&run=ID`: publishes `N` token events to the topic at
//!   `R` per second;
//! - `GET /subscribers?run=ID`: how many subscribers the topic has;
//! - `GET /times?run=ID`: when the server produced each event of run `ID` (the
//!   stream yielded it to the body, or the hub was given it), in nanoseconds since
//!   the UNIX epoch, comma-separated, once the run ended.
//!
//! `paced` sleeps `1/R` seconds after each event (tokio's timer has a 1 ms
//! resolution: `R` up to 1000), so each event is a frame of its own, as an LLM's
//! tokens come; `burst` yields them all as fast as they are polled, so ready events coalesce.
//! The production times go to `/times` rather than into the events: a timestamp in
//! every event would change the very bytes being measured.

mod body;
mod burst;
mod client;
mod payload;
mod race;

pub use body::NotCompressed;
pub use burst::{read_burst_compressed, CompressedBurst};
pub use client::{get_stream, open_subscribers, read_subscriber, Received};
pub use payload::{Events, Payload};
pub use race::{serve_race, serve_race_on};

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::stream::{self, Stream, StreamExt};
use sse_axum::compress::{Coding, Compression};
use sse_rs::hub::Hub;
use sse_rs::LastEventId;

use crate::fanout::now_nanos;

/// A content coding of the measurements, `identity` included (`none` on the
/// command line, as `bench --compress none`).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    /// Not compressed.
    #[value(name = "none", alias = "identity")]
    Identity,
    /// `gzip`.
    Gzip,
    /// `br`.
    #[serde(rename = "br")]
    #[value(name = "br")]
    Brotli,
    /// `zstd`.
    Zstd,
}

impl Encoding {
    /// Every coding, identity first (what the others are compared with).
    pub const ALL: [Encoding; 4] = [
        Encoding::Identity,
        Encoding::Gzip,
        Encoding::Brotli,
        Encoding::Zstd,
    ];

    /// Its name in `Content-Encoding` (and in queries and tables).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Identity => "identity",
            Encoding::Gzip => "gzip",
            Encoding::Brotli => "br",
            Encoding::Zstd => "zstd",
        }
    }

    /// The library's coding; `None` for identity.
    #[must_use]
    pub fn coding(self) -> Option<Coding> {
        match self {
            Encoding::Identity => None,
            Encoding::Gzip => Some(Coding::Gzip),
            Encoding::Brotli => Some(Coding::Brotli),
            Encoding::Zstd => Some(Coding::Zstd),
        }
    }
}

/// Who compresses: the stream itself, or tower-http around axum's built-in SSE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Setup {
    /// sse-axum's `Sse::compress` (`/ours`).
    SseAxum,
    /// axum's built-in `Sse` behind tower-http's `CompressionLayer` (`/tower`).
    TowerHttp,
}

impl Setup {
    /// Both, ours first.
    pub const ALL: [Setup; 2] = [Setup::SseAxum, Setup::TowerHttp];

    /// Its name in the tables.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Setup::SseAxum => "sse-axum `.compress`",
            Setup::TowerHttp => "axum built-in + tower-http",
        }
    }

    /// The path that serves it.
    #[must_use]
    pub fn path(self) -> &'static str {
        match self {
            Setup::SseAxum => "/ours",
            Setup::TowerHttp => "/tower",
        }
    }
}

/// How the producer yields its events.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Pattern {
    /// One event per timer tick: each event is a frame (a flush) of its own.
    Paced,
    /// Every event at once, as fast as the body polls: ready events coalesce.
    Burst,
}

impl Pattern {
    /// Its name in queries and tables.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Pattern::Paced => "paced",
            Pattern::Burst => "burst",
        }
    }
}

/// The query of `/ours` and `/tower`.
#[derive(Clone, Copy, Debug, serde::Deserialize)]
pub struct StreamQuery {
    /// What the events carry.
    pub payload: Payload,
    /// How they are yielded.
    pub pattern: Pattern,
    /// How many.
    pub n: u64,
    /// Events per second when paced.
    pub rate: u64,
    /// The run whose production times `/times` gives.
    pub run: u64,
    /// The coding (`/ours` and `/fanout` only; `/tower` negotiates).
    #[serde(default = "identity")]
    pub coding: Encoding,
}

fn identity() -> Encoding {
    Encoding::Identity
}

impl StreamQuery {
    /// The path and query that ask `setup` for this stream.
    #[must_use]
    pub fn path(&self, setup: Setup) -> String {
        format!(
            "{}?payload={}&pattern={}&n={}&rate={}&run={}&coding={}",
            setup.path(),
            self.payload.name(),
            self.pattern.name(),
            self.n,
            self.rate,
            self.run,
            self.coding.name()
        )
    }
}

/// The query of `/publish`.
#[derive(Clone, Copy, Debug, serde::Deserialize)]
struct PublishQuery {
    n: u64,
    rate: u64,
    run: u64,
}

/// The query of `/times`, `/fanout` and `/subscribers`.
#[derive(Clone, Copy, Debug, serde::Deserialize)]
struct RunQuery {
    #[serde(default)]
    run: u64,
    #[serde(default = "identity")]
    coding: Encoding,
}

/// The production times of every run, by run id.
type Times = Arc<Mutex<HashMap<u64, Vec<u64>>>>;

/// The hub topic of fan-out run `run`: one per run, so that the subscribers of an
/// earlier run (still open until the server notices they left) do not count.
fn topic(run: u64) -> String {
    format!("run-{run}")
}

#[derive(Clone)]
struct AppState {
    times: Times,
    hub: Hub,
}

/// Notes that the event of `run` was produced now.
fn record(times: &Times, run: u64) {
    let now = u64::try_from(now_nanos()).unwrap_or(u64::MAX);
    if let Ok(mut times) = times.lock() {
        times.entry(run).or_default().push(now);
    }
}

/// The data of the events `query` asks for, yielded as its pattern says, each
/// production time recorded.
fn produce(query: StreamQuery, times: Times) -> impl Stream<Item = String> + Send + 'static {
    let events = Events::new(query.payload, query.n);
    let run = query.run;
    match query.pattern {
        Pattern::Burst => stream::iter(0..query.n)
            .scan(events, move |events, _| {
                let data = events.next_data();
                record(&times, run);
                std::future::ready(Some(data))
            })
            .left_stream(),
        Pattern::Paced => {
            // A sleep after each event, not an interval: an interval's ticks can fall
            // due together (its timer has a 1 ms resolution) and two events would
            // share a frame.
            let pause = Duration::from_secs_f64(1.0 / query.rate.max(1) as f64);
            stream::unfold(
                (events, 0, times),
                move |(mut events, sent, times)| async move {
                    if sent == query.n {
                        return None;
                    }
                    if sent > 0 {
                        tokio::time::sleep(pause).await;
                    }
                    let data = events.next_data();
                    record(&times, run);
                    Some((data, (events, sent + 1, times)))
                },
            )
            .right_stream()
        }
    }
}

/// The library's defaults, for `coding` only.
fn only(coding: Coding) -> Compression {
    Compression::new().codings([coding])
}

async fn ours(
    State(state): State<AppState>,
    Query(query): Query<StreamQuery>,
    accept: sse_axum::AcceptEncoding,
) -> Response {
    let events = produce(query, state.times)
        .map(|data| Ok::<_, Infallible>(sse_axum::Event::default().data(data)));
    let sse = sse_axum::Sse::new(events);
    match query.coding.coding() {
        Some(coding) => sse.compress(only(coding), &accept).into_response(),
        None => sse.into_response(),
    }
}

async fn builtin(State(state): State<AppState>, Query(query): Query<StreamQuery>) -> Response {
    // Fused: tower-http's compression polls the body again after its end, and
    // axum's `Sse` passes that on to the stream (an unfused `unfold` panics).
    let events = produce(query, state.times)
        .fuse()
        .map(|data| Ok::<_, Infallible>(axum::response::sse::Event::default().data(data)));
    axum::response::sse::Sse::new(events).into_response()
}

async fn fanout(
    State(state): State<AppState>,
    Query(query): Query<RunQuery>,
    accept: sse_axum::AcceptEncoding,
) -> Response {
    let sse = sse_axum::Sse::new(
        state
            .hub
            .subscribe(&[&topic(query.run)], &LastEventId::none()),
    );
    match query.coding.coding() {
        Some(coding) => sse.compress(only(coding), &accept).into_response(),
        None => sse.into_response(),
    }
}

async fn publish(State(state): State<AppState>, Query(query): Query<PublishQuery>) -> &'static str {
    let mut events = Events::new(Payload::Token, query.n);
    let period = Duration::from_secs_f64(1.0 / query.rate.max(1) as f64);
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let topic = topic(query.run);
    for _ in 0..query.n {
        ticks.tick().await;
        let event = sse_rs::Event::default().data(events.next_data());
        record(&state.times, query.run);
        state.hub.publish(&topic, event);
    }
    "published"
}

async fn times(State(state): State<AppState>, Query(query): Query<RunQuery>) -> String {
    let times = state
        .times
        .lock()
        .ok()
        .and_then(|mut times| times.remove(&query.run))
        .unwrap_or_default();
    let text: Vec<String> = times.iter().map(u64::to_string).collect();
    text.join(",")
}

/// The app `serve` serves (see the module docs).
pub fn app() -> axum::Router {
    use tower_http::compression::predicate::SizeAbove;
    use tower_http::compression::CompressionLayer;
    let state = AppState {
        times: Times::default(),
        hub: Hub::builder().queue_capacity(4096).replay_count(0).build(),
    };
    // tower-http's default predicate skips `text/event-stream` (and responses under
    // 32 bytes); this one compresses every response that has no coding yet, whatever
    // its size (a stream has no `Content-Length`).
    let tower = axum::Router::new()
        .route("/tower", get(builtin))
        .layer(CompressionLayer::new().compress_when(SizeAbove::new(0)));
    axum::Router::new()
        .route("/ours", get(ours))
        .route("/fanout", get(fanout))
        .route("/publish", post(publish))
        .route(
            "/subscribers",
            get(
                |State(state): State<AppState>, Query(query): Query<RunQuery>| async move {
                    state.hub.subscribers_of(&topic(query.run)).to_string()
                },
            ),
        )
        .route("/times", get(times))
        .merge(tower)
        .with_state(state)
}

/// Serves [`app`] on `listener` with `axum::serve` on a current-thread runtime (as
/// `compare serve` serves axum), until the process ends.
///
/// # Errors
///
/// When the listener cannot be configured.
pub fn serve_on(listener: std::net::TcpListener) -> io::Result<()> {
    let listener = crate::configure(listener)?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            axum::serve(listener, app()).await
        })
}

/// [`serve_on`] a listener bound to `addr`.
///
/// # Errors
///
/// When the address cannot be bound.
pub fn serve(addr: SocketAddr) -> io::Result<()> {
    serve_on(std::net::TcpListener::bind(addr)?)
}

/// The production times of run `run` (see `/times`).
///
/// # Errors
///
/// On a socket error or an answer that is not a list of numbers.
pub async fn production_times(addr: SocketAddr, run: u64) -> io::Result<Vec<u64>> {
    let text = crate::fanout::request(addr, "GET", &format!("/times?run={run}")).await?;
    text.split(',')
        .filter(|t| !t.is_empty())
        .map(|t| t.trim().parse().map_err(io::Error::other))
        .collect()
}
