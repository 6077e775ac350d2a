//! Compressed event streams, for each coding: every frame decodes to its events the
//! moment it arrives (the compressor is flushed per frame, keep-alives included), the
//! end of the stream finishes it, and the whole stream decodes to exactly the bytes
//! an uncompressed stream would carry. Over real TCP (HTTP/1.1, axum) and frame by
//! frame on the body.

#![cfg(all(
    feature = "gzip",
    feature = "brotli",
    feature = "zstd",
    feature = "tokio"
))]
// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::convert::Infallible;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream;
use http_body_util::BodyExt;
use sse_rs_core::compress::{AcceptEncoding, Coding, Compression};
use sse_rs_core::shutdown::Shutdown;
use sse_rs_core::{Event, KeepAlive, SseBody};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::timeout;

const CODINGS: [Coding; 3] = [Coding::Gzip, Coding::Brotli, Coding::Zstd];

/// A JSON event like an LLM's token stream.
fn event(n: u32) -> Event {
    Event::default().id(n).data(format!(
        r#"{{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o","choices":[{{"index":0,"delta":{{"content":"token {n}"}},"finish_reason":null}}]}}"#
    ))
}

fn wire(event: &Event) -> Vec<u8> {
    event.encode().as_bytes().to_vec()
}

/// A decoder fed the compressed bytes as they arrive; `plain()` is everything it
/// could decode so far.
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

    fn feed(&mut self, bytes: &[u8]) {
        match self {
            Self::Gzip(decoder) => {
                decoder.write_all(bytes).unwrap();
                decoder.flush().unwrap();
            }
            Self::Brotli(decoder) => {
                decoder.write_all(bytes).unwrap();
                decoder.flush().unwrap();
            }
            Self::Zstd(decoder) => {
                decoder.write_all(bytes).unwrap();
                decoder.flush().unwrap();
            }
        }
    }

    fn plain(&self) -> &[u8] {
        match self {
            Self::Gzip(decoder) => decoder.get_ref(),
            Self::Brotli(decoder) => decoder.get_ref(),
            Self::Zstd(decoder) => decoder.get_ref(),
        }
    }
}

/// Decodes a whole compressed stream at once; an error when it is cut short (no
/// gzip trailer, no last brotli block, no zstd frame end) or corrupt.
fn decode_all(coding: Coding, compressed: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut plain = Vec::new();
    match coding {
        Coding::Gzip => {
            flate2::read::GzDecoder::new(compressed).read_to_end(&mut plain)?;
        }
        Coding::Brotli => {
            brotli::Decompressor::new(compressed, 4096).read_to_end(&mut plain)?;
        }
        Coding::Zstd => {
            plain = zstd::stream::decode_all(compressed)?;
        }
        _ => unreachable!(),
    }
    Ok(plain)
}

// ---------------------------------------------------------------------------------
// On the body, frame by frame.

/// The body's next data frame, within 5 s (a compressor that holds bytes back
/// leaves the body pending).
async fn next<B>(body: &mut B) -> Option<Bytes>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Debug,
{
    timeout(Duration::from_secs(5), body.frame())
        .await
        .expect("no frame within 5 s")
        .map(|frame| frame.unwrap().into_data().unwrap())
}

