//! Compressed event streams through every adapter (hyper with `SseBody`, axum, actix-web,
//! warp) with `compress` and the adapter's `AcceptEncoding`, each coding, over
//! HTTP/1.1, over HTTP/2 (h2c), and through a real nginx that is told to gzip event
//! streams itself (HTTP/1.1 to the client, and HTTPS with HTTP/2). A client that
//! decompresses the body as it arrives decodes event N before the server is given event
//! N+1: no event waits in a buffer, neither ours nor the proxy's. The response says
//! `Content-Encoding` once and `Vary`, and the stream decodes, finished, to exactly the
//! uncompressed bytes: nothing compressed it twice. The framework's own compression sits
//! in front (tower-http's `CompressionLayer` compressing everything, actix-web's
//! `Compress`) and leaves the stream alone.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::convert::Infallible;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::stream::{self, Stream};
use sse_rs::compress::{AcceptEncoding, Coding, Compression};
use sse_rs::{Event, SseBody};
use sse_tests::Nginx;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::timeout;

const CODINGS: [Coding; 3] = [Coding::Gzip, Coding::Brotli, Coding::Zstd];

/// What the client accepts: what Chromium sends over HTTPS.
const ACCEPT_ENCODING: &str = "gzip, deflate, br, zstd";

/// nginx told to compress event streams itself, as a site-wide `gzip` setting may: it
/// must leave a response that already has a `Content-Encoding` as it is.
const NGINX_GZIP: &str =
    "gzip on; gzip_types text/event-stream; gzip_proxied any; gzip_min_length 1;";

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

async fn hyper_server(coding: Coding, shared: Shared) -> SocketAddr {
    sse_tests::serve_core(
        |server| server,
        tower::service_fn(move |request: http::Request<_>| {
            let accept = AcceptEncoding::from_headers(request.headers());
            let response = SseBody::new(events(&shared))
                .compress(only(coding), &accept)
                .into_response();
            async move { Ok::<_, Infallible>(response) }
        }),
    )
    .await
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
    sse_tests::serve_core(|server| server, app).await
}

async fn warp_server(coding: Coding, shared: Shared) -> SocketAddr {
    use warp::Filter;
    // No path filter: warp's `path(..)` fails the higher-ranked `Send` check of
    // `tokio::spawn` under the core's `Server` (see the warp countdown example).
    let route = warp::any().and(sse_warp::accept_encoding()).map(
        move |accept: sse_warp::AcceptEncoding| {
            sse_warp::Sse::new(events(&shared)).compress(only(coding), &accept)
        },
    );
    sse_tests::serve_core(|server| server, warp::service(route)).await
}

/// actix-web's own server, HTTP/1.1 and h2c on one port.
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
        .listen_auto_h2c(listener)?
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

/// A response read as it arrives.
struct Response {
    /// `name: value` lines, names and values lowercase.
    headers: Vec<(String, String)>,
    status: u16,
    body: Body,
}

enum Body {
    /// The chunked body of an HTTP/1.1 response, and what was read of it.
    Http1(TcpStream, Vec<u8>),
    Http2(h2::RecvStream),
}

impl Response {
    /// `GET /events` over HTTP/1.1 on a new connection.
    async fn http1(addr: SocketAddr) -> Self {
        Self::http1_accepting(addr, Some(ACCEPT_ENCODING)).await
    }

