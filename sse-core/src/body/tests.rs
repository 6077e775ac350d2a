//! `SseBody`'s tests: framing, keep-alive on a paused clock, errors, shutdown.

use std::convert::Infallible;
use std::time::Duration;

use futures_util::stream;
use http_body_util::BodyExt;
use tokio::sync::mpsc;
#[cfg(feature = "tokio")]
use tokio::time::Instant;

use bytes::{BufMut, BytesMut};

use super::*;

/// An idle stream's body is held for as long as the client stays: thousands of
/// them per server. Beside its stream it holds one pointer and its flags (16 bytes):
/// everything rarely set or transient (the ends: error handler, end event and
/// `on_end` callbacks; the keep-alive timer; a burst's spill; a stream error waiting
/// for its turn; shutdown; the compressor; a frame cap other than the default) lives
/// in one box, absent while none of it is there. Putting any of these fields back
/// inline (the smallest, the frame cap, is 8 bytes) fails this; the layout before
/// the box was 64 bytes. (`sse-rs` checks the same with a hub subscription as the
/// stream.)
#[test]
fn an_idle_body_stays_small() {
    type Idle = stream::Pending<Result<Event, Infallible>>;
    let body = std::mem::size_of::<SseBody<Idle>>();
    assert!(
        body <= 16,
        "SseBody around a zero-sized stream is {body} bytes"
    );
    // With keep-alive, an idle stream's box holds the timer (its shared settings and
    // its sleep, 24 bytes) and two empty slots: the spill, and the rare parts (ends,
    // a waiting error, shutdown, the compressor, a frame cap of its own) boxed
    // together. 40 bytes, was 136 with the rare parts boxed one by one beside it and
    // the timer's settings copied into it; any of them back inline (the smallest, the
    // frame cap, is 8 bytes) fails this.
    let extra = std::mem::size_of::<Extra>();
    assert!(extra <= 40, "the body's box is {extra} bytes");
}

/// A plain body (nothing set) allocates its box only while a burst or pieces of large
/// data leave something for the next poll, and frees it once that drains: an idle
/// body after a burst holds no heap of its own. A frame that takes every ready event
/// makes no box at all.
#[tokio::test]
async fn an_idle_body_frees_its_box_after_a_burst() {
    // A channel whose every ready event is taken in one poll (tokio's stops at the
    // task's budget): never woken, polled by `next_ready`.
    fn burst_body() -> (
        std::sync::mpsc::Sender<Item>,
        SseBody<impl Stream<Item = Item>>,
    ) {
        let (tx, rx) = std::sync::mpsc::channel::<Item>();
        let stream = futures_util::stream::poll_fn(move |_| match rx.try_recv() {
            Ok(item) => std::task::Poll::Ready(Some(item)),
            Err(_) => std::task::Poll::Pending,
        });
        (tx, SseBody::new(stream))
    }
    let (tx, mut body) = burst_body();
    assert!(!body.has_extra());
    tx.send(Ok(event(1))).unwrap();
    tx.send(Ok(event(2))).unwrap();
    assert_eq!(next_ready(&mut body).await, Some(wire(1..=2)));
    assert!(!body.has_extra(), "a frame of all ready events made a box");

    // A burst past the default cap (64 KiB): the box holds its buffer, then goes.
    let last = 10_000;
    for n in 3..=last {
        tx.send(Ok(event(n))).unwrap();
    }
    let first = next_ready(&mut body).await.unwrap();
    assert!(body.bursting, "not a burst: {} bytes", first.len());
    assert!(
        body.has_spill(),
        "a burst keeps its buffer for the next frame"
    );
    let mut all = first.to_vec();
    while let Some(frame) = next_ready(&mut body).await {
        all.extend_from_slice(&frame);
    }
    assert_eq!(all, wire(3..=last));
    assert!(!body.has_extra(), "an idle body kept its box after a burst");

    // Pieces of large data: the box holds them while they wait, then goes.
    let data = crate::Data::from("x".repeat(frame::SHARED_DATA));
    tx.send(Ok(Event::default().data(data))).unwrap();
    tx.send(Ok(event(1))).unwrap();
    assert_eq!(next_ready(&mut body).await.unwrap(), &b"data: "[..]);
    assert!(body.has_spill());
    while next_ready(&mut body).await.is_some() {}
    assert!(!body.has_extra(), "an idle body kept its box after pieces");

    // The initial event: sent with the first frame, then the box goes.
    let (tx, body) = burst_body();
    let mut body = body.initial_event(Event::default().data("hi"));
    assert!(body.has_extra());
    tx.send(Ok(event(1))).unwrap();
    assert!(next_ready(&mut body).await.is_some());
    assert!(!body.has_extra(), "the initial event's box stayed");

    // A box that holds something else stays (without the spill); setting the
    // default cap back frees it.
    let (tx, body) = burst_body();
    let mut body = body
        .max_frame_size(1000)
        .max_frame_size(DEFAULT_MAX_FRAME_SIZE);
    assert!(!body.has_extra(), "the default cap kept a box");
    body = body.max_frame_size(1000);
    for n in 1..=100 {
        tx.send(Ok(event(n))).unwrap();
    }
    assert!(next_ready(&mut body).await.is_some());
    assert!(body.has_spill());
    while next_ready(&mut body).await.is_some() {}
    assert!(body.has_extra() && !body.has_spill());
}