/// Each frame the body yields decodes, on its own arrival, to exactly the events
/// given before it: nothing waits in the compressor. The last frame finishes the
/// stream, and the whole decodes to the uncompressed stream's bytes.
#[tokio::test]
async fn every_frame_decodes_to_its_events_on_arrival() {
    for coding in CODINGS {
        let (tx, mut rx) = mpsc::unbounded_channel::<Result<Event, Infallible>>();
        let events = stream::poll_fn(move |cx| rx.poll_recv(cx));
        let mut body = SseBody::new(events)
            .initial_event(Event::default().retry(Duration::from_secs(5)))
            .compress_with(coding, Compression::new());
        assert_eq!(body.content_encoding(), Some(coding));

        let mut decoder = Incremental::new(coding);
        let mut expected = wire(&Event::default().retry(Duration::from_secs(5)));
        let mut compressed = Vec::new();
        for n in 1..=20 {
            tx.send(Ok(event(n))).unwrap();
            expected.extend(wire(&event(n)));
            let frame = next(&mut body).await.unwrap();
            assert!(!frame.is_empty());
            compressed.extend_from_slice(&frame);
            decoder.feed(&frame);
            assert_eq!(
                decoder.plain(),
                &expected[..],
                "{coding}: event {n} not decodable from its frame"
            );
        }
        let before_end = compressed.len();
        drop(tx);
        // The end of the compressed stream, alone (the gzip trailer and the like).
        let end = next(&mut body).await.unwrap();
        compressed.extend_from_slice(&end);
        assert!(next(&mut body).await.is_none());
        assert_eq!(
            decode_all(coding, &compressed).unwrap(),
            expected,
            "{coding}"
        );
        // Without its end the stream is cut short: the last frame is needed.
        assert!(
            decode_all(coding, &compressed[..before_end]).is_err(),
            "{coding}: the stream decodes without its end"
        );
        // One compressor for the stream: 20 similar events cost far less than 20
        // times one.
        assert!(
            compressed.len() * 3 < expected.len(),
            "{coding}: {} bytes for {} plain",
            compressed.len(),
            expected.len()
        );
    }
}

/// Events that are ready together go as one frame and one flush; a stream that
/// ends with them is finished in that same frame.
#[tokio::test]
async fn ready_events_are_one_frame_finished_when_the_stream_ends() {
    for coding in CODINGS {
        let events = stream::iter((1..=5).map(|n| Ok::<_, Infallible>(event(n))));
        let mut body = SseBody::new(events).compress_with(coding, Compression::new());
        let frame = next(&mut body).await.unwrap();
        assert!(
            next(&mut body).await.is_none(),
            "{coding}: more than one frame"
        );
        let expected: Vec<u8> = (1..=5).flat_map(|n| wire(&event(n))).collect();
        assert_eq!(decode_all(coding, &frame).unwrap(), expected, "{coding}");
    }
}

/// Events of 1 KiB and more, which an uncompressed body sends each as a frame of its
/// own (the server writes them from where they were encoded), go together when the
/// body compresses: the compressor reads them anyway, and one frame is one flush
/// (with a flush per event, `compare bench --compress gzip` measured 27 bytes and
/// 2.5x the server CPU per 1 KiB event of the built-ins behind middleware).
#[tokio::test]
async fn large_ready_events_are_one_compressed_frame() {
    let large = |n: u32| Event::default().id(n).data("x".repeat(4096));
    for coding in CODINGS {
        let events = stream::iter((1..=5).map(|n| Ok::<_, Infallible>(large(n))));
        let mut body = SseBody::new(events).compress_with(coding, Compression::new());
        let frame = next(&mut body).await.unwrap();
        assert!(
            next(&mut body).await.is_none(),
            "{coding}: more than one frame"
        );
        let expected: Vec<u8> = (1..=5).flat_map(|n| wire(&large(n))).collect();
        assert_eq!(decode_all(coding, &frame).unwrap(), expected, "{coding}");
    }
}

/// A shutdown's last event is compressed and the stream finished with it.
#[tokio::test]
async fn shutdown_sends_the_last_event_and_finishes_the_stream() {
    for coding in CODINGS {
        let (trigger, signal) = Shutdown::new();
        let last = Event::default().event(sse_rs_core::EventType::from_static("bye"));
        let mut body = SseBody::new(stream::pending::<Result<Event, Infallible>>())
            .initial_event(event(1))
            .shutdown(signal, Some(last.clone()))
            .compress_with(coding, Compression::new());
        let mut compressed = next(&mut body).await.unwrap().to_vec();
        trigger.fire();
        while let Some(frame) = next(&mut body).await {
            compressed.extend_from_slice(&frame);
        }
        let mut expected = wire(&event(1));
        expected.extend(wire(&last));
        assert_eq!(
            decode_all(coding, &compressed).unwrap(),
            expected,
            "{coding}"
        );
    }
}

