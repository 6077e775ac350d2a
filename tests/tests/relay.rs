//! `relay::Relay` over real sockets: a scripted upstream (raw TCP, sending tricky
//! bytes in chunks cut at the worst places: inside the BOM, between CR and LF, inside
//! a UTF-8 character) -> a gateway (axum with sse-axum) that reads it with
//! `sse-rs-client`, with reqwest's byte stream or with hyper's body, and relays it ->
//! a reqwest client that checks every byte it gets: the events, in order, nothing
//! injected, the end added, an upstream failure turned into a last event. And the
//! gateway cancels the upstream request as soon as its client leaves: the upstream
//! server sees its connection closed within 100 ms.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use sse_axum::relay::Relay;
use sse_axum::{Event, EventType, KeepAlive, LastEventId, Sse};
use sse_rs::decode::{Decoded, Decoder, MessageEvent};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::timeout;

/// How long the gateway may take to close the upstream request once its client left.
const PROMPTLY: Duration = Duration::from_millis(100);

/// The gateway's bound on one event.
const MAX_EVENT: usize = 64 * 1024;

/// An upstream answer with a bit of everything, in the chunks it is written in.
const TRICKY: &[&[u8]] = &[
    b"\xEF\xBB",
    b"\xBF: upstream hello\r\nretry: 2500\r\nid: 1\r\nevent: greet\r",
    b"data: line one\rdata: line two\r",
    b"\n\r\n",
    b"data: x\r\r: comment\n\nid: 2\n\n",
    b"data:no space\ndata:  two spaces\r\n\r\nid: bad\0id\ndata: nul\n\nevent: x\n\nfoo: bar\ndata\n\n",
    b"id\ndata: reset\n\ndata: caf\xC3",
    b"\xA9 \xff\n\n",
    b"data: {\"usage\":7}\n\n",
    b"data: unfinished",
];

/// `TRICKY` as a client of the gateway gets it: every event encoded again (the id of
/// the id-only block with the next event), the end added.
const RELAYED: &[u8] = b"event: greet\nid: 1\ndata: line one\ndata: line two\n\n\
data: x\n\n\
id: 2\ndata: no space\ndata:  two spaces\n\n\
data: nul\n\n\
data: \n\n\
id: \ndata: reset\n\n\
data: caf\xC3\xA9 \xEF\xBF\xBD\n\n\
data: {\"usage\":7}\n\n\
data: [DONE]\n\n";

/// A scripted upstream server: answers every request with `200 text/event-stream`
/// and the script of its path, one write per chunk, then closes (the body ends with
/// the connection). `/hold` sends one event and waits for the gateway to close the
/// connection, and reports when it did.
async fn upstream() -> (SocketAddr, mpsc::UnboundedReceiver<Instant>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (closed, closes) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            tokio::spawn(answer(socket, closed.clone()));
        }
    });
    (addr, closes)
}

