//! The HTTP/2 stack's known floods against the `Server`, each bounded: rapid reset
//! (CVE-2023-44487), a CONTINUATION flood (CVE-2024-27316 and kin), SETTINGS and PING
//! floods from a client that never reads, and a TLS handshake that never completes.
//! Frames are written by hand where no client would send them. Real sockets on
//! 127.0.0.1; every loop is bounded in count and time.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use sse_tests::wait_until;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod http2_server;

use http2_server::{start, Options, Ticking, STALL};

/// A plain HTTP/2 request still gets its event stream: the server is well.
async fn still_serves(addr: SocketAddr) {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (send, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut send = send.ready().await.unwrap();
    let request = http::Request::get("http://localhost/events")
        .body(())
        .unwrap();
    let (response, _) = send.send_request(request, true).unwrap();
    let response = tokio::time::timeout(Duration::from_secs(5), response)
        .await
        .expect("an answer in time")
        .unwrap();
    let mut body = response.into_body();
    let first = tokio::time::timeout(Duration::from_secs(5), body.data())
        .await
        .expect("an event in time")
        .unwrap()
        .unwrap();
    assert!(first.starts_with(b"id: 0\n"), "{first:?}");
}

/// One HTTP/2 frame: length, type, flags, stream id, payload.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap();
    let mut out = len.to_be_bytes()[1..].to_vec();
    out.extend([kind, flags]);
    out.extend(stream.to_be_bytes());
    out.extend(payload);
    out
}

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const HEADERS: u8 = 0x1;
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const CONTINUATION: u8 = 0x9;

