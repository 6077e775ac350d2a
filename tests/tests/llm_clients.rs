//! Real clients against the LLM example (`examples/llm-stream`), for every
//! keep-alive style, with and without `id:` on the chunks: which keep-alive bytes
//! each client reads correctly.
//!
//! The example runs six times on 127.0.0.1 (`line` = `:\n`, `blank-line` = `:\n\n`,
//! `ping` = `: ping\n\n`; each with no ids, as OpenAI sends, and with `id: N` on
//! every chunk, as a resumable stream does), a token every 120 ms and a keep-alive
//! after 50 ms of silence, so two keep-alives fall between any two tokens, after
//! events. Each client asks for the same answer (whose text has quotes, an emoji,
//! `data: [DONE]` and `: ping` in it) with `stream_options.include_usage`, and
//! passes when it raised nothing, saw no empty or extra event (12 chunks: role, 9
//! tokens, finish, usage), and its text, finish reason and usage are exact. The
//! streams are compressed as each client accepts ([`EXPECTED_CODINGS`]): brotli for
//! Chromium, gzip for the Python and Node.js clients, none for ours.
//!
//! Clients (the versions `.ci/run` installs): the official `openai` Python package
//! 3.51.0 (on httpx 0.28.1), `httpx-sse` 0.4.3, the `openai` npm package 6.49.0 and
//! `eventsource` 4.1.1 on Node.js 20 (the newest of each that supports Node.js 20;
//! `eventsource` POSTs through its `fetch` option), Chromium (the example's chat
//! page: `fetch` and the page's own parser), and `sse-rs-client` in this process.
//! The scripts are `examples/llm-stream/clients/`.
//!
//! Measured (and asserted, as [`EXPECTED_FAILURES`]):
//!
//! | client (stream's coding) | `line` | `line` + ids | `blank-line` | `blank-line` + ids | `ping` | `ping` + ids |
//! |---|---|---|---|---|---|---|
//! | openai-python 3.51.0 (gzip) | ✓ | ✓ | ✓ | `JSONDecodeError: Expecting value: line 1 column 1 (char 0)` at the first keep-alive | ✓ | same |
//! | httpx-sse 0.4.3 (gzip) | ✓ | ✓ | ✓ | an empty event per keep-alive (14-16 in 12 chunks) | ✓ | same |
//! | openai-node 6.49.0, eventsource 4.1.1 (gzip), Chromium 156 (br), sse-rs-client (none) | ✓ | ✓ | ✓ | ✓ | ✓ | ✓ |
//!
//! Both Python failures are one bug: their decoders dispatch an event at every
//! empty line once a `last_event_id` is set (it is never reset, as the spec says of
//! the id, but they also use it to decide whether an event is pending), so a comment
//! plus an empty line after an event with an id becomes an event with empty data,
//! which openai-python then parses as JSON. Without ids (OpenAI's own format) every
//! style passes; a comment line alone (`:\n`) passes everywhere, and is the
//! example's default.
//!
//! A client that is not installed fails the test under CI (`CI` set) and is
//! skipped, with a message, elsewhere: `.ci/run` installs the Python packages in a
//! venv and the npm packages in a folder under the target directory, and passes
//! them as `SSE_PYTHON` and `SSE_NODE_MODULES` (default: those folders).
//!
//! The second test drives the chat page as a person would: types, presses Send,
//! sees the tokens arrive, presses Stop, and the server's generation stops.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use llm_stream::{Config, KeepAliveStyle, Metrics};
use serde_json::{json, Value};
use sse_tests::browser::Browser;
use sse_tests::{require_program, wait_until};
use tokio::net::TcpListener;
use tokio::time::timeout;

/// The time between two tokens, and the idle time before a keep-alive.
const TOKEN: Duration = Duration::from_millis(120);
const KEEP_ALIVE: Duration = Duration::from_millis(50);

/// Bounds every client run.
const LIMIT: Duration = Duration::from_secs(60);

