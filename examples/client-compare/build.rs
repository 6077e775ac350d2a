//! Reads the versions of the compared crates from the workspace's `Cargo.lock`, so
//! that the table names the versions that were really built: for each crate, the
//! version this package's dependency tree links (a lock file may hold several
//! versions of one name).

use std::{env, fs, path::Path};

/// (variable, the package whose dependency it is, the dependency's name).
const CRATES: [(&str, &str, &str); 6] = [
    ("VERSION_SSE_RS_CLIENT", "client-compare", "sse-rs-client"),
    (
        "VERSION_REQWEST_EVENTSOURCE",
        "client-compare",
        "reqwest-eventsource",
    ),
    ("VERSION_REQWEST", "reqwest-eventsource", "reqwest"),
    (
        "VERSION_EVENTSOURCE_CLIENT",
        "client-compare",
        "eventsource-client",
    ),
    (
        "VERSION_LAUNCHDARKLY_SDK_TRANSPORT",
        "eventsource-client",
        "launchdarkly-sdk-transport",
    ),
    (
        "VERSION_EVENTSOURCE_STREAM",
        "client-compare",
        "eventsource-stream",
    ),
];

fn main() {
    let manifest_dir = env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let lock = Path::new(&manifest_dir).join("../../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    let text = fs::read_to_string(&lock).unwrap_or_default();
    let packages = packages(&text);
    for (variable, parent, name) in CRATES {
        let version = dependency_version(&packages, parent, name).unwrap_or("unknown");
        println!("cargo:rustc-env={variable}={version}");
    }
}

/// One `[[package]]` entry: name, version, dependencies (as written: `name` or
/// `name version` when the name is ambiguous).
struct Package<'a> {
    name: &'a str,
    version: &'a str,
    dependencies: Vec<&'a str>,
}

fn packages(lock: &str) -> Vec<Package<'_>> {
    lock.split("[[package]]")
        .filter_map(|entry| {
            let field = |key: &str| {
                entry.lines().find_map(|line| {
                    line.trim()
                        .strip_prefix(key)
                        .and_then(|rest| rest.strip_prefix(" = \""))
                        .map(|rest| rest.trim_end_matches('"'))
                })
            };
            let dependencies = entry
                .split_once("dependencies = [")
                .map(|(_, rest)| rest.split(']').next().unwrap_or(""))
                .unwrap_or("")
                .lines()
                .map(|line| line.trim().trim_end_matches(',').trim_matches('"'))
                .filter(|line| !line.is_empty())
                .collect();
            Some(Package {
                name: field("name")?,
                version: field("version")?,
                dependencies,
            })
        })
        .collect()
}

/// The version of `name` that `parent` depends on.
fn dependency_version<'a>(packages: &[Package<'a>], parent: &str, name: &str) -> Option<&'a str> {
    let parent = packages.iter().find(|package| package.name == parent)?;
    let written = parent
        .dependencies
        .iter()
        .find(|dependency| dependency.split(' ').next() == Some(name))?;
    match written.split(' ').nth(1) {
        Some(version) => Some(version),
        None => packages
            .iter()
            .find(|package| package.name == name)
            .map(|package| package.version),
    }
}
