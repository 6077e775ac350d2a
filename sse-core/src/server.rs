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
//! sends `GOAWAY`. Browsers speak HTTP/2 only over TLS: with [`tls`](Server::tls)
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
//! use sse_rs_core::server::Server;
//! use sse_rs_core::shutdown::Shutdown;
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
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use pin_project_lite::pin_project;
use tokio::net::TcpListener;
use tokio::time::{Instant, Sleep};

use crate::shutdown::{graceful, ShutdownTrigger};

/// The rustls crate, for [`Server::tls`]'s config (feature `tls`).
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub use rustls;

/// A hyper server loop with request timeouts, `TCP_NODELAY` and a graceful stop with
/// a deadline: see the [module docs](self).
#[must_use]
pub struct Server {
    listener: TcpListener,
    header_read_timeout: Duration,
    body_read_timeout: Duration,
    write_stall_timeout: Duration,
    grace: Duration,
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
        S: tower_service::Service<
                http::Request<ReadTimeoutBody<Incoming>>,
                Response = http::Response<B>,
            > + Clone
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
            #[cfg(feature = "tls")]
            tls,
        } = self;
        // `None` from `graceful`: the grace ran out and the connections left were
        // dropped, which is a completed stop too.
        let _stopped_in_time: Option<()> = graceful(stop, trigger, grace, |stopping| async move {
            let connections = GracefulShutdown::new();
            // HTTP/1.1, and HTTP/2 with prior knowledge (h2c) on the same port.
            let mut http = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            http.http1()
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout);
            http.http2()
                .timer(TokioTimer::new())
                .keep_alive_interval(Some(Duration::from_secs(20)))
                .keep_alive_timeout(Duration::from_secs(20));
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
                let service = TowerToHyperService::new(BodyTimeout {
                    inner: service.clone(),
                    timeout: body_read_timeout,
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

/// The ALPN protocols of an HTTPS [`Server`]: HTTP/2 first, then HTTP/1.1.
#[cfg(feature = "tls")]
fn alpn() -> Vec<Vec<u8>> {
    vec![b"h2".to_vec(), b"http/1.1".to_vec()]
}

/// A rustls server config from a PEM certificate chain and a PEM private key (PKCS#8,
/// PKCS#1 or SEC1), with the ring provider, TLS 1.2 and 1.3, and ALPN `h2` and
/// `http/1.1` (feature `tls`). For [`Server::tls`].
///
/// # Errors
///
/// `InvalidInput` (with the file named) when a file cannot be read, holds no
/// certificate or no key, or the key does not match the certificate.
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub fn tls_config(
    cert_pem: &std::path::Path,
    key_pem: &std::path::Path,
) -> io::Result<std::sync::Arc<rustls::ServerConfig>> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let invalid = |what: &std::path::Path, error: &dyn fmt::Display| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{}: {error}", what.display()),
        )
    };
    let certs = CertificateDer::pem_file_iter(cert_pem)
        .map_err(|e| invalid(cert_pem, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(cert_pem, &e))?;
    if certs.is_empty() {
        return Err(invalid(cert_pem, &"no certificate in the file"));
    }
    let key = PrivateKeyDer::from_pem_file(key_pem).map_err(|e| invalid(key_pem, &e))?;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(cert_pem, &e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| invalid(key_pem, &e))?;
    config.alpn_protocols = alpn();
    Ok(std::sync::Arc::new(config))
}

pin_project! {
    /// A connection (any tokio `AsyncRead + AsyncWrite`) whose writes fail with
    /// `TimedOut` once they have waited `timeout` without a byte moving: a client that
    /// stops reading gets its connection closed, instead of holding it, its stream and
    /// its buffers forever. The [`Server`] wraps every connection in one; use it
    /// yourself around the sockets of another server loop.
    ///
    /// Only a write that cannot go on counts: an idle connection, or one that is slow
    /// but moving, is never closed by it.
    pub struct StallGuard<Io> {
        #[pin]
        io: Io,
        // Boxed, so that a guard around an `Unpin` connection is `Unpin` too.
        sleep: Pin<Box<Sleep>>,
        timeout: Duration,
        stalled: bool,
    }
}

impl<Io> StallGuard<Io> {
    /// Wraps `io`, closing it after `timeout` without progress on a pending write.
    pub fn new(io: Io, timeout: Duration) -> Self {
        Self {
            io,
            sleep: Box::pin(tokio::time::sleep(timeout)),
            timeout,
            stalled: false,
        }
    }

    /// The connection inside.
    pub fn get_ref(&self) -> &Io {
        &self.io
    }
}

impl<Io> fmt::Debug for StallGuard<Io> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StallGuard")
            .field("timeout", &self.timeout)
            .field("stalled", &self.stalled)
            .finish_non_exhaustive()
    }
}

