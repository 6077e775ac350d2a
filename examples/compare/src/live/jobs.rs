//! The jobs the page starts: `compare bench` (the race) and `compare fanout` as
//! child processes, one at a time, their lines passed on to the page.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tokio::io::AsyncBufReadExt;

use super::routes::refuse;
use super::settings::{FanoutQuery, RaceQuery};
use super::state::{lock, App};

/// The longest a race or a fan-out may run before it is stopped.
const JOB_LIMIT: Duration = Duration::from_secs(600);

/// The two benchmarks the page starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Job {
    Race,
    Fanout,
}

impl Job {
    fn topic(self) -> &'static str {
        match self {
            Job::Race => "race",
            Job::Fanout => "fanout",
        }
    }
}

pub(super) async fn race(State(app): State<App>, Query(query): Query<RaceQuery>) -> Response {
    match query.args() {
        Ok(args) => start_job(&app, Job::Race, args),
        Err(why) => refuse(StatusCode::BAD_REQUEST, why),
    }
}

pub(super) async fn fanout(State(app): State<App>, Query(query): Query<FanoutQuery>) -> Response {
    match query.args() {
        Ok(args) => start_job(&app, Job::Fanout, args),
        Err(why) => refuse(StatusCode::BAD_REQUEST, why),
    }
}

/// Starts `job` unless one runs: `202 Accepted`, its lines follow on `/updates`.
fn start_job(app: &App, job: Job, args: Vec<String>) -> Response {
    {
        let mut busy = lock(&app.busy);
        if let Some(running) = *busy {
            return refuse(
                StatusCode::CONFLICT,
                format!("the {} is running: one at a time", running.topic()),
            );
        }
        *busy = Some(job);
    }
    let app = app.clone();
    tokio::spawn(async move {
        // Free for the next job however this task ends, before the page hears of it.
        let guard = Busy(Arc::clone(&app.busy));
        app.publish(
            job.topic(),
            &serde_json::json!({ "kind": "start", "args": args }),
        );
        let outcome = tokio::select! {
            outcome = tokio::time::timeout(JOB_LIMIT, run_job(&app, job, &args)) => {
                outcome.unwrap_or_else(|_| Err(format!("stopped after {} s", JOB_LIMIT.as_secs())))
            }
            () = app.stop.clone().wait() => Err("the page is stopping".into()),
        };
        let end = match outcome {
            Ok(()) => serde_json::json!({ "kind": "end" }),
            Err(message) => serde_json::json!({ "kind": "error", "message": message }),
        };
        drop(guard);
        app.publish(job.topic(), &end);
    });
    (StatusCode::ACCEPTED, "started").into_response()
}

/// Runs the tool with `args` and `--json-lines`, passing each line it prints to the
/// page; its report is kept for `/race.json` or `/fanout.json`. The child is killed
/// if this future is dropped (a timeout, a stop).
async fn run_job(app: &App, job: Job, args: &[String]) -> Result<(), String> {
    let mut command = tokio::process::Command::new(app.exe.as_path());
    command
        .args(args)
        .arg("--json-lines")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // In a process group of its own, with the servers it starts: a job stopped early
    // ends them all (see `Group`).
    #[cfg(unix)]
    command.process_group(0);
    let mut child = command
        .spawn()
        .map_err(|error| format!("cannot start {}: {error}", app.exe.display()))?;
    let mut group = Group(child.id());
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    // The last lines the tool wrote on stderr, to say why it failed.
    let complaints = tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        let mut last = std::collections::VecDeque::new();
        while let Ok(Some(line)) = lines.next_line().await {
            if last.len() == 3 {
                last.pop_front();
            }
            last.push_back(line);
        }
        Vec::from(last).join(" / ")
    });
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    while let Some(line) = lines.next_line().await.map_err(|e| e.to_string())? {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if value["kind"] == "done" {
            let mut reports = lock(&app.reports);
            let report = Some(value["report"].clone());
            match job {
                Job::Race => reports.race = report,
                Job::Fanout => reports.fanout = report,
            }
        }
        app.publish(job.topic(), &value);
    }
    let status = child.wait().await.map_err(|e| e.to_string())?;
    group.0 = None;
    if status.success() {
        Ok(())
    } else {
        let why = tokio::time::timeout(Duration::from_secs(2), complaints)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        Err(format!("the {} failed ({status}): {why}", job.topic()))
    }
}

/// Clears the page's "a job runs" when dropped.
struct Busy(Arc<Mutex<Option<Job>>>);

impl Drop for Busy {
    fn drop(&mut self) {
        *lock(&self.0) = None;
    }
}

/// The process group of a running job (the tool and the servers it started), killed
/// when dropped before the job ended by itself: a timeout, a stop of the page.
struct Group(Option<u32>);

impl Drop for Group {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(pid) = self.0.take() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .stderr(Stdio::null())
                .status();
        }
    }
}
