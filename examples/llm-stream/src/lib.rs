//! An OpenAI-compatible streaming chat server on axum 0.8 with `sse-axum`, answered
//! by a deterministic fake model (no weights): the example of a stream that answers
//! one request.
//!
//! `cargo run -p llm-stream`, then open <http://127.0.0.1:8083/>, or point any
//! OpenAI client at it (`base_url = "http://127.0.0.1:8083/v1"`, any API key).
//!
//! # Routes
//!
//! - `POST /v1/chat/completions`: OpenAI's Chat Completions API (see [`openai`]).
//!   With `"stream": true` the answer is a stream of `data: {chat.completion.chunk}`
//!   events, one token each, one every `--token-ms`, ended by `data: [DONE]`; with
//!   `stream_options.include_usage` a last chunk carries the token counts. Without
//!   it, one `chat.completion` JSON. A bad request gets OpenAI's error JSON with 400
//!   (413 over 1 MiB). The stream is compressed (brotli, zstd or gzip) when the
//!   request accepts it.
//! - `GET /`: a chat page (one HTML file) that reads the streamed answer with
//!   `fetch`, shows the tokens as they come, and has a Stop button.
//! - `POST /mcp`: an MCP-style tool call answered with a stream of progress
//!   notifications and the result (see [`mcp`]).
//! - `GET /metrics`: Prometheus text (see [`metrics`]).
//!
//! # The model
//!
//! See [`model`]: it answers `You said: ` and the last user message, token by token.
//! A message containing `please fail` makes it fail after 3 tokens: the stream then
//! ends with one event `data: {"error":{"message":...,"type":"server_error",
//! "param":null,"code":"model_failure"}}` and no `[DONE]`.
//!
//! # How the answer is tied to its stream
//!
//! The handler makes the response with `Sse::channel`, spawns the generation with the
//! sender, and returns at once. The generation waits for each token with
//! `tokio::select!` on the sender's `cancelled()`: when the client closes the
//! connection (or resets its HTTP/2 stream, or presses Stop on the page) the
//! generation stops within milliseconds, and counts itself `cancelled`. A failure
//! goes through `EventSender::fail` and the body's `on_error`; a completed answer
//! drops the sender, and the body's `end_event` sends `[DONE]`. The body's `on_end`
//! gives the metrics their time to first token.
//!
//! # Keep-alive
//!
//! An idle stream gets a comment every `--keep-alive-ms` (15 s), in the bytes of
//! `--keep-alive-style`: `line` (`:\n`, the default), `blank-line` (`:\n\n`) or `ping`
//! (`: ping\n\n`). The default is the one every client we test reads correctly: the
//! official `openai` Python package and `httpx-sse` both turn a comment followed by
//! an empty line into an event of their own once an event carried an `id:` (the
//! first raises `JSONDecodeError`, the second yields an empty event), and a comment
//! line alone is never dispatched by any parser. See the workspace README's
//! "Streaming LLM answers" for the measured matrix.

pub mod mcp;
pub mod metrics;
pub mod model;
pub mod openai;
pub mod store;

mod chat;

pub use chat::ANSWER_ID;

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::header::CONTENT_TYPE;
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::Router;
use sse_axum::server::Server;
use sse_axum::{KeepAlive, Shutdown};
use tokio::net::TcpListener;

pub use metrics::{Metrics, Snapshot};
pub use store::Store;

/// The chat page at `/`.
pub const PAGE: &str = include_str!("../page.html");

/// The largest request body taken (1 MiB); larger ones get 413.
pub const MAX_BODY: usize = 1024 * 1024;

/// How long a shutdown waits for open connections before it drops them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The bytes of a keep-alive comment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum KeepAliveStyle {
    /// `:\n`: a comment line alone, which no parser dispatches (the default: safe
    /// for every client tested).
    #[default]
    Line,
    /// `:\n\n`: a comment and an empty line. Browsers and WHATWG parsers ignore it;
    /// openai-python and httpx-sse dispatch a phantom event after an event with an
    /// `id:`.
    BlankLine,
    /// `: ping\n\n`: a comment with text and an empty line; same as `blank-line`.
    Ping,
}

impl KeepAliveStyle {
    /// The keep-alive: this style, every `interval`.
    pub fn keep_alive(self, interval: Duration) -> KeepAlive {
        let keep_alive = KeepAlive::new().interval(interval);
        match self {
            Self::Line => keep_alive.blank_line(false),
            Self::BlankLine => keep_alive.blank_line(true),
            Self::Ping => keep_alive.text("ping").blank_line(true),
        }
    }

    /// Every style.
    pub const ALL: [Self; 3] = [Self::Line, Self::BlankLine, Self::Ping];

