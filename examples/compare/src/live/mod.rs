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

mod jobs;
mod page;
mod ports;
mod relay;
mod routes;
mod settings;
mod state;

use std::io;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use countdown::{Countdown, Signal};
use sse_axum::hub::Hub;
use sse_rs::shutdown::Shutdown;
use tokio::net::TcpListener;

pub use page::{page, SERVERS};

use jobs::{fanout, race};
use ports::bind_all;
use relay::{relay, Tap};
use routes::{only_the_page, report, updates};
use state::{lock, App, Served};

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
