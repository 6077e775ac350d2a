//! The MCP-style route of the LLM example (`POST /mcp`), over real sockets: a
//! JSON-RPC `tools/call` answered with its own event stream (progress notifications,
//! then the result, then the end), a client that closes the stream cancelling the
//! call within 100 ms, and JSON-RPC errors for the rest.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use llm_stream::{Config, Metrics};
use serde_json::{json, Value};
use sse_tests::{client, wait_until, EventReader};
use tokio::net::TcpListener;

const LIMIT: Duration = Duration::from_secs(20);

/// The example on a free port, a step every `ms`; stops when the test ends.
async fn start(ms: u64) -> (SocketAddr, Metrics) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = Config::default().token_interval(Duration::from_millis(ms));
    let metrics = config.metrics.clone();
    tokio::spawn(llm_stream::serve(listener, config, std::future::pending()));
    (addr, metrics)
}

fn call(to: u64) -> Value {
    json!({
        "jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": { "name": "count", "arguments": { "to": to }, "_meta": { "progressToken": "p1" } },
    })
}

async fn post(addr: SocketAddr, body: &Value) -> reqwest::Response {
    client()
        .post(format!("http://{addr}/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_tool_call_streams_progress_then_its_result() {
    let (addr, metrics) = start(5).await;
    let response = post(addr, &call(4)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let events = EventReader::new(response).read_to_end(LIMIT).await;
    let messages: Vec<Value> = events
        .iter()
        .map(|e| serde_json::from_str(&e.data).unwrap())
        .collect();
    assert_eq!(messages.len(), 5, "{messages:?}");
    for (n, progress) in messages[..4].iter().enumerate() {
        assert_eq!(progress["method"], "notifications/progress");
        assert_eq!(progress["params"]["progressToken"], "p1");
        assert_eq!(progress["params"]["progress"], n + 1);
        assert_eq!(progress["params"]["total"], 4);
        assert!(progress.get("id").is_none());
    }
    assert_eq!(
        messages[4],
        json!({ "jsonrpc": "2.0", "id": 7, "result": {
            "content": [{ "type": "text", "text": "Counted to 4." }], "isError": false } })
    );
    assert!(wait_until(LIMIT, || metrics.snapshot().mcp_completed == 1).await);
}

#[tokio::test]
async fn closing_the_stream_cancels_the_call() {
    let (addr, metrics) = start(100).await;
    let mut reader = EventReader::new(post(addr, &call(50)).await);
    let first = reader.events_until(1).await;
    assert_eq!(first.len(), 1);
    let left = Instant::now();
    reader.disconnect();
    assert!(wait_until(LIMIT, || metrics.snapshot().mcp_cancelled == 1).await);
    let after = left.elapsed();
    eprintln!("the call stopped {after:?} after the client left");
    assert!(after < Duration::from_millis(100), "{after:?}");
    assert_eq!(metrics.snapshot().mcp_completed, 0);
}

#[tokio::test]
async fn other_messages_get_json_rpc_answers() {
    let (addr, _metrics) = start(1).await;
    let code = |body: &Value| body["error"]["code"].as_i64();

    let list = post(
        addr,
        &json!({ "jsonrpc": "2.0", "id": "a", "method": "tools/list" }),
    )
    .await;
    assert_eq!(list.status(), 200);
    assert_eq!(list.headers()["content-type"], "application/json");
    let list: Value = list
        .bytes()
        .await
        .map(|b| serde_json::from_slice::<Value>(&b).unwrap())
        .unwrap();
    assert_eq!(list["id"], "a");
    assert_eq!(list["result"]["tools"][0]["name"], "count");

    let unknown = post(
        addr,
        &json!({ "jsonrpc": "2.0", "id": 1, "method": "nope" }),
    )
    .await;
    assert_eq!(
        code(
            &unknown
                .bytes()
                .await
                .map(|b| serde_json::from_slice::<Value>(&b).unwrap())
                .unwrap()
        ),
        Some(-32601)
    );

    let mut bad = call(0);
    bad["params"]["arguments"]["to"] = json!(1000);
    let bad: Value = post(addr, &bad)
        .await
        .bytes()
        .await
        .map(|b| serde_json::from_slice::<Value>(&b).unwrap())
        .unwrap();
    assert_eq!(code(&bad), Some(-32602));

    let notification = post(
        addr,
        &json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }),
    )
    .await;
    assert_eq!(notification.status(), 202);

    let garbage = client()
        .post(format!("http://{addr}/mcp"))
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 400);
    assert_eq!(
        code(
            &garbage
                .bytes()
                .await
                .map(|b| serde_json::from_slice::<Value>(&b).unwrap())
                .unwrap()
        ),
        Some(-32700)
    );

    let invalid = post(addr, &json!({ "id": 1, "method": "tools/list" })).await;
    assert_eq!(invalid.status(), 400);
    assert_eq!(
        code(
            &invalid
                .bytes()
                .await
                .map(|b| serde_json::from_slice::<Value>(&b).unwrap())
                .unwrap()
        ),
        Some(-32600)
    );
}
