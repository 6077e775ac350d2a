//! `SseBody` framing: 10 000 ready events (64-byte data) pulled through the body,
//! coalesced (the default, up to 64 KiB per frame) versus one frame per event (what
//! axum's and warp's built-in SSE bodies yield), side by side in one run.
//!
//! `body/write 10000 events`: the same body driven to its end for 10 000 events of
//! 64 B, 1 KiB and 16 KiB data, written three ways side by side: `Event`s (their
//! `Data` shared), a type of one's own writing `id`, `event: tick` and `shared_data`
//! through the `EventWriter`, and events encoded beforehand (`EncodedEvent`).
//!
//! `cargo bench -p sse-rs-core --bench body`

use std::convert::Infallible;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures_util::{stream, FutureExt, StreamExt};
use sse_rs_core::{
    BoxError, Data, EncodedEvent, Event, EventType, EventWriter, SseBody, WriteEvent,
};

const EVENTS: usize = 10_000;

const TICK: EventType = EventType::from_static("tick");

/// A tick of shared data, written field by field with no `Event` in between.
#[derive(Clone)]
struct Tick {
    n: u64,
    data: Data,
}

impl WriteEvent for Tick {
    fn write_event(self, out: &mut EventWriter<'_>) {
        out.event().event(&TICK).id(self.n).shared_data(&self.data);
    }
}

/// Polls a body over a stream that is always ready to its end; its frames and bytes.
fn drain<T: WriteEvent>(items: impl Iterator<Item = T>) -> (usize, usize) {
    let source = stream::iter(items.map(Ok::<_, BoxError>));
    let mut body = SseBody::new(source);
    let (mut frames, mut bytes) = (0_usize, 0_usize);
    while let Some(Some(Ok(frame))) = body.next().now_or_never() {
        frames += 1;
        bytes += frame.len();
    }
    (frames, bytes)
}

fn write(c: &mut Criterion) {
    let mut group = c.benchmark_group("body/write 10000 events");
    group.throughput(Throughput::Elements(EVENTS as u64));
    for (size, len) in [("64 B", 64), ("1 KiB", 1024), ("16 KiB", 16 * 1024)] {
        let data = Data::from("x".repeat(len));
        let ticks: Vec<Tick> = (0..EVENTS as u64)
            .map(|n| Tick {
                n,
                data: data.clone(),
            })
            .collect();
        let events: Vec<Event> = ticks
            .iter()
            .map(|tick| {
                Event::default()
                    .event(TICK)
                    .id(tick.n)
                    .data(tick.data.clone())
            })
            .collect();
        let encoded: Vec<EncodedEvent> = events.iter().map(Event::encode).collect();
        // The three ways write the same bytes.
        let wire = drain(events.iter().cloned()).1;
        assert_eq!(drain(ticks.iter().cloned()).1, wire);
        assert_eq!(drain(encoded.iter().cloned()).1, wire);

        group.bench_function(format!("{size}/Event"), |b| {
            b.iter(|| black_box(drain(events.iter().cloned())));
        });
        group.bench_function(format!("{size}/WriteEvent (shared_data)"), |b| {
            b.iter(|| black_box(drain(ticks.iter().cloned())));
        });
        group.bench_function(format!("{size}/EncodedEvent"), |b| {
            b.iter(|| black_box(drain(encoded.iter().cloned())));
        });
    }
    group.finish();
}

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
    criterion_group!(benches, body, write);
}
criterion_main!(group::benches);
