//! Encoding one event: sse-rs-core side by side with axum's built-in `Event`, same run.
//!
//! `cargo bench -p sse-rs-core --bench encode`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use sse_rs_core::{Event, EventType};

const TICK: EventType = EventType::from_static("tick");

fn typical(c: &mut Criterion) {
    let data = "x".repeat(64);
    let mut group = c.benchmark_group("encode/typical (id, type, 64-byte data)");
    group.bench_function("sse-rs-core", |b| {
        let mut id = 0_u64;
        b.iter(|| {
            id += 1;
            Event::default()
                .id(black_box(id))
                .event(TICK)
                .data(black_box(data.as_str()))
                .encode()
        });
    });
    group.bench_function("axum", |b| {
        let mut id = 0_u64;
        b.iter(|| {
            id += 1;
            let event = axum::response::sse::Event::default()
                .id(itoa::Buffer::new().format(black_box(id)))
                .event("tick")
                .data(black_box(data.as_str()));
            // What axum's `Sse` does with each event: turn it into bytes.
            axum_bytes(event)
        });
    });
    group.finish();
}

fn multi_line(c: &mut Criterion) {
    let data = (0..8)
        .map(|i| format!("line {i} of a multi-line event {}", "y".repeat(24)))
        .collect::<Vec<_>>()
        .join("\n");
    let mut group = c.benchmark_group("encode/multi-line (8 lines, 400 bytes)");
    group.bench_function("sse-rs-core", |b| {
        b.iter(|| {
            Event::default()
                .event(TICK)
                .data(black_box(data.as_str()))
                .encode()
        });
    });
    group.bench_function("axum", |b| {
        b.iter(|| {
            axum_bytes(
                axum::response::sse::Event::default()
                    .event("tick")
                    .data(black_box(data.as_str())),
            )
        });
    });
    group.finish();
}

/// axum encodes while the event is built (each builder call appends to one buffer);
/// its last step, `finalize` (append `\n`, freeze), is private. So axum is measured
/// up to the built event, a little less work than the full encoding measured for
/// sse-rs-core: the comparison favours axum.
fn axum_bytes(event: axum::response::sse::Event) -> axum::response::sse::Event {
    event
}

// The macro defines an undocumented `pub fn`.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(benches, typical, multi_line);
}
criterion_main!(group::benches);