async fn answer(mut socket: TcpStream, closed: mpsc::UnboundedSender<Instant>) {
    socket.set_nodelay(true).unwrap();
    let mut head = Vec::new();
    let mut byte = [0; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if socket.read(&mut byte).await.unwrap_or(0) == 0 {
            return;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
    socket
        .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let huge = format!("data: {}\n\n", "x".repeat(MAX_EVENT + 1));
    let script: Vec<&[u8]> = match path.as_str() {
        "/tricky" => TRICKY.to_vec(),
        "/huge" => vec![b"data: before\n\n", huge.as_bytes(), b"data: after\n\n"],
        "/hold" => vec![b": hi\n\ndata: first\n\n"],
        other => panic!("no script for {other}"),
    };
    for chunk in script {
        if socket.write_all(chunk).await.is_err() {
            return;
        }
        // One chunk per read on the gateway's side, as far as the network allows.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    if path == "/hold" {
        let mut rest = [0; 64];
        while matches!(socket.read(&mut rest).await, Ok(n) if n > 0) {}
        let _ = closed.send(Instant::now());
    }
}

#[derive(Clone)]
struct Gateway {
    upstream: SocketAddr,
    client: sse_rs_client::Client,
    reqwest: reqwest::Client,
    hyper: hyper_util::client::legacy::Client<HttpConnector, Empty<Bytes>>,
    /// The data of every event the hook saw, in order.
    seen: Arc<Mutex<Vec<String>>>,
}

impl Gateway {
    fn url(&self, script: &str) -> String {
        format!("http://{}/{script}", self.upstream)
    }

    /// What every route does with its relay: the hook, the bound, the end, and an
    /// error as a last event.
    fn respond(&self, relay: Relay) -> Sse<Relay> {
        let seen = Arc::clone(&self.seen);
        let relay = relay
            .max_event_size(MAX_EVENT)
            .inspect(move |event: &MessageEvent| seen.lock().unwrap().push(event.data.clone()))
            .ensure_end_event(Event::default().data("[DONE]"));
        Sse::new(relay).on_error(|error| {
            Event::default()
                .event(EventType::from_static("error"))
                .data(error.to_string())
        })
    }
}

/// Read with `sse-rs-client`: decoded events. A client that resumes sends its
/// `Last-Event-ID` upstream, and the relay knows the client has that id (the module
/// docs' example, with the scripted upstream).
async fn via_client(
    State(gateway): State<Gateway>,
    Path(script): Path<String>,
    last: LastEventId,
) -> Sse<Relay> {
    let mut upstream = gateway.client.get(gateway.url(&script)).end_on_eof(true);
    if let Some(id) = last.as_str() {
        upstream = upstream.last_event_id(id);
    }
    let relay = Relay::from_events(upstream.stream()).last_event_id(last.as_str().unwrap_or(""));
    gateway.respond(relay)
}

/// Read with reqwest: a stream of bytes, encoded again.
async fn via_reqwest(State(gateway): State<Gateway>, Path(script): Path<String>) -> Sse<Relay> {
    let response = gateway
        .reqwest
        .get(gateway.url(&script))
        .send()
        .await
        .unwrap();
    gateway.respond(Relay::new(response.bytes_stream()))
}

/// Read with hyper: its body, forwarded byte for byte.
async fn verbatim(State(gateway): State<Gateway>, Path(script): Path<String>) -> Sse<Relay> {
    let uri = gateway.url(&script).parse().unwrap();
    let response = gateway.hyper.get(uri).await.unwrap();
    gateway.respond(Relay::from_body(response.into_body()).verbatim(true))
}

struct Setup {
    gateway: SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
    upstream_closes: mpsc::UnboundedReceiver<Instant>,
}

async fn setup() -> Setup {
    let (upstream, upstream_closes) = upstream().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let state = Gateway {
        upstream,
        client: sse_rs_client::Client::new(),
        reqwest: sse_tests::client(),
        hyper: hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .build(HttpConnector::new()),
        seen: Arc::clone(&seen),
    };
    let app = Router::new()
        .route("/client/{script}", get(via_client))
        .route("/reqwest/{script}", get(via_reqwest))
        .route("/verbatim/{script}", get(verbatim))
        .with_state(state);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gateway = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Setup {
        gateway,
        seen,
        upstream_closes,
    }
}

/// Everything the gateway sends for `path`, to its end.
async fn fetch(gateway: SocketAddr, path: &str) -> Vec<u8> {
    fetch_after(gateway, path, None).await
}

/// [`fetch`], resuming after the event id `last`.
async fn fetch_after(gateway: SocketAddr, path: &str, last: Option<&str>) -> Vec<u8> {
    let mut request = sse_tests::client()
        .get(format!("http://{gateway}{path}"))
        .header("accept", "text/event-stream");
    if let Some(last) = last {
        request = request.header("last-event-id", last);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    timeout(Duration::from_secs(10), response.bytes())
        .await
        .expect("the relayed stream ends")
        .unwrap()
        .to_vec()
}

fn events(wire: &[u8]) -> Vec<MessageEvent> {
    Decoder::new()
        .decode(wire)
        .unwrap()
        .filter_map(|item| match item {
            Decoded::Event(event) => Some(event),
            _ => None,
        })
        .collect()
}

/// The data of each event of `TRICKY`, as a browser reads it.
fn tricky_data() -> Vec<String> {
    events(&TRICKY.concat())
        .into_iter()
        .map(|e| e.data)
        .collect()
}

fn text(wire: &[u8]) -> String {
    String::from_utf8_lossy(wire).into_owned()
}

#[tokio::test]
async fn events_read_from_bytes_arrive_exactly_in_order_and_nothing_else() {
    let setup = setup().await;
    let wire = fetch(setup.gateway, "/reqwest/tricky").await;
    assert_eq!(text(&wire), text(RELAYED));
    // The client reads what a browser reads from upstream, plus the end.
    let mut expected = events(&TRICKY.concat());
    expected.push(events(b"id\ndata: [DONE]\n\n").remove(0));
    assert_eq!(events(&wire), expected);
    assert_eq!(
        *setup.seen.lock().unwrap(),
        tricky_data(),
        "the hook saw each event"
    );
}

#[tokio::test]
async fn events_read_with_our_client_arrive_exactly_in_order_and_nothing_else() {
    let setup = setup().await;
    let wire = fetch(setup.gateway, "/client/tricky").await;
    assert_eq!(text(&wire), text(RELAYED));
    assert_eq!(
        events(&wire)
            .iter()
            .map(|e| e.data.clone())
            .collect::<Vec<_>>(),
        [tricky_data(), vec!["[DONE]".to_owned()]].concat()
    );
    assert_eq!(*setup.seen.lock().unwrap(), tricky_data());
}

#[tokio::test]
async fn a_client_that_resumes_is_not_sent_the_id_it_has() {
    let setup = setup().await;
    let wire = fetch_after(setup.gateway, "/client/tricky", Some("1")).await;
    let expected = text(RELAYED).replacen("id: 1\n", "", 1);
    assert_eq!(text(&wire), expected);
}

#[tokio::test]
async fn verbatim_forwards_the_upstream_bytes_unchanged() {
    let setup = setup().await;
    let wire = fetch(setup.gateway, "/verbatim/tricky").await;
    let upstream = TRICKY.concat();
    // Without the BOM and the unfinished event; the end added.
    let exact = [
        &upstream[3..upstream.len() - b"data: unfinished".len()],
        b"data: [DONE]\n\n",
    ]
    .concat();
    assert_eq!(wire, exact);
    assert_eq!(*setup.seen.lock().unwrap(), tricky_data());
}

#[tokio::test]
async fn an_event_over_the_bound_ends_the_stream_with_an_error_event() {
    let setup = setup().await;
    for route in ["reqwest", "client", "verbatim"] {
        let wire = fetch(setup.gateway, &format!("/{route}/huge")).await;
        assert_eq!(
            text(&wire),
            format!(
                "data: before\n\nevent: error\ndata: an upstream event is larger than {MAX_EVENT} bytes\n\n"
            ),
            "{route}"
        );
    }
}

#[tokio::test]
async fn the_upstream_request_is_cancelled_when_the_client_leaves() {
    let mut setup = setup().await;
    for route in ["client", "reqwest", "verbatim"] {
        let mut response = sse_tests::client()
            .get(format!("http://{}/{route}/hold", setup.gateway))
            .send()
            .await
            .unwrap();
        let mut wire = Vec::new();
        while !wire.ends_with(b"data: first\n\n") {
            let chunk = timeout(Duration::from_secs(5), response.chunk())
                .await
                .expect("the first event")
                .unwrap()
                .expect("more of the stream");
            wire.extend_from_slice(&chunk);
        }
        assert!(
            setup.upstream_closes.try_recv().is_err(),
            "{route}: still open"
        );
        let left = Instant::now();
        drop(response);
        let closed = timeout(Duration::from_secs(5), setup.upstream_closes.recv())
            .await
            .expect("the upstream connection closes")
            .unwrap();
        let after = closed.saturating_duration_since(left);
        assert!(after < PROMPTLY, "{route}: upstream closed after {after:?}");
    }
}

/// The gateway of the `relay` module docs, as written there.
async fn chat(
    State(client): State<sse_rs_client::Client>,
    last: LastEventId,
    body: String,
) -> Sse<Relay> {
    let mut upstream = client
        .post("https://llm.example/v1/chat/completions")
        .header("content-type", "application/json")
        .body(body)
        .end_on_eof(true) // an answer does not reconnect
        .end_marker("[DONE]"); // not yielded: the relay adds it back below
    if let Some(id) = last.as_str() {
        upstream = upstream.last_event_id(id); // resume upstream where the client is
    }
    let relay = Relay::from_events(upstream.stream())
        .last_event_id(last.as_str().unwrap_or("")) // the id the client has
        .ensure_end_event(Event::default().data("[DONE]"));
    Sse::new(relay)
        .keep_alive(KeepAlive::default())
        .on_error(|error| {
            Event::default()
                .event(EventType::from_static("error"))
                .data(error.to_string())
        })
}

#[tokio::test]
async fn the_gateway_of_the_module_docs_builds() {
    let _app: Router = Router::new()
        .route("/v1/chat/completions", post(chat))
        .with_state(sse_rs_client::Client::new());
}