pub(super) type Item = Result<Event, BoxError>;

pub(super) fn event(n: u32) -> Event {
    Event::default().id(n).data(format!("event {n}"))
}

pub(super) fn wire(ns: impl IntoIterator<Item = u32>) -> Bytes {
    let mut buf = BytesMut::new();
    for n in ns {
        buf.put_slice(event(n).encode().as_bytes());
    }
    buf.freeze()
}

/// A body fed by a channel, so a test decides when events are ready.
pub(super) fn channel_body() -> (
    mpsc::UnboundedSender<Item>,
    SseBody<impl Stream<Item = Item>>,
) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Item>();
    let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    (tx, SseBody::new(stream))
}

/// The next frame as bytes, or `None` when nothing is ready after yielding to the
/// runtime.
pub(super) async fn next_ready<B>(body: &mut B) -> Option<Bytes>
where
    B: Body<Data = Bytes, Error = BoxError> + Unpin,
{
    futures_util::future::poll_immediate(body.frame())
        .await
        .map(|frame| frame.unwrap().unwrap().into_data().unwrap())
}

#[test]
fn body_is_send_and_sync_without_a_sync_stream() {
    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    // A stream that is `Send` but not `Sync`.
    let not_sync = stream::iter([Ok::<_, Infallible>(event(1))]).chain(stream::poll_fn({
        let cell = std::cell::Cell::new(0_u8);
        move |_| {
            cell.set(1);
            std::task::Poll::<Option<Result<Event, Infallible>>>::Ready(None)
        }
    }));
    let body = SseBody::new(not_sync)
        .keep_alive(KeepAlive::default())
        .on_error(|_| Event::default());
    assert_send_sync(&body);
}

#[tokio::test]
async fn events_ready_together_come_out_as_one_frame() {
    let body = SseBody::new(stream::iter((1..=5).map(|n| Ok::<_, Infallible>(event(n)))));
    let frames: Vec<Bytes> = body.into_data_stream().map(Result::unwrap).collect().await;
    assert_eq!(frames, vec![wire(1..=5)]);
}

#[tokio::test]
async fn a_lone_event_is_sent_at_once_without_copying() {
    let shared = event(7).encode();
    let (tx, mut body) = {
        let (tx, mut rx) = mpsc::unbounded_channel::<Result<EncodedEvent, Infallible>>();
        (
            tx,
            SseBody::new(stream::poll_fn(move |cx| rx.poll_recv(cx))),
        )
    };
    assert_eq!(next_ready(&mut body).await, None);
    tx.send(Ok(shared.clone())).unwrap();
    let frame = next_ready(&mut body).await.unwrap();
    assert_eq!(frame, shared.as_bytes());
    assert_eq!(
        frame.as_ptr(),
        shared.as_bytes().as_ptr(),
        "the event was copied"
    );
}

