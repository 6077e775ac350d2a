//! [`Server`]: a hyper 1 server loop with the settings an event-stream server needs
//! and hyper leaves off (feature `server`).
//!
//! - **Slow requests are dropped.** A request head must arrive within
//!   [`header_read_timeout`](Server::header_read_timeout) (10 s by default), and a
//!   request body may not pause longer than
//!   [`body_read_timeout`](Server::body_read_timeout) (10 s) between two chunks. Without
//!   these, clients that send a byte per second ("slowloris") hold a connection and a
//!   file descriptor each for as long as they like; `axum::serve` and `warp::serve`
//!   set neither.
//! - **Stalled readers are dropped.** A client that stops reading (its receive window
//!   closed) makes every write to it wait; after
//!   [`write_stall_timeout`](Server::write_stall_timeout) (30 s by default) without a
//!   byte moving, its connection is closed, and with it the stream, its slot under a
//!   `StreamLimit`, its hub subscription and its socket buffers. The body cannot do
//!   this itself: the server stops polling a body it cannot write. See [`StallGuard`].
//! - **Events are not held back.** `TCP_NODELAY` is set on every connection: an event
//!   is a small write, and Nagle's algorithm with the client's delayed ACK can hold it
//!   back for about 40 ms.
//! - **A stop always completes.** On the stop signal the [`ShutdownTrigger`] fires
//!   (give its [`Shutdown`](crate::shutdown::Shutdown) to every event stream so they
//!   end), no new connection is taken, open ones finish their responses, and after
//!   [`grace`](Server::grace) (5 s) the rest are dropped: a client that stopped reading
//!   would otherwise hold the stop up forever. See [`graceful`].
//!
//! It speaks HTTP/1.1 and, on the same port, HTTP/2 with prior knowledge (h2c, for a
//! proxy that talks h2c to its upstream): every event stream of a client then shares
//! one connection, a stream the client drops (`RST_STREAM`) ends alone, and a stop
//! sends `GOAWAY`. Browsers speak HTTP/2 only over TLS: with `tls`
//! (feature `tls`, rustls) it serves HTTPS instead, HTTP/2 or HTTP/1.1 as the client
//! chooses by ALPN. Over HTTP/2 a browser's event streams to one origin share one
//! connection, so the limit of six connections per origin of HTTP/1.1 (the seventh
//! `EventSource` of a page, or of a seventh tab, waits forever) does not apply.
//!
//! Any tower service that takes `http::Request<B>` for any body `B` works: an axum
//! `Router`, `warp::service(filter)`, or `tower::service_fn`.
//!
//! ```no_run
//! use std::convert::Infallible;
//! use sse_rs::server::Server;
//! use sse_rs::shutdown::Shutdown;
//!
//! # async fn run() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8083").await?;
//! let (trigger, streams_stop) = Shutdown::new();
//! let service = tower::service_fn(|_request: http::Request<_>| async {
//!     Ok::<_, Infallible>(http::Response::new(String::from("hello")))
//! });
//! Server::new(listener)
//!     .serve(service, tokio::signal::ctrl_c().map(drop), trigger)
//!     .await
//! # }
//! # use futures_util::FutureExt;
//! ```

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::io;
use std::task::Poll;
use std::time::Duration;

use http_body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use crate::limit::StreamLimit;
use crate::shutdown::{graceful, ShutdownTrigger};

/// The rustls crate, for [`Server::tls`]'s config (feature `tls`).
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub use rustls;

/// The default of [`Server::event_streams_per_connection`].
const DEFAULT_EVENT_STREAMS_PER_CONNECTION: usize = 32;

/// The default of [`Server::http2_max_concurrent_streams`] (hyper's).
const DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS: u32 = 200;