/// What a write (or flush) of a [`StallGuard`] gives when its inner one is pending:
/// still pending, or `TimedOut` once the stall has lasted the timeout.
fn stall<T>(
    sleep: &mut Pin<Box<Sleep>>,
    stalled: &mut bool,
    timeout: Duration,
    cx: &mut Context<'_>,
) -> Poll<io::Result<T>> {
    if !*stalled {
        *stalled = true;
        sleep.as_mut().reset(Instant::now() + timeout);
    }
    match sleep.as_mut().poll(cx) {
        Poll::Ready(()) => Poll::Ready(Err({
            crate::metrics::count_stalled_close();
            io::Error::new(
                io::ErrorKind::TimedOut,
                "the client took no bytes for the write stall timeout",
            )
        })),
        Poll::Pending => Poll::Pending,
    }
}

impl<Io: tokio::io::AsyncRead> tokio::io::AsyncRead for StallGuard<Io> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.project().io.poll_read(cx, buf)
    }
}

impl<Io: tokio::io::AsyncWrite> tokio::io::AsyncWrite for StallGuard<Io> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        match this.io.poll_write(cx, buf) {
            Poll::Ready(result) => {
                *this.stalled = false;
                Poll::Ready(result)
            }
            Poll::Pending => stall(this.sleep, this.stalled, *this.timeout, cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        match this.io.poll_write_vectored(cx, bufs) {
            Poll::Ready(result) => {
                *this.stalled = false;
                Poll::Ready(result)
            }
            Poll::Pending => stall(this.sleep, this.stalled, *this.timeout, cx),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.project();
        match this.io.poll_flush(cx) {
            Poll::Ready(result) => {
                *this.stalled = false;
                Poll::Ready(result)
            }
            Poll::Pending => stall(this.sleep, this.stalled, *this.timeout, cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_shutdown(cx)
    }
}

/// Wraps each request's body in a [`ReadTimeoutBody`].
#[derive(Clone)]
struct BodyTimeout<S> {
    inner: S,
    timeout: Duration,
}

impl<S> tower_service::Service<http::Request<Incoming>> for BodyTimeout<S>
where
    S: tower_service::Service<http::Request<ReadTimeoutBody<Incoming>>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Incoming>) -> Self::Future {
        let timeout = self.timeout;
        self.inner
            .call(request.map(|body| ReadTimeoutBody::new(body, timeout)))
    }
}

/// The error of a [`ReadTimeoutBody`] whose next chunk did not come in time.
#[derive(Debug)]
#[non_exhaustive]
pub struct BodyReadTimeout;

impl fmt::Display for BodyReadTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the request body paused longer than its read timeout")
    }
}

impl StdError for BodyReadTimeout {}

pin_project! {
    /// A request body that fails with [`BodyReadTimeout`] when, while it is read, no
    /// chunk arrives within its timeout (the [`Server`]'s `body_read_timeout`).
    pub struct ReadTimeoutBody<B> {
        #[pin]
        inner: B,
        #[pin]
        sleep: Sleep,
        timeout: Duration,
        waiting: bool,
    }
}