/// A large event is never copied into a frame, wherever it falls among small ones:
/// the small ones before it make one frame, it goes alone (its own bytes), the ones
/// after it make the next.
#[tokio::test]
async fn large_events_go_alone_and_are_never_copied() {
    let large = Event::default()
        .id(2)
        .data("x".repeat(PASS_THROUGH))
        .encode();
    let items = vec![
        event(1).encode(),
        large.clone(),
        event(3).encode(),
        event(4).encode(),
        large.clone(),
        large.clone(),
    ];
    let body = SseBody::new(stream::iter(items.into_iter().map(Ok::<_, Infallible>)));
    let frames: Vec<Bytes> = body.into_data_stream().map(Result::unwrap).collect().await;
    assert_eq!(frames.len(), 5, "{frames:?}");
    assert_eq!(frames[0], wire([1]));
    assert_eq!(frames[2], wire(3..=4));
    for at in [1, 3, 4] {
        assert_eq!(frames[at], large.as_bytes());
        assert_eq!(
            frames[at].as_ptr(),
            large.as_bytes().as_ptr(),
            "frame {at} is a copy"
        );
    }
}

/// For a server that copies every frame anyway (actix-web), events of up to 8 KiB
/// are coalesced like small ones; larger ones still go alone.
#[tokio::test]
async fn where_the_server_copies_frames_large_events_are_coalesced() {
    let large = Event::default()
        .id(1)
        .data("x".repeat(PASS_THROUGH))
        .encode();
    let huge = Event::default()
        .id(4)
        .data("x".repeat(PASS_THROUGH_WHERE_COPIED))
        .encode();
    let items = vec![
        large.clone(),
        large.clone(),
        event(3).encode(),
        huge.clone(),
    ];
    let body = SseBody::new(stream::iter(items.into_iter().map(Ok::<_, Infallible>)))
        .__server_copies_frames();
    let frames: Vec<Bytes> = body.into_data_stream().map(Result::unwrap).collect().await;
    assert_eq!(frames.len(), 2, "{frames:?}");
    assert_eq!(frames[0].len(), 2 * large.len() + wire([3]).len());
    assert_eq!(frames[1].as_ptr(), huge.as_bytes().as_ptr(), "copied");
}

/// While frames come out full (a burst), the next frame's buffer is made whole at
/// once instead of growing; once a frame is not full, buffers start small again.
#[tokio::test]
async fn a_burst_gets_whole_frames_at_once_and_a_trickle_small_ones() {
    let one = event(1).encode().len();
    let (tx, body) = channel_body();
    let mut body = body.max_frame_size(100 * one);
    for n in 1..=300 {
        tx.send(Ok(event(n))).unwrap();
    }
    let _ = next_ready(&mut body).await.unwrap();
    assert!(body.bursting, "a full frame did not start a burst");
    let builder = |bursting| {
        let mut out = EventWriter::new(None, 100 * one, PASS_THROUGH, frame::SHARED_DATA, bursting);
        out.write(&event(1));
        out.write(&event(2));
        out.buffer_capacity()
    };
    assert!(builder(true) >= 100 * one);
    assert!(builder(false) < 100 * one);
    // The rest of the burst, then a frame that is not full ends it.
    // (Yielding renews the task's budget: tokio's channel stops at its end.)
    loop {
        tokio::task::yield_now().await;
        if next_ready(&mut body).await.is_none() {
            break;
        }
    }
    tx.send(Ok(event(301))).unwrap();
    tokio::task::yield_now().await;
    assert_eq!(next_ready(&mut body).await.unwrap(), wire([301]));
    assert!(
        !body.bursting,
        "a frame that was not full kept the burst on"
    );
}

#[tokio::test]
async fn frames_are_capped_and_big_events_go_whole() {
    let one = wire([1]).len();
    let body = SseBody::new(stream::iter((1..=5).map(|n| Ok::<_, Infallible>(event(n)))))
        .max_frame_size(2 * one);
    let frames: Vec<Bytes> = body.into_data_stream().map(Result::unwrap).collect().await;
    assert_eq!(frames, vec![wire(1..=2), wire(3..=4), wire([5])]);

    let big = Event::default().data("x".repeat(100));
    let body = SseBody::new(stream::iter([
        Ok::<_, Infallible>(event(1)),
        Ok(big.clone()),
        Ok(event(2)),
    ]))
    .max_frame_size(10);
    let frames: Vec<Bytes> = body.into_data_stream().map(Result::unwrap).collect().await;
    assert_eq!(
        frames,
        vec![wire([1]), big.encode().into_bytes(), wire([2])]
    );
}

