//! The heap an idle event stream holds, ours beside axum's built-in SSE: what the
//! resident-memory figure of `compare memory` measures with the noise of a whole
//! process (±0.5 KiB per stream between runs), counted here allocation by
//! allocation. Both streams are bodies as axum serves them, each polled once so
//! that it waits for its next event: ours a hub subscription, the built-in a tokio
//! broadcast receiver (`BroadcastStream`) mapped to axum's events, as
//! `examples/compare` serves them.

use std::sync::Arc;
use std::task::{Context, Waker};

use axum::response::IntoResponse;
use futures_util::StreamExt;
use http_body::Body;

/// Counts the bytes allocated and not yet freed (as asked for, before the
/// allocator's rounding).
#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

/// The heap's live bytes now.
fn live() -> isize {
    isize::try_from(dhat::HeapStats::get().curr_bytes).unwrap_or(isize::MAX)
}

const STREAMS: usize = 1000;

/// Bytes of heap per body that `make` returns, each polled once (idle: nothing is
/// published).
fn heap_per_idle_body<B>(mut make: impl FnMut() -> B) -> isize
where
    B: Body + Unpin,
{
    let mut bodies = Vec::with_capacity(STREAMS);
    let mut cx = Context::from_waker(Waker::noop());
    let before = live();
    for _ in 0..STREAMS {
        let mut body = make();
        assert!(std::pin::Pin::new(&mut body)
            .poll_frame(&mut cx)
            .is_pending());
        bodies.push(body);
    }
    let per_stream = (live() - before) / STREAMS as isize;
    drop(bodies);
    per_stream
}

/// The heap per idle stream of ours (a hub subscription) and of axum's built-in SSE
/// (a broadcast receiver mapped to axum's events), with or without keep-alive.
fn ours_and_builtin(keep_alive: bool) -> (isize, isize) {
    let hub = sse_rs::hub::Hub::new();
    // The topic's ring is made by its first subscriber: made before measuring, as the
    // built-in's channel is.
    let _first = hub.subscribe(&["tick"], &sse_rs::LastEventId::none());
    let ours = heap_per_idle_body(|| {
        let subscription = hub.subscribe(&["tick"], &sse_rs::LastEventId::none());
        let sse = sse_axum::Sse::new(subscription);
        let sse = if keep_alive {
            sse.keep_alive(sse_axum::KeepAlive::default())
        } else {
            sse
        };
        sse.into_response().into_body()
    });

    let (tx, _) = tokio::sync::broadcast::channel::<Arc<str>>(1024);
    let builtin = heap_per_idle_body(|| {
        let data = tokio_stream::wrappers::BroadcastStream::new(tx.subscribe())
            .filter_map(|item| std::future::ready(item.ok()));
        let events = data.map(|data| {
            Ok::<_, std::convert::Infallible>(
                axum::response::sse::Event::default()
                    .event("tick")
                    .data(&*data),
            )
        });
        let sse = axum::response::sse::Sse::new(events);
        if keep_alive {
            sse.keep_alive(axum::response::sse::KeepAlive::default())
                .into_response()
                .into_body()
        } else {
            sse.into_response().into_body()
        }
    });
    eprintln!(
        "heap per idle stream{}: ours {ours} B, axum's built-in {builtin} B",
        if keep_alive { " with keep-alive" } else { "" }
    );
    (ours, builtin)
}

/// What an idle hub stream holds on the heap, beside axum's built-in SSE: 144 bytes
/// each. Ours: the boxed body (56 bytes of `SseBody` around a one-topic subscription,
/// and axum's box around it), and the subscriber's waiting future, which holds the
/// ring's receiver (as `BroadcastStream`'s does). Was 280 before the body and the
/// subscription boxed what they rarely hold (issue 26); this fails if ours grows past
/// the built-in's.
///
/// With keep-alive, ours holds 296 bytes, the built-in 320 (its tokio `Sleep` inline
/// in its body's box). Ours adds the body's box (40 bytes: the keep-alive timer, one
/// pointer to the `KeepAlive`'s shared settings and the sleep, and two empty slots)
/// and the timer's sleep, boxed at the first poll (112 bytes). Was 392 while the box
/// held a copy of the keep-alive's settings and the rare parts one by one (136
/// bytes); this fails if ours grows past the built-in's.
#[tokio::test(flavor = "current_thread")]
async fn an_idle_hub_stream_holds_no_more_heap_than_axum_s_built_in() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let (ours, builtin) = ours_and_builtin(false);
    assert!(
        ours <= 144 && ours <= builtin,
        "ours holds {ours} B per idle stream (was 280), axum's built-in {builtin} B"
    );
    let (ours, builtin) = ours_and_builtin(true);
    assert!(
        ours <= builtin,
        "with keep-alive, ours holds {ours} B per idle stream, axum's built-in {builtin} B"
    );
}
