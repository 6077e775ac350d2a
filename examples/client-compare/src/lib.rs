//! One scenario suite, run against four Rust Server-Sent Events clients side by side:
//! `sse-rs-client` (this workspace's), `reqwest-eventsource`, LaunchDarkly's
//! `eventsource-client`, and `eventsource-stream` over reqwest.
//!
//! Each scenario is a scripted HTTP/1.1 server on 127.0.0.1 that writes exact bytes
//! (see [`server`]); each client gets a fresh server and is driven by a small adapter
//! (see [`clients`]) to one common list of [`Observed`](clients::Observed) items, so
//! that one check per scenario judges every client (see [`scenarios`]). Every run is
//! bounded ([`scenarios::RUN_LIMIT`]); a hang is a fail.
//!
//! ```no_run
//! # async fn run() {
//! let table = client_compare::run_suite(&client_compare::clients::all(), &client_compare::scenarios::all()).await;
//! println!("{}", table.markdown());
//! # }
//! ```
//!
//! `cargo run -p client-compare` prints the table; `benches/decode.rs` compares the
//! decoders' throughput on the same bytes.

pub mod clients;
pub mod scenarios;
pub mod server;
mod table;

pub use table::{run_suite, Column, Row, Table};
