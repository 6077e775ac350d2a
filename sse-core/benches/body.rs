//! `SseBody` framing: 10 000 ready events (64-byte data) pulled through the body,
//! coalesced (the default, up to 64 KiB per frame) versus one frame per event (what
//! axum's and warp's built-in SSE bodies yield), side by side in one run.
//!
//! `cargo bench -p sse-rs-core --bench body`

use std::convert::Infallible;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures_util::{stream, FutureExt, StreamExt};
use sse_rs_core::{EncodedEvent, Event, SseBody};

const EVENTS: usize = 10_000;

fn body(c: &mut Criterion) {
    let events: Vec<EncodedEvent> = (0..EVENTS as u64)
        .map(|n| Event::default().id(n).data("x".repeat(64)).encode())
        .collect();
    let mut group = c.benchmark_group("body/10000 ready events");
    group.throughput(Throughput::Elements(EVENTS as u64));
    for (name, max_frame) in [
        ("coalesced (64 KiB frames)", 64 * 1024),
        ("one frame per event", 1),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let source = stream::iter(events.iter().cloned().map(Ok::<_, Infallible>));
                let mut body = SseBody::new(source).max_frame_size(max_frame);
                let (mut frames, mut bytes) = (0_usize, 0_usize);
                while let Some(Some(Ok(frame))) = body.next().now_or_never() {
                    frames += 1;
                    bytes += frame.len();
                }
                black_box((frames, bytes))
            });
        });
    }
    group.finish();
}

// The macro defines an undocumented `pub fn`.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(benches, body);
}
criterion_main!(group::benches);
