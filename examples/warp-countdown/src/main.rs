//! `cargo run -p warp-countdown -- --help`

use clap::Parser;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = countdown::Args::parse();
    let listener = tokio::net::TcpListener::bind(args.addr()).await?;
    println!(
        "warp countdown on http://{}/ (events at /events), Ctrl-C to stop",
        listener.local_addr()?
    );
    warp_countdown::serve(listener, args.countdown(), countdown::ctrl_c()).await?;
    println!("stopped");
    Ok(())
}
