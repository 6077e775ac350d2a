//! The Go reference of the race: `go/burst`, a plain net/http server (the standard
//! library only, `GOMAXPROCS` 1), built at run time with the `go` on the PATH into
//! the target directory, and started pinned like the other servers.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::cli::process::{start_program, Server};

/// The Go server's source: a module with no requirements.
const SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/go/burst");

/// The Go server, built once per run, or why there is none (no `go`, or it did not
/// build).
pub(crate) fn program() -> Result<&'static Path, &'static str> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT.get_or_init(build).as_deref().map_err(String::as_str)
}

/// Starts the Go server on a free port, pinned to core 0 when `pinned`.
pub(crate) fn start(pinned: bool) -> io::Result<(Server, SocketAddr)> {
    let exe = program().map_err(io::Error::other)?;
    start_program("Go net/http", exe, &[], pinned)
}

/// The `go` on the PATH: `go1.19.8 linux/amd64`, as `go version` says it.
pub(crate) fn version() -> Option<String> {
    let out = Command::new("go").arg("version").output().ok()?;
    let version = String::from_utf8(out.stdout).ok()?;
    Some(version.trim().trim_start_matches("go version ").to_owned())
}

/// `go build`s the server into `<target>/compare-go/burst`, with everything Go writes
/// (build cache, module cache, settings) inside `<target>/compare-go` and nothing
/// fetched (the module has no requirements).
fn build() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    // This program is `<target>/<profile>/compare`.
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("no target directory")?
        .join("compare-go");
    let out = dir.join("burst");
    let built = Command::new("go")
        .args(["build", "-o"])
        .arg(&out)
        .arg(".")
        .current_dir(SOURCE)
        .env("GOCACHE", dir.join("cache"))
        .env("GOPATH", dir.join("path"))
        .env("GOMODCACHE", dir.join("path/mod"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        // No user settings, no VCS stamp (no `git` run), nothing downloaded.
        .env("GOENV", "off")
        .env("GOFLAGS", "-buildvcs=false")
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .stdout(Stdio::null())
        .output()
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => {
                "`go` not found (install Go, e.g. Debian's golang-go, to race it)".to_owned()
            }
            _ => format!("`go` did not run: {e}"),
        })?;
    if !built.status.success() {
        let why = String::from_utf8_lossy(&built.stderr);
        return Err(format!("`go build` failed: {}", why.trim()));
    }
    Ok(out)
}
