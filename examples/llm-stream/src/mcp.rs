//! `POST /mcp`: one MCP-style tool, as the Streamable HTTP transport carries it.
//! Each JSON-RPC request is its own `POST`; `tools/call` of the tool `count` is
//! answered with an event stream of its own: a `notifications/progress` every token
//! interval (when the request's `params._meta.progressToken` asks for them), then
//! the JSON-RPC result, then the end of the stream. A client that closes the stream
//! cancels the call. `tools/list` is answered with plain JSON; a notification (no
//! `id`) with `202 Accepted`; anything else with a JSON-RPC error.

use axum::body::Body;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use sse_axum::channel::EventSender;
use sse_axum::{Event, Sse};

use crate::chat::read_body;
use crate::metrics::WorkEnd;
use crate::App;

/// The largest `arguments.to` of `count`.
pub const MAX_COUNT: u64 = 100;

fn reply(status: StatusCode, message: &Value) -> Response {
    (
        status,
        [(CONTENT_TYPE, "application/json")],
        message.to_string(),
    )
        .into_response()
}

fn error(id: &Value, code: i64, message: &str) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } })
}

/// `POST /mcp`.
pub(crate) async fn call(State(app): State<App>, body: Body) -> Response {
    let Ok(body) = read_body(body, app.config.max_body).await else {
        return reply(
            StatusCode::PAYLOAD_TOO_LARGE,
            &error(&Value::Null, -32600, "Request too large"),
        );
    };
    let Ok(message) = serde_json::from_slice::<Value>(&body) else {
        return reply(
            StatusCode::BAD_REQUEST,
            &error(&Value::Null, -32700, "Parse error"),
        );
    };
    let (Some("2.0"), Some(method)) = (
        message.get("jsonrpc").and_then(Value::as_str),
        message.get("method").and_then(Value::as_str),
    ) else {
        return reply(
            StatusCode::BAD_REQUEST,
            &error(&Value::Null, -32600, "Invalid Request"),
        );
    };
    let Some(id) = message
        .get("id")
        .filter(|id| id.is_string() || id.is_number())
    else {
        // A notification: nothing to answer.
        return StatusCode::ACCEPTED.into_response();
    };
    let params = message.get("params").unwrap_or(&Value::Null);
    match method {
        "tools/list" => reply(
            StatusCode::OK,
            &json!({ "jsonrpc": "2.0", "id": id, "result": { "tools": [{
                "name": "count",
                "description": "Counts from 1 to `to`, one number per token interval, with progress notifications.",
                "inputSchema": {
                    "type": "object",
                    "properties": { "to": { "type": "integer", "minimum": 1, "maximum": MAX_COUNT } },
                },
            }] } }),
        ),
        "tools/call" if params.get("name").and_then(Value::as_str) == Some("count") => {
            let to = match params.get("arguments").and_then(|a| a.get("to")) {
                None | Some(Value::Null) => Some(5),
                Some(to) => to.as_u64().filter(|to| (1..=MAX_COUNT).contains(to)),
            };
            let Some(to) = to else {
                return reply(
                    StatusCode::OK,
                    &error(
                        id,
                        -32602,
                        "Invalid params: `to` must be an integer from 1 to 100",
                    ),
                );
            };
            let progress = params
                .get("_meta")
                .and_then(|meta| meta.get("progressToken"))
                .filter(|token| token.is_string() || token.is_number())
                .cloned();
            count(&app, id.clone(), to, progress)
        }
        "tools/call" => reply(StatusCode::OK, &error(id, -32602, "Unknown tool")),
        _ => reply(StatusCode::OK, &error(id, -32601, "Method not found")),
    }
}

/// The `count` tool's stream.
fn count(app: &App, id: Value, to: u64, progress: Option<Value>) -> Response {
    let (sender, sse) = Sse::channel(4);
    let metrics = app.config.metrics.clone();
    metrics.stream_opened();
    let pace = app.config.token_interval;
    let event_ids = app.config.event_ids;
    let work_metrics = metrics.clone();
    tokio::spawn(async move {
        let end = counting(&sender, &id, to, progress, pace, event_ids).await;
        work_metrics.mcp_call(end);
    });
    sse.on_end(move |outcome| metrics.stream_ended(&outcome))
        .keep_alive(app.config.keep_alive_config())
        .shutdown(app.stop.clone(), None)
        .into_response()
}

async fn counting(
    sender: &EventSender,
    id: &Value,
    to: u64,
    progress: Option<Value>,
    pace: std::time::Duration,
    event_ids: bool,
) -> WorkEnd {
    let mut seq = 0_u64;
    let mut send = |message: Value| {
        let mut event = Event::default().data(message.to_string());
        if event_ids {
            event = event.id(seq);
        }
        seq += 1;
        async move {
            tokio::select! {
                biased;
                _ = sender.cancelled() => Err(()),
                sent = sender.send(event) => sent.map_err(drop),
            }
        }
    };
    for n in 1..=to {
        tokio::select! {
            biased;
            _ = sender.cancelled() => return WorkEnd::Cancelled,
            () = tokio::time::sleep(pace) => {}
        }
        if let Some(token) = &progress {
            let notification = json!({
                "jsonrpc": "2.0",
                "method": "notifications/progress",
                "params": { "progressToken": token, "progress": n, "total": to, "message": format!("counted {n}") },
            });
            if send(notification).await.is_err() {
                return WorkEnd::Cancelled;
            }
        }
    }
    let result = json!({
        "jsonrpc": "2.0",
        "id": id,
        "result": { "content": [{ "type": "text", "text": format!("Counted to {to}.") }], "isError": false },
    });
    if send(result).await.is_err() {
        return WorkEnd::Cancelled;
    }
    WorkEnd::Completed
}
