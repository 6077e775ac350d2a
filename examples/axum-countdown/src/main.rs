//! `cargo run -p axum-countdown -- --help`

#[tokio::main]
async fn main() -> std::io::Result<()> {
    countdown::run_cli("axum", axum_countdown::serve).await
}
