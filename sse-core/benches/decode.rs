//! Decoder throughput in bytes per second, on a typical stream and on one with long
//! multi-line events, fed in 16 KiB chunks (a typical socket read).
//!
//! `cargo bench -p sse-rs-core --bench decode`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sse_rs_core::decode::Decoder;
use sse_rs_core::{Event, EventType};

const TICK: EventType = EventType::from_static("tick");

fn stream_of(events: impl Iterator<Item = Event>) -> Vec<u8> {
    events
        .flat_map(|event| event.encode().into_bytes().to_vec())
        .collect()
}

fn decode(c: &mut Criterion) {
    let typical =
        stream_of((0..20_000_u64).map(|n| Event::default().id(n).event(TICK).data("x".repeat(64))));
    let multi = stream_of((0..2_000_u64).map(|n| {
        Event::default().id(n).data(
            (0..16)
                .map(|i| format!("line {i} {}", "z".repeat(50)))
                .collect::<Vec<_>>()
                .join("\r\n"),
        )
    }));

    let mut group = c.benchmark_group("decode");
    for (name, input) in [
        ("typical events (64-byte data)", &typical),
        ("16-line events, CRLF", &multi),
    ] {
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut decoder = Decoder::new();
                let mut events = 0_usize;
                for chunk in input.chunks(16 * 1024) {
                    events += decoder.decode(black_box(chunk)).map_or(0, Iterator::count);
                }
                events
            });
        });
    }
    group.finish();
}

// The macro defines an undocumented `pub fn`.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(benches, decode);
}
criterion_main!(group::benches);
