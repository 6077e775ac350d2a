//! `cargo run -p llm-stream -- --help`

use clap::Parser;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = llm_stream::Args::parse();
    let mut config = args.config()?;
    if let Some(url) = &args.redis {
        let hub = sse_redis::RedisHub::connect(url)
            .await
            .map_err(std::io::Error::other)?;
        config = config.store(llm_stream::Store::Redis(sse_redis::RedisAnswers::new(hub)));
    }
    let listener = tokio::net::TcpListener::bind(args.addr()).await?;
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let addr = listener.local_addr()?;
    println!(
        "llm-stream on {scheme}://{addr}/ (chat page), {scheme}://{addr}/v1/chat/completions \
         (OpenAI base URL {scheme}://{addr}/v1), /v1/answers/{{id}}, /mcp, /metrics; a token \
         every {} ms, keep-alive `{}` every {} ms, resumable answers kept {}. Ctrl-C to stop",
        args.token_ms,
        args.keep_alive_style,
        args.keep_alive_ms,
        if args.redis.is_some() {
            "in Redis"
        } else {
            "in this process"
        }
    );
    llm_stream::serve(listener, config, sse_axum::shutdown::os_signal()).await?;
    println!("stopped");
    Ok(())
}