/// The user's message: JSON escapes, non-ASCII, and SSE syntax inside the data.
const PROMPT: &str = "naïve \"quotes\" 😀\n\ndata: [DONE]\n: ping";

/// One browser at a time: two cores do not run several Chromiums well.
static BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The client × configuration pairs that fail, with a piece of the failure; every
/// other pair must pass.
const EXPECTED_FAILURES: &[(&str, KeepAliveStyle, bool, &str)] = &[
    (
        "openai-python",
        KeepAliveStyle::BlankLine,
        true,
        "JSONDecodeError",
    ),
    (
        "openai-python",
        KeepAliveStyle::Ping,
        true,
        "JSONDecodeError",
    ),
    ("httpx-sse", KeepAliveStyle::BlankLine, true, "empty events"),
    ("httpx-sse", KeepAliveStyle::Ping, true, "empty events"),
];

/// The `Content-Encoding` each client got: the example compresses when the client
/// accepts it, so the matrix also covers compressed streams.
const EXPECTED_CODINGS: &[(&str, &str)] = &[
    ("chromium", "br"),
    ("eventsource", "gzip"),
    ("httpx-sse", "gzip"),
    ("openai-node", "gzip"),
    ("openai-python", "gzip"),
    ("sse-rs-client", "identity"),
];

/// One server of the matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Setup {
    style: u8,
    ids: bool,
}

impl Setup {
    fn all() -> Vec<Self> {
        (0..3)
            .flat_map(|style| [false, true].map(|ids| Self { style, ids }))
            .collect()
    }

    fn style(self) -> KeepAliveStyle {
        KeepAliveStyle::ALL[usize::from(self.style)]
    }

    fn name(self) -> String {
        format!("{}{}", self.style(), if self.ids { " ids" } else { "" })
    }

    fn from_name(name: &str) -> Self {
        Self::all()
            .into_iter()
            .find(|setup| setup.name() == name)
            .unwrap_or_else(|| panic!("no setup named {name}"))
    }
}

/// What one client saw of one answer (the scripts' JSON, or the same from Rust).
#[derive(Clone, Debug, Default)]
struct Seen {
    client: String,
    version: String,
    server: String,
    events: u64,
    empty: u64,
    exceptions: Vec<String>,
    content: String,
    finish: Option<String>,
    usage: Option<Value>,
    done: bool,
    // Keep-alive comments seen, for the clients that can see them.
    comments: Option<u64>,
    // The response's `Content-Encoding`, for the clients that show it.
    coding: Option<String>,
}

impl Seen {
    fn from_json(value: &Value) -> Self {
        let text = |key: &str| value[key].as_str().unwrap_or_default().to_owned();
        Self {
            client: text("client"),
            version: text("version"),
            server: text("server"),
            events: value["events"].as_u64().unwrap_or_default(),
            empty: value["empty"].as_u64().unwrap_or_default(),
            exceptions: value["exceptions"]
                .as_array()
                .map(|all| {
                    all.iter()
                        .map(|e| e.as_str().unwrap_or("?").to_owned())
                        .collect()
                })
                .unwrap_or_else(|| vec![format!("no exceptions field: {value}")]),
            content: text("content"),
            finish: value["finish"].as_str().map(str::to_owned),
            usage: value.get("usage").filter(|u| !u.is_null()).cloned(),
            done: value["done"].as_bool().unwrap_or_default(),
            comments: None,
            coding: value["coding"].as_str().map(str::to_owned),
        }
    }

