//! `cargo run -p actix-countdown -- --help`

use clap::Parser;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = countdown::Args::parse();
    let listener = tokio::net::TcpListener::bind(args.addr()).await?;
    println!(
        "actix countdown on http://{}/ (events at /events), Ctrl-C to stop",
        listener.local_addr()?
    );
    actix_countdown::serve(listener, args.countdown(), countdown::ctrl_c()).await?;
    println!("stopped");
    Ok(())
}
