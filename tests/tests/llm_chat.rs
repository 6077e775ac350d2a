//! The LLM example (`examples/llm-stream`) over real sockets on 127.0.0.1: OpenAI's
//! Chat Completions API streamed and not, usage, `max_tokens`, errors in OpenAI's
//! shape, a failure mid-answer as one last error event, compression negotiated, the
//! metrics, the page, HTTPS with HTTP/2 by ALPN, a shutdown, and the generation
//! stopping within 100 ms of the client leaving, over HTTP/1.1 and HTTP/2 (h2c). The MCP-style route is in `llm_mcp.rs`,
//! the real clients in `llm_clients.rs`.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::io::Read;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use llm_stream::{Config, Metrics, Snapshot};
use serde_json::{json, Value};
use sse_rs::decode::{Decoded, Decoder, MessageEvent};
use sse_tests::{client, gzip_client, wait_until, EventReader};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// Long enough for any test to finish; a hang fails instead of blocking CI.
const LIMIT: Duration = Duration::from_secs(20);

/// How long the generation may go on after the client left.
const PROMPTLY: Duration = Duration::from_millis(100);

/// The example on a free port of 127.0.0.1.
struct Llm {
    addr: SocketAddr,
    metrics: Metrics,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Llm {
    async fn start(config: Config) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let metrics = config.metrics.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(llm_stream::serve(listener, config, async {
            let _ = stopped.await;
        }));
        Self {
            addr,
            metrics,
            stop: Some(stop),
            task,
        }
    }

