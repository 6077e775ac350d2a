//! Servers the tests start in this process on a free port of 127.0.0.1: a countdown
//! server ([`TestServer`]), the broadcast example ([`BroadcastInstance`]), and any
//! actix-web app ([`spawn_actix`], which needs a thread of its own).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use countdown::Countdown;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::programs::wait_until;

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

/// How long a test instance of the broadcast example gives its connections on a
/// stop before it drops them.
pub const BROADCAST_SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

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

impl<H: sse_rs::hub::Backplane> BroadcastInstance<H> {
    async fn serve(hub: H, tick: Duration) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let addr = listener.local_addr().expect("its address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(axum_broadcast::serve(
            listener,
            hub.clone(),
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

/// Serves `service` on a free loopback port with the core's `Server` (HTTP/1.1 and
/// h2c on one port), set up by `configure`, until the test's runtime ends; its
/// address.
///
/// # Panics
///
/// When no port can be bound.
pub async fn serve_core<S, B>(
    configure: impl FnOnce(sse_rs::server::Server) -> sse_rs::server::Server,
    service: S,
) -> SocketAddr
where
    S: tower_service::Service<sse_rs::server::ServerRequest, Response = http::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<sse_rs::BoxError>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<sse_rs::BoxError>,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let addr = listener.local_addr().expect("its address");
    let (trigger, _stop) = sse_rs::shutdown::Shutdown::new();
    let server = configure(sse_rs::server::Server::new(listener));
    tokio::spawn(server.serve(service, std::future::pending(), trigger));
    addr
}
