//! Other programs the tests run (redis-server, nginx, chromedriver...): finding them,
//! a free port for them, waiting for them, signalling them and stopping them when a
//! test ends, whether it passed or not.

use std::time::{Duration, Instant};

/// Finds an external program the tests need (`chromium`, `nginx`, ...), looking in
/// `PATH` and the usual system directories.
///
/// When it is missing: under CI (`CI` set) the test fails with a clear message, since
/// CI installs it; elsewhere the test is skipped, and says so.
///
/// # Panics
///
/// Under CI, when the program is missing.
#[must_use]
pub fn require_program(name: &str, why: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .chain(["/usr/bin", "/usr/sbin", "/bin", "/sbin"].map(std::path::PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file());
    if found.is_none() {
        let message = format!(
            "`{name}` is not installed; it is needed {why} (.ci/run installs it with apt-get)"
        );
        if std::env::var_os("CI").is_some() {
            panic!("{message}");
        }
        eprintln!("SKIPPED: {message}");
    }
    found
}

/// A free TCP port on 127.0.0.1 (bound, then released).
///
/// # Panics
///
/// When no port can be bound.
#[must_use]
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

/// Waits until something accepts connections on `127.0.0.1:port`, up to `limit`.
pub async fn wait_for_port(port: u16, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// Polls `done` every 10 ms until it holds or `limit` passes; returns its last value.
pub async fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    done()
}

/// A child process that is killed when dropped.
#[derive(Debug)]
pub struct ChildGuard(pub std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A child process started as the leader of its own process group (see
/// [`ProcessGroup::spawn`]), whose whole group is killed when dropped: for a program
/// that starts others, as chromedriver starts Chromium, which would outlive it when a
/// test fails before it closes its session.
#[derive(Debug)]
pub struct ProcessGroup(std::process::Child);

impl ProcessGroup {
    /// Spawns `command` in a process group of its own.
    ///
    /// # Errors
    ///
    /// When it cannot be started.
    pub fn spawn(command: &mut std::process::Command) -> std::io::Result<Self> {
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(command, 0);
        command.spawn().map(Self)
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        #[cfg(unix)]
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends `signal` (`-STOP`, `-CONT`, `-TERM`) to process `pid`, which the test started
/// (or is).
///
/// # Panics
///
/// When `kill` fails.
pub fn send_signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill {signal} {pid}");
}
