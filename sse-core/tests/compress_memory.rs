//! Figures for the docs, printed, not asserted (`--ignored --nocapture`, alone: it
//! reads the process's resident memory): the memory an idle compressed stream holds,
//! per coding (each measured in a process of its own), and the bytes on the wire for an OpenAI-style token stream with one
//! frame (one flush) per event.
//!
//! ```text
//! cargo test -p sse-rs-core --all-features --release --test compress_memory -- --ignored --nocapture
//! ```

#![cfg(all(
    feature = "gzip",
    feature = "brotli",
    feature = "zstd",
    feature = "tokio"
))]
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::convert::Infallible;

use futures_util::stream;
use http_body_util::BodyExt;
use sse_rs_core::compress::{Coding, Compression};
use sse_rs_core::{Event, SseBody};
use tokio::sync::mpsc;

const STREAMS: usize = 500;

fn token(n: u32) -> Event {
    Event::default().data(format!(
        r#"{{"id":"chatcmpl-9x8Kq2","object":"chat.completion.chunk","created":1733490000,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_7f6be3efb0","choices":[{{"index":0,"delta":{{"content":" tok{}"}},"logprobs":null,"finish_reason":null}}]}}"#,
        n % 97
    ))
}

/// Resident memory of this process, in bytes.
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "prints figures; run alone with --ignored --nocapture"]
async fn memory_per_idle_stream_and_ratio() {
    let configs = [
        ("gzip (default)", Coding::Gzip, Compression::new()),
        (
            "gzip window 2^15",
            Coding::Gzip,
            Compression::new().gzip_window_bits(15),
        ),
        (
            "gzip window 2^10",
            Coding::Gzip,
            Compression::new().gzip_window_bits(10),
        ),
        (
            "brotli q2",
            Coding::Brotli,
            Compression::new().brotli_quality(2),
        ),
        ("brotli (default)", Coding::Brotli, Compression::new()),
        (
            "brotli q4",
            Coding::Brotli,
            Compression::new().brotli_quality(4),
        ),
        (
            "brotli q5 window 2^18",
            Coding::Brotli,
            Compression::new().brotli_quality(5).brotli_window_bits(18),
        ),
        (
            "zstd window 2^14",
            Coding::Zstd,
            Compression::new().zstd_window_log(14),
        ),
        ("zstd (default)", Coding::Zstd, Compression::new()),
        (
            "zstd window 2^18",
            Coding::Zstd,
            Compression::new().zstd_window_log(18),
        ),
    ];
    // One process per configuration: freed memory stays resident and would be
    // counted as reused by the next.
    let Ok(only) = std::env::var("SSE_COMPRESS_MEMORY_CONFIG") else {
        for i in 0..configs.len() {
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "memory_per_idle_stream_and_ratio",
                    "--ignored",
                    "--nocapture",
                ])
                .env("SSE_COMPRESS_MEMORY_CONFIG", i.to_string())
                .output()
                .unwrap();
            let out = String::from_utf8_lossy(&out.stdout);
            for line in out.lines().filter(|line| line.contains("KiB")) {
                println!("{line}");
            }
        }
        return;
    };
    let only: usize = only.parse().unwrap();
    for (name, coding, config) in configs.into_iter().skip(only).take(1) {
        // Memory: STREAMS bodies, each after its first event, then idle.
        let before = rss();
        let mut bodies = Vec::with_capacity(STREAMS);
        let mut senders = Vec::with_capacity(STREAMS);
        for _ in 0..STREAMS {
            let (tx, mut rx) = mpsc::unbounded_channel::<Result<Event, Infallible>>();
            let mut body = Box::pin(
                SseBody::new(stream::poll_fn(move |cx| rx.poll_recv(cx)))
                    .compress_with(coding, config.clone()),
            );
            tx.send(Ok(token(0))).unwrap();
            body.frame().await.unwrap().unwrap();
            bodies.push(body);
            senders.push(tx);
        }
        let per_stream = (rss().saturating_sub(before)) / STREAMS;
        drop(bodies);
        drop(senders);

        // Ratio: 1000 token events, one frame each.
        let (tx, mut rx) = mpsc::unbounded_channel::<Result<Event, Infallible>>();
        let mut body = Box::pin(
            SseBody::new(stream::poll_fn(move |cx| rx.poll_recv(cx)))
                .compress_with(coding, config.clone()),
        );
        let (mut plain, mut wire) = (0, 0);
        for n in 0..1000 {
            let event = token(n);
            plain += event.encode().as_bytes().len();
            tx.send(Ok(event)).unwrap();
            wire += body
                .frame()
                .await
                .unwrap()
                .unwrap()
                .into_data()
                .unwrap()
                .len();
        }
        println!(
            "{name:24} {:>5} KiB per idle stream   token stream: {plain} -> {wire} bytes, {:.1}x",
            per_stream / 1024,
            plain as f64 / wire as f64
        );
    }
}