// Timed by tokio's clock (the default timer).
#[cfg(feature = "tokio")]
#[tokio::test(start_paused = true)]
async fn no_keep_alive_while_events_flow() {
    let (tx, body) = channel_body();
    let mut body = body.keep_alive(KeepAlive::new().interval(Duration::from_secs(10)));
    assert_eq!(next_ready(&mut body).await, None);
    for n in 1..=10 {
        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(next_ready(&mut body).await, None, "keep-alive at event {n}");
        tx.send(Ok(event(n))).unwrap();
        assert_eq!(next_ready(&mut body).await, Some(wire([n])));
    }
}

// Timed by tokio's clock (the default timer).
#[cfg(feature = "tokio")]
#[tokio::test(start_paused = true)]
async fn keep_alive_after_idle_time_then_again_after_another_interval() {
    let (tx, body) = channel_body();
    let mut body = body.keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(10))
            .text("ka"),
    );
    let start = Instant::now();
    assert_eq!(next_ready(&mut body).await, None);

    let frame = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(frame, &b": ka\n"[..]);
    assert_eq!(start.elapsed(), Duration::from_secs(10));

    let frame = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(frame, &b": ka\n"[..]);
    assert_eq!(start.elapsed(), Duration::from_secs(20));

    // An event restarts the interval.
    tokio::time::advance(Duration::from_secs(5)).await;
    tx.send(Ok(event(1))).unwrap();
    assert_eq!(next_ready(&mut body).await, Some(wire([1])));
    let frame = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(frame, &b": ka\n"[..]);
    assert_eq!(start.elapsed(), Duration::from_secs(35));
}

// Timed by tokio's clock (the default timer).
#[cfg(feature = "tokio")]
#[tokio::test(start_paused = true)]
async fn keep_alive_is_never_inside_an_event_or_empty() {
    let (tx, body) = channel_body();
    let mut body = body.keep_alive(KeepAlive::new().interval(Duration::from_millis(5)));
    let mut all = BytesMut::new();
    for n in 0..50_u32 {
        if n % 5 == 0 {
            tx.send(Ok(event(n))).unwrap();
        }
        tokio::time::advance(Duration::from_millis(2)).await;
        while let Some(frame) = next_ready(&mut body).await {
            assert!(!frame.is_empty(), "zero-byte frame");
            // A keep-alive is a whole comment line of its own; events end whole.
            assert!(
                frame == KeepAlive::default().as_bytes() || frame.ends_with(b"\n\n"),
                "a frame ends inside an event: {frame:?}"
            );
            all.put_slice(&frame);
        }
    }
    drop(tx);
    let mut decoder = crate::decode::Decoder::new().comments(true);
    let items: Vec<_> = decoder.decode(&all).unwrap().collect();
    let events = items
        .iter()
        .filter(|i| matches!(i, crate::decode::Decoded::Event(_)))
        .count();
    let comments = items
        .iter()
        .filter(|i| matches!(i, crate::decode::Decoded::Comment(_)))
        .count();
    assert_eq!(events, 10);
    assert!(comments > 0, "no keep-alive in the idle gaps");
}

#[tokio::test(start_paused = true)]
async fn without_keep_alive_an_idle_body_stays_pending() {
    let (_tx, mut body) = channel_body();
    assert_eq!(next_ready(&mut body).await, None);
    tokio::time::advance(Duration::from_secs(3600)).await;
    assert_eq!(next_ready(&mut body).await, None);
}