    /// Its name on the command line.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Line => "line",
            Self::BlankLine => "blank-line",
            Self::Ping => "ping",
        }
    }
}

impl fmt::Display for KeepAliveStyle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the server behaves: pace, keep-alive, ids, TLS, where answers are kept, and
/// its metrics.
#[derive(Clone)]
#[must_use]
pub struct Config {
    /// The time between two tokens (also before the first).
    pub token_interval: Duration,
    /// Idle time before a keep-alive comment.
    pub keep_alive_interval: Duration,
    /// The bytes of a keep-alive comment.
    pub keep_alive_style: KeepAliveStyle,
    /// Give every chunk an `id:` (its number in the answer, from 0), as a resumable
    /// stream does. OpenAI sends none.
    pub event_ids: bool,
    /// The largest request body taken.
    pub max_body: usize,
    /// HTTPS (HTTP/2 or HTTP/1.1 by ALPN) with this config.
    pub tls: Option<Arc<sse_axum::server::rustls::ServerConfig>>,
    /// Where resumable answers (`"resumable": true`) are kept: in this process by
    /// default, in Redis with `--redis`.
    pub store: Store,
    /// The server's metrics (clone it before serving to read them).
    pub metrics: Metrics,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("token_interval", &self.token_interval)
            .field("keep_alive_interval", &self.keep_alive_interval)
            .field("keep_alive_style", &self.keep_alive_style)
            .field("event_ids", &self.event_ids)
            .field("max_body", &self.max_body)
            .field("tls", &self.tls.is_some())
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl Default for Config {
    /// A token every 30 ms, a `line` keep-alive after 15 s, no ids, 1 MiB bodies,
    /// plain HTTP, no store.
    fn default() -> Self {
        Self {
            token_interval: Duration::from_millis(30),
            keep_alive_interval: Duration::from_secs(15),
            keep_alive_style: KeepAliveStyle::default(),
            event_ids: false,
            max_body: MAX_BODY,
            tls: None,
            store: Store::default(),
            metrics: Metrics::new(),
        }
    }
}

impl Config {
    /// Sets the time between two tokens.
    pub fn token_interval(mut self, interval: Duration) -> Self {
        self.token_interval = interval;
        self
    }

    /// Sets the keep-alive: its bytes and the idle time before it.
    pub fn keep_alive(mut self, style: KeepAliveStyle, interval: Duration) -> Self {
        self.keep_alive_style = style;
        self.keep_alive_interval = interval;
        self
    }

    /// Gives every chunk an `id:`.
    pub fn event_ids(mut self, event_ids: bool) -> Self {
        self.event_ids = event_ids;
        self
    }

    /// Keeps resumable answers in `store`.
    pub fn store(mut self, store: Store) -> Self {
        self.store = store;
        self
    }

    /// Serves HTTPS with `config`.
    pub fn tls(mut self, config: Arc<sse_axum::server::rustls::ServerConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    pub(crate) fn keep_alive_config(&self) -> KeepAlive {
        self.keep_alive_style.keep_alive(self.keep_alive_interval)
    }
}

/// The example's command line.
#[derive(Clone, Debug, clap::Parser)]
#[command(
    about = "An OpenAI-compatible streaming chat server with a fake model: open http://127.0.0.1:8083/"
)]
pub struct Args {
    /// Port to listen on.
    #[arg(long, default_value_t = 8083)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
    /// Milliseconds between two tokens.
    #[arg(long, default_value_t = 30)]
    pub token_ms: u64,
    /// Milliseconds of silence before a keep-alive comment.
    #[arg(long, default_value_t = 15_000)]
    pub keep_alive_ms: u64,
    /// The keep-alive's bytes: `line` (`:\n`), `blank-line` (`:\n\n`) or `ping`
    /// (`: ping\n\n`). `line` is the one every tested client reads correctly.
    #[arg(long, value_enum, default_value_t = KeepAliveStyle::Line)]
    pub keep_alive_style: KeepAliveStyle,
    /// Give every chunk an `id:` (OpenAI sends none).
    #[arg(long)]
    pub event_ids: bool,
    /// Serve HTTPS (HTTP/2 or HTTP/1.1 by ALPN) with this PEM certificate chain;
    /// needs `--tls-key`.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The PEM private key of `--tls-cert`.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
    /// Keep resumable answers in Redis (`redis://127.0.0.1:6379/`), so that a reload
    /// resumes on any instance sharing it; in this process without it.
    #[arg(long)]
    pub redis: Option<String>,
}

