//! A real browser for tests: Debian's headless Chromium, driven over WebDriver
//! (chromedriver).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Value};

use crate::programs::{free_port, require_program, wait_for_port, ProcessGroup};

/// A chromedriver and a headless Chromium session; both end when dropped.
#[allow(missing_debug_implementations)] // fantoccini's client is not Debug
pub struct Browser {
    client: Option<Client>,
    // With Chromium in its process group: both end even if a test fails mid-session.
    _driver: ProcessGroup,
}

impl Browser {
    /// `None` (skipped) when Chromium or chromedriver is missing outside CI.
    pub async fn start() -> Option<Self> {
        Self::start_with(&[]).await
    }

    /// [`start`](Self::start) with more Chromium flags.
    pub async fn start_with(extra: &[&str]) -> Option<Self> {
        let chromium = require_program("chromium", "for the browser tests")?;
        let chromedriver = require_program("chromedriver", "for the browser tests")?;
        let port = free_port();
        let driver = ProcessGroup::spawn(
            Command::new(chromedriver)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .expect("start chromedriver");
        assert!(
            wait_for_port(port, Duration::from_secs(20)).await,
            "chromedriver did not start"
        );

        let mut args = vec![
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1000,800",
        ];
        args.extend_from_slice(extra);
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        // The HTTPS tests use a throw-away self-signed certificate.
        capabilities.insert("acceptInsecureCerts".into(), json!(true));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": chromium, "args": args }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session");
        Some(Self {
            client: Some(client),
            _driver: driver,
        })
    }

    /// The WebDriver session.
    pub fn client(&self) -> &Client {
        self.client.as_ref().expect("an open session")
    }

    /// Runs `script` (a function body: `return ...`) in the page and gives its value.
    pub async fn eval(&self, script: &str) -> Value {
        self.client()
            .execute(script, vec![])
            .await
            .expect("run a script in the page")
    }

    /// Polls `script` until `done` holds for its value or `limit` passes.
    pub async fn wait_for(
        &self,
        script: &str,
        limit: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let start = Instant::now();
        loop {
            let value = self.eval(script).await;
            if done(&value) || start.elapsed() > limit {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Ends the session (and, on drop, chromedriver and Chromium).
    pub async fn close(mut self) {
        if let Some(client) = self.client.take() {
            let _ = client.close().await;
        }
    }
}
