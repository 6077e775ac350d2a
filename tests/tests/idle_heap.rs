//! The heap an idle event stream holds, ours beside each framework's built-in SSE:
//! what the resident-memory figure of `compare memory` measures with the noise of a
//! whole process (±0.5 KiB per stream between runs), counted here allocation by
//! allocation. Every stream is a body as its framework serves it, polled once so
//! that it waits for its next event: ours a hub subscription, the built-in a tokio
//! broadcast receiver (`BroadcastStream`) mapped to the framework's events, as
//! `examples/compare` serves them.

use std::pin::Pin;
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
fn heap_per_idle_body<B>(make: impl FnMut() -> B) -> isize
where
    B: Body + Unpin,
{
    heap_per_idle(make, |body, cx| Pin::new(body).poll_frame(cx).is_pending())
}

/// Bytes of heap per body that `make` returns, each polled once by `poll`, which
/// says whether the body is pending (it must be: nothing is published).
fn heap_per_idle<B>(
    mut make: impl FnMut() -> B,
    poll: impl Fn(&mut B, &mut Context<'_>) -> bool,
) -> isize {
    let mut bodies = Vec::with_capacity(STREAMS);
    let mut cx = Context::from_waker(Waker::noop());
    let before = live();
    for _ in 0..STREAMS {
        let mut body = make();
        assert!(poll(&mut body, &mut cx), "an idle body is not pending");
        bodies.push(body);
    }
    let per_stream = (live() - before) / STREAMS as isize;
    drop(bodies);
    per_stream
}

/// A built-in's event stream: a broadcast receiver's data, each mapped by `event`.
fn builtin_events<E>(
    tx: &tokio::sync::broadcast::Sender<Arc<str>>,
    event: impl Fn(Arc<str>) -> E,
) -> impl futures_util::Stream<Item = Result<E, std::convert::Infallible>> {
    tokio_stream::wrappers::BroadcastStream::new(tx.subscribe())
        .filter_map(|item| std::future::ready(item.ok()))
        .map(move |data| Ok(event(data)))
}

/// A hub with its topic's ring made (by a first subscriber, kept), as the built-ins'
/// channel is made before measuring.
fn hub() -> (sse_rs::hub::Hub, sse_rs::hub::Subscription) {
    let hub = sse_rs::hub::Hub::new();
    let first = hub.subscribe(&["tick"], &sse_rs::LastEventId::none());
    (hub, first)
}

fn subscribe(hub: &sse_rs::hub::Hub) -> sse_rs::hub::Subscription {
    hub.subscribe(&["tick"], &sse_rs::LastEventId::none())
}

/// The heap per idle stream of ours (a hub subscription) and of axum's built-in SSE
/// (a broadcast receiver mapped to axum's events), with or without keep-alive.
fn ours_and_builtin(keep_alive: bool) -> (isize, isize) {
    let (hub, _first) = hub();
    let ours = heap_per_idle_body(|| {
        let sse = sse_axum::Sse::new(subscribe(&hub));
        let sse = if keep_alive {
            sse.keep_alive(sse_axum::KeepAlive::default())
        } else {
            sse
        };
        sse.into_response().into_body()
    });

    let (tx, _) = tokio::sync::broadcast::channel::<Arc<str>>(1024);
    let builtin = heap_per_idle_body(|| {
        let sse = axum::response::sse::Sse::new(builtin_events(&tx, |data| {
            axum::response::sse::Event::default()
                .event("tick")
                .data(&*data)
        }));
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

/// What an idle hub stream holds on the heap, beside each framework's built-in SSE
/// (one test: dhat counts the whole process, so nothing else may run meanwhile).
///
/// With axum, 144 bytes each without keep-alive. Ours: the boxed body (56 bytes of
/// `SseBody` around a one-topic subscription, and axum's box around it), and the
/// subscriber's waiting future, which holds the ring's receiver (as
/// `BroadcastStream`'s does). Was 280 before the body and the subscription boxed what
/// they rarely hold (issue 26). With keep-alive: 296 bytes against axum's 320 (was
/// 392). With warp 144 against 168, with actix-web 156 against actix-web-lab's 200.
/// This fails if ours grows past a built-in's.
#[tokio::test(flavor = "current_thread")]
async fn an_idle_hub_stream_holds_no_more_heap_than_a_built_in() {
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
    warp();
    actix_web();
}

/// With warp: ours through `sse_warp`, the built-in `warp::sse::reply`.
fn warp() {
    use warp::Reply;
    let (hub, _first) = hub();
    let ours = heap_per_idle_body(|| {
        sse_warp::Sse::new(subscribe(&hub))
            .into_response()
            .into_body()
    });
    let (tx, _) = tokio::sync::broadcast::channel::<Arc<str>>(1024);
    let builtin = heap_per_idle_body(|| {
        warp::sse::reply(builtin_events(&tx, |data| {
            warp::sse::Event::default().event("tick").data(&*data)
        }))
        .into_response()
        .into_body()
    });
    eprintln!("heap per idle stream: ours {ours} B, warp's built-in {builtin} B");
    assert!(
        ours <= builtin,
        "ours holds {ours} B per idle stream, warp's built-in {builtin} B"
    );
}

/// With actix-web: ours through `sse_actix`, the built-in actix-web-lab's `Sse`,
/// each response's body boxed as actix-web boxes it to serve it.
fn actix_web() {
    use actix_web::body::MessageBody;
    use actix_web::Responder;
    let request = actix_web::test::TestRequest::default().to_http_request();
    let poll = |body: &mut actix_web::body::BoxBody, cx: &mut Context<'_>| {
        Pin::new(body).poll_next(cx).is_pending()
    };
    let (hub, _first) = hub();
    let ours = heap_per_idle(
        || {
            sse_actix::Sse::new(subscribe(&hub))
                .respond_to(&request)
                .map_into_boxed_body()
                .into_body()
        },
        poll,
    );
    let (tx, _) = tokio::sync::broadcast::channel::<Arc<str>>(1024);
    let builtin = heap_per_idle(
        || {
            actix_web_lab::sse::Sse::from_stream(builtin_events(&tx, |data| {
                actix_web_lab::sse::Event::Data(
                    actix_web_lab::sse::Data::new(data.to_string()).event("tick"),
                )
            }))
            .respond_to(&request)
            .map_into_boxed_body()
            .into_body()
        },
        poll,
    );
    eprintln!("heap per idle stream: ours {ours} B, actix-web-lab {builtin} B");
    assert!(
        ours <= builtin,
        "ours holds {ours} B per idle stream, actix-web-lab {builtin} B"
    );
}