    /// [`http1`](Self::http1) with this `Accept-Encoding`, or none.
    async fn http1_accepting(addr: SocketAddr, accept: Option<&str>) -> Self {
        let mut socket = TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "GET /events HTTP/1.1\r\nhost: {addr}\r\naccept: text/event-stream\r\n{}\r\n",
            accept.map_or(String::new(), |accept| format!(
                "accept-encoding: {accept}\r\n"
            ))
        );
        socket.write_all(request.as_bytes()).await.unwrap();
        let mut buf = Vec::new();
        let end = loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break end;
            }
            read_more(&mut socket, &mut buf).await;
        };
        let head = String::from_utf8(buf[..end].to_vec()).unwrap();
        buf.drain(..end + 4);
        let mut lines = head.lines();
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers = lines
            .filter_map(|line| {
                let (key, value) = line.split_once(':')?;
                Some((
                    key.trim().to_ascii_lowercase(),
                    value.trim().to_ascii_lowercase(),
                ))
            })
            .collect();
        Self {
            headers,
            status,
            body: Body::Http1(socket, buf),
        }
    }

    /// `GET /events` over HTTP/2 on `io`, a new connection (h2c with prior knowledge,
    /// or TLS that chose `h2`).
    async fn http2<T>(io: T, uri: &str) -> Self
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (send, connection) = h2::client::handshake(io).await.unwrap();
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let mut send = send.ready().await.unwrap();
        let request = http::Request::get(uri)
            .header("accept", "text/event-stream")
            .header("accept-encoding", ACCEPT_ENCODING)
            .body(())
            .unwrap();
        let (response, _) = send.send_request(request, true).unwrap();
        let response = timeout(Duration::from_secs(5), response)
            .await
            .expect("no response for 5 s")
            .unwrap();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    value.to_str().unwrap().to_ascii_lowercase(),
                )
            })
            .collect();
        Self {
            headers,
            status: response.status().as_u16(),
            body: Body::Http2(response.into_body()),
        }
    }

    fn headers(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .collect()
    }

    /// The next piece of the body as it came (an HTTP/1.1 chunk, an HTTP/2 DATA
    /// frame); empty at the end of the body.
    async fn chunk(&mut self) -> Vec<u8> {
        match &mut self.body {
            Body::Http1(socket, buf) => loop {
                if let Some(line) = buf.windows(2).position(|w| w == b"\r\n") {
                    let size = std::str::from_utf8(&buf[..line]).unwrap();
                    let size = usize::from_str_radix(size.split(';').next().unwrap(), 16).unwrap();
                    if buf.len() >= line + 2 + size + 2 {
                        let data = buf[line + 2..line + 2 + size].to_vec();
                        buf.drain(..line + 2 + size + 2);
                        return data;
                    }
                }
                read_more(socket, buf).await;
            },
            Body::Http2(body) => loop {
                let frame = timeout(Duration::from_secs(5), body.data())
                    .await
                    .expect("the server sent nothing for 5 s");
                let Some(data) = frame else {
                    return Vec::new();
                };
                let data = data.unwrap();
                body.flow_control().release_capacity(data.len()).unwrap();
                if !data.is_empty() {
                    return data.to_vec();
                }
            },
        }
    }
}

async fn read_more(socket: &mut TcpStream, buf: &mut Vec<u8>) {
    let mut chunk = [0; 4096];
    let n = timeout(Duration::from_secs(5), socket.read(&mut chunk))
        .await
        .expect("the server sent nothing for 5 s")
        .unwrap();
    assert!(n > 0, "the connection closed");
    buf.extend_from_slice(&chunk[..n]);
}

/// How the client reaches the server.
#[derive(Clone, Copy, Debug)]
enum Route {
    Http1,
    H2c,
    /// nginx (with [`NGINX_GZIP`]) in front, HTTP/1.1 on both sides.
    NginxHttp1,
    /// nginx (with [`NGINX_GZIP`]) serving HTTPS with HTTP/2, HTTP/1.1 to the server.
    NginxHttp2,
}

const ROUTES: [Route; 4] = [
    Route::Http1,
    Route::H2c,
    Route::NginxHttp1,
    Route::NginxHttp2,
];

