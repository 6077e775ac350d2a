//! The live side-by-side page: the countdown demo on hyper, axum, actix-web and warp at
//! once, each on its own port, shown in one page.
//!
//! Each pane is the demo's own page in a frame loaded from its own server, so every
//! stream is same-origin (no CORS needed) and each origin has its own browser limit of
//! six HTTP/1.1 connections.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use countdown::{Countdown, Signal};
use sse_rs_core::shutdown::Shutdown;
use tokio::net::TcpListener;

/// The servers of the live page, in the order of their ports after the page's.
pub const SERVERS: [&str; 4] = ["hyper", "axum", "actix-web", "warp"];

/// The side-by-side page for servers on `ports` of `host`.
#[must_use]
pub fn page(host: &str, ports: [u16; 4]) -> String {
    let panes: String = SERVERS
        .iter()
        .zip(ports)
        .map(|(name, port)| {
            format!(
                r#"<section><h2>{name} <small>:{port}</small></h2><iframe src="http://{host}:{port}/?server={name}" title="{name}"></iframe></section>"#
            )
        })
        .collect();
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SSE side by side</title>
<style>
 body {{ font-family: system-ui, sans-serif; margin: 1rem; background: #eceff3; color: #1d2330; }}
 h1 {{ font-size: 1.3rem; margin: 0 0 .75rem; }}
 main {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(19rem, 1fr)); gap: .75rem; }}
 section {{ background: white; border-radius: .5rem; padding: .5rem; }}
 h2 {{ font-size: 1rem; margin: .25rem .5rem; }} small {{ color: #6b7280; font-weight: normal; }}
 iframe {{ width: 100%; height: 30rem; border: 0; }}
</style></head>
<body><h1>The countdown on every framework, side by side</h1>
<p>Each pane is one server with sse-rs-core's adapter: events, arrival times, the gap between events and its jitter.</p>
<main>{panes}</main></body></html>"#
    )
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

/// Runs the four countdown servers and the page until Ctrl-C.
///
/// # Errors
///
/// When a port cannot be bound or a server fails.
pub fn run(port: u16, interval: Duration, count: u64) -> io::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let ports = [1, 2, 3, 4].map(|offset| port.saturating_add(offset));
            let (listener, [hyper, axum, actix, warp]) = bind_all(port).await?;
            let (trigger, signal) = Shutdown::new();
            let signal_of = |signal: &Shutdown| -> Signal { Box::pin(signal.clone().wait()) };
            let countdown = || Countdown::new(count, interval);
            let servers = vec![
                tokio::spawn(hyper_countdown::serve(
                    hyper,
                    countdown(),
                    signal_of(&signal),
                )),
                tokio::spawn(axum_countdown::serve(axum, countdown(), signal_of(&signal))),
                tokio::spawn(actix_countdown::serve(
                    actix,
                    countdown(),
                    signal_of(&signal),
                )),
                tokio::spawn(warp_countdown::serve(warp, countdown(), signal_of(&signal))),
            ];
            let html = page("127.0.0.1", ports);
            let app = axum::Router::new().route(
                "/",
                axum::routing::get(move || async move { axum::response::Html(html) }),
            );
            println!(
                "side by side on http://{}/ (servers on ports {:?}), Ctrl-C to stop",
                listener.local_addr()?,
                ports
            );
            let page_signal = signal_of(&signal);
            let page_server = tokio::spawn(async move {
                axum::serve(listener, app)
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
    fn the_page_has_one_pane_per_server_on_its_own_port() {
        let html = page("127.0.0.1", [9001, 9002, 9003, 9004]);
        for (name, port) in SERVERS.iter().zip([9001, 9002, 9003, 9004]) {
            assert!(
                html.contains(&format!(r#"src="http://127.0.0.1:{port}/?server={name}""#)),
                "{name}"
            );
        }
        assert_eq!(html.matches("<iframe").count(), 4);
    }
}