    /// `None` if the answer arrived exactly; else what went wrong.
    fn failure(&self) -> Option<String> {
        let said = llm_stream::model::tokens(PROMPT).count();
        let prompt_tokens = u64::try_from(said).unwrap();
        let completion_tokens = prompt_tokens + 2;
        if let Some(first) = self.exceptions.first() {
            return Some(first.clone());
        }
        if self.empty > 0 {
            return Some(format!("{} empty events", self.empty));
        }
        let expected_events = 1 + completion_tokens + 2;
        if self.events != expected_events {
            return Some(format!("{} events, not {expected_events}", self.events));
        }
        if self.content != format!("You said: {PROMPT}") {
            return Some(format!("content {:?}", self.content));
        }
        if self.finish.as_deref() != Some("stop") {
            return Some(format!("finish_reason {:?}", self.finish));
        }
        let usage = json!({ "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                            "total_tokens": prompt_tokens + completion_tokens });
        if self.usage.as_ref() != Some(&usage) {
            return Some(format!("usage {:?}", self.usage));
        }
        if !self.done {
            return Some("no [DONE]".into());
        }
        None
    }
}

/// The six servers, each with its metrics.
async fn start_servers() -> Vec<(Setup, SocketAddr, Metrics)> {
    let mut servers = Vec::new();
    for setup in Setup::all() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let config = Config::default()
            .token_interval(TOKEN)
            .keep_alive(setup.style(), KEEP_ALIVE)
            .event_ids(setup.ids);
        let metrics = config.metrics.clone();
        tokio::spawn(llm_stream::serve(listener, config, std::future::pending()));
        servers.push((setup, addr, metrics));
    }
    servers
}

/// The job the scripts take: the prompt and the servers.
fn job(servers: &[(Setup, SocketAddr, Metrics)]) -> String {
    let servers: Vec<Value> = servers
        .iter()
        .map(|(setup, addr, _)| json!({ "name": setup.name(), "url": format!("http://{addr}") }))
        .collect();
    json!({ "prompt": PROMPT, "servers": servers }).to_string()
}

/// Where `.ci/run` installs the clients when no variable says otherwise.
fn default_clients_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .join("llm-clients")
}

/// The path in `$var`, or `default`, if it exists. Missing: fails under CI (which
/// installs it), skipped with a message elsewhere.
fn require_path(var: &str, default: PathBuf, what: &str) -> Option<PathBuf> {
    let path = std::env::var_os(var).map_or(default, PathBuf::from);
    if path.exists() {
        return Some(path);
    }
    let message = format!(
        "{what} not found at {} (set {var}); .ci/run installs it",
        path.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("{message}");
    }
    eprintln!("SKIPPED: {message}");
    None
}

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/llm-stream/clients")
        .join(name)
}