/// Writes `chunk(0)`, `chunk(1)`... until the server closes the connection, or
/// `limit` bytes are sent, or 20 s pass. Another task drains what the server sends,
/// unless `read` is false (then the server's answers back up, and a server that waits
/// for the client to read stops taking bytes: only closing counts as a defence, a
/// connection held open is not). Returns the bytes written before the connection was
/// closed, or `None` if it never was.
async fn flood(
    addr: SocketAddr,
    start: &[u8],
    mut chunk: impl FnMut(u64) -> Vec<u8>,
    limit: usize,
    read: bool,
) -> Option<usize> {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = tcp.into_split();
    let closed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let drained = closed.clone();
    let reading = tokio::spawn(async move {
        if !read {
            // Hold the reading half, unread, until the flood ends.
            std::future::pending::<()>().await;
        }
        let mut buf = vec![0; 64 * 1024];
        while matches!(reader.read(&mut buf).await, Ok(n) if n > 0) {}
        drained.store(true, Ordering::SeqCst);
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    writer.write_all(start).await.unwrap();
    let mut sent = start.len();
    let mut n = 0;
    let mut result = None;
    while sent < limit && tokio::time::Instant::now() < deadline {
        if closed.load(Ordering::SeqCst) {
            result = Some(sent);
            break;
        }
        let bytes = chunk(n);
        n += 1;
        match tokio::time::timeout(Duration::from_secs(1), writer.write_all(&bytes)).await {
            Ok(Ok(())) => sent += bytes.len(),
            Ok(Err(_)) => {
                result = Some(sent);
                break;
            }
            // The server takes no bytes now: wait for it to close, or not.
            Err(_) => {}
        }
    }
    reading.abort();
    result
}

/// Rapid reset: a client opens streams and resets each at once, as fast as it can.
/// Every reset stream's work is dropped (the app's open streams go back to none), and
/// the server keeps serving.
#[tokio::test]
async fn rapid_reset_leaves_no_work_behind() {
    let Ticking {
        addr,
        open,
        started,
    } = start(Options::default()).await;
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (send, connection) = h2::client::handshake(tcp).await.unwrap();
    let connection = tokio::spawn(connection);
    let mut send = send;
    let mut resets = 0;
    for _ in 0..5_000 {
        let Ok(ready) = send.clone().ready().await else {
            break; // the server closed the connection: a defence too
        };
        send = ready;
        let request = http::Request::get("http://localhost/events")
            .body(())
            .unwrap();
        let Ok((_, mut stream)) = send.send_request(request, false) else {
            break;
        };
        stream.send_reset(h2::Reason::CANCEL);
        resets += 1;
    }
    assert!(resets > 0);
    assert!(
        wait_until(Duration::from_secs(10), || open.load(Ordering::SeqCst) == 0).await,
        "{} streams of {} reset ones still open",
        open.load(Ordering::SeqCst),
        resets
    );
    println!(
        "{resets} streams reset; the app started {}; connection ended: {}",
        started.load(Ordering::SeqCst),
        connection.is_finished()
    );
    still_serves(addr).await;
}

/// A CONTINUATION flood: one request's headers that never end. The server closes the
/// connection after a bounded amount of header data instead of buffering it.
#[tokio::test]
async fn a_continuation_flood_is_cut_off() {
    let Ticking { addr, started, .. } = start(Options::default()).await;
    // A literal header field without indexing: `x-flood: <1000 x a>`.
    let mut field = vec![0x00, 7];
    field.extend(b"x-flood");
    field.extend([0x7f, (1000 - 127) as u8 | 0x80, 6]); // 1000 as an HPACK integer
    field.extend(std::iter::repeat_n(b'a', 1000));
    let block: Vec<u8> = field
        .iter()
        .copied()
        .cycle()
        .take(16 * field.len())
        .collect();
    let mut start_bytes = PREFACE.to_vec();
    start_bytes.extend(frame(SETTINGS, 0, 0, &[]));
    // :method GET, :scheme http, :path /events (static table indexes 2, 6, 4 + literal).
    let mut first = vec![0x82, 0x86, 0x44, 7];
    first.extend(b"/events");
    start_bytes.extend(frame(HEADERS, 0, 1, &first));
    let sent = flood(
        addr,
        &start_bytes,
        |_| frame(CONTINUATION, 0, 1, &block),
        64 * 1024 * 1024,
        true,
    )
    .await;
    let sent = sent.expect("64 MiB of CONTINUATION frames were taken without an end");
    println!("the connection ended after {sent} bytes of header data");
    // What was sent includes what the kernel's socket buffers took on both sides.
    assert!(
        sent < 16 * 1024 * 1024,
        "{sent} bytes of headers were taken"
    );
    assert_eq!(started.load(Ordering::SeqCst), 0);
    still_serves(addr).await;
}

/// SETTINGS and PING floods from a client that never reads the acknowledgements: the
/// server's answers back up, its writes stall, and the stall guard closes the
/// connection, so the flood costs the server a bounded buffer and a bounded time (with
/// a stall timeout of a minute, the connection is still open when the test gives up).
#[tokio::test]
async fn settings_and_ping_floods_from_a_client_that_never_reads_are_cut_off() {
    let addr = start(Options::default()).await.addr;
    let mut start_bytes = PREFACE.to_vec();
    start_bytes.extend(frame(SETTINGS, 0, 0, &[]));
    let settings = flood(
        addr,
        &start_bytes,
        |_| frame(SETTINGS, 0, 0, &[0, 3, 0, 0, 0, 100]),
        256 * 1024 * 1024,
        false,
    )
    .await;
    let pings = flood(
        addr,
        &start_bytes,
        |n| frame(PING, 0, 0, &n.to_be_bytes()),
        256 * 1024 * 1024,
        false,
    )
    .await;
    println!("SETTINGS flood cut off after {settings:?} bytes, PING flood after {pings:?}");
    assert!(
        settings.is_some(),
        "256 MiB of SETTINGS were taken without an end"
    );
    assert!(
        pings.is_some(),
        "256 MiB of PINGs were taken without an end"
    );
    still_serves(addr).await;
}

/// A TLS handshake that never completes (a record header announcing a ClientHello
/// that never comes) loses its connection after the header read timeout: a client may
/// not hold a connection and a file descriptor for free before it even speaks HTTP.
#[tokio::test]
async fn a_tls_handshake_that_never_completes_is_cut_off() {
    let dir = std::env::temp_dir();
    let (cert, key) = sse_tests::self_signed_tls(&dir);
    let config = sse_axum::server::tls_config(&cert, &key).unwrap();
    let addr = start(Options {
        tls: Some(config),
        ..Options::default()
    })
    .await
    .addr;
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00])
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let mut buf = [0; 64];
    let read = tokio::time::timeout(STALL * 5, tcp.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0) | Err(_))),
        "the half-done handshake still holds its connection after {:?}: {read:?}",
        started.elapsed()
    );
}