/// A stream error: the events before it are sent, decodable, then the body ends with
/// the error and nothing after it (no trailer on a response that is cut off anyway).
/// With `on_error`, the last event comes and the stream is finished cleanly.
#[tokio::test]
async fn errors_end_the_compressed_stream() {
    use http_body::Body as _;
    for coding in CODINGS {
        let failing = || {
            stream::iter([
                Ok(event(1)),
                Err::<Event, sse_rs_core::BoxError>("boom".into()),
            ])
        };
        let mut body = SseBody::new(failing()).compress_with(coding, Compression::new());
        let frame = next(&mut body).await.unwrap();
        let mut decoder = Incremental::new(coding);
        decoder.feed(&frame);
        assert_eq!(decoder.plain(), wire(&event(1)), "{coding}");
        let error = timeout(Duration::from_secs(5), body.frame())
            .await
            .unwrap()
            .unwrap()
            .unwrap_err();
        assert_eq!(error.to_string(), "boom");
        assert!(body.is_end_stream(), "{coding}");
        assert!(
            next(&mut body).await.is_none(),
            "{coding}: bytes after the error"
        );

        let last = Event::default().data("sorry");
        let mut body = SseBody::new(failing())
            .on_error({
                let last = last.clone();
                move |_| last
            })
            .compress_with(coding, Compression::new());
        let mut compressed = Vec::new();
        while let Some(frame) = next(&mut body).await {
            compressed.extend_from_slice(&frame);
        }
        let mut expected = wire(&event(1));
        expected.extend(wire(&last));
        assert_eq!(
            decode_all(coding, &compressed).unwrap(),
            expected,
            "{coding}"
        );
    }
}

/// A keep-alive is a frame of its own, flushed: decodable when it arrives.
#[tokio::test(start_paused = true)]
async fn keep_alives_are_flushed() {
    for coding in CODINGS {
        let mut body = SseBody::new(stream::pending::<Result<Event, Infallible>>())
            .keep_alive(
                KeepAlive::new()
                    .interval(Duration::from_secs(1))
                    .text("ping"),
            )
            .compress_with(coding, Compression::new());
        let mut decoder = Incremental::new(coding);
        for n in 1..=3 {
            let frame = next(&mut body).await.unwrap();
            decoder.feed(&frame);
            assert_eq!(decoder.plain(), b": ping\n".repeat(n), "{coding}");
        }
    }
}

/// Without an agreed coding the body is not compressed and has no such header.
#[tokio::test]
async fn no_agreed_coding_no_compression() {
    let body = SseBody::new(stream::iter([Ok::<_, Infallible>(event(1))])).compress(
        Compression::new().codings([Coding::Brotli]),
        &AcceptEncoding::from_bytes(b"gzip, zstd"),
    );
    assert_eq!(body.content_encoding(), None);
    let response = body.into_response();
    assert!(!response.headers().contains_key("content-encoding"));
    assert!(!response.headers().contains_key("vary"));
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(bytes, Bytes::from(wire(&event(1))));
}

// ---------------------------------------------------------------------------------
// Over TCP: an axum server, a client that reads the HTTP/1.1 chunked body as it
// arrives and decompresses it.

type Events = mpsc::Receiver<Event>;

