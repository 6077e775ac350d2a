//! Redis for the backplane tests: the shared redis-server `.ci/run` starts
//! ([`redis_url`], with a [`unique_prefix`] per test), or one of a test's own
//! ([`OwnRedis`], [`spawn_redis`]) for what cannot be done to a shared one: pausing
//! it, restarting it.

use std::time::Duration;

use crate::programs::{free_port, require_program, send_signal, wait_for_port, ChildGuard};

/// The URL of the redis-server the backplane tests share, from `SSE_REDIS_URL`
/// (`.ci/run` starts one on a free loopback port and sets it). Without it: under CI
/// the test fails, elsewhere it is skipped and says so.
///
/// # Panics
///
/// Under CI, when `SSE_REDIS_URL` is not set.
#[must_use]
pub fn redis_url() -> Option<String> {
    match std::env::var("SSE_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("SSE_REDIS_URL is not set: .ci/run starts redis-server and sets it")
        }
        _ => {
            eprintln!("SKIPPED: set SSE_REDIS_URL=redis://127.0.0.1:<port>/ to run");
            None
        }
    }
}

/// A Redis key prefix no other test, or earlier run, uses.
///
/// # Panics
///
/// When the clock is before 1970.
#[must_use]
pub fn unique_prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_nanos();
    format!("sse-test:{test}:{nanos}:")
}

/// A redis-server of the test's own on `port` of 127.0.0.1, with `args` added (no
/// persistence unless they ask for it); `None` (skipped) when it is not installed
/// outside CI. It may not accept connections yet: see [`OwnRedis`], which waits.
///
/// # Panics
///
/// When it cannot be started.
pub fn spawn_redis(port: u16, args: &[&std::ffi::OsStr]) -> Option<ChildGuard> {
    let program = require_program("redis-server", "for the tests with a Redis of their own")?;
    Some(ChildGuard(
        std::process::Command::new(program)
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start redis-server"),
    ))
}

/// A redis-server of the test's own on a free loopback port, without persistence,
/// already accepting connections; killed when dropped.
///
/// ```no_run
/// # async fn test() {
/// let Some(redis) = sse_tests::OwnRedis::start().await else { return }; // skipped
/// // ... connect to `redis.url`, then:
/// redis.pause();
/// redis.resume();
/// # }
/// ```
#[derive(Debug)]
pub struct OwnRedis {
    /// `redis://127.0.0.1:PORT/`.
    pub url: String,
    process: ChildGuard,
}

impl OwnRedis {
    /// Starts one and waits until it accepts connections; `None` (skipped) when
    /// redis-server is missing outside CI.
    ///
    /// # Panics
    ///
    /// When it cannot be started, does not accept connections within 10 s, or is
    /// missing under CI.
    pub async fn start() -> Option<Self> {
        let port = free_port();
        let no_persistence = ["--save", "", "--appendonly", "no"].map(std::ffi::OsStr::new);
        let process = spawn_redis(port, &no_persistence)?;
        assert!(
            wait_for_port(port, Duration::from_secs(10)).await,
            "redis-server did not start"
        );
        Some(Self {
            url: format!("redis://127.0.0.1:{port}/"),
            process,
        })
    }

    /// Pauses it (`SIGSTOP`): its connections stay open, nothing is answered.
    ///
    /// # Panics
    ///
    /// When the signal cannot be sent.
    pub fn pause(&self) {
        send_signal(self.process.0.id(), "-STOP");
    }

    /// Lets it go on after [`pause`](Self::pause) (`SIGCONT`): it runs what it was sent
    /// meanwhile.
    ///
    /// # Panics
    ///
    /// When the signal cannot be sent.
    pub fn resume(&self) {
        send_signal(self.process.0.id(), "-CONT");
    }
}