/// A hyper server loop with request timeouts, `TCP_NODELAY` and a graceful stop with
/// a deadline: see the [module docs](self).
#[must_use]
pub struct Server {
    listener: TcpListener,
    header_read_timeout: Duration,
    body_read_timeout: Duration,
    write_stall_timeout: Duration,
    grace: Duration,
    event_streams_per_connection: usize,
    http2_max_concurrent_streams: u32,
    #[cfg(feature = "tls")]
    tls: Option<tokio_rustls::TlsAcceptor>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.listener.local_addr().ok())
            .field("header_read_timeout", &self.header_read_timeout)
            .field("body_read_timeout", &self.body_read_timeout)
            .field("write_stall_timeout", &self.write_stall_timeout)
            .field("grace", &self.grace)
            .field(
                "event_streams_per_connection",
                &self.event_streams_per_connection,
            )
            .field(
                "http2_max_concurrent_streams",
                &self.http2_max_concurrent_streams,
            )
            .finish_non_exhaustive()
    }
}

impl Server {
    /// A server that will accept connections on `listener`.
    pub fn new(listener: TcpListener) -> Self {
        Self {
            listener,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
            write_stall_timeout: Duration::from_secs(30),
            grace: Duration::from_secs(5),
            event_streams_per_connection: DEFAULT_EVENT_STREAMS_PER_CONNECTION,
            http2_max_concurrent_streams: DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// Serves HTTPS with `config` (feature `tls`): HTTP/2 or HTTP/1.1, as the client
    /// chooses by ALPN (a config without ALPN protocols gets `h2` and `http/1.1`). The
    /// handshake must finish within the [header read
    /// timeout](Server::header_read_timeout). Build the config with [`tls_config`]
    /// from PEM files, or yourself.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn tls(mut self, config: std::sync::Arc<rustls::ServerConfig>) -> Self {
        let config = if config.alpn_protocols.is_empty() {
            let mut config = std::sync::Arc::unwrap_or_clone(config);
            config.alpn_protocols = alpn();
            std::sync::Arc::new(config)
        } else {
            config
        };
        self.tls = Some(tokio_rustls::TlsAcceptor::from(config));
        self
    }

    /// How long a write to a client may wait without a byte moving (default 30 s);
    /// after it, the connection is closed (see [`StallGuard`]). An idle stream is not
    /// stalled: only bytes the client does not take count.
    ///
    /// Over HTTP/2 each stream has the same deadline on its own: a stream whose body
    /// has something to send and has not been polled again for this long, because the
    /// client grants it no flow-control window, is reset (`RST_STREAM`), giving back
    /// its slot, its subscription and its buffers, while the connection's other
    /// streams go on. A frame waits for the window it needs as a whole, so a client
    /// that takes less than one frame (at most 64 KiB) per timeout is reset too.
    pub fn write_stall_timeout(mut self, timeout: Duration) -> Self {
        self.write_stall_timeout = timeout;
        self
    }

    /// How long a client may take to send a whole request head (default 10 s); after
    /// it, the connection is closed.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// How long a request body may pause between two chunks while the service reads
    /// it (default 10 s); after it, reading the body fails and the connection closes.
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = timeout;
        self
    }

    /// How many event streams (`text/event-stream` responses) one connection may have
    /// open at once (default 32; at least 1). Over it, the response is replaced by the
    /// stream limit's refusal (`200` with only a `retry:` field, which a browser
    /// obeys). Over HTTP/1.1 a connection has one stream at a time; over HTTP/2 this
    /// keeps one connection from taking more than a small share of an app's stream
    /// limit (with hyper's 200 concurrent streams, 51 connections could take 10,000).
    pub fn event_streams_per_connection(mut self, streams: usize) -> Self {
        self.event_streams_per_connection = streams.max(1);
        self
    }

    /// How many HTTP/2 streams of any kind a client may open at once on one connection
    /// (`SETTINGS_MAX_CONCURRENT_STREAMS`, default 200 as in hyper; at least 1).
    pub fn http2_max_concurrent_streams(mut self, streams: u32) -> Self {
        self.http2_max_concurrent_streams = streams.max(1);
        self
    }

