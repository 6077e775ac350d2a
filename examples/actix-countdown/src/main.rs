//! `cargo run -p actix-countdown -- --help`

#[tokio::main]
async fn main() -> std::io::Result<()> {
    countdown::run_cli("actix", actix_countdown::serve).await
}