#[tokio::test]
async fn initial_event_is_sent_at_once_with_what_is_ready() {
    let (tx, body) = channel_body();
    let retry = Event::default().retry(Duration::from_secs(5));
    let mut body = body.initial_event(retry.clone());
    assert_eq!(
        next_ready(&mut body).await,
        Some(retry.encode().into_bytes())
    );

    let (tx2, body) = channel_body();
    tx2.send(Ok(event(1))).unwrap();
    let mut body = body.initial_event(retry.clone());
    let mut expected = BytesMut::from(&retry.encode().as_bytes()[..]);
    expected.put_slice(&wire([1]));
    assert_eq!(next_ready(&mut body).await, Some(expected.freeze()));
    drop((tx, tx2));
}

#[tokio::test]
async fn an_error_ends_the_body_after_the_events_before_it() {
    let body = SseBody::new(stream::iter([
        Ok(event(1)),
        Err::<Event, BoxError>("boom".into()),
        Ok(event(2)),
    ]));
    let mut body = std::pin::pin!(body);
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(first, wire([1]));
    let error = body.frame().await.unwrap().unwrap_err();
    assert_eq!(error.to_string(), "boom");
    assert!(body.is_end_stream());
    assert!(body.frame().await.is_none());
}

#[tokio::test]
async fn an_error_first_is_returned_at_once() {
    let body = SseBody::new(stream::iter([Err::<Event, _>(std::io::Error::other("io"))]));
    let mut body = std::pin::pin!(body);
    assert_eq!(body.frame().await.unwrap().unwrap_err().to_string(), "io");
    assert!(body.frame().await.is_none());
}

#[tokio::test]
async fn on_error_turns_the_error_into_a_last_event_and_ends_cleanly() {
    let body = SseBody::new(stream::iter([
        Ok(event(1)),
        Err::<Event, BoxError>("db down".into()),
        Ok(event(2)),
    ]))
    .on_error(|error| {
        Event::default()
            .event(crate::EventType::from_static("error"))
            .data(error.to_string())
    });
    let collected = BodyExt::collect(body).await.unwrap().to_bytes();
    assert_eq!(
        collected,
        [&wire([1])[..], b"event: error\ndata: db down\n\n"].concat()
    );
}

#[tokio::test]
async fn shutdown_ends_an_idle_body_after_its_last_event() {
    let (tx, body) = channel_body();
    let (trigger, signal) = crate::shutdown::Shutdown::new();
    let mut body = body.shutdown(
        signal,
        Some(
            Event::default()
                .event(crate::EventType::from_static("bye"))
                .data(""),
        ),
    );
    tx.send(Ok(event(1))).unwrap();
    assert_eq!(next_ready(&mut body).await, Some(wire([1])));
    assert_eq!(next_ready(&mut body).await, None);
    trigger.fire();
    assert_eq!(
        next_ready(&mut body).await,
        Some(Bytes::from_static(b"event: bye\ndata: \n\n"))
    );
    assert!(body.frame().await.is_none(), "the body did not end");
    // The stream is still open: the signal alone ended the body.
    assert!(!tx.is_closed());
}

#[tokio::test]
async fn shutdown_without_a_last_event_just_ends() {
    let (_tx, body) = channel_body();
    let (trigger, signal) = crate::shutdown::Shutdown::new();
    let mut body = body.keep_alive(KeepAlive::default()).shutdown(signal, None);
    assert_eq!(next_ready(&mut body).await, None);
    trigger.fire();
    assert!(body.frame().await.is_none());
}

#[tokio::test]
async fn end_of_stream_ends_the_body() {
    let mut body = SseBody::new(stream::iter([Ok::<_, Infallible>(event(1))]));
    assert!(!body.is_end_stream());
    assert_eq!(next_ready(&mut body).await, Some(wire([1])));
    assert!(body.is_end_stream());
    assert!(body.frame().await.is_none());
    let empty = SseBody::new(stream::empty::<Result<Event, Infallible>>());
    assert!(BodyExt::collect(empty).await.unwrap().to_bytes().is_empty());
}

#[tokio::test]
async fn the_body_is_also_a_stream_of_bytes() {
    let body = SseBody::new(stream::iter((1..=3).map(|n| Ok::<_, Infallible>(event(n)))));
    let chunks: Vec<Bytes> = body.map(Result::unwrap).collect().await;
    assert_eq!(chunks.concat(), wire(1..=3));
}

