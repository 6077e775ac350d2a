//! `compare live` (also what `compare` alone runs): the countdown demo on every
//! framework at once, with the side-by-side page (`compare::live`).

use std::time::Duration;

/// The page's port when none is given.
const PORT: u16 = 8083;
/// Milliseconds between two events when not given.
const INTERVAL_MS: u64 = 1000;
/// Where the countdowns start when not given.
const COUNT: u64 = 100;

/// The arguments of `compare live`.
#[derive(clap::Args, Debug, PartialEq, Eq)]
pub(crate) struct LiveArgs {
    /// Port of the side-by-side page; the four servers take the next four ports.
    #[arg(long, default_value_t = PORT)]
    port: u16,
    /// Milliseconds between two events.
    #[arg(long, default_value_t = INTERVAL_MS)]
    interval_ms: u64,
    /// The number the countdowns start at.
    #[arg(long, default_value_t = COUNT)]
    count: u64,
}

/// What `compare` without a subcommand runs: `live` with every default.
impl Default for LiveArgs {
    fn default() -> Self {
        Self {
            port: PORT,
            interval_ms: INTERVAL_MS,
            count: COUNT,
        }
    }
}

/// Serves the page and the four countdown servers until stopped.
pub(crate) fn run(args: LiveArgs) -> std::io::Result<()> {
    compare::live::run(
        args.port,
        Duration::from_millis(args.interval_ms),
        args.count,
        std::env::current_exe()?,
    )
}
