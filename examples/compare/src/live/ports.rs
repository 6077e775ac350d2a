//! The page's port and its four servers', bound before anything starts.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};

use tokio::net::TcpListener;

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
pub(super) async fn bind_all(port: u16) -> io::Result<(TcpListener, [TcpListener; 4])> {
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
}
