//! Compressed event streams through every adapter, over HTTP/1.1: `Sse::compress`
//! with the adapter's `AcceptEncoding` extractor, each coding. A client that
//! decompresses the chunked body as it arrives decodes event N before the server is
//! given event N+1; the response says `Content-Encoding` and `Vary`, and the stream
//! decodes, finished, to exactly the uncompressed bytes. The framework's own
//! compression sits in front (tower-http's `CompressionLayer` compressing everything,
//! actix-web's `Compress`): the stream is still compressed once.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::convert::Infallible;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::stream::{self, Stream};
use sse_rs::compress::{Coding, Compression};
use sse_rs::Event;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::timeout;

const CODINGS: [Coding; 3] = [Coding::Gzip, Coding::Brotli, Coding::Zstd];

fn event(n: u32) -> Event {
    Event::default().id(n).data(format!(
        r#"{{"jsonrpc":"2.0","method":"notifications/progress","params":{{"progressToken":"abc","progress":{n},"total":10}}}}"#
    ))
}

/// The receiving end of the test's channel, taken by the one request served.
type Shared = Arc<Mutex<Option<mpsc::Receiver<Event>>>>;

fn events(shared: &Shared) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
    let rx = shared.lock().unwrap().take().expect("one request");
    stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|event| (Ok(event), rx))
    })
}

fn only(coding: Coding) -> Compression {
    Compression::new().codings([coding])
}

async fn axum_server(coding: Coding, shared: Shared) -> SocketAddr {
    use axum::http::{Extensions, HeaderMap, StatusCode, Version};
    use tower_http::compression::CompressionLayer;
    let always = |_: StatusCode, _: Version, _: &HeaderMap, _: &Extensions| true;
    let app = axum::Router::new()
        .route(
            "/events",
            axum::routing::get(move |accept: sse_axum::AcceptEncoding| {
                let events = events(&shared);
                async move { sse_axum::Sse::new(events).compress(only(coding), &accept) }
            }),
        )
        // Compresses every response it may: not one that already has a coding.
        .layer(CompressionLayer::new().compress_when(always));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

async fn warp_server(coding: Coding, shared: Shared) -> SocketAddr {
    use warp::Filter;
    let route = warp::path("events").and(sse_warp::accept_encoding()).map(
        move |accept: sse_warp::AcceptEncoding| {
            sse_warp::Sse::new(events(&shared)).compress(only(coding), &accept)
        },
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(warp::serve(route).incoming(listener).run());
    addr
}

fn actix_server(coding: Coding, shared: Shared) -> SocketAddr {
    sse_tests::spawn_actix(move |listener| async move {
        actix_web::HttpServer::new(move || {
            let shared = shared.clone();
            actix_web::App::new()
                .wrap(actix_web::middleware::Compress::default())
                .route(
                    "/events",
                    actix_web::web::get().to(move |accept: sse_actix::AcceptEncoding| {
                        let events = events(&shared);
                        async move { sse_actix::Sse::new(events).compress(only(coding), &accept) }
                    }),
                )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)?
        .run()
        .await
    })
}

/// A decoder fed compressed bytes as they arrive.
enum Incremental {
    Gzip(Box<flate2::write::GzDecoder<Vec<u8>>>),
    Brotli(Box<brotli::DecompressorWriter<Vec<u8>>>),
    Zstd(zstd::stream::write::Decoder<'static, Vec<u8>>),
}

impl Incremental {
    fn new(coding: Coding) -> Self {
        match coding {
            Coding::Gzip => Self::Gzip(Box::new(flate2::write::GzDecoder::new(Vec::new()))),
            Coding::Brotli => {
                Self::Brotli(Box::new(brotli::DecompressorWriter::new(Vec::new(), 4096)))
            }
            Coding::Zstd => Self::Zstd(zstd::stream::write::Decoder::new(Vec::new()).unwrap()),
            _ => unreachable!(),
        }
    }

    /// Feeds `bytes`; returns everything decoded so far.
    fn feed(&mut self, bytes: &[u8]) -> &[u8] {
        match self {
            Self::Gzip(decoder) => {
                decoder.write_all(bytes).unwrap();
                decoder.flush().unwrap();
                decoder.get_ref()
            }
            Self::Brotli(decoder) => {
                decoder.write_all(bytes).unwrap();
                decoder.flush().unwrap();
                decoder.get_ref()
            }
            Self::Zstd(decoder) => {
                decoder.write_all(bytes).unwrap();
                decoder.flush().unwrap();
                decoder.get_ref()
            }
        }
    }
}

/// The whole stream at once: an error when it is cut short or corrupt.
fn decode_all(coding: Coding, compressed: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut plain = Vec::new();
    match coding {
        Coding::Gzip => {
            flate2::read::GzDecoder::new(compressed).read_to_end(&mut plain)?;
        }
        Coding::Brotli => {
            brotli::Decompressor::new(compressed, 4096).read_to_end(&mut plain)?;
        }
        Coding::Zstd => plain = zstd::stream::decode_all(compressed)?,
        _ => unreachable!(),
    }
    Ok(plain)
}

/// An HTTP/1.1 response read as it arrives: the head, then the chunked body.
struct Client {
    socket: TcpStream,
    buf: Vec<u8>,
    head: String,
}

impl Client {
    async fn get(addr: SocketAddr) -> Self {
        let mut socket = TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "GET /events HTTP/1.1\r\nhost: {addr}\r\naccept: text/event-stream\r\naccept-encoding: gzip, deflate, br, zstd\r\n\r\n"
        );
        socket.write_all(request.as_bytes()).await.unwrap();
        let mut client = Self {
            socket,
            buf: Vec::new(),
            head: String::new(),
        };
        let end = loop {
            if let Some(end) = client.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break end;
            }
            client.read_more().await;
        };
        client.head = String::from_utf8(client.buf[..end].to_vec()).unwrap();
        client.buf.drain(..end + 4);
        client
    }

    async fn read_more(&mut self) {
        let mut chunk = [0; 4096];
        let n = timeout(Duration::from_secs(5), self.socket.read(&mut chunk))
            .await
            .expect("the server sent nothing for 5 s")
            .unwrap();
        assert!(n > 0, "the connection closed");
        self.buf.extend_from_slice(&chunk[..n]);
    }

    fn headers(&self, name: &str) -> Vec<String> {
        self.head
            .lines()
            .filter_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.eq_ignore_ascii_case(name)
                    .then(|| value.trim().to_ascii_lowercase())
            })
            .collect()
    }

    /// The next chunk's data; empty at the end of the body.
    async fn chunk(&mut self) -> Vec<u8> {
        loop {
            if let Some(line) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let size = std::str::from_utf8(&self.buf[..line]).unwrap();
                let size = usize::from_str_radix(size.split(';').next().unwrap(), 16).unwrap();
                if self.buf.len() >= line + 2 + size + 2 {
                    let data = self.buf[line + 2..line + 2 + size].to_vec();
                    self.buf.drain(..line + 2 + size + 2);
                    return data;
                }
            }
            self.read_more().await;
        }
    }
}

