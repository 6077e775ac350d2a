//! The compressed race's reader (`compare bench --compress`): one `/burst` asked for
//! with `Accept-Encoding: <coding>`, its `Content-Encoding` checked, the body
//! de-chunked and decompressed as it arrives, and the events counted in the decoded
//! bytes the way [`read_burst`](crate::read_burst) counts them (empty lines).

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::body::{check_head, request, Dechunk, Inflate};
use super::Encoding;
use crate::Burst;

/// What one compressed burst delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompressedBurst {
    /// Events counted in the decoded body.
    pub events: u64,
    /// Bytes after the response head: the compressed body with its chunked framing,
    /// as they crossed the socket.
    pub wire_bytes: u64,
    /// From the request to the body's last chunk.
    pub elapsed: Duration,
}

/// Reads one `/burst` compressed with `coding` as fast as it can, keeping `received`
/// at the number of events decoded so far (one relaxed store per read).
///
/// # Errors
///
/// On a socket error, an answer that is not `200`, a body that does not decode, or
/// a `Content-Encoding` other than `coding`: then the error holds a
/// [`NotCompressed`](super::NotCompressed) (see [`NotCompressed::of`](super::NotCompressed::of)).
pub async fn read_burst_compressed(
    addr: SocketAddr,
    burst: Burst,
    coding: Encoding,
    received: &AtomicU64,
) -> io::Result<CompressedBurst> {
    let start = Instant::now();
    let mut socket = tokio::net::TcpStream::connect(addr).await?;
    let path = format!("/burst?n={}&size={}", burst.n, burst.size);
    socket
        .write_all(request(&path, coding, true).as_bytes())
        .await?;
    let mut buf = vec![0_u8; 256 * 1024];
    let mut head = Vec::new();
    let mut body = loop {
        let read = socket.read(&mut buf).await?;
        if read == 0 {
            return Err(io::Error::other(
                "the connection closed in the response head",
            ));
        }
        head.extend_from_slice(&buf[..read]);
        if let Some(end) = memchr::memmem::find(&head, b"\r\n\r\n") {
            check_head(&String::from_utf8_lossy(&head[..end]), coding)?;
            break Dechunk::new(&head[end + 4..]);
        }
    };
    let mut inflate = Inflate::new(coding)?;
    let finder = memchr::memmem::Finder::new(b"\n\n");
    let mut events = 0_u64;
    let mut wire_bytes = 0_u64;
    let mut last = 0_u8;
    loop {
        let (wire, ended) = body.chunks(|data| {
            let plain = inflate.feed(data)?;
            // An event's "\n\n" may straddle two chunks, or two decoded pieces.
            if last == b'\n' && plain.first() == Some(&b'\n') {
                events += 1;
            }
            events += finder.find_iter(plain).count() as u64;
            if let Some(&byte) = plain.last() {
                last = byte;
            }
            Ok(())
        })?;
        wire_bytes += wire;
        received.store(events, Ordering::Relaxed);
        if ended {
            return Ok(CompressedBurst {
                events,
                wire_bytes,
                elapsed: start.elapsed(),
            });
        }
        let read = socket.read(&mut buf).await?;
        if read == 0 {
            return Err(io::Error::other("the connection closed before the end"));
        }
        body.extend(&buf[..read]);
    }
}
