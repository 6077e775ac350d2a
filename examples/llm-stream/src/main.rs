//! `cargo run -p llm-stream -- --help`

use clap::Parser;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = llm_stream::Args::parse();
    let config = args.config()?;
    let listener = tokio::net::TcpListener::bind(args.addr()).await?;
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let addr = listener.local_addr()?;
    println!(
        "llm-stream on {scheme}://{addr}/ (chat page), {scheme}://{addr}/v1/chat/completions \
         (OpenAI base URL {scheme}://{addr}/v1), /mcp, /metrics; a token every {} ms, \
         keep-alive `{}` every {} ms. Ctrl-C to stop",
        args.token_ms, args.keep_alive_style, args.keep_alive_ms
    );
    llm_stream::serve(listener, config, sse_axum::shutdown::os_signal()).await?;
    println!("stopped");
    Ok(())
}
