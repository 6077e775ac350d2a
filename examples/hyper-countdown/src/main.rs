//! `cargo run -p hyper-countdown -- --help`

#[tokio::main]
async fn main() -> std::io::Result<()> {
    countdown::run_cli("hyper", hyper_countdown::serve).await
}