/// Requests the stream of the server at `addr` by `route`; `None` when nginx is
/// missing outside CI. The nginx is returned with the response, to live as long.
async fn request(route: Route, addr: SocketAddr) -> Option<(Response, Option<Nginx>)> {
    Some(match route {
        Route::Http1 => (Response::http1(addr).await, None),
        Route::H2c => {
            let tcp = TcpStream::connect(addr).await.unwrap();
            (
                Response::http2(tcp, &format!("http://{addr}/events")).await,
                None,
            )
        }
        Route::NginxHttp1 => {
            let nginx = Nginx::start(&[addr], NGINX_GZIP, "").await?;
            let front = SocketAddr::from(([127, 0, 0, 1], nginx.port));
            (Response::http1(front).await, Some(nginx))
        }
        Route::NginxHttp2 => {
            let (tls, uri, nginx) = nginx_http2(addr).await?;
            (Response::http2(tls, &uri).await, Some(nginx))
        }
    })
}

/// nginx (with [`NGINX_GZIP`]) serving HTTPS with HTTP/2 in front of `addr`: a new TLS
/// connection to it that chose `h2`, the URI of `/events`, and the nginx.
async fn nginx_http2(
    addr: SocketAddr,
) -> Option<(tokio_rustls::client::TlsStream<TcpStream>, String, Nginx)> {
    let (cert, key) = sse_tests::self_signed_tls(&PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
    let nginx = Nginx::start_tls(&[addr], (&cert, &key), NGINX_GZIP, "").await?;
    let config = sse_tests::trusting(&cert, &[b"h2"]);
    let tcp = TcpStream::connect(("127.0.0.1", nginx.port)).await.unwrap();
    let name = sse_rs::server::rustls::pki_types::ServerName::IpAddress(
        std::net::Ipv4Addr::LOCALHOST.into(),
    );
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let uri = format!("https://127.0.0.1:{}/events", nginx.port);
    Some((tls, uri, nginx))
}

async fn check(
    name: &str,
    coding: Coding,
    route: Route,
    addr: SocketAddr,
    tx: mpsc::Sender<Event>,
) {
    let name = format!("{name} {coding} {route:?}");
    let test = async {
        // Ready before the request: nginx over HTTP/2 holds the response's head until
        // the first bytes of its body.
        tx.send(event(1)).await.unwrap();
        let Some((mut response, _nginx)) = request(route, addr).await else {
            return;
        };
        assert_eq!(response.status, 200, "{name}: {:?}", response.headers);
        assert_eq!(
            response.headers("content-encoding"),
            [coding.as_str()],
            "{name}: compressed once, not identity"
        );
        assert!(
            response
                .headers("vary")
                .iter()
                .any(|vary| vary.contains("accept-encoding")),
            "{name}: {:?}",
            response.headers
        );
        assert!(response.headers("content-length").is_empty(), "{name}");

        let mut decoder = Incremental::new(coding);
        let (mut compressed, mut expected) = (Vec::new(), Vec::new());
        let mut decoded = 0;
        for n in 1..=5 {
            if n > 1 {
                tx.send(event(n)).await.unwrap();
            }
            expected.extend_from_slice(event(n).encode().as_bytes());
            // The server gets event N+1 only once event N is decoded here.
            while decoded < expected.len() {
                let chunk = response.chunk().await;
                assert!(!chunk.is_empty(), "{name}: the body ended early");
                compressed.extend_from_slice(&chunk);
                let plain = decoder.feed(&chunk);
                decoded = plain.len();
                assert!(expected.starts_with(plain), "{name}: bad bytes");
            }
        }
        drop(tx);
        loop {
            let chunk = response.chunk().await;
            if chunk.is_empty() {
                break;
            }
            compressed.extend_from_slice(&chunk);
        }
        assert_eq!(
            decode_all(coding, &compressed).unwrap(),
            expected,
            "{name}: the finished stream"
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
async fn hyper() {
    for route in ROUTES {
        for coding in CODINGS {
            let (tx, shared) = channel();
            check(
                "hyper",
                coding,
                route,
                hyper_server(coding, shared).await,
                tx,
            )
            .await;
        }
    }
}

#[tokio::test]
async fn axum_behind_tower_http_compression() {
    for route in ROUTES {
        for coding in CODINGS {
            let (tx, shared) = channel();
            check("axum", coding, route, axum_server(coding, shared).await, tx).await;
        }
    }
}

#[tokio::test]
async fn warp() {
    for route in ROUTES {
        for coding in CODINGS {
            let (tx, shared) = channel();
            check("warp", coding, route, warp_server(coding, shared).await, tx).await;
        }
    }
}

#[tokio::test]
async fn actix_behind_its_compress_middleware() {
    for route in ROUTES {
        for coding in CODINGS {
            let (tx, shared) = channel();
            check("actix", coding, route, actix_server(coding, shared), tx).await;
        }
    }
}

/// nginx over HTTP/2 holds a response's head until the first bytes of its body, so
/// a stream with nothing to say yet does not open (`EventSource`'s `open` waits). A
/// stream that starts with a comment (`SseBody::initial_event`, as its docs advise)
/// opens at once, and the comment decodes on arrival.
#[tokio::test]
async fn through_nginx_over_http2_an_initial_comment_opens_the_stream_at_once() {
    for initial in [false, true] {
        let (tx, shared) = channel();
        let addr = sse_tests::serve_core(
            |server| server,
            tower::service_fn(move |request: http::Request<_>| {
                let accept = AcceptEncoding::from_headers(request.headers());
                let mut body = SseBody::new(events(&shared)).compress(only(Coding::Gzip), &accept);
                if initial {
                    body = body.initial_event(Event::default().comment("open"));
                }
                let response = body.into_response();
                async move { Ok::<_, Infallible>(response) }
            }),
        )
        .await;
        let Some((tls, uri, _nginx)) = nginx_http2(addr).await else {
            return;
        };
        // No event is ever sent: only the comment can open the stream.
        let response = timeout(Duration::from_secs(1), Response::http2(tls, &uri)).await;
        if initial {
            let mut response = response.expect("no head within 1 s despite the comment");
            assert_eq!(response.status, 200);
            let mut decoder = Incremental::new(Coding::Gzip);
            let chunk = response.chunk().await;
            assert_eq!(decoder.feed(&chunk), b": open\n\n");
        } else {
            assert!(
                response.is_err(),
                "nginx now sends the head before the body: the advice of `initial_event` may go"
            );
        }
        drop(tx);
    }
}

/// Why the README keeps warp's own compression off event streams: under
/// `warp::compression::gzip()`, a stream compressed by `Sse::compress` is compressed a
/// second time (two codings), and an uncompressed one is gzipped for a client that
/// does not accept gzip. (It does pass an event on when the stream has nothing more
/// ready: its encoder flushes when the body is pending.)
#[tokio::test]
async fn warps_own_compression_compresses_twice_and_ignores_accept_encoding() {
    use warp::Filter;
    for compressed in [true, false] {
        let (tx, shared) = channel();
        tx.send(event(1)).await.unwrap();
        let route = warp::any()
            .and(sse_warp::accept_encoding())
            .map(move |accept: sse_warp::AcceptEncoding| {
                let sse = sse_warp::Sse::new(events(&shared));
                if compressed {
                    sse.compress(only(Coding::Zstd), &accept)
                } else {
                    sse
                }
            })
            .with(warp::compression::gzip());
        let addr = sse_tests::serve_core(|server| server, warp::service(route)).await;
        if compressed {
            let response = Response::http1(addr).await;
            assert_eq!(response.headers("content-encoding"), ["zstd", "gzip"]);
        } else {
            let mut response = Response::http1_accepting(addr, None).await;
            assert_eq!(response.headers("content-encoding"), ["gzip"]);
            let mut decoder = Incremental::new(Coding::Gzip);
            while decoder.feed(&response.chunk().await).is_empty() {}
            assert!(event(1).encode().as_bytes().starts_with(decoder.feed(&[])));
        }
        drop(tx);
    }
}