impl<B> ReadTimeoutBody<B> {
    /// Wraps `inner`, with `timeout` between two chunks.
    pub fn new(inner: B, timeout: Duration) -> Self {
        Self {
            inner,
            sleep: tokio::time::sleep(timeout),
            timeout,
            waiting: false,
        }
    }
}

impl<B> fmt::Debug for ReadTimeoutBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadTimeoutBody")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl<B> Body for ReadTimeoutBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn StdError + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let mut this = self.project();
        if !*this.waiting {
            // The clock starts when the reader asks for the next chunk.
            this.sleep.as_mut().reset(Instant::now() + *this.timeout);
            *this.waiting = true;
        }
        match this.inner.poll_frame(cx) {
            Poll::Ready(frame) => {
                *this.waiting = false;
                Poll::Ready(frame.map(|frame| frame.map_err(Into::into)))
            }
            Poll::Pending => match this.sleep.poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyReadTimeout)))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use http_body_util::BodyExt;

    use super::*;

    /// A body that yields its chunks with the given pauses before each.
    struct Paced {
        chunks: VecDeque<(Duration, &'static [u8])>,
        sleep: Option<Pin<Box<Sleep>>>,
    }

    impl Body for Paced {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            let Some(&(pause, chunk)) = self.chunks.front() else {
                return Poll::Ready(None);
            };
            let sleep = self
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(pause)));
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.sleep = None;
            self.chunks.pop_front();
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(chunk)))))
        }
    }

    fn paced(chunks: &[(u64, &'static [u8])]) -> Paced {
        Paced {
            chunks: chunks
                .iter()
                .map(|&(ms, chunk)| (Duration::from_millis(ms), chunk))
                .collect(),
            sleep: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_with_short_pauses_is_read_whole() {
        let body = ReadTimeoutBody::new(
            paced(&[(900, b"a"), (900, b"b"), (900, b"c")]),
            Duration::from_secs(1),
        );
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(bytes, &b"abc"[..]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_longer_than_the_timeout_fails_the_body() {
        let start = Instant::now();
        let body =
            ReadTimeoutBody::new(paced(&[(100, b"a"), (5_000, b"b")]), Duration::from_secs(1));
        let error = body.collect().await.unwrap_err();
        assert!(error.is::<BodyReadTimeout>(), "{error}");
        assert_eq!(start.elapsed(), Duration::from_millis(1100));
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_that_cannot_go_on_fails_after_the_stall_timeout() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // A pipe of 64 bytes whose far end reads nothing.
        let (near, mut far) = tokio::io::duplex(64);
        let mut guarded = StallGuard::new(near, Duration::from_secs(2));
        let start = Instant::now();
        // Slow but moving: the far end takes 32 bytes a second; never a stall.
        let reader = tokio::spawn(async move {
            let mut buf = [0; 32];
            for _ in 0..8 {
                tokio::time::sleep(Duration::from_secs(1)).await;
                far.read_exact(&mut buf).await.unwrap();
            }
            far
        });
        guarded.write_all(&[7; 64 + 6 * 32]).await.unwrap();
        let far = reader.await.unwrap();
        assert!(start.elapsed() >= Duration::from_secs(6));
        // Now the far end stops reading: the next writes fill the pipe, then wait,
        // then fail once nothing has moved for 2 s.
        let stalled_at = Instant::now();
        let error = guarded.write_all(&[7; 1024]).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert_eq!(stalled_at.elapsed(), Duration::from_secs(2));
        drop(far);
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_is_not_stalled() {
        use tokio::io::AsyncWriteExt;
        let (near, _far) = tokio::io::duplex(64);
        let mut guarded = StallGuard::new(near, Duration::from_secs(1));
        guarded.write_all(b"a").await.unwrap();
        tokio::time::sleep(Duration::from_secs(60)).await;
        guarded.write_all(b"b").await.unwrap();
        guarded.flush().await.unwrap();
    }
}