#[test]
fn response_has_the_sse_headers_and_no_length() {
    let response = SseBody::new(stream::empty::<Result<Event, Infallible>>()).into_response();
    assert_eq!(response.status(), http::StatusCode::OK);
    for (name, value) in crate::response::RESPONSE_HEADERS {
        assert_eq!(response.headers()[name], value);
    }
    assert!(response.headers().get("content-length").is_none());
    assert_eq!(Body::size_hint(response.body()).exact(), None);
}

use futures_util::StreamExt;

/// Counts how often it is woken.
struct CountingWaker(std::sync::atomic::AtomicUsize);

impl std::task::Wake for CountingWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// An error after events waits one turn, woken at once, so that the server writes out
/// the events before it aborts the response (hyper drops what it has buffered when a
/// body fails): the events are not lost.
#[test]
fn an_error_after_events_gives_the_server_a_turn_to_write_them() {
    use std::task::{Context, Poll};
    let waker = std::sync::Arc::new(CountingWaker(std::sync::atomic::AtomicUsize::new(0)));
    let std_waker = std::task::Waker::from(waker.clone());
    let mut cx = Context::from_waker(&std_waker);
    // The error in the same poll as the event, and in the poll after it.
    let same_poll = stream::iter([Ok(event(1)), Err::<Event, BoxError>("gone".into())]);
    let (tx, rx) = mpsc::unbounded_channel::<Result<Event, BoxError>>();
    let next_poll = tokio_stream_from(rx);
    tx.send(Ok(event(1))).unwrap();
    for (name, body) in [
        ("same poll", SseBody::new(Box::pin(same_poll) as BoxStream)),
        ("next poll", SseBody::new(next_poll)),
    ] {
        let mut body = std::pin::pin!(body);
        let Poll::Ready(Some(Ok(frame))) = body.as_mut().poll_frame(&mut cx) else {
            panic!("{name}: the event first");
        };
        assert_eq!(frame.into_data().unwrap(), wire([1]), "{name}");
        if name == "next poll" {
            tx.send(Err("gone".into())).unwrap();
        }
        let woken = waker.0.load(std::sync::atomic::Ordering::SeqCst);
        assert!(
            body.as_mut().poll_frame(&mut cx).is_pending(),
            "{name}: a turn for the server to write the event"
        );
        assert_eq!(
            waker.0.load(std::sync::atomic::Ordering::SeqCst),
            woken + 1,
            "{name}: woken at once"
        );
        let Poll::Ready(Some(Err(error))) = body.as_mut().poll_frame(&mut cx) else {
            panic!("{name}: then the error");
        };
        assert_eq!(error.to_string(), "gone");
        assert!(matches!(
            body.as_mut().poll_frame(&mut cx),
            Poll::Ready(None)
        ));
    }
}

type BoxStream =
    std::pin::Pin<Box<dyn futures_core::Stream<Item = Result<Event, BoxError>> + Send>>;

/// The receiving end of a channel as a stream.
fn tokio_stream_from(mut rx: mpsc::UnboundedReceiver<Result<Event, BoxError>>) -> BoxStream {
    Box::pin(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)))
}

/// The outcomes given to `on_end`, in a shared list.
fn outcomes() -> (
    std::sync::Arc<std::sync::Mutex<Vec<Outcome>>>,
    impl FnOnce(Outcome) + Send + 'static,
) {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = {
        let seen = seen.clone();
        move |outcome| seen.lock().unwrap().push(outcome)
    };
    (seen, record)
}

#[tokio::test]
async fn end_event_follows_the_last_event_when_the_stream_ends_by_itself() {
    let body = SseBody::new(stream::iter([Ok::<_, Infallible>(event(1)), Ok(event(2))]))
        .end_event(Event::default().data("[DONE]"));
    let collected = BodyExt::collect(body).await.unwrap().to_bytes();
    assert_eq!(collected, [&wire([1, 2])[..], b"data: [DONE]\n\n"].concat());

    // Not after an error, nor after a shutdown.
    let body = SseBody::new(stream::iter([
        Ok(event(1)),
        Err::<Event, BoxError>("x".into()),
    ]))
    .end_event(Event::default().data("[DONE]"))
    .on_error(|_| Event::default().data("error"));
    let collected = BodyExt::collect(body).await.unwrap().to_bytes();
    assert_eq!(collected, [&wire([1])[..], b"data: error\n\n"].concat());
    let (_tx, body) = channel_body();
    let (trigger, signal) = crate::shutdown::Shutdown::new();
    trigger.fire();
    let body = body
        .end_event(Event::default().data("[DONE]"))
        .shutdown(signal, None);
    assert!(BodyExt::collect(body).await.unwrap().to_bytes().is_empty());
}

