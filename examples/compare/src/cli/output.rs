//! What the measurements print as they go: the progress bar on stderr, the JSON
//! lines of `--json-lines` on stdout (what the comparison page reads), and the JSON
//! files of the results.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Whether progress and results go to stdout as JSON lines (`--json-lines`).
static JSON_LINES: AtomicBool = AtomicBool::new(false);

/// Sends progress and results to stdout as JSON lines from now on, or not.
pub(crate) fn set_json_lines(on: bool) {
    JSON_LINES.store(on, Ordering::Relaxed);
}

/// Whether progress and results go to stdout as JSON lines (`--json-lines`).
pub(crate) fn json_lines() -> bool {
    JSON_LINES.load(Ordering::Relaxed)
}

/// Prints `value` as one line of JSON on stdout, at once (a reader waits for it).
pub(crate) fn emit(value: &serde_json::Value) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{value}");
    let _ = stdout.flush();
}

/// Runs `work` to its end; with `report`, calls it at once and every `period` until
/// then (the progress lines of `--json-lines`).
pub(crate) async fn reporting<F: std::future::Future>(
    work: F,
    period: Duration,
    report: Option<impl FnMut()>,
) -> F::Output {
    let Some(mut report) = report else {
        return work.await;
    };
    tokio::pin!(work);
    let mut tick = tokio::time::interval(period);
    loop {
        tokio::select! {
            output = &mut work => return output,
            _ = tick.tick() => report(),
        }
    }
}

/// `value`, or `None` (JSON `null`) when it is not a number (no delivery yet).
pub(crate) fn finite(value: f64) -> Option<f64> {
    value.is_finite().then_some(value)
}

/// Shows how far a run is: a bar redrawn in place on a terminal, one line per step
/// otherwise (logs, CI).
pub(crate) fn progress(done: usize, total: usize, text: &str) {
    use std::io::{IsTerminal, Write};
    let width = 24;
    let filled = width * done / total.max(1);
    let bar = format!(
        "[{}{}] {done:>3}/{total}",
        "#".repeat(filled),
        "-".repeat(width - filled)
    );
    let mut stderr = std::io::stderr();
    if stderr.is_terminal() {
        let _ = write!(stderr, "\r\x1b[2K{bar} {text}");
        if done == total {
            let _ = writeln!(stderr);
        }
        let _ = stderr.flush();
    } else {
        let _ = writeln!(stderr, "{bar} {text}");
    }
}

/// Writes `report` to `json`, or to `default` unless the results went to stdout as
/// JSON lines.
pub(crate) fn write_json_to(
    json: Option<PathBuf>,
    default: &str,
    report: &serde_json::Value,
) -> std::io::Result<()> {
    match json {
        Some(json) => write_json(&json, report),
        None if json_lines() => Ok(()),
        None => write_json(Path::new(default), report),
    }
}

/// Writes `report` to `json` (creating its folder) and says where.
pub(crate) fn write_json(json: &Path, report: &serde_json::Value) -> std::io::Result<()> {
    if let Some(dir) = json.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(
        json,
        serde_json::to_vec_pretty(report).map_err(std::io::Error::other)?,
    )?;
    eprintln!("\nJSON: {}", json.display());
    Ok(())
}
