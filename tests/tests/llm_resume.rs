//! Resumable answers in the LLM example (`"resumable": true`): the answer is kept under
//! its id (`x-answer-id`), generated whether or not anybody reads it; a client that
//! comes back with its `Last-Event-ID` gets exactly the rest and the end
//! (`GET /v1/answers/{id}`), also after the answer finished; `DELETE` stops it. In
//! this process, on Redis across two instances, and in Chromium: the chat page
//! reloaded mid-answer picks the answer up where it was.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use llm_stream::{Config, Metrics, Store};
use serde_json::{json, Value};
use sse_rs::decode::{Decoded, Decoder, MessageEvent};
use sse_tests::browser::Browser;
use sse_tests::{client, redis_url, unique_prefix, wait_until};
use tokio::net::TcpListener;

/// Long enough for any test to finish; a hang fails instead of blocking CI.
const LIMIT: Duration = Duration::from_secs(20);

const MESSAGE: &str = "one two three four five six seven eight nine ten";

/// The whole answer to [`MESSAGE`]: the fake model says it back.
fn expected() -> String {
    format!("You said: {MESSAGE}")
}

/// The example on a free port; its address and metrics.
async fn start(config: Config) -> (SocketAddr, Metrics) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let metrics = config.metrics.clone();
    tokio::spawn(llm_stream::serve(listener, config, std::future::pending()));
    (addr, metrics)
}

fn request(resumable: bool) -> String {
    json!({
        "model": "fake-1", "stream": true, "resumable": resumable,
        "messages": [{ "role": "user", "content": MESSAGE }],
    })
    .to_string()
}

