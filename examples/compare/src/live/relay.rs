//! The relay in front of each server: what browsers reach, counting the bytes the
//! server sends and the connections browsers open.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sse_rs::shutdown::Shutdown;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the relay in front of one server counted.
#[derive(Debug, Default)]
pub(super) struct Tap {
    /// Bytes the server sent to browsers.
    pub(super) sent: AtomicU64,
    /// Connections browsers opened.
    pub(super) connections: AtomicU64,
}

/// The most connections one relay holds at once; more wait in the listen queue.
const RELAY_CONNECTIONS: usize = 256;

/// A server that sends nothing for this long (a stream sends a keep-alive comment
/// every 15 s) has its browser connection closed by the relay.
const RELAY_IDLE: Duration = Duration::from_secs(120);

/// Accepts browsers on `listener` and relays each to the server at `upstream`,
/// counting what the server sends, until `stop`.
pub(super) async fn relay(
    listener: TcpListener,
    upstream: SocketAddr,
    tap: Arc<Tap>,
    stop: Shutdown,
) {
    let limit = Arc::new(tokio::sync::Semaphore::new(RELAY_CONNECTIONS));
    loop {
        let accept = async {
            let permit = Arc::clone(&limit).acquire_owned().await;
            (permit, listener.accept().await)
        };
        tokio::select! {
            () = stop.clone().wait() => return,
            (permit, accepted) = accept => match (permit, accepted) {
                (Ok(permit), Ok((client, _))) => {
                    tap.connections.fetch_add(1, Ordering::Relaxed);
                    let tap = Arc::clone(&tap);
                    tokio::spawn(async move {
                        let _ = pipe(client, upstream, tap).await;
                        drop(permit);
                    });
                }
                // Out of file descriptors, most likely: let some close.
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            },
        }
    }
}

/// One browser connection through the relay: both ways until either side closes, then
/// both are closed (a browser never half-closes an event stream). Each way holds one
/// 16 KiB buffer; a browser that stops reading stops the server's writes, as it would
/// without the relay.
async fn pipe(client: TcpStream, upstream: SocketAddr, tap: Arc<Tap>) -> io::Result<()> {
    let server = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(upstream))
        .await
        .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    let up = async {
        let mut buf = vec![0_u8; 16 * 1024];
        loop {
            let read = from_client.read(&mut buf).await?;
            if read == 0 {
                return Ok::<_, io::Error>(());
            }
            to_server.write_all(&buf[..read]).await?;
        }
    };
    let down = async {
        let mut buf = vec![0_u8; 16 * 1024];
        loop {
            let read = tokio::time::timeout(RELAY_IDLE, from_server.read(&mut buf))
                .await
                .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
            if read == 0 {
                return Ok::<_, io::Error>(());
            }
            to_client.write_all(&buf[..read]).await?;
            tap.sent.fetch_add(read as u64, Ordering::Relaxed);
        }
    };
    tokio::select! {
        result = up => result,
        result = down => result,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The relay passes both ways unchanged, counts what the server sent, and closes
    /// the server's side when the browser goes.
    #[tokio::test]
    async fn the_relay_counts_the_bytes_the_server_sends() {
        let server = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream = server.local_addr().unwrap();
        let public = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = public.local_addr().unwrap();
        let tap = Arc::new(Tap::default());
        let (trigger, stop) = Shutdown::new();
        tokio::spawn(relay(public, upstream, Arc::clone(&tap), stop));

        let mut client = TcpStream::connect(addr).await.unwrap();
        let (mut behind, _) = server.accept().await.unwrap();
        client.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        let mut request = [0_u8; 18];
        behind.read_exact(&mut request).await.unwrap();
        assert_eq!(&request, b"GET / HTTP/1.1\r\n\r\n");
        let answer = vec![b'x'; 100_000];
        behind.write_all(&answer).await.unwrap();
        let mut got = vec![0_u8; answer.len()];
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(got, answer);
        // Counted right after the write that delivered it.
        for _ in 0..500 {
            if tap.sent.load(Ordering::Relaxed) == 100_000 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(tap.sent.load(Ordering::Relaxed), 100_000);
        assert_eq!(tap.connections.load(Ordering::Relaxed), 1);

        drop(client);
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(5), behind.read_to_end(&mut rest))
            .await
            .expect("the server's side is closed");
        assert_eq!(closed.unwrap(), 0);
        trigger.fire();
    }
}