/// Serves `/events` once: the events sent on the returned channel's receiver,
/// compressed as negotiated with the request's `Accept-Encoding`.
async fn server(compression: Compression) -> (std::net::SocketAddr, mpsc::Sender<Event>) {
    let (tx, rx) = mpsc::channel::<Event>(1);
    let rx: Arc<Mutex<Option<Events>>> = Arc::new(Mutex::new(Some(rx)));
    let app = axum::Router::new().route(
        "/events",
        axum::routing::get(move |headers: http::HeaderMap| {
            let rx = rx.lock().unwrap().take().expect("one request");
            let compression = compression.clone();
            async move {
                let events = stream::unfold(rx, |mut rx| async move {
                    rx.recv()
                        .await
                        .map(|event| (Ok::<_, Infallible>(event), rx))
                });
                SseBody::new(events)
                    .keep_alive(KeepAlive::new().interval(Duration::from_millis(300)))
                    .compress(compression, &AcceptEncoding::from_headers(&headers))
                    .into_response()
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, tx)
}

/// An HTTP/1.1 response read as it arrives: the head, then the chunked body.
struct Client {
    socket: TcpStream,
    buf: Vec<u8>,
    head: String,
    ended: bool,
}

impl Client {
    async fn get(addr: std::net::SocketAddr, accept_encoding: &str) -> Self {
        let mut socket = TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "GET /events HTTP/1.1\r\nhost: {addr}\r\naccept: text/event-stream\r\naccept-encoding: {accept_encoding}\r\n\r\n"
        );
        socket.write_all(request.as_bytes()).await.unwrap();
        let mut client = Self {
            socket,
            buf: Vec::new(),
            head: String::new(),
            ended: false,
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

    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    /// The body bytes of the next chunk (empty at the end of the body).
    async fn chunk(&mut self) -> Vec<u8> {
        loop {
            if let Some(line) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let size = std::str::from_utf8(&self.buf[..line]).unwrap();
                let size = usize::from_str_radix(size.split(';').next().unwrap(), 16).unwrap();
                if self.buf.len() >= line + 2 + size + 2 {
                    let data = self.buf[line + 2..line + 2 + size].to_vec();
                    self.buf.drain(..line + 2 + size + 2);
                    self.ended = size == 0;
                    return data;
                }
            }
            self.read_more().await;
        }
    }
}

/// For each coding over HTTP/1.1: event N is decoded by the client before the
/// server is given event N+1 (the producer waits for the client), a keep-alive is
/// decoded on arrival, and the stream ends finished, decoding to exactly the
/// uncompressed bytes.
#[tokio::test]
async fn over_tcp_each_event_is_decoded_before_the_next_is_produced() {
    for coding in CODINGS {
        let test = async {
            let (addr, tx) = server(Compression::new().codings([coding])).await;
            let mut client = Client::get(addr, "gzip, deflate, br, zstd").await;
            assert!(client.head.starts_with("HTTP/1.1 200"), "{}", client.head);
            assert_eq!(client.header("content-encoding"), Some(coding.as_str()));
            assert_eq!(client.header("vary"), Some("accept-encoding"));
            assert_eq!(client.header("content-type"), Some("text/event-stream"));
            assert_eq!(client.header("content-length"), None);
            assert_eq!(client.header("transfer-encoding"), Some("chunked"));

            let mut decoder = Incremental::new(coding);
            let mut compressed = Vec::new();
            let mut expected = Vec::new();
            for n in 1..=10 {
                tx.send(event(n)).await.unwrap();
                expected.extend(wire(&event(n)));
                // Nothing more is produced until event N is decoded here.
                while decoder.plain().len() < expected.len() {
                    let chunk = client.chunk().await;
                    assert!(!client.ended, "{coding}: the body ended early");
                    compressed.extend_from_slice(&chunk);
                    decoder.feed(&chunk);
                }
                assert_eq!(decoder.plain(), &expected[..], "{coding}: event {n}");
            }
            // Idle: a keep-alive comes, decodable as it arrives.
            let chunk = client.chunk().await;
            compressed.extend_from_slice(&chunk);
            decoder.feed(&chunk);
            expected.extend_from_slice(b":\n");
            assert_eq!(decoder.plain(), &expected[..], "{coding}: keep-alive");

            drop(tx);
            loop {
                let chunk = client.chunk().await;
                if client.ended {
                    break;
                }
                compressed.extend_from_slice(&chunk);
            }
            assert_eq!(
                decode_all(coding, &compressed).unwrap(),
                expected,
                "{coding}"
            );
        };
        timeout(Duration::from_secs(20), test)
            .await
            .expect("the test took over 20 s");
    }
}

/// A client that accepts none of the app's codings gets the plain stream, with no
/// `Content-Encoding`.
#[tokio::test]
async fn over_tcp_a_client_without_an_agreed_coding_gets_plain_events() {
    let (addr, tx) = server(Compression::new().codings([Coding::Brotli])).await;
    let mut client = Client::get(addr, "gzip;q=1, br;q=0").await;
    assert_eq!(client.header("content-encoding"), None);
    tx.send(event(1)).await.unwrap();
    let chunk = timeout(Duration::from_secs(5), client.chunk())
        .await
        .unwrap();
    assert_eq!(chunk, wire(&event(1)));
}