/// Asks for a resumable answer: its id and the response.
async fn ask(addr: SocketAddr) -> (String, reqwest::Response) {
    let response = client()
        .post(format!("http://{addr}/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(request(true))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let id = response.headers()["x-answer-id"]
        .to_str()
        .unwrap()
        .to_owned();
    (id, response)
}

/// Reads `response` until `n` events came (all of them, to the end, with `None`).
async fn events(mut response: reqwest::Response, n: Option<usize>) -> Vec<MessageEvent> {
    let mut decoder = Decoder::new();
    let mut out = Vec::new();
    let read = async {
        while n.is_none_or(|n| out.len() < n) {
            let Some(chunk) = response.chunk().await.unwrap() else {
                break;
            };
            for item in decoder.decode(&chunk).unwrap() {
                if let Decoded::Event(event) = item {
                    out.push(event);
                }
            }
        }
    };
    tokio::time::timeout(LIMIT, read).await.expect("in time");
    out
}

/// The text of the chunks among `events`, and whether `[DONE]` ended them.
fn text(events: &[MessageEvent]) -> (String, bool) {
    let mut text = String::new();
    let mut done = false;
    for event in events {
        if event.data == "[DONE]" {
            done = true;
            continue;
        }
        let chunk: Value = serde_json::from_str(&event.data).unwrap();
        if let Some(content) = chunk["choices"][0]["delta"]["content"].as_str() {
            text.push_str(content);
        }
    }
    (text, done)
}

/// `GET /v1/answers/{id}`, after `last` if any.
async fn resume(addr: SocketAddr, id: &str, last: Option<&str>) -> reqwest::Response {
    let mut request = client().get(format!("http://{addr}/v1/answers/{id}"));
    if let Some(last) = last {
        request = request.header("last-event-id", last);
    }
    request.send().await.unwrap()
}

/// A client reads three events, leaves, comes back (on `again`) with the last id it
/// saw: it gets exactly the rest and `[DONE]`; after the end, the whole answer again.
async fn a_reload_gets_exactly_the_rest(first: SocketAddr, again: SocketAddr) {
    let (id, response) = ask(first).await;
    let seen = events(response, Some(3)).await;
    let ids: Vec<&str> = seen.iter().map(|e| e.last_event_id.as_str()).collect();
    assert!(ids.iter().all(|id| !id.is_empty()), "{ids:?}");
    // After the last event read (a chunk may have carried more than three).
    let rest = events(resume(again, &id, ids.last().copied()).await, None).await;
    assert!(
        rest.iter()
            .all(|e| !ids.contains(&e.last_event_id.as_str())),
        "an event twice"
    );
    let (before, _) = text(&seen);
    let (after, done) = text(&rest);
    assert!(done, "no [DONE] after the rest");
    assert_eq!(format!("{before}{after}"), expected(), "lost or repeated");
    let all = events(resume(again, &id, None).await, None).await;
    assert_eq!(text(&all), (expected(), true));
}

#[tokio::test]
async fn in_process_a_reload_gets_exactly_the_rest() {
    let (addr, metrics) = start(Config::default().token_interval(Duration::from_millis(20))).await;
    a_reload_gets_exactly_the_rest(addr, addr).await;
    assert_eq!(metrics.snapshot().answers_resumed, 2);
    assert_eq!(metrics.snapshot().completed, 1);
}

#[tokio::test]
async fn on_redis_a_reload_on_another_instance_gets_exactly_the_rest() {
    let Some(url) = redis_url() else { return };
    let prefix = unique_prefix("llm-resume");
    let mut instances = Vec::new();
    for _ in 0..2 {
        let hub =
            sse_redis::RedisHub::builder(sse_redis::redis::Client::open(url.as_str()).unwrap())
                .key_prefix(&prefix)
                .block(Duration::from_millis(200))
                .connect()
                .await
                .unwrap();
        let config = Config::default()
            .token_interval(Duration::from_millis(20))
            .store(Store::Redis(sse_redis::RedisAnswers::new(hub)));
        instances.push(start(config).await);
    }
    a_reload_gets_exactly_the_rest(instances[0].0, instances[1].0).await;
    assert_eq!(instances[1].1.snapshot().answers_resumed, 2);
}

/// A kept answer goes on without a reader (to `[DONE]`); `DELETE` stops one; the
/// errors: unknown ids, a `Last-Event-ID` that is no event of the answer,
/// `resumable` without `stream`.
#[tokio::test]
async fn the_work_goes_on_without_a_reader_and_delete_stops_it() {
    let (addr, metrics) = start(Config::default().token_interval(Duration::from_millis(20))).await;
    let (id, response) = ask(addr).await;
    drop(response);
    assert!(wait_until(LIMIT, || metrics.snapshot().completed == 1).await);
    assert_eq!(metrics.snapshot().cancelled, 0);
    let all = events(resume(addr, &id, None).await, None).await;
    assert_eq!(text(&all), (expected(), true));

    let (id, response) = ask(addr).await;
    drop(response);
    let stopped = client()
        .delete(format!("http://{addr}/v1/answers/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(stopped.status(), 204);
    assert!(wait_until(LIMIT, || metrics.snapshot().cancelled == 1).await);
    let (partial, done) = text(&events(resume(addr, &id, None).await, None).await);
    assert!(!done && expected().starts_with(&partial), "{partial}");

    let unknown = client()
        .delete(format!("http://{addr}/v1/answers/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(resume(addr, "nope", None).await.status(), 404);
    let bad = resume(addr, &id, Some("999")).await;
    assert_eq!(bad.status(), 400);
    let error: Value = serde_json::from_slice(&bad.bytes().await.unwrap()).unwrap();
    assert_eq!(error["error"]["code"], "unknown_last_event_id", "{error}");
    let not_streamed = client()
        .post(format!("http://{addr}/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(
            json!({ "model": "m", "resumable": true, "messages": [{ "role": "user", "content": "x" }] })
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(not_streamed.status(), 400);
}

/// What the page records of the answer it reads.
const RUN: &str = "return window.chat";

/// The chat page in Chromium, reloaded mid-answer: it resumes from the last event it
/// saw (`Last-Event-ID`), shows exactly the whole answer, once, and the server
/// served one resume; Stop on a resumed answer stops the generation.
#[tokio::test]
async fn the_chat_page_reloaded_mid_answer_picks_it_up_where_it_was() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (addr, metrics) = start(Config::default().token_interval(Duration::from_millis(80))).await;
    let page = browser.client();
    page.goto(&format!("http://{addr}/")).await.unwrap();
    browser
        .eval(&format!("window.ask({}); return true;", json!(MESSAGE)))
        .await;
    let state = browser
        .wait_for(RUN, LIMIT, |s| s["tokens"].as_u64() >= Some(4))
        .await;
    assert_eq!(state["status"], "streaming", "{state}");
    page.refresh().await.unwrap();
    let state = browser
        .wait_for(RUN, LIMIT, |s| {
            s["status"] != "streaming" && s["resumed"] == true
        })
        .await;
    assert_eq!(state["status"], "done", "{state}");
    assert_eq!(state["resumed"], true, "{state}");
    assert_eq!(state["content"], expected(), "{state}");
    let shown = browser
        .eval("return document.querySelector('.assistant').textContent")
        .await;
    assert_eq!(shown, expected(), "the bubble after the reload");
    assert_eq!(metrics.snapshot().answers_resumed, 1);
    assert_eq!(metrics.snapshot().completed, 1);

    // Ask again, reload, then Stop the resumed answer: the generation stops.
    browser
        .eval(&format!("window.ask({}); return true;", json!(MESSAGE)))
        .await;
    browser
        .wait_for(RUN, LIMIT, |s| s["tokens"].as_u64() >= Some(3))
        .await;
    page.refresh().await.unwrap();
    browser
        .wait_for(RUN, LIMIT, |s| {
            s["resumed"] == true && s["status"] == "streaming"
        })
        .await;
    page.find(fantoccini::Locator::Id("stop"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(wait_until(LIMIT, || metrics.snapshot().cancelled == 1).await);
    let state = browser
        .wait_for(RUN, LIMIT, |s| s["status"] == "stopped")
        .await;
    assert_eq!(state["status"], "stopped", "{state}");
    browser.close().await;
}
