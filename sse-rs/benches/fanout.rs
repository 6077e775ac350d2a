//! Fan-out: 100 events delivered to 1000 subscribers, through the `Hub` (encode once,
//! share the bytes) and through the naive way (`tokio::sync::broadcast` of `Event`s,
//! encoded by every subscriber), side by side in one run. Throughput is in deliveries.
//!
//! `cargo bench -p sse-rs-core --bench fanout`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures_util::{FutureExt, StreamExt};
use sse_rs::hub::Hub;
use sse_rs::{Event, EventType, LastEventId};

const SUBSCRIBERS: usize = 1000;
const EVENTS: u64 = 100;
const TICK: EventType = EventType::from_static("tick");

fn event(n: u64, size: usize) -> Event {
    Event::default().event(TICK).data(format!("{n:0size$}"))
}

fn fanout(c: &mut Criterion) {
    for size in [64, 1024] {
        fanout_of(c, size);
    }
}

fn fanout_of(c: &mut Criterion, size: usize) {
    let mut group = c.benchmark_group(format!(
        "fanout/1000 subscribers x 100 events of {size} bytes"
    ));
    group.throughput(Throughput::Elements(SUBSCRIBERS as u64 * EVENTS));

    group.bench_function("sse-rs-core Hub", |b| {
        let hub = Hub::builder().queue_capacity(EVENTS as usize).build();
        let mut subscriptions: Vec<_> = (0..SUBSCRIBERS)
            .map(|_| hub.subscribe(&["t"], &LastEventId::none()))
            .collect();
        b.iter(|| {
            for n in 0..EVENTS {
                hub.publish("t", event(n, size));
            }
            let mut bytes = 0;
            for subscription in &mut subscriptions {
                while let Some(Some(Ok(event))) = subscription.next().now_or_never() {
                    bytes += event.len();
                }
            }
            black_box(bytes)
        });
    });

    group.bench_function("tokio broadcast + encode per subscriber", |b| {
        let (tx, _) = tokio::sync::broadcast::channel::<Event>(EVENTS as usize);
        let mut receivers: Vec<_> = (0..SUBSCRIBERS).map(|_| tx.subscribe()).collect();
        let mut id = 0_u64;
        b.iter(|| {
            for n in 0..EVENTS {
                id += 1;
                let _ = tx.send(event(n, size).id(id));
            }
            let mut bytes = 0;
            for receiver in &mut receivers {
                while let Ok(event) = receiver.try_recv() {
                    bytes += event.encode().len();
                }
            }
            black_box(bytes)
        });
    });
    group.finish();
}

// The macro defines an undocumented `pub fn`.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(benches, fanout);
}
criterion_main!(group::benches);