    /// A token every `ms` milliseconds.
    async fn paced(ms: u64) -> Self {
        Self::start(Config::default().token_interval(Duration::from_millis(ms))).await
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn snapshot(&self) -> Snapshot {
        self.metrics.snapshot()
    }

    async fn post(&self, client: &reqwest::Client, body: &Value) -> reqwest::Response {
        client
            .post(self.url("/v1/chat/completions"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        timeout(LIMIT, &mut self.task)
            .await
            .expect("the server did not stop")
            .unwrap()
            .unwrap();
    }
}

impl Drop for Llm {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn chat(said: &str, stream: bool) -> Value {
    json!({ "model": "fake-1", "stream": stream, "messages": [{ "role": "user", "content": said }] })
}

fn parse(event: &MessageEvent) -> Value {
    serde_json::from_str(&event.data).unwrap_or_else(|e| panic!("not JSON: {:?}: {e}", event.data))
}

/// The text of the content deltas of `chunks`.
fn content(chunks: &[Value]) -> String {
    chunks
        .iter()
        .filter_map(|chunk| chunk["choices"][0]["delta"]["content"].as_str())
        .collect()
}

#[tokio::test]
async fn a_streamed_answer_is_openais_chunks_then_usage_then_done() {
    let llm = Llm::paced(5).await;
    let said = "naïve \"quotes\" 😀\n\ndata: [DONE]\n: ping";
    let mut body = chat(said, true);
    body["stream_options"] = json!({ "include_usage": true });
    let response = llm.post(&client(), &body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert!(response.headers().get("content-encoding").is_none());
    let mut reader = EventReader::new(response);
    let events = reader.read_to_end(LIMIT).await;

    // OpenAI's stream: `data:` lines only, no id, no type, `[DONE]` last.
    assert!(events
        .iter()
        .all(|e| e.event == "message" && e.last_event_id.is_empty()));
    let (done, chunks) = events.split_last().unwrap();
    assert_eq!(done.data, "[DONE]");
    let chunks: Vec<Value> = chunks.iter().map(parse).collect();
    let words = 2 + llm_stream::model::tokens(said).count();
    assert_eq!(chunks.len(), 1 + words + 2, "role, tokens, finish, usage");
    let id = chunks[0]["id"].as_str().unwrap();
    assert!(id.starts_with("chatcmpl-"));
    for chunk in &chunks {
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert_eq!(chunk["id"], id);
        assert_eq!(chunk["model"], "fake-1");
        assert!(chunk.as_object().unwrap().contains_key("usage"));
    }
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(chunks[0]["choices"][0]["delta"]["content"], "");
    for token in &chunks[1..=words] {
        assert_eq!(token["choices"][0]["finish_reason"], Value::Null);
        assert_ne!(token["choices"][0]["delta"]["content"], "");
        assert_eq!(token["usage"], Value::Null);
    }
    assert_eq!(content(&chunks), format!("You said: {said}"));
    let finish = &chunks[words + 1];
    assert_eq!(finish["choices"][0]["delta"], json!({}));
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    let usage = &chunks[words + 2];
    assert_eq!(usage["choices"], json!([]));
    let completion = u64::try_from(words).unwrap();
    let prompt = u64::try_from(llm_stream::model::tokens(said).count()).unwrap();
    assert_eq!(
        usage["usage"],
        json!({ "prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion })
    );

    assert!(
        wait_until(LIMIT, || llm.snapshot().completed == 1).await,
        "{:?}",
        llm.snapshot()
    );
    let snapshot = llm.snapshot();
    assert_eq!(snapshot.tokens_sent, completion);
    assert!(wait_until(LIMIT, || llm.snapshot().streams_open == 0).await);
    llm.stop().await;
}

#[tokio::test]
async fn without_usage_the_chunks_carry_no_usage_field() {
    let llm = Llm::paced(1).await;
    let mut reader = EventReader::new(llm.post(&client(), &chat("a b", true)).await);
    let events = reader.read_to_end(LIMIT).await;
    let chunks: Vec<Value> = events[..events.len() - 1].iter().map(parse).collect();
    assert_eq!(chunks.len(), 1 + 4 + 1, "role, 4 tokens, finish");
    assert!(chunks
        .iter()
        .all(|chunk| !chunk.as_object().unwrap().contains_key("usage")));
    assert_eq!(content(&chunks), "You said: a b");
}

#[tokio::test]
async fn without_stream_the_answer_is_one_chat_completion() {
    let llm = Llm::paced(1000).await;
    let response = llm.post(&client(), &chat("hello there", false)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let answer: Value = response
        .bytes()
        .await
        .map(|b| serde_json::from_slice::<Value>(&b).unwrap())
        .unwrap();
    assert_eq!(answer["object"], "chat.completion");
    assert_eq!(answer["model"], "fake-1");
    assert_eq!(answer["choices"][0]["message"]["role"], "assistant");
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        "You said: hello there"
    );
    assert_eq!(answer["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        answer["usage"],
        json!({ "prompt_tokens": 2, "completion_tokens": 4, "total_tokens": 6 })
    );
    assert_eq!(llm.snapshot().completed, 1);
}

#[tokio::test]
async fn max_tokens_ends_the_answer_with_finish_reason_length() {
    let llm = Llm::paced(1).await;
    let mut body = chat("one two three four", true);
    body["max_tokens"] = json!(3);
    let mut reader = EventReader::new(llm.post(&client(), &body).await);
    let events = reader.read_to_end(LIMIT).await;
    assert_eq!(events.last().unwrap().data, "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1].iter().map(parse).collect();
    assert_eq!(content(&chunks), "You said: one");
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "length"
    );

    // The newer name, and not streamed.
    let mut body = chat("one two three four", false);
    body["max_completion_tokens"] = json!(2);
    let answer: Value = llm
        .post(&client(), &body)
        .await
        .bytes()
        .await
        .map(|b| serde_json::from_slice::<Value>(&b).unwrap())
        .unwrap();
    assert_eq!(answer["choices"][0]["message"]["content"], "You said:");
    assert_eq!(answer["choices"][0]["finish_reason"], "length");
    assert_eq!(answer["usage"]["completion_tokens"], 2);
}

/// Checks that `response` is a 400 (or `status`) with OpenAI's error JSON.
async fn assert_openai_error(response: reqwest::Response, status: u16, param: Option<&str>) {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response
        .bytes()
        .await
        .map(|b| serde_json::from_slice::<Value>(&b).unwrap())
        .unwrap();
    let error = body["error"].as_object().expect("an `error` object");
    let mut keys: Vec<&str> = error.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["code", "message", "param", "type"], "{body}");
    assert!(!error["message"].as_str().unwrap().is_empty());
    assert_eq!(error["type"], "invalid_request_error");
    assert_eq!(error["param"].as_str(), param, "{body}");
}

#[tokio::test]
async fn bad_requests_get_400_in_openais_error_shape() {
    let llm = Llm::paced(1).await;
    let http = client();
    let cases: &[(&[u8], Option<&str>)] = &[
        (b"", None),
        (b"not json", None),
        (b"\xff\xfe\x00", None),
        (b"[]", Some("body")),
        (br#"{"messages":[{"role":"user","content":"x"}]}"#, None),
        (br#"{"model":"m"}"#, Some("messages")),
        (br#"{"model":"m","messages":[]}"#, Some("messages")),
        (br#"{"model":"m","messages":[{"role":"user"}]}"#, Some("messages[0].content")),
        (br#"{"model":"m","messages":[{"role":"x","content":"y"}]}"#, Some("messages[0].role")),
        (br#"{"model":"m","messages":[{"role":"user","content":"x"}],"stream":1}"#, Some("stream")),
        (br#"{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":0}"#, Some("max_tokens")),
        (br#"{"model":"m","messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":true}}"#, Some("stream_options")),
    ];
    for (body, param) in cases {
        let response = http
            .post(llm.url("/v1/chat/completions"))
            .header("content-type", "application/json")
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        assert_openai_error(response, 400, *param).await;
    }
    // Bodies are bounded: 413, same shape.
    let big = vec![b' '; llm_stream::MAX_BODY + 1];
    let response = http
        .post(llm.url("/v1/chat/completions"))
        .body(big)
        .send()
        .await
        .unwrap();
    assert_openai_error(response, 413, None).await;
    // Deep nesting is refused by the parser, not the stack.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let response = http
        .post(llm.url("/v1/chat/completions"))
        .body(deep)
        .send()
        .await
        .unwrap();
    assert_openai_error(response, 400, None).await;

    // The server is fine after all that, and generated nothing.
    let answer = llm.post(&http, &chat("still here", false)).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(llm.snapshot().tokens_sent, 0);
}

#[tokio::test]
async fn a_failure_mid_answer_is_one_last_error_event_and_no_done() {
    let llm = Llm::paced(5).await;
    let mut reader = EventReader::new(
        llm.post(&client(), &chat("one two please fail now", true))
            .await,
    );
    let events = reader.read_to_end(LIMIT).await;
    assert!(events.iter().all(|e| e.data != "[DONE]"), "{events:?}");
    let chunks: Vec<Value> = events.iter().map(parse).collect();
    let (error, answer) = chunks.split_last().unwrap();
    assert_eq!(answer.len(), 1 + llm_stream::model::FAIL_AFTER);
    assert_eq!(content(answer), "You said: one");
    let error = error["error"].as_object().expect("OpenAI's error shape");
    assert_eq!(error["type"], "server_error");
    assert_eq!(error["code"], "model_failure");
    assert_eq!(error["param"], Value::Null);
    assert!(error["message"].as_str().unwrap().contains("please fail"));
    assert!(wait_until(LIMIT, || llm.snapshot().failed == 1).await);

    // Not streamed: a 500 with the same shape.
    let response = llm.post(&client(), &chat("please fail", false)).await;
    assert_eq!(response.status(), 500);
    let body: Value = response
        .bytes()
        .await
        .map(|b| serde_json::from_slice::<Value>(&b).unwrap())
        .unwrap();
    assert_eq!(body["error"]["type"], "server_error");
    assert_eq!(llm.snapshot().failed, 2);
}

/// Decodes a whole compressed body.
fn decompress(coding: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match coding {
        "gzip" => flate2::read::GzDecoder::new(body)
            .read_to_end(&mut out)
            .unwrap(),
        "br" => brotli::Decompressor::new(body, 4096)
            .read_to_end(&mut out)
            .unwrap(),
        "zstd" => zstd::stream::read::Decoder::new(body)
            .unwrap()
            .read_to_end(&mut out)
            .unwrap(),
        other => panic!("unexpected coding {other}"),
    };
    out
}

fn decode_all(body: &[u8]) -> Vec<MessageEvent> {
    Decoder::new()
        .decode(body)
        .unwrap()
        .filter_map(|item| match item {
            Decoded::Event(event) => Some(event),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn the_stream_is_compressed_as_the_client_accepts() {
    let llm = Llm::paced(1).await;
    let body = chat("compress me please", true);
    let expected = "You said: compress me please";
    // reqwest asks for gzip and decodes it as it streams (and then hides the
    // header: it is checked below).
    let response = llm.post(&gzip_client(), &body).await;
    let mut reader = EventReader::new(response);
    let events = reader.read_to_end(LIMIT).await;
    let chunks: Vec<Value> = events[..events.len() - 1].iter().map(parse).collect();
    assert_eq!(content(&chunks), expected);

    for (accept, coding) in [
        ("gzip", "gzip"),
        ("br", "br"),
        ("zstd", "zstd"),
        ("gzip, deflate, br, zstd", "br"),
        ("gzip;q=1, br;q=0.5", "gzip"),
    ] {
        let response = client()
            .post(llm.url("/v1/chat/completions"))
            .header("accept-encoding", accept)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["content-encoding"], coding, "{accept}");
        assert_eq!(response.headers()["vary"], "accept-encoding");
        let raw = response.bytes().await.unwrap();
        let events = decode_all(&decompress(coding, &raw));
        assert_eq!(events.last().unwrap().data, "[DONE]");
        let chunks: Vec<Value> = events[..events.len() - 1].iter().map(parse).collect();
        assert_eq!(content(&chunks), expected, "{accept}");
    }
    // Nothing accepted: nothing compressed.
    let response = llm.post(&client(), &body).await;
    assert!(response.headers().get("content-encoding").is_none());
}

#[tokio::test]
async fn metrics_and_the_page() {
    let llm = Llm::paced(20).await;
    let mut reader = EventReader::new(llm.post(&client(), &chat("hi", true)).await);
    reader.read_to_end(LIMIT).await;
    assert!(wait_until(LIMIT, || llm.snapshot().streams_open == 0).await);

    let response = client().get(llm.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let text = response.text().await.unwrap();
    for line in [
        "llm_streams_open 0",
        "llm_tokens_sent_total 3",
        "llm_generations_total{outcome=\"completed\"} 1",
        "llm_stream_ends_total{end=\"completed\"} 1",
        "llm_time_to_first_token_seconds_count 1",
        // The first token comes after one token interval (20 ms): not in the 5, 10
        // and 20 ms buckets, in the 40 ms one unless the machine is very slow.
        "llm_time_to_first_token_seconds_bucket{le=\"0.01\"} 0",
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }

    let page = client().get(llm.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"stop\"") && html.contains("/v1/chat/completions"));
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"));
}

/// Asks for a streamed answer over HTTP/1.1 on a raw socket and reads until two
/// tokens have arrived.
async fn http1_two_tokens(addr: SocketAddr) -> TcpStream {
    let mut socket = TcpStream::connect(addr).await.unwrap();
    let body = chat("one two three four five six seven eight", true).to_string();
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut seen = Vec::new();
    while !seen.windows(8).any(|w| w == b"\" said:\"") {
        let mut buf = [0; 4096];
        let n = timeout(LIMIT, socket.read(&mut buf))
            .await
            .expect("no token")
            .unwrap();
        assert!(n > 0, "the connection closed");
        seen.extend_from_slice(&buf[..n]);
    }
    socket
}

/// An HTTP/2 (h2c) request for a streamed answer, read until its first token: the
/// request's send half (to reset it), the response body, the connection's handle and
/// task.
async fn http2_first_token(
    addr: SocketAddr,
) -> (
    h2::SendStream<Bytes>,
    h2::RecvStream,
    h2::client::SendRequest<Bytes>,
    JoinHandle<()>,
) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let (send, connection) = h2::client::handshake(tcp).await.unwrap();
    let task = tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut send = send.ready().await.unwrap();
    let request = http::Request::post(format!("http://{addr}/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(())
        .unwrap();
    let (response, mut stream) = send.send_request(request, false).unwrap();
    let body = chat("one two three four five six seven eight", true).to_string();
    stream.send_data(Bytes::from(body), true).unwrap();
    let response = timeout(LIMIT, response)
        .await
        .expect("no response")
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let mut seen = Vec::new();
    while !seen.windows(5).any(|w| w == b"\"You\"") {
        let data = timeout(LIMIT, body.data())
            .await
            .expect("no token")
            .expect("the stream ended")
            .unwrap();
        let _ = body.flow_control().release_capacity(data.len());
        seen.extend_from_slice(&data);
    }
    (stream, body, send, task)
}

/// Waits until the generation counts itself cancelled; returns how long after `left`.
async fn cancelled_after(llm: &Llm, before: Snapshot, left: Instant) -> Duration {
    assert!(
        wait_until(LIMIT, || llm.snapshot().cancelled > before.cancelled).await,
        "the generation was never cancelled: {:?}",
        llm.snapshot()
    );
    left.elapsed()
}

/// No token is generated after the cancellation (three token intervals later).
async fn assert_no_more_tokens(llm: &Llm, interval: Duration) {
    let tokens = llm.snapshot().tokens_sent;
    tokio::time::sleep(interval * 3).await;
    assert_eq!(
        llm.snapshot().tokens_sent,
        tokens,
        "tokens after the client left"
    );
}

#[tokio::test]
async fn a_client_that_leaves_stops_the_generation_within_100_ms() {
    let interval = Duration::from_millis(100);
    let llm = Llm::start(Config::default().token_interval(interval)).await;
    let mut latencies = Vec::new();

    // HTTP/1.1: the client closes the connection.
    let socket = http1_two_tokens(llm.addr).await;
    let before = llm.snapshot();
    let left = Instant::now();
    drop(socket);
    latencies.push(("HTTP/1.1 close", cancelled_after(&llm, before, left).await));
    assert_no_more_tokens(&llm, interval).await;

    // HTTP/2: the client resets the stream; the connection stays.
    let (mut stream, _body, _send, task) = http2_first_token(llm.addr).await;
    let before = llm.snapshot();
    let left = Instant::now();
    stream.send_reset(h2::Reason::CANCEL);
    latencies.push(("HTTP/2 reset", cancelled_after(&llm, before, left).await));
    assert_no_more_tokens(&llm, interval).await;
    task.abort();

    // HTTP/2: the client closes the connection.
    let (_stream, _body, send, task) = http2_first_token(llm.addr).await;
    let before = llm.snapshot();
    let left = Instant::now();
    task.abort();
    drop(send);
    latencies.push((
        "HTTP/2 connection closed",
        cancelled_after(&llm, before, left).await,
    ));
    assert_no_more_tokens(&llm, interval).await;

    for (how, after) in &latencies {
        eprintln!("{how}: the generation stopped after {after:?}");
        assert!(*after < PROMPTLY, "{how}: {after:?}");
    }
    let snapshot = llm.snapshot();
    assert_eq!(snapshot.cancelled, 3, "{snapshot:?}");
    assert_eq!(snapshot.completed, 0, "{snapshot:?}");
    assert!(wait_until(LIMIT, || llm.snapshot().streams_open == 0).await);
    let text = client()
        .get(llm.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("llm_generations_total{outcome=\"cancelled\"} 3"),
        "{text}"
    );
    assert!(
        text.contains("llm_stream_ends_total{end=\"client_gone\"} 3"),
        "{text}"
    );
}

#[tokio::test]
async fn a_shutdown_ends_open_answers_and_cancels_them() {
    let llm = Llm::paced(100).await;
    let mut reader = EventReader::new(
        llm.post(&client(), &chat("a b c d e f g h i j", true))
            .await,
    );
    reader.events_until(2).await;
    let metrics = llm.metrics.clone();
    llm.stop().await;
    // The stream ended (no `[DONE]`: the answer is not complete).
    let events = reader.read_to_end(LIMIT).await;
    assert!(events.iter().all(|e| e.data != "[DONE]"));
    assert!(wait_until(LIMIT, || metrics.snapshot().cancelled == 1).await);
}

#[tokio::test]
async fn https_serves_the_stream_over_http2_by_alpn() {
    use futures_util::StreamExt;
    let (cert, key) = sse_tests::self_signed_tls(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")));
    let config = Config::default()
        .token_interval(Duration::from_millis(1))
        .tls(sse_rs::server::tls_config(&cert, &key).unwrap());
    let llm = Llm::start(config).await;
    let client = sse_rs_client::Client::builder()
        .tls_config(std::sync::Arc::new(sse_tests::trusting(&cert, &[])))
        .build();
    let mut source = client
        .post(format!("https://{}/v1/chat/completions", llm.addr))
        .header("content-type", "application/json")
        .body(chat("over TLS", true).to_string())
        .end_marker("[DONE]")
        .connection_events(true)
        .stream();
    let mut version = None;
    let mut chunks = Vec::new();
    while let Some(item) = timeout(LIMIT, source.next()).await.expect("stalled") {
        match item.unwrap() {
            sse_rs_client::Event::Open(open) => version = Some(open.version()),
            sse_rs_client::Event::Message(event) => {
                chunks.push(serde_json::from_str::<Value>(&event.data).unwrap());
            }
            _ => {}
        }
    }
    assert_eq!(version, Some(http::Version::HTTP_2));
    assert_eq!(content(&chunks), "You said: over TLS");
    llm.stop().await;
}
