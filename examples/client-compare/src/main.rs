//! Runs the scenario suite against every client and prints the Markdown table.
//!
//! ```text
//! cargo run -p client-compare [-- [--client NAME]... [--scenario TEXT]...]
//! ```
//!
//! `--client` keeps the clients whose name contains NAME, `--scenario` the scenarios
//! whose name contains TEXT (both repeatable; default all).

use std::process::ExitCode;

use client_compare::{clients, run_suite, scenarios};

#[tokio::main]
async fn main() -> ExitCode {
    let mut client_filters = Vec::new();
    let mut scenario_filters = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let list = match arg.as_str() {
            "--client" => &mut client_filters,
            "--scenario" => &mut scenario_filters,
            "-h" | "--help" => {
                println!("usage: client-compare [--client NAME]... [--scenario TEXT]...");
                return ExitCode::SUCCESS;
            }
            _ => {
                eprintln!("unknown argument {arg:?} (see --help)");
                return ExitCode::from(2);
            }
        };
        match args.next() {
            Some(value) => list.push(value),
            None => {
                eprintln!("{arg} needs a value");
                return ExitCode::from(2);
            }
        }
    }
    let keep = |filters: &[String], name: &str| {
        filters.is_empty() || filters.iter().any(|filter| name.contains(filter.as_str()))
    };
    let clients: Vec<_> = clients::all()
        .into_iter()
        .filter(|client| keep(&client_filters, client.name()))
        .collect();
    let scenarios: Vec<_> = scenarios::all()
        .into_iter()
        .filter(|scenario| keep(&scenario_filters, scenario.name))
        .collect();
    let table = run_suite(&clients, &scenarios).await;
    println!("{}", table.markdown());
    println!("Versions:\n\n{}", table.versions());
    println!("Set up as:\n\n{}", table.configurations());
    println!("What \"pass\" means:\n\n{}", table.legend());
    ExitCode::SUCCESS
}