async fn check(name: &str, coding: Coding, addr: SocketAddr, tx: mpsc::Sender<Event>) {
    let test = async {
        let mut client = Client::get(addr).await;
        assert!(
            client.head.starts_with("HTTP/1.1 200"),
            "{name}: {}",
            client.head
        );
        assert_eq!(
            client.headers("content-encoding"),
            [coding.as_str()],
            "{name} {coding}: compressed once, not identity"
        );
        assert!(
            client
                .headers("vary")
                .iter()
                .any(|vary| vary.contains("accept-encoding")),
            "{name} {coding}: {}",
            client.head
        );
        assert!(client.headers("content-length").is_empty());

        let mut decoder = Incremental::new(coding);
        let (mut compressed, mut expected) = (Vec::new(), Vec::new());
        let mut decoded = 0;
        for n in 1..=5 {
            tx.send(event(n)).await.unwrap();
            expected.extend_from_slice(event(n).encode().as_bytes());
            // The server gets event N+1 only once event N is decoded here.
            while decoded < expected.len() {
                let chunk = client.chunk().await;
                assert!(!chunk.is_empty(), "{name} {coding}: the body ended early");
                compressed.extend_from_slice(&chunk);
                let plain = decoder.feed(&chunk);
                decoded = plain.len();
                assert!(expected.starts_with(plain), "{name} {coding}: bad bytes");
            }
        }
        drop(tx);
        loop {
            let chunk = client.chunk().await;
            if chunk.is_empty() {
                break;
            }
            compressed.extend_from_slice(&chunk);
        }
        assert_eq!(
            decode_all(coding, &compressed).unwrap(),
            expected,
            "{name} {coding}: the finished stream"
        );
    };
    timeout(Duration::from_secs(20), test)
        .await
        .expect("the test took over 20 s");
}

fn channel() -> (mpsc::Sender<Event>, Shared) {
    let (tx, rx) = mpsc::channel(1);
    (tx, Arc::new(Mutex::new(Some(rx))))
}

#[tokio::test]
async fn axum_behind_tower_http_compression() {
    for coding in CODINGS {
        let (tx, shared) = channel();
        check("axum", coding, axum_server(coding, shared).await, tx).await;
    }
}

#[tokio::test]
async fn warp() {
    for coding in CODINGS {
        let (tx, shared) = channel();
        check("warp", coding, warp_server(coding, shared).await, tx).await;
    }
}

#[tokio::test]
async fn actix_behind_its_compress_middleware() {
    for coding in CODINGS {
        let (tx, shared) = channel();
        check("actix", coding, actix_server(coding, shared), tx).await;
    }
}
