//! The comparison page in a real browser (Debian's headless Chromium over WebDriver),
//! served by the `compare` program itself, as a newcomer runs it:
//!
//! - the live summary has a filled row per server (events, gaps, first-event latency
//!   from the frames; bytes on the wire and open streams from the server side);
//! - a small race (20 000 events of 64 B on every variant) fills every row with
//!   numbers, and the ratios on the page are the ones in the tool's JSON; a small
//!   gzip race adds the bytes on the wire, and says why a variant did not race;
//! - a small fan-out fills every variant's p50 and p99, and its CPU ratios are the
//!   JSON's too;
//! - at 1280 px and at 400 px no element is wider than the viewport, and no frame
//!   scrolls sideways; a screenshot of each is kept under `target/tmp/browser/`;
//! - a request from another site, or with settings out of bounds, starts nothing.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sse_tests::browser::Browser;
use sse_tests::{free_port, ProcessGroup};

/// `compare live` on a port of its own (and the four after it), in a process group
/// that ends with the test, and the page's address.
fn start_compare(dir: &std::path::Path) -> (ProcessGroup, String) {
    for attempt in 0..10 {
        // A free port and, very likely, the four after it; if one is taken the tool
        // says so and exits, and another base is tried.
        let port = free_port().min(60_000);
        let out = dir.join(format!("compare-live-{attempt}.out"));
        let file = std::fs::File::create(&out).unwrap();
        let group = ProcessGroup::spawn(
            Command::new(env!("CARGO_BIN_EXE_compare"))
                .args(["live", "--port", &port.to_string(), "--interval-ms", "150"])
                .args(["--count", "100000"])
                .stdout(Stdio::from(file))
                .stderr(Stdio::null()),
        )
        .expect("start compare live");
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            let text = std::fs::read_to_string(&out).unwrap_or_default();
            if text.contains("side by side on http://") {
                return (group, format!("http://127.0.0.1:{port}/"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("compare live did not start");
}

/// Elements outside the viewport, the page's widths, and what each frame said about
/// its own overflow.
const LAYOUT: &str = "
    const width = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll('body *')].filter((e) => {
        const r = e.getBoundingClientRect();
        return r.width > 0 && (r.right > width + 1 || r.left < -1);
    }).map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : ''));
    const frames = Object.fromEntries(Object.entries(window.summary).map(([k, v]) => [k, v.overflow]));
    return { width, inner: window.innerWidth, scroll: document.documentElement.scrollWidth, wide, frames };";

/// The cells of every row of `table`, by class, keyed by the row's `data-variant`
/// (or `data-server`).
fn rows_script(table: &str) -> String {
    format!(
        "return Object.fromEntries([...document.querySelectorAll('#{table} tbody tr')].map((tr) => \
         [tr.dataset.variant || tr.dataset.server, Object.fromEntries([...tr.cells].map((td) => \
         [td.classList[0], td.textContent]))]));"
    )
}

fn is_number(text: &str) -> bool {
    text.chars().any(|c| c.is_ascii_digit()) && !text.contains('–')
}

async fn check_layout(browser: &Browser, width: u32, name: &str, dir: &std::path::Path) {
    browser
        .client()
        .set_window_size(width, 2400)
        .await
        .expect("resize the window");
    // Fresh figures from every frame (each reports with every event, and on a resize).
    browser
        .eval("for (const v of Object.values(window.summary)) delete v.overflow; return true;")
        .await;
    let layout = browser
        .wait_for(LAYOUT, Duration::from_secs(10), |layout| {
            layout["wide"].as_array().is_some_and(Vec::is_empty)
                && layout["frames"]
                    .as_object()
                    .is_some_and(|f| f.len() == 4 && f.values().all(|v| v == 0))
        })
        .await;
    let inner = layout["inner"].as_u64().unwrap();
    assert!(
        inner <= u64::from(width) && inner + 40 >= u64::from(width),
        "{name}: the viewport is {inner} px, not about {width}: {layout}"
    );
    assert_eq!(
        layout["wide"],
        Value::Array(vec![]),
        "{name}: elements wider than the viewport: {layout}"
    );
    assert!(
        layout["scroll"].as_u64() <= layout["width"].as_u64(),
        "{name}: the page scrolls sideways: {layout}"
    );
    for (server, overflow) in layout["frames"].as_object().unwrap() {
        assert_eq!(
            overflow, 0,
            "{name}: the {server} frame scrolls sideways: {layout}"
        );
    }
    let shot = browser.client().screenshot().await.expect("a screenshot");
    assert!(shot.starts_with(b"\x89PNG"), "{name}: not a PNG");
    let path = dir.join(format!("compare-page-{name}.png"));
    std::fs::write(&path, &shot).expect("write the screenshot");
    eprintln!(
        "screenshot of the comparison page, {name}: {}",
        path.display()
    );
}

/// Starts a job from its form, with `values` for its inputs, and waits until its
/// status line says it is done.
async fn run_from_the_page(
    browser: &Browser,
    form: &str,
    values: &[(&str, &str)],
    limit: Duration,
) {
    let mut script = String::new();
    for (name, value) in values {
        script.push_str(&format!(
            "document.querySelector('#{form}-form [name={name}]').value = '{value}';"
        ));
    }
    script.push_str(&format!(
        "document.getElementById('{form}-start').click(); return true;"
    ));
    browser.eval(&script).await;
    let status = format!(
        "const s = document.getElementById('{form}-status'); return {{ text: s.textContent, error: s.classList.contains('error') }};"
    );
    let state = browser
        .wait_for(&status, limit, |s| {
            s["error"] == true || s["text"].as_str().is_some_and(|t| t.starts_with("done"))
        })
        .await;
    assert!(
        state["error"] == false && state["text"].as_str().unwrap().starts_with("done"),
        "the {form} did not finish: {state}"
    );
}

/// The page caught no error in its scripts (its event handlers included).
async fn no_script_errors(browser: &Browser, when: &str) {
    let errors = browser.eval("return window.pageErrors;").await;
    assert_eq!(errors, serde_json::json!([]), "script errors {when}");
}

async fn json(url: &str) -> Value {
    let text = reqwest::get(url)
        .await
        .expect("the page's server")
        .error_for_status()
        .expect("a report")
        .text()
        .await
        .expect("a body");
    serde_json::from_str(&text).expect("JSON")
}

fn ratio_text(value: &Value) -> String {
    format!("{:.2}x", value.as_f64().expect("a ratio"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_comparison_page_races_every_variant_and_fits_every_screen() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    let (_compare, url) = start_compare(&dir);
    browser.client().set_window_size(1280, 1000).await.unwrap();
    browser.client().goto(&url).await.expect("open the page");

    // The live summary: every server's row filled from its frame and its server, and
    // each server counting the frame's stream (its figures come twice a second, so the
    // first ones may predate the stream: wait for them, then check everything).
    let summary = browser
        .wait_for(&rows_script("summary"), Duration::from_secs(30), |rows| {
            rows.as_object().is_some_and(|rows| {
                rows.len() == 4
                    && rows.values().all(|cells| {
                        ["events", "gap", "jitter", "first", "bytes", "open"]
                            .iter()
                            .all(|key| cells[key].as_str().is_some_and(is_number))
                            && cells["open"] == "1"
                    })
            })
        })
        .await;
    for server in ["hyper", "axum", "actix-web", "warp"] {
        let cells = &summary[server];
        for key in ["events", "gap", "jitter", "first", "bytes", "open"] {
            assert!(
                cells[key].as_str().is_some_and(is_number),
                "{server}: {key} is not filled: {summary}"
            );
        }
        assert_eq!(cells["open"], "1", "{server}: one open stream: {summary}");
        assert_eq!(cells["reconnects"], "0", "{server}: {summary}");
    }

    // A small race on every variant.
    run_from_the_page(
        &browser,
        "race",
        &[("events", "20000"), ("size", "64"), ("rounds", "1")],
        Duration::from_secs(300),
    )
    .await;
    let rows = browser.eval(&rows_script("race-table")).await;
    let report = json(&format!("{url}race.json")).await;
    let result = &report["results"][0];
    assert_eq!(result["size"], 64, "{report}");
    let variants = result["rows"].as_array().unwrap();
    assert_eq!(variants.len(), 8, "every variant raced: {report}");
    for row in variants {
        let name = row["variant"].as_str().unwrap();
        let cells = &rows[name];
        assert!(
            cells["rate"].as_str().is_some_and(is_number)
                && cells["cpu"].as_str().is_some_and(is_number),
            "{name}: not filled: {rows}"
        );
    }
    let ratios = result["ratios"].as_array().unwrap();
    assert_eq!(ratios.len(), 3, "one per framework: {report}");
    let first = |variant: &str, key: &str| {
        variants
            .iter()
            .find(|row| row["variant"] == variant)
            .and_then(|row| row[key][0].as_f64())
            .unwrap()
    };
    for ratio in ratios {
        let name = ratio["variant"].as_str().unwrap();
        // One round: the ratio is that round's, built-in ÷ ours for CPU.
        let reference = ratio["reference"].as_str().unwrap();
        let cpu = first(reference, "cpu_ns_per_event") / first(name, "cpu_ns_per_event");
        assert!(
            (ratio["cpu"].as_f64().unwrap() / cpu - 1.0).abs() < 1e-9,
            "{name}: {cpu} {report}"
        );
        assert_eq!(
            rows[name]["vs-cpu"],
            ratio_text(&ratio["cpu"]),
            "{name}: CPU ratio on the page and in the tool's JSON: {rows} {report}"
        );
        assert_eq!(
            rows[name]["vs-rate"],
            ratio_text(&ratio["events_per_second"]),
            "{name}: events/s ratio: {rows} {report}"
        );
    }
    let chart = browser
        .eval("return document.querySelectorAll('#race-chart svg rect').length;")
        .await;
    assert_eq!(chart, 8, "a bar per variant");
    let shown = browser
        .eval("return getComputedStyle(document.querySelector('#race-table thead .wire')).display;")
        .await;
    assert_eq!(shown, "none", "no bytes column in an uncompressed race");

    // Only the page may start a job, with settings in bounds.
    let client = reqwest::Client::new();
    let refused = client
        .post(format!("{url}race?events=20000&size=64"))
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403, "a cross-site request");
    let refused = client
        .post(format!("{url}race?events=20000&size=1000000"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().starts_with("size:"));
    let refused = client
        .post(format!("{url}race?events=20000&size=64&compress=deflate"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400, "a coding the race has not");
    assert!(refused.text().await.unwrap().starts_with("compress:"));

    // A small compressed race: bytes on the wire for every variant that raced, why
    // for those that did not (the raw writer compresses nothing).
    run_from_the_page(
        &browser,
        "race",
        &[
            ("events", "1000"),
            ("size", "64"),
            ("rounds", "1"),
            ("compress", "gzip"),
        ],
        Duration::from_secs(300),
    )
    .await;
    let rows = browser.eval(&rows_script("race-table")).await;
    let report = json(&format!("{url}race.json")).await;
    let result = &report["results"][0];
    assert_eq!(result["compress"], "gzip", "{report}");
    for row in result["rows"].as_array().unwrap() {
        let name = row["variant"].as_str().unwrap();
        let cells = &rows[name];
        if let Some(why) = row["not_raced"].as_str() {
            assert_eq!(cells["progress"], format!("not raced: {why}"), "{rows}");
        } else {
            for key in ["rate", "cpu", "wire"] {
                assert!(
                    cells[key].as_str().is_some_and(is_number),
                    "{name}: {key} not filled: {rows}"
                );
            }
        }
    }
    assert_eq!(rows["raw writer"]["wire"], "–", "{rows}");
    let shown = browser
        .eval("return getComputedStyle(document.querySelector('#race-table thead .wire')).display;")
        .await;
    assert_ne!(shown, "none", "the bytes column of a compressed race");

    // A small fan-out: p50 and p99 for every variant.
    run_from_the_page(
        &browser,
        "fanout",
        &[("subscribers", "20"), ("rate", "200"), ("events", "60")],
        Duration::from_secs(300),
    )
    .await;
    let rows = browser.eval(&rows_script("fanout-table")).await;
    let report = json(&format!("{url}fanout.json")).await;
    let variants = report["results"].as_array().unwrap();
    assert_eq!(variants.len(), 7, "every variant fanned out: {report}");
    for row in variants {
        let name = row["variant"].as_str().unwrap();
        for key in ["p50", "p99", "rate", "cpu"] {
            assert!(
                rows[name][key].as_str().is_some_and(is_number),
                "{name}: {key} not filled: {rows}"
            );
        }
    }
    for ratio in report["ratios"].as_array().unwrap() {
        let name = ratio["variant"].as_str().unwrap();
        for (cell, key) in [("vs-cpu", "cpu"), ("vs-p99", "p99")] {
            assert_eq!(
                rows[name][cell],
                ratio_text(&ratio[key]),
                "{name}: {cell}: {rows} {report}"
            );
        }
    }

    let chart = browser
        .eval("return document.querySelectorAll('#fanout-chart svg rect').length;")
        .await;
    assert_eq!(chart, 7, "a bar per variant");

    no_script_errors(&browser, "during the race and the fan-out").await;

    // A page opened afterwards shows both reports.
    let race_report = json(&format!("{url}race.json")).await;
    browser
        .client()
        .goto(&url)
        .await
        .expect("open the page again");
    let axum_cpu = ratio_text(&race_report["results"][0]["ratios"][0]["cpu"]);
    let fanout_cpu = ratio_text(&report["ratios"][0]["cpu"]);
    let shown = browser
        .wait_for(
            "return [document.querySelector('#race-table tr[data-variant=\"sse-axum\"] .vs-cpu').textContent, \
             document.querySelector('#fanout-table tr[data-variant=\"sse-axum\"] .vs-cpu').textContent];",
            Duration::from_secs(10),
            |shown| shown[0] == axum_cpu.as_str() && shown[1] == fanout_cpu.as_str(),
        )
        .await;
    assert_eq!(
        shown,
        serde_json::json!([axum_cpu, fanout_cpu]),
        "after a reload"
    );

    // The layout, with the tables full, on a desktop and on a phone.
    check_layout(&browser, 1280, "1280px", &dir).await;
    check_layout(&browser, 400, "400px", &dir).await;
    let tables = browser
        .eval("return ['summary', 'race-table', 'fanout-table'].map((id) => document.querySelectorAll('#' + id + ' tbody tr').length);")
        .await;
    assert_eq!(tables, serde_json::json!([4, 8, 7]), "the tables are there");
    no_script_errors(&browser, "after the reload").await;
    browser.close().await;
}