#[tokio::test]
async fn on_end_tells_a_completed_stream_with_its_counts() {
    let (seen, record) = outcomes();
    let body = SseBody::new(stream::iter([Ok::<_, Infallible>(event(1)), Ok(event(2))]))
        .initial_event(Event::default().comment("hi"))
        .end_event(Event::default().data("[DONE]"))
        .on_end(record);
    let collected = BodyExt::collect(body).await.unwrap().to_bytes();
    let outcomes = seen.lock().unwrap().clone();
    assert_eq!(outcomes.len(), 1, "called once, when the body was dropped");
    let outcome = outcomes[0];
    assert_eq!(outcome.end, End::Completed);
    assert_eq!(
        outcome.events, 2,
        "the stream's events, not the initial or end one"
    );
    assert_eq!(outcome.bytes, collected.len() as u64);
    assert!(outcome.first_event.is_some());
    assert!(outcome.first_event.unwrap() <= outcome.duration);
}

#[tokio::test]
async fn on_end_tells_a_client_gone_when_the_body_is_dropped_midway() {
    let (seen, record) = outcomes();
    let (tx, body) = channel_body();
    let mut body = body.on_end(record);
    tx.send(Ok(event(1))).unwrap();
    assert_eq!(next_ready(&mut body).await, Some(wire([1])));
    assert!(seen.lock().unwrap().is_empty(), "not before the end");
    drop(body);
    let outcome = seen.lock().unwrap()[0];
    assert_eq!(outcome.end, End::ClientGone);
    assert_eq!((outcome.events, outcome.bytes), (1, wire([1]).len() as u64));
}

#[tokio::test]
async fn on_end_tells_an_error_and_a_shutdown_and_calls_every_callback_in_order() {
    let (seen, record) = outcomes();
    let body = SseBody::new(stream::iter([Err::<Event, BoxError>("x".into())]))
        .on_error(|_| Event::default().data("error"))
        .on_end(record);
    let _ = BodyExt::collect(body).await;
    assert_eq!(seen.lock().unwrap()[0].end, End::Error);
    assert_eq!(seen.lock().unwrap()[0].first_event, None);

    let (seen, record) = outcomes();
    let order = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (_tx, body) = channel_body();
    let (trigger, signal) = crate::shutdown::Shutdown::new();
    let (first, second) = (order.clone(), order.clone());
    let body = body
        .on_end(move |_| first.lock().unwrap().push(1))
        .shutdown(signal, Some(Event::default().data("bye")))
        .on_end(record)
        .on_end(move |_| second.lock().unwrap().push(2));
    trigger.fire();
    let _ = BodyExt::collect(body).await;
    assert_eq!(seen.lock().unwrap()[0].end, End::Shutdown);
    assert_eq!(*order.lock().unwrap(), [1, 2]);
}

/// A stream that, when dropped, checks that the body's `on_end` already ran: a producer
/// that learns from the stream's drop that the client left finds the outcome given.
#[tokio::test]
async fn on_end_runs_before_the_stream_is_dropped() {
    struct Watched(std::sync::Arc<std::sync::Mutex<Vec<Outcome>>>);
    impl Stream for Watched {
        type Item = Result<Event, Infallible>;
        fn poll_next(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Pending
        }
    }
    impl Drop for Watched {
        fn drop(&mut self) {
            assert_eq!(self.0.lock().unwrap().len(), 1, "the stream went first");
        }
    }
    let (seen, record) = outcomes();
    let body = SseBody::new(Watched(seen.clone())).on_end(record);
    drop(body);
    assert_eq!(seen.lock().unwrap()[0].end, End::ClientGone);
}