impl Args {
    /// The address to listen on.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.bind, self.port)
    }

    /// The configuration these arguments describe.
    ///
    /// # Errors
    ///
    /// When `--tls-cert` or `--tls-key` cannot be read or do not make a TLS config.
    pub fn config(&self) -> io::Result<Config> {
        let config = Config::default()
            .token_interval(Duration::from_millis(self.token_ms))
            .keep_alive(
                self.keep_alive_style,
                Duration::from_millis(self.keep_alive_ms),
            )
            .event_ids(self.event_ids);
        Ok(match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => config.tls(sse_axum::server::tls_config(cert, key)?),
            _ => config,
        })
    }
}

/// What every handler shares.
#[derive(Clone, Debug)]
struct App {
    config: Arc<Config>,
    stop: Shutdown,
    answers: Arc<AtomicU64>,
    /// The kept answers this instance generates, each with its stop.
    running: store::Running,
}

impl App {
    /// A fresh `chatcmpl-` id: a number, and 128 bits no client can predict (an id
    /// names a kept answer, which whoever knows the id can read: it must not be
    /// guessed, nor collide with another instance's).
    fn next_answer_id(&self) -> String {
        let n = self.answers.fetch_add(1, Ordering::Relaxed);
        format!(
            "chatcmpl-{n:08}{:016x}{:016x}",
            unguessable(n),
            unguessable(!n)
        )
    }
}

/// 64 bits no client can predict: SipHash of `n` under the keys std seeds from the
/// OS's random source (the example has no dependency for a CSPRNG; a production
/// server would take its ids from one).
fn unguessable(n: u64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(n);
    hasher.finish()
}

/// The routes: `/`, `/v1/chat/completions`, `/v1/answers/{id}` (`GET` resumes a kept
/// answer, `DELETE` stops it), `/mcp`, `/metrics`.
fn router(app: App) -> Router {
    Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/v1/chat/completions", post(chat::completions))
        .route("/v1/answers/{id}", get(chat::resume).delete(chat::stop))
        .route("/mcp", post(mcp::call))
        .route(
            "/metrics",
            get(
                |axum::extract::State(app): axum::extract::State<App>| async move {
                    (
                        [(CONTENT_TYPE, metrics::CONTENT_TYPE)],
                        app.config.metrics.encode(),
                    )
                        .into_response()
                },
            ),
        )
        .with_state(app)
}

/// Serves the example on `listener` until `shutdown` completes, then ends every open
/// stream and waits (up to 5 s) for the connections to finish. Served by the core's
/// `Server`: HTTP/1.1 and h2c (or HTTPS with [`Config::tls`]), request timeouts,
/// `TCP_NODELAY`.
///
/// # Errors
///
/// Never in practice: accept errors are retried.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let server = match &config.tls {
        Some(tls) => Server::new(listener).tls(tls.clone()),
        None => Server::new(listener),
    };
    let (trigger, stop) = Shutdown::new();
    let app = App {
        config: Arc::new(config),
        stop,
        answers: Arc::default(),
        running: store::Running::default(),
    };
    server
        .grace(SHUTDOWN_GRACE)
        .serve(router(app), shutdown, trigger)
        .await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn keep_alive_styles_are_the_documented_bytes() {
        let bytes =
            |style: KeepAliveStyle| style.keep_alive(Duration::from_secs(1)).as_bytes().to_vec();
        assert_eq!(bytes(KeepAliveStyle::Line), b":\n");
        assert_eq!(bytes(KeepAliveStyle::BlankLine), b":\n\n");
        assert_eq!(bytes(KeepAliveStyle::Ping), b": ping\n\n");
    }

    #[test]
    fn the_flags_and_their_defaults() {
        use clap::Parser;
        let args = Args::try_parse_from(["llm-stream"]).unwrap();
        assert_eq!(args.port, 8083);
        assert_eq!(args.addr().to_string(), "127.0.0.1:8083");
        let config = args.config().unwrap();
        assert_eq!(config.token_interval, Duration::from_millis(30));
        assert_eq!(config.keep_alive_interval, Duration::from_secs(15));
        assert_eq!(config.keep_alive_style, KeepAliveStyle::Line);
        assert!(!config.event_ids);
        let args = Args::try_parse_from([
            "llm-stream",
            "--keep-alive-style",
            "blank-line",
            "--token-ms",
            "5",
            "--event-ids",
        ])
        .unwrap();
        assert_eq!(args.keep_alive_style, KeepAliveStyle::BlankLine);
        assert_eq!(
            args.config().unwrap().token_interval,
            Duration::from_millis(5)
        );
        assert!(Args::try_parse_from(["llm-stream", "--keep-alive-style", "nope"]).is_err());
        assert!(Args::try_parse_from(["llm-stream", "--tls-cert", "a.pem"]).is_err());
    }
}
