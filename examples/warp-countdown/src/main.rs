//! `cargo run -p warp-countdown -- --help`

#[tokio::main]
async fn main() -> std::io::Result<()> {
    countdown::run_cli("warp", warp_countdown::serve).await
}
