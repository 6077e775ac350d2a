//! The server the HTTP/2 attack and flood tests attack: an axum app on the `Server`
//! whose `/events` sends an event every `tick` (so a stream always has something to
//! send), counting the event streams it was asked for and has open.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use futures_util::StreamExt;
use sse_axum::server::{rustls::ServerConfig, Server};
use sse_axum::{Event, Shutdown, Sse};

/// The write stall and request head timeouts of the server under attack.
pub(crate) const STALL: Duration = Duration::from_secs(2);

/// How to start it.
#[derive(Default)]
pub(crate) struct Options {
    /// Time between two events (default 100 ms).
    pub(crate) tick: Option<Duration>,
    /// `Server::event_streams_per_connection`, if not the default.
    pub(crate) per_connection: Option<usize>,
    /// HTTPS with this config, if given.
    pub(crate) tls: Option<Arc<ServerConfig>>,
}

/// A running server.
pub(crate) struct Ticking {
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    /// Event streams open now.
    pub(crate) open: Arc<AtomicUsize>,
    /// Event streams the app was asked for (read by the flood tests only).
    #[allow(dead_code)]
    pub(crate) started: Arc<AtomicUsize>,
}

/// Held by every open event stream: counts it open.
struct Open(Arc<AtomicUsize>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Starts the server on a free loopback port.
pub(crate) async fn start(options: Options) -> Ticking {
    let tick = options.tick.unwrap_or(Duration::from_millis(100));
    let (open, started): (Arc<AtomicUsize>, Arc<AtomicUsize>) = (Arc::default(), Arc::default());
    let (count_open, count_started) = (Arc::clone(&open), Arc::clone(&started));
    let app = Router::new().route(
        "/events",
        get(move || {
            count_started.fetch_add(1, Ordering::SeqCst);
            count_open.fetch_add(1, Ordering::SeqCst);
            let guard = Open(Arc::clone(&count_open));
            async move {
                let ticks = futures_util::stream::unfold(0_u64, move |n| async move {
                    tokio::time::sleep(tick).await;
                    let event = Event::default().id(n).data("tick");
                    Some((Ok::<_, Infallible>(event), n + 1))
                });
                Sse::new(ticks.map(move |event| {
                    let _held = &guard;
                    event
                }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let addr = listener.local_addr().expect("its address");
    let mut server = Server::new(listener)
        .write_stall_timeout(STALL)
        .header_read_timeout(STALL);
    if let Some(streams) = options.per_connection {
        server = server.event_streams_per_connection(streams);
    }
    if let Some(tls) = options.tls {
        server = server.tls(tls);
    }
    let (trigger, _signal) = Shutdown::new();
    tokio::spawn(server.serve(app, std::future::pending(), trigger));
    Ticking {
        addr,
        open,
        started,
    }
}