    /// How long open connections get to finish after the stop signal before they are
    /// dropped (default 5 s).
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Serves `service` on every connection until `stop` completes, then stops as the
    /// [module docs](self) say: `trigger` fires, new connections are refused, and open
    /// ones get the grace time.
    ///
    /// # Errors
    ///
    /// None in practice: a failed `accept` (out of file descriptors, a connection reset
    /// before it was taken) is retried after a pause, not returned.
    pub async fn serve<S, B>(
        self,
        service: S,
        stop: impl Future<Output = ()> + Send + 'static,
        trigger: ShutdownTrigger,
    ) -> io::Result<()>
    where
        S: tower_service::Service<ServerRequest, Response = http::Response<B>>
            + Clone
            + Send
            + 'static,
        S::Future: Send + 'static,
        S::Error: Into<Box<dyn StdError + Send + Sync>>,
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn StdError + Send + Sync>>,
    {
        let Self {
            listener,
            header_read_timeout,
            body_read_timeout,
            write_stall_timeout,
            grace,
            event_streams_per_connection,
            http2_max_concurrent_streams,
            #[cfg(feature = "tls")]
            tls,
        } = self;
        // `None` from `graceful`: the grace ran out and the connections left were
        // dropped, which is a completed stop too.
        let _stopped_in_time: Option<()> = graceful(stop, trigger, grace, |stopping| async move {
            let connections = GracefulShutdown::new();
            // HTTP/1.1, and HTTP/2 with prior knowledge (h2c) on the same port.
            // Every HTTP/2 stream runs watched for progress (see `streams`).
            let mut http = hyper_util::server::conn::auto::Builder::new(StreamExecutor {
                stall: write_stall_timeout,
            });
            http.http1()
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout);
            http.http2()
                .timer(TokioTimer::new())
                .keep_alive_interval(Some(Duration::from_secs(20)))
                .keep_alive_timeout(Duration::from_secs(20))
                .max_concurrent_streams(http2_max_concurrent_streams);
            let mut stopping = std::pin::pin!(stopping);
            loop {
                let accepted = {
                    let mut accept = std::pin::pin!(listener.accept());
                    std::future::poll_fn(|cx| {
                        if stopping.as_mut().poll(cx).is_ready() {
                            return Poll::Ready(None);
                        }
                        accept.as_mut().poll(cx).map(Some)
                    })
                    .await
                };
                let (socket, _) = match accepted {
                    None => break,
                    Some(Ok(accepted)) => accepted,
                    Some(Err(_)) => {
                        // Out of descriptors, or reset before accept: back off a little.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let _ = socket.set_nodelay(true);
                let service = TowerToHyperService::new(ConnectionService {
                    inner: BodyTimeout {
                        inner: service.clone(),
                        timeout: body_read_timeout,
                    },
                    event_streams: Some(StreamLimit::new(event_streams_per_connection)),
                });
                let socket = StallGuard::new(socket, write_stall_timeout);
                #[cfg(feature = "tls")]
                if let Some(acceptor) = &tls {
                    let (acceptor, http, watcher) =
                        (acceptor.clone(), http.clone(), connections.watcher());
                    tokio::spawn(async move {
                        // A handshake that does not finish in time (or fails) closes
                        // the connection: a client may not hold it for free.
                        let handshake =
                            tokio::time::timeout(header_read_timeout, acceptor.accept(socket));
                        let Ok(Ok(stream)) = handshake.await else {
                            return;
                        };
                        let connection = watcher.watch(
                            http.serve_connection(TokioIo::new(stream), service)
                                .into_owned(),
                        );
                        let _ = connection.await;
                    });
                    continue;
                }
                let connection = connections.watch(
                    http.serve_connection(TokioIo::new(socket), service)
                        .into_owned(),
                );
                tokio::spawn(async move {
                    // A client that leaves mid-stream is an error here; nothing to do.
                    let _ = connection.await;
                });
            }
            drop(listener);
            connections.shutdown().await;
        })
        .await;
        Ok(())
    }
}

mod stall;
mod streams;
#[cfg(test)]
mod tests;
mod timeout;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
mod tls;

pub use stall::StallGuard;
use streams::{ConnectionService, StreamExecutor};
use timeout::BodyTimeout;
pub use timeout::{BodyReadTimeout, ReadTimeoutBody};

/// The requests a [`Server`] hands its service: hyper's body, with the read timeout of
/// [`Server::body_read_timeout`]. For services written for the `Server` alone (axum's
/// `Router` and `warp::service` take any body).
pub type ServerRequest = http::Request<ReadTimeoutBody<Incoming>>;
#[cfg(feature = "tls")]
use tls::alpn;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub use tls::tls_config;