/// Runs a client script with the job; its JSON results.
async fn run_script(mut command: tokio::process::Command, what: &str) -> Vec<Seen> {
    let output = timeout(LIMIT, command.kill_on_drop(true).output())
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {LIMIT:?}"))
        .unwrap_or_else(|e| panic!("{what} could not start: {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{what} failed: {stderr}");
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{what} printed no JSON ({e}): {stderr}"));
    report["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(Seen::from_json)
        .collect()
}

async fn python_clients(job: &str) -> Vec<Seen> {
    let Some(python) = require_path(
        "SSE_PYTHON",
        default_clients_dir().join("venv/bin/python"),
        "a Python with openai, httpx and httpx-sse",
    ) else {
        return Vec::new();
    };
    let mut command = tokio::process::Command::new(python);
    command.arg(script("python_clients.py")).arg(job);
    run_script(command, "the Python clients").await
}

async fn node_clients(job: &str) -> Vec<Seen> {
    let Some(node) = require_program("node", "for the Node.js clients of the LLM matrix") else {
        return Vec::new();
    };
    let Some(modules) = require_path(
        "SSE_NODE_MODULES",
        default_clients_dir().join("node/node_modules"),
        "node_modules with openai and eventsource",
    ) else {
        return Vec::new();
    };
    let mut command = tokio::process::Command::new(node);
    command
        .env("NODE_PATH", modules)
        .arg(script("node_clients.cjs"))
        .arg(job);
    run_script(command, "the Node.js clients").await
}

/// Our own client, in this process: every server at once.
async fn rust_clients(servers: &[(Setup, SocketAddr, Metrics)]) -> Vec<Seen> {
    let runs = servers.iter().map(|(setup, addr, _)| async move {
        let mut seen = Seen {
            client: "sse-rs-client".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            server: setup.name(),
            comments: Some(0),
            ..Seen::default()
        };
        let body = json!({ "model": "fake-1", "stream": true, "stream_options": { "include_usage": true },
                           "messages": [{ "role": "user", "content": PROMPT }] });
        let mut source = sse_rs_client::Client::new()
            .post(format!("http://{addr}/v1/chat/completions"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .end_marker("[DONE]")
            .comments(true)
            .stream();
        let read = async {
            while let Some(item) = source.next().await {
                match item {
                    Ok(sse_rs_client::Event::Message(event)) => {
                        seen.events += 1;
                        if event.data.is_empty() {
                            seen.empty += 1;
                            continue;
                        }
                        match serde_json::from_str::<Value>(&event.data) {
                            Ok(chunk) => take(&mut seen, &chunk),
                            Err(e) => seen.exceptions.push(format!("JSON: {e}")),
                        }
                    }
                    Ok(sse_rs_client::Event::Comment(_)) => {
                        *seen.comments.get_or_insert(0) += 1;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        seen.exceptions.push(e.to_string());
                        return;
                    }
                }
            }
            // The stream ends at `[DONE]` (`end_marker`), which it does not yield.
            seen.done = true;
        };
        if timeout(LIMIT, read).await.is_err() {
            seen.exceptions.push("timed out".into());
        }
        seen
    });
    futures_util::future::join_all(runs).await
}

/// Takes one parsed chunk into `seen`.
fn take(seen: &mut Seen, chunk: &Value) {
    if let Some(usage) = chunk.get("usage").filter(|u| !u.is_null()) {
        seen.usage = Some(usage.clone());
    }
    for choice in chunk["choices"].as_array().into_iter().flatten() {
        if let Some(content) = choice["delta"]["content"].as_str() {
            seen.content.push_str(content);
        }
        if let Some(finish) = choice["finish_reason"].as_str() {
            seen.finish = Some(finish.to_owned());
        }
    }
}

/// What the page records of one answer, once it is over.
const RUN_STATE: &str = "return window.chat";

fn over(state: &Value) -> bool {
    matches!(
        state["status"].as_str(),
        Some("done" | "failed" | "stopped" | "cut off")
    )
}

/// Chromium on the chat page of each server in turn.
async fn chromium(servers: &[(Setup, SocketAddr, Metrics)]) -> Vec<Seen> {
    let Some(browser) = Browser::start().await else {
        return Vec::new();
    };
    // The user agent says 156.0.0.0; the program says which build.
    let version = require_program("chromium", "for the browser tests")
        .and_then(|chromium| {
            std::process::Command::new(chromium)
                .arg("--version")
                .output()
                .ok()
        })
        .map(|output| String::from_utf8_lossy(&output.stdout).to_string())
        .and_then(|text| {
            text.split_whitespace()
                .find(|word| word.starts_with(char::is_numeric))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "?".into());
    let mut all = Vec::new();
    for (setup, addr, _) in servers {
        browser
            .client()
            .goto(&format!("http://{addr}/"))
            .await
            .expect("open the page");
        browser
            .client()
            .execute(
                "window.ask(arguments[0], { resumable: false }); return true;",
                vec![json!(PROMPT)],
            )
            .await
            .expect("ask");
        let state = browser.wait_for(RUN_STATE, LIMIT, over).await;
        let mut seen = Seen::from_json(&json!({
            "client": "chromium", "version": version, "server": setup.name(),
            "events": state["events"], "empty": state["empty"], "exceptions": state["exceptions"],
            "content": state["content"], "finish": state["finish"], "usage": state["usage"],
            "done": state["done"], "coding": state["coding"],
        }));
        if let Some(error) = state["error"].as_str() {
            seen.exceptions.push(error.to_owned());
        }
        if !over(&state) {
            seen.exceptions.push(format!("not over: {state}"));
        }
        seen.comments = state["keepAlives"].as_u64();
        all.push(seen);
    }
    browser.close().await;
    all
}

/// One cell of the table: ✓ or the failure.
struct Cell(Option<String>);

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            None => f.write_str("✓"),
            Some(failure) => write!(f, "✗ {failure}"),
        }
    }
}

#[tokio::test]
async fn every_client_reads_every_safe_keep_alive_style() {
    // The whole matrix under the lock: the other test times a click.
    let _one = BROWSER.lock().await;
    let start = Instant::now();
    let servers = start_servers().await;
    let job = job(&servers);
    let (python, node, rust, browser) = tokio::join!(
        python_clients(&job),
        node_clients(&job),
        rust_clients(&servers),
        chromium(&servers),
    );
    let elapsed = start.elapsed();

    // client (with version) -> setup -> failure
    let mut table: BTreeMap<(String, String), BTreeMap<Setup, Option<String>>> = BTreeMap::new();
    let all: Vec<Seen> = [python, node, rust, browser].concat();
    for seen in &all {
        table
            .entry((seen.client.clone(), seen.version.clone()))
            .or_default()
            .insert(Setup::from_name(&seen.server), seen.failure());
    }
    let mut report = String::from("| client | ");
    let setups = Setup::all();
    for setup in &setups {
        report.push_str(&format!("{} | ", setup.name()));
    }
    report.push('\n');
    for ((client, version), row) in &table {
        let codings: std::collections::BTreeSet<&str> = all
            .iter()
            .filter(|seen| &seen.client == client)
            .map(|seen| seen.coding.as_deref().unwrap_or("identity"))
            .collect();
        let codings: Vec<&str> = codings.into_iter().collect();
        report.push_str(&format!("| {client} {version} ({}) | ", codings.join(", ")));
        for setup in &setups {
            let cell = row.get(setup).cloned().map_or_else(
                || "(no result)".to_owned(),
                |failure| Cell(failure).to_string(),
            );
            report.push_str(&format!("{cell} | "));
        }
        report.push('\n');
    }
    eprintln!("{report}(all clients in {elapsed:?})");

    // Keep-alives really fell between tokens, in every setup.
    for seen in all.iter().filter(|seen| seen.comments.is_some()) {
        assert!(
            seen.comments >= Some(2),
            "{} on {}: {:?} keep-alives",
            seen.client,
            seen.server,
            seen.comments
        );
    }

    let mut wrong = Vec::new();
    for ((client, _), row) in &table {
        assert_eq!(row.len(), setups.len(), "{client}: a result is missing");
        for (setup, failure) in row {
            let expected = EXPECTED_FAILURES.iter().find(|(c, style, ids, _)| {
                c == client && *style == setup.style() && *ids == setup.ids
            });
            match (expected, failure) {
                (None, None) => {}
                (Some((_, _, _, what)), Some(failure)) if failure.contains(what) => {}
                _ => wrong.push(format!(
                    "{client} on {}: expected {}, got {}",
                    setup.name(),
                    expected.map_or("✓", |e| e.3),
                    Cell(failure.clone())
                )),
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}\n{report}");

    for seen in &all {
        let coding = seen.coding.as_deref().unwrap_or("identity");
        let expected = EXPECTED_CODINGS
            .iter()
            .find(|(client, _)| *client == seen.client)
            .map(|(_, coding)| *coding);
        assert_eq!(Some(coding), expected, "{} on {}", seen.client, seen.server);
    }

    // The default style is safe for every client, with and without ids.
    assert_eq!(KeepAliveStyle::default(), KeepAliveStyle::Line);
    assert!(EXPECTED_FAILURES
        .iter()
        .all(|(_, style, _, _)| *style != KeepAliveStyle::default()));

    // Every client present (the rest fail under CI, above).
    if std::env::var_os("CI").is_some() {
        let clients: Vec<&str> = table.keys().map(|(client, _)| client.as_str()).collect();
        assert_eq!(
            clients,
            [
                "chromium",
                "eventsource",
                "httpx-sse",
                "openai-node",
                "openai-python",
                "sse-rs-client"
            ]
        );
    }
    // Every answer was generated to its end, but for the clients that raised and
    // left: their generations were cancelled, none left running.
    for (setup, _, metrics) in &servers {
        let name = setup.name();
        let raised = all
            .iter()
            .filter(|seen| seen.server == name && !seen.exceptions.is_empty())
            .count();
        let runs = all.iter().filter(|seen| seen.server == name).count();
        let settled = || {
            let snapshot = metrics.snapshot();
            snapshot.streams_open == 0
                && usize::try_from(snapshot.completed + snapshot.cancelled).unwrap() == runs
        };
        assert!(wait_until(Duration::from_secs(5), settled).await, "{name}");
        let snapshot = metrics.snapshot();
        assert_eq!(
            usize::try_from(snapshot.cancelled).unwrap(),
            raised,
            "{name}: {snapshot:?}"
        );
        assert_eq!(snapshot.failed, 0, "{name}: {snapshot:?}");
    }
    assert!(elapsed < LIMIT, "{elapsed:?}");
}

#[tokio::test]
async fn the_chat_page_shows_tokens_live_and_stop_cancels_the_generation() {
    let _one = BROWSER.lock().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = Config::default().token_interval(Duration::from_millis(100));
    let metrics = config.metrics.clone();
    tokio::spawn(llm_stream::serve(listener, config, std::future::pending()));
    let page = browser.client();
    page.goto(&format!("http://{addr}/")).await.unwrap();

    // Type a message and press Send, as a person would.
    let prompt = page.find(fantoccini::Locator::Id("prompt")).await.unwrap();
    prompt.clear().await.unwrap();
    prompt
        .send_keys("one two three four five six seven eight nine ten eleven twelve")
        .await
        .unwrap();
    page.find(fantoccini::Locator::Id("send"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Tokens appear as they come: the bubble grows while the answer streams.
    let state = browser
        .wait_for(RUN_STATE, LIMIT, |state| {
            state["tokens"].as_u64() >= Some(4)
        })
        .await;
    assert_eq!(state["status"], "streaming", "{state}");
    let shown = browser
        .eval("return document.querySelector('.assistant').textContent")
        .await;
    assert!(
        shown.as_str().unwrap().starts_with("You said: one"),
        "{shown}"
    );
    let shot = page.screenshot().await.expect("a screenshot");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("llm-stream-chat.png"), &shot).unwrap();

    // Stop: the page aborts the fetch, the server's generation stops.
    let before = metrics.snapshot();
    assert_eq!(before.cancelled, 0);
    let stop = page.find(fantoccini::Locator::Id("stop")).await.unwrap();
    let pressed = Instant::now();
    stop.click().await.unwrap();
    // The click's WebDriver round trip: the page aborts the fetch somewhere in it.
    let click = pressed.elapsed();
    assert!(wait_until(LIMIT, || metrics.snapshot().cancelled == 1).await);
    let after = pressed.elapsed();
    eprintln!(
        "Stop pressed: the generation stopped {after:?} after the click began, {:?} after \
         it returned (the click took {click:?})",
        after.saturating_sub(click)
    );
    assert!(
        after.saturating_sub(click) < Duration::from_millis(100),
        "{after:?} {click:?}"
    );
    let state = browser.wait_for(RUN_STATE, LIMIT, over).await;
    assert_eq!(state["status"], "stopped", "{state}");
    let tokens = metrics.snapshot().tokens_sent;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(metrics.snapshot().tokens_sent, tokens, "tokens after Stop");
    assert_eq!(metrics.snapshot().completed, 0);
    browser.close().await;
}
