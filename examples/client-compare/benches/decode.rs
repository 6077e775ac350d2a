//! Decode throughput and per-event cost of three SSE parsers on the same bytes in the
//! same chunks: the wire core's `Decoder` (`sse_rs_core::decode`, what
//! `sse-rs-client` runs on), `eventsource-stream` (under `reqwest-eventsource`), and
//! `sse-stream`.
//!
//! ```text
//! cargo bench -p client-compare --bench decode
//! ```
//!
//! Inputs (each parser must find the same number of events, checked before
//! measuring):
//! - `small`: 10 000 events of ~60 bytes (`id`, `event`, a JSON `data` line), in
//!   16 KiB chunks (a socket read);
//! - `large`: 16 events with 64 KiB of data each, in 16 KiB chunks;
//! - `long-line`: one event whose 1 MiB data line arrives in 1 KiB chunks.
//!
//! The streams (`eventsource-stream`, `sse-stream`) are polled with a no-op waker over
//! an in-memory stream of chunks that is always ready: no runtime, no I/O, only the
//! parsing is measured.

// A benchmark: a failed expectation aborts it. `criterion_group!` makes an
// undocumented public function.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::convert::Infallible;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use eventsource_stream::Eventsource;
use futures_util::stream::{self, Stream};
use http_body::Frame;
use http_body_util::StreamBody;
use sse_rs_core::decode::{Decoded, Decoder};

/// One input: its chunks and how many events it holds.
struct Input {
    name: &'static str,
    chunks: Vec<Bytes>,
    events: usize,
}

impl Input {
    fn new(name: &'static str, stream: &[u8], chunk: usize, events: usize) -> Self {
        let stream = Bytes::copy_from_slice(stream);
        let chunks = (0..stream.len())
            .step_by(chunk)
            .map(|start| stream.slice(start..(start + chunk).min(stream.len())))
            .collect();
        Self {
            name,
            chunks,
            events,
        }
    }

    fn bytes(&self) -> u64 {
        self.chunks.iter().map(|chunk| chunk.len() as u64).sum()
    }
}

fn inputs() -> Vec<Input> {
    let mut small = Vec::new();
    for i in 0..10_000 {
        small.extend_from_slice(
            format!("id: {i}\nevent: tick\ndata: {{\"n\":{i},\"text\":\"hello world\"}}\n\n")
                .as_bytes(),
        );
    }
    let mut large = Vec::new();
    let payload = "y".repeat(64 * 1024);
    for i in 0..16 {
        large.extend_from_slice(format!("id: {i}\ndata: {payload}\n\n").as_bytes());
    }
    let mut long = b"data: ".to_vec();
    long.extend_from_slice("z".repeat(1 << 20).as_bytes());
    long.extend_from_slice(b"\n\n");
    vec![
        Input::new("small", &small, 16 * 1024, 10_000),
        Input::new("large", &large, 16 * 1024, 16),
        Input::new("long-line", &long, 1024, 1),
    ]
}

/// Drains a stream that never returns `Pending` (an in-memory one), counting its `Ok`
/// items.
fn drain<S, T, E>(stream: S) -> usize
where
    S: Stream<Item = Result<T, E>>,
    E: std::fmt::Debug,
{
    let mut stream = pin!(stream);
    let mut context = Context::from_waker(Waker::noop());
    let mut count = 0;
    loop {
        match stream.as_mut().poll_next(&mut context) {
            Poll::Ready(Some(Ok(item))) => {
                black_box(item);
                count += 1;
            }
            Poll::Ready(Some(Err(error))) => panic!("decode error: {error:?}"),
            Poll::Ready(None) => return count,
            Poll::Pending => panic!("an in-memory stream is never pending"),
        }
    }
}

fn sse_rs_core(chunks: &[Bytes]) -> usize {
    let mut decoder = Decoder::new();
    let mut count = 0;
    for chunk in chunks {
        for item in decoder.decode(chunk).unwrap() {
            if let Decoded::Event(event) = item {
                black_box(event);
                count += 1;
            }
        }
    }
    count
}

fn eventsource_stream(chunks: &[Bytes]) -> usize {
    drain(stream::iter(chunks.iter().cloned().map(Ok::<_, Infallible>)).eventsource())
}

fn sse_stream(chunks: &[Bytes]) -> usize {
    let frames = stream::iter(
        chunks
            .iter()
            .cloned()
            .map(|chunk| Ok::<_, Infallible>(Frame::data(chunk))),
    );
    drain(sse_stream::SseStream::new(StreamBody::new(frames)))
}

type Parser = fn(&[Bytes]) -> usize;

const PARSERS: [(&str, Parser); 3] = [
    ("sse-rs-core", sse_rs_core),
    ("eventsource-stream", eventsource_stream),
    ("sse-stream", sse_stream),
];

fn decode(c: &mut Criterion) {
    for input in inputs() {
        for (name, parse) in PARSERS {
            assert_eq!(
                parse(&input.chunks),
                input.events,
                "{name} on {}",
                input.name
            );
        }
        let mut group = c.benchmark_group(format!("decode/{}", input.name));
        group.throughput(Throughput::Bytes(input.bytes()));
        for (name, parse) in PARSERS {
            group.bench_with_input(
                BenchmarkId::from_parameter(name),
                &input.chunks,
                |b, chunks| {
                    b.iter(|| parse(black_box(chunks)));
                },
            );
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    // Short by default; criterion's command-line options override it.
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = decode
}
criterion_main!(benches);
