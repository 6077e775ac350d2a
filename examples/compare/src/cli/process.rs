//! The server processes the measurements start (`compare serve` and friends, each
//! pinned to core 0 when `taskset` is there), the client's own pinning and runtime,
//! and what is read about a process from `/proc`.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use compare::compress::Encoding;
use compare::Variant;

/// A server process, ended when dropped.
pub(crate) struct Server(pub(crate) Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether `taskset` is there to pin processes to cores.
fn has_taskset() -> bool {
    Command::new("taskset")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Starts `compare serve` for `variant` over plain HTTP.
pub(crate) fn start(variant: Variant, pinned: bool) -> std::io::Result<(Server, SocketAddr)> {
    start_variant(variant, None, pinned)
}

/// Starts `compare serve --compress` for `variant`: its `/burst` compressed with
/// `coding` (see `compare::compress::serve_race`); identity as [`start`].
pub(crate) fn start_compressed(
    variant: Variant,
    coding: Encoding,
    pinned: bool,
) -> std::io::Result<(Server, SocketAddr)> {
    if coding == Encoding::Identity {
        return start(variant, pinned);
    }
    let value = clap::ValueEnum::to_possible_value(&variant)
        .map(|v| v.get_name().to_owned())
        .unwrap_or_default();
    let args = ["serve", "--variant", &value, "--compress", coding.name()];
    start_with(variant.name(), &args, pinned)
}

/// Starts `compare serve` for `variant`, over HTTPS with `tls` (PEM certificate and
/// key files) if given.
pub(crate) fn start_variant(
    variant: Variant,
    tls: Option<(&str, &str)>,
    pinned: bool,
) -> std::io::Result<(Server, SocketAddr)> {
    let value = clap::ValueEnum::to_possible_value(&variant)
        .map(|v| v.get_name().to_owned())
        .unwrap_or_default();
    let mut args = vec!["serve", "--variant", &value];
    if let Some((cert, key)) = tls {
        args.extend(["--tls-cert", cert, "--tls-key", key]);
    }
    start_with(variant.name(), &args, pinned)
}

/// Starts `compare <args> --port <free port>` and waits until it accepts connections.
pub(crate) fn start_with(
    name: &str,
    args: &[&str],
    pinned: bool,
) -> std::io::Result<(Server, SocketAddr)> {
    start_program(name, &std::env::current_exe()?, args, pinned)
}

/// Starts `<exe> <args> --port <free port>` and waits until it accepts connections.
pub(crate) fn start_program(
    name: &str,
    exe: &Path,
    args: &[&str],
    pinned: bool,
) -> std::io::Result<(Server, SocketAddr)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut command = if pinned {
        let mut command = Command::new("taskset");
        command.args(["-c", "0"]).arg(exe);
        command
    } else {
        Command::new(exe)
    };
    let child = command
        .args(args)
        .args(["--port", &port.to_string()])
        .stdout(Stdio::null())
        .spawn()?;
    let server = Server(child);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    for _ in 0..200 {
        if std::net::TcpStream::connect(addr).is_ok() {
            return Ok((server, addr));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    Err(std::io::Error::other(format!("{name} did not start")))
}

/// Pins the client (this process) to core 1, where `taskset` is there, and says
/// whether it did: then every server goes on core 0.
pub(crate) fn pin_client() -> bool {
    let pinned = has_taskset();
    if pinned {
        // The client (this process) on core 1, every server on core 0.
        let _ = Command::new("taskset")
            .args(["-p", "-c", "1", &std::process::id().to_string()])
            .stdout(Stdio::null())
            .status();
    } else {
        eprintln!("taskset not found: server and client are not pinned to separate cores");
    }
    pinned
}

/// The client's runtime: one worker thread (the process is pinned to one core).
pub(crate) fn client_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
}

/// The resident memory of process `pid`, in bytes.
pub(crate) fn rss(pid: u32) -> std::io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .ok_or_else(|| std::io::Error::other("no VmRSS"))
}
