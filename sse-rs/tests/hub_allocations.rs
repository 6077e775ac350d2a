//! The hub's read path allocates nothing per event per subscriber: reading events
//! already on the ring costs no future and no allocation. One test in its own binary,
//! with an allocator that counts allocations (dhat's, in testing mode).

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use futures_core::Stream;
use sse_rs::hub::Hub;
use sse_rs::{Event, LastEventId};

#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

fn allocations() -> u64 {
    dhat::HeapStats::get().total_blocks
}

#[test]
fn reading_the_ring_allocates_nothing_per_event_per_subscriber() {
    const SUBSCRIBERS: u64 = 50;
    const EVENTS: u64 = 400;
    let _profiler = dhat::Profiler::builder().testing().build();
    let hub = Hub::builder().queue_capacity(1024).replay_count(0).build();
    let mut subscriptions: Vec<_> = (0..SUBSCRIBERS)
        .map(|_| hub.subscribe(&["t"], &LastEventId::none()))
        .collect();
    let mut cx = Context::from_waker(Waker::noop());
    let mut read = 0_u64;
    let mut poll_all = |subscriptions: &mut Vec<_>, read: &mut u64| {
        for subscription in subscriptions.iter_mut() {
            let subscription: &mut sse_rs::hub::Subscription = subscription;
            while let Poll::Ready(Some(Ok(_event))) =
                Pin::new(&mut *subscription).poll_next(&mut cx)
            {
                *read += 1;
            }
        }
    };

    // Every subscriber waits once on the empty ring: its waiting future's box is made.
    poll_all(&mut subscriptions, &mut read);
    for n in 0..EVENTS {
        hub.publish("t", Event::default().data(n.to_string()));
    }
    let before = allocations();
    poll_all(&mut subscriptions, &mut read);
    let during = allocations() - before;
    assert_eq!(read, SUBSCRIBERS * EVENTS);
    // Allowed: one per event (the first clone of an event's bytes may make them
    // shared), and none per delivery. A future or box per event per subscriber would
    // be 20 000.
    assert!(
        during <= EVENTS,
        "{during} allocations for {read} deliveries of {EVENTS} events"
    );
}
