//! `compare memory`: the server's resident memory per open, idle event stream, at
//! each number of connections, every variant in alternation.

use std::path::PathBuf;
use std::time::Duration;

use compare::Variant;

use crate::cli::args::Only;
use crate::cli::output::{progress, write_json};
use crate::cli::process::{client_runtime, pin_client, rss, start};
use crate::cli::tables;

/// The arguments of `compare memory`.
#[derive(clap::Args)]
pub(crate) struct MemoryArgs {
    /// Where to write the JSON results.
    #[arg(long, default_value = "target/compare-memory.json")]
    json: PathBuf,
    /// Numbers of idle connections to measure at.
    #[arg(long, value_delimiter = ',', default_value = "1000,5000")]
    connections: Vec<usize>,
    #[command(flatten)]
    only: Only,
}

/// Measures, prints the table and writes JSON.
pub(crate) fn run(args: MemoryArgs) -> std::io::Result<()> {
    let variants = args.only.or_all();
    let table = memory(&variants, &args.connections)?;
    print!("{}", tables::memory_table(&table));
    write_json(&args.json, &tables::memory_json(&table))
}

/// Idle memory per stream: (connections, variant, bytes per connection).
pub(crate) fn memory(
    variants: &[Variant],
    connections: &[usize],
) -> std::io::Result<Vec<(usize, Variant, f64)>> {
    let pinned = pin_client();
    let runtime = client_runtime()?;
    let mut table = Vec::new();
    let total = connections.len() * variants.len();
    let mut done = 0;
    for &count in connections {
        for &variant in variants {
            let (server, addr) = start(variant, pinned)?;
            let pid = server.0.id();
            let per_connection = runtime.block_on(async {
                // Warm up the server's allocator and accept path with one stream.
                let before = {
                    let _one = compare::fanout::open_idle(addr, 1).await?;
                    std::thread::sleep(Duration::from_millis(200));
                    rss(pid)?
                };
                let streams = compare::fanout::open_idle(addr, count).await?;
                std::thread::sleep(Duration::from_millis(500));
                let after = rss(pid)?;
                drop(streams);
                Ok::<_, std::io::Error>(after.saturating_sub(before) as f64 / count as f64)
            })?;
            drop(server);
            done += 1;
            progress(
                done,
                total,
                &format!(
                    "{count:>6} idle streams: {:<18} {:>8.1} KiB per connection",
                    variant.name(),
                    per_connection / 1024.0
                ),
            );
            table.push((count, variant, per_connection));
        }
    }
    Ok(table)
}
