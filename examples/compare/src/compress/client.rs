//! The client of the compressed-stream measurements: an HTTP/1.1 response read from
//! a raw socket as it arrives, de-chunked and decompressed incrementally (see
//! `body`) and decoded as SSE, noting when each event was decoded and how many bytes
//! carried it.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::body::{check_head, request, Dechunk, Inflate};
use super::Encoding;
use crate::fanout::now_nanos;

/// What a client received on one event stream.
#[derive(Clone, Debug, Default)]
pub struct Received {
    /// Events decoded.
    pub events: u64,
    /// Bytes of the (compressed) body: the data of the chunks.
    pub body_bytes: u64,
    /// Bytes after the response head: the body with its chunked framing (size
    /// lines and line breaks), as they crossed the socket.
    pub wire_bytes: u64,
    /// Chunks of data (HTTP/1.1 writes one per frame of the body).
    pub chunks: u64,
    /// When each event was decoded, in nanoseconds since the UNIX epoch.
    pub decoded_at: Vec<u64>,
}

/// Requests `path` with `Accept-Encoding: coding` (none for identity) and reads the
/// whole stream (to its last chunk).
///
/// # Errors
///
/// On a socket error, an answer that is not `200`, a `Content-Encoding` other than
/// `coding`, or a body that does not decode; when nothing comes for 10 seconds.
pub async fn get_stream(addr: SocketAddr, path: &str, coding: Encoding) -> io::Result<Received> {
    let mut socket = TcpStream::connect(addr).await?;
    socket
        .write_all(request(path, coding, true).as_bytes())
        .await?;
    read(socket, coding, None).await
}

/// Opens `count` subscriptions to run `run` (`GET /fanout?coding=…&run=…`, accepting
/// `coding` only) and returns their sockets once the server counts them all.
///
/// # Errors
///
/// On a socket error, or when the server does not count them within a minute.
pub async fn open_subscribers(
    addr: SocketAddr,
    count: usize,
    coding: Encoding,
    run: u64,
) -> io::Result<Vec<TcpStream>> {
    let path = format!("/fanout?coding={}&run={run}", coding.name());
    let mut sockets = Vec::with_capacity(count);
    for _ in 0..count {
        let mut socket = TcpStream::connect(addr).await?;
        socket
            .write_all(request(&path, coding, false).as_bytes())
            .await?;
        sockets.push(socket);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let now: usize = crate::fanout::request(addr, "GET", &format!("/subscribers?run={run}"))
            .await?
            .trim()
            .parse()
            .unwrap_or(0);
        if now >= count {
            return Ok(sockets);
        }
        if tokio::time::Instant::now() > deadline {
            return Err(io::Error::other(format!(
                "only {now} of {count} subscribed"
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reads a subscription opened by [`open_subscribers`] until `events` events came.
///
/// # Errors
///
/// As [`get_stream`]; also when the stream ends early.
pub async fn read_subscriber(
    socket: TcpStream,
    coding: Encoding,
    events: u64,
) -> io::Result<Received> {
    read(socket, coding, Some(events)).await
}

/// Reads the response on `socket`: to its end, or until `until` events came.
async fn read(mut socket: TcpStream, coding: Encoding, until: Option<u64>) -> io::Result<Received> {
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut scratch = vec![0_u8; 64 * 1024];
    let end = loop {
        if let Some(end) = memchr::memmem::find(&buf, b"\r\n\r\n") {
            break end;
        }
        more(&mut socket, &mut scratch, &mut buf).await?;
    };
    check_head(&String::from_utf8_lossy(&buf[..end]), coding)?;
    let mut body = Dechunk::new(&buf[end + 4..]);
    let mut inflate = Inflate::new(coding)?;
    let mut sse = sse_rs::decode::Decoder::new();
    let mut received = Received::default();
    loop {
        let (wire, ended) = body.chunks(|data| {
            received.chunks += 1;
            received.body_bytes += data.len() as u64;
            let plain = inflate.feed(data)?;
            let mut decoded = 0;
            for item in sse.decode(plain).map_err(io::Error::other)? {
                if let sse_rs::decode::Decoded::Event(_) = item {
                    decoded += 1;
                }
            }
            let now = u64::try_from(now_nanos()).unwrap_or(u64::MAX);
            received.events += decoded;
            received
                .decoded_at
                .extend(std::iter::repeat_n(now, decoded as usize));
            Ok(())
        })?;
        received.wire_bytes += wire;
        if ended || until.is_some_and(|until| received.events >= until) {
            return Ok(received);
        }
        buf.clear();
        more(&mut socket, &mut scratch, &mut buf).await?;
        body.extend(&buf);
    }
}

/// Reads what `socket` has (waiting at most 10 seconds for it) onto `buf`.
async fn more(socket: &mut TcpStream, scratch: &mut [u8], buf: &mut Vec<u8>) -> io::Result<()> {
    let read = tokio::time::timeout(Duration::from_secs(10), socket.read(scratch))
        .await
        .map_err(|_| io::Error::other("nothing came for 10 s"))??;
    if read == 0 {
        return Err(io::Error::other("the connection closed before the end"));
    }
    buf.extend_from_slice(&scratch[..read]);
    Ok(())
}
