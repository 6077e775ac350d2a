//! `SseBody`'s frames as the `EventWriter` makes them: cut only between events,
//! within the cap, at most 16 pieces per poll, no buffer kept while idle.

use std::convert::Infallible;

use futures_util::stream;
use futures_util::StreamExt;
use http_body_util::BodyExt;

use super::tests::{channel_body, event, next_ready, wire};
use super::*;

/// How a burst's events are written: `Event`s (one reservation per event), or field
/// by field (one reservation per field), with or without a type first.
#[derive(Clone, Copy, Debug)]
enum Written {
    Events,
    Fields,
    TypedFields,
}

const TICK: crate::EventType = crate::EventType::from_static("tick");

/// The `n`th event of a burst, with data of a length that varies with `n`.
fn burst_event(typed: bool, n: u32) -> Event {
    let event = Event::default().id(n).data("d".repeat(n as usize % 37));
    if typed {
        event.event(TICK)
    } else {
        event
    }
}

/// `burst_event(n)` written through a `FieldWriter`, in the order `Event` encodes it.
struct ByFields {
    typed: bool,
    n: u32,
}

impl WriteEvent for ByFields {
    fn write_event(self, out: &mut EventWriter<'_>) {
        let mut fields = out.event();
        if self.typed {
            fields.event(&TICK);
        }
        fields.id(self.n).data(&"d".repeat(self.n as usize % 37));
    }
}

/// The frames of 300 ready events written as `written`, with frames of at most `max`
/// bytes, and the wire's event boundaries: where each event starts, and the end.
async fn burst(written: Written, max: usize) -> (Vec<Bytes>, Vec<u8>, Vec<usize>) {
    const N: u32 = 300;
    let typed = matches!(written, Written::TypedFields);
    let body = match written {
        Written::Events => SseBody::new(stream::iter(
            (1..=N).map(|n| Ok::<_, Infallible>(burst_event(false, n))),
        ))
        .max_frame_size(max)
        .into_data_stream()
        .boxed(),
        Written::Fields | Written::TypedFields => SseBody::new(stream::iter(
            (1..=N).map(move |n| Ok::<_, Infallible>(ByFields { typed, n })),
        ))
        .max_frame_size(max)
        .into_data_stream()
        .boxed(),
    };
    let frames: Vec<Bytes> = body.map(Result::unwrap).collect().await;
    let mut wire = Vec::new();
    let mut boundaries = vec![0];
    for n in 1..=N {
        wire.extend_from_slice(burst_event(typed, n).encode().as_bytes());
        boundaries.push(wire.len());
    }
    (frames, wire, boundaries)
}

/// Checks that in a burst with small frames each frame starts where an event starts
/// and together they are exactly the wire.
async fn assert_bursts_cut_between_events(written: Written) {
    for max in [40, 64, 100, 173, 1000, 4096] {
        let (frames, wire, boundaries) = burst(written, max).await;
        assert!(frames.len() > 1, "max {max}: no burst");
        assert_eq!(frames.concat(), wire, "{written:?}, max {max}");
        let mut at = 0;
        for (i, frame) in frames.iter().enumerate() {
            assert!(
                boundaries.binary_search(&at).is_ok(),
                "{written:?}, max {max}: frame {i} starts inside an event: {frame:?}"
            );
            at += frame.len();
        }
    }
}

/// A burst of `Event`s (one reservation per event) is cut between events only.
#[tokio::test]
async fn a_burst_of_small_frames_cuts_only_between_events() {
    assert_bursts_cut_between_events(Written::Events).await;
}

/// The same for events written field by field (one reservation per field): a
/// buffer that runs out of room at a field after the first must not end the frame
/// there.
#[tokio::test]
async fn a_burst_written_field_by_field_cuts_only_between_events() {
    assert_bursts_cut_between_events(Written::Fields).await;
    assert_bursts_cut_between_events(Written::TypedFields).await;
}

/// A frame of several events is at most `max_frame_size` bytes (a larger event goes
/// alone), as `SseBody::max_frame_size` says.
#[tokio::test]
async fn a_frame_of_several_events_is_at_most_max_frame_size() {
    for max in [40, 64, 100, 173, 1000] {
        for written in [Written::Events, Written::Fields, Written::TypedFields] {
            let (frames, _, boundaries) = burst(written, max).await;
            let mut at = 0;
            for (i, frame) in frames.iter().enumerate() {
                let events = boundaries
                    .iter()
                    .filter(|&&b| b > at && b <= at + frame.len())
                    .count();
                assert!(
                    frame.len() <= max || events <= 1,
                    "{written:?}, max {max}: frame {i} is {} bytes, {events} events",
                    frame.len()
                );
                at += frame.len();
            }
        }
    }
}

/// A stream that counts the items taken from it.
fn counted<T>(
    items: Vec<T>,
) -> (
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
    impl Stream<Item = Result<T, Infallible>> + Unpin,
) {
    let taken = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = taken.clone();
    let stream = stream::iter(items).map(move |item| {
        count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(item)
    });
    (taken, stream)
}

/// Events of large shared data make two pieces each (head, data; the end joins the
/// next head): the body stops taking events once 16 pieces wait (hyper queues at most
/// 16 buffers per write), hands them over one per poll, and only then takes more.
/// Every data piece is the data's own bytes.
#[test]
fn at_most_sixteen_pieces_wait_per_poll() {
    const MAX_PIECES: usize = 16;
    let data = crate::Data::from("x".repeat(frame::SHARED_DATA));
    let events: Vec<Event> = (1..=100_u32)
        .map(|n| Event::default().id(n).data(data.clone()))
        .collect();
    let expected: Vec<u8> = events
        .iter()
        .flat_map(|e| e.encode().into_bytes().to_vec())
        .collect();
    let (taken, stream) = counted(events);
    // A frame cap far above 16 pieces' worth: the pieces are the limit here.
    let mut body = SseBody::new(stream).max_frame_size(1 << 20);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    let (mut frames, mut most, mut drained) = (Vec::new(), 0, 0);
    loop {
        let before = taken.load(std::sync::atomic::Ordering::SeqCst);
        match Pin::new(&mut body).poll_frame(&mut cx) {
            Poll::Ready(Some(Ok(frame))) => frames.push(frame.into_data().unwrap()),
            Poll::Ready(None) => break,
            other => panic!("{other:?}"),
        }
        let now = taken.load(std::sync::atomic::Ordering::SeqCst);
        most = most.max(now - before);
        // Polls that only hand over pieces waiting from an earlier one.
        drained = if now == before { drained + 1 } else { 0 };
        assert!(
            drained <= MAX_PIECES,
            "{drained} pieces waited after frame {}",
            frames.len()
        );
    }
    assert_eq!(most, MAX_PIECES / 2, "events taken in one poll");
    assert_eq!(frames.concat(), expected);
    let pieces: Vec<&Bytes> = frames
        .iter()
        .filter(|frame| frame.len() == frame::SHARED_DATA)
        .collect();
    assert_eq!(pieces.len(), 100);
    for piece in pieces {
        assert_eq!(
            piece.as_ptr(),
            data.as_bytes().as_ptr(),
            "a data piece was copied"
        );
    }
}

/// Once a burst is over and the stream idles, the body keeps no buffer: its spill is
/// gone (it was there during the burst, and while pieces of large data waited).
#[tokio::test]
async fn an_idle_body_keeps_no_spill_after_a_burst() {
    let (tx, body) = channel_body();
    let mut body = body.max_frame_size(wire(1..=10).len());
    for n in 1..=100 {
        tx.send(Ok(event(n))).unwrap();
    }
    assert_eq!(next_ready(&mut body).await, Some(wire(1..=10)));
    assert!(
        body.has_spill(),
        "a burst keeps its buffer for the next frame"
    );
    let mut all = wire(1..=10).to_vec();
    loop {
        tokio::task::yield_now().await;
        match next_ready(&mut body).await {
            Some(frame) => all.extend_from_slice(&frame),
            None => break,
        }
    }
    assert_eq!(all, wire(1..=100));
    assert!(!body.has_spill(), "an idle body keeps a buffer");

    // Large data in pieces: the spill holds the pieces while they wait, then goes.
    let data = crate::Data::from("x".repeat(frame::SHARED_DATA));
    tx.send(Ok(Event::default().data(data.clone()))).unwrap();
    tx.send(Ok(event(101))).unwrap();
    assert_eq!(next_ready(&mut body).await.unwrap(), &b"data: "[..]);
    assert!(body.has_spill());
    assert_eq!(
        next_ready(&mut body).await.unwrap().as_ptr(),
        data.as_bytes().as_ptr()
    );
    assert_eq!(
        next_ready(&mut body).await.unwrap(),
        [&b"\n\n"[..], &wire([101])].concat()
    );
    assert!(!body.has_spill(), "an idle body keeps the pieces' queue");
    assert_eq!(next_ready(&mut body).await, None);
    assert!(!body.has_spill());
}

/// Any frame cap works, however large: the room a burst reserves is bounded (no
/// overflow, no reservation of the cap itself).
#[tokio::test]
async fn a_huge_frame_cap_neither_overflows_nor_reserves_it() {
    for max in [usize::MAX, usize::MAX / 2, 1 << 40] {
        let large = Event::default().data("x".repeat(PASS_THROUGH)).encode();
        let mut items: Vec<EncodedEvent> = vec![large.clone(); 16];
        items.push(event(1).encode());
        items.push(event(2).encode());
        let expected: Vec<u8> = items.iter().flat_map(|e| e.as_bytes().to_vec()).collect();
        let body = SseBody::new(stream::iter(items.into_iter().map(Ok::<_, Infallible>)))
            .max_frame_size(max);
        let frames: Vec<Bytes> = body.into_data_stream().map(Result::unwrap).collect().await;
        assert_eq!(frames.concat(), expected, "max {max}");
    }
}

/// An event whose `FieldWriter` is forgotten instead of dropped still ends before
/// the next one: safe code cannot merge two events.
#[tokio::test]
async fn a_forgotten_field_writer_still_ends_its_event() {
    struct Forgets;
    impl WriteEvent for Forgets {
        fn write_event(self, out: &mut EventWriter<'_>) {
            let mut fields = out.event();
            fields.data("a");
            std::mem::forget(fields);
            out.event().data("b");
            let mut last = out.event();
            last.data("c");
            std::mem::forget(last);
        }
    }
    let body = SseBody::new(stream::iter([Ok::<_, Infallible>(Forgets), Ok(Forgets)]));
    let frames: Vec<Bytes> = body.into_data_stream().map(Result::unwrap).collect().await;
    assert_eq!(
        frames.concat(),
        b"data: a\n\ndata: b\n\ndata: c\n\n".repeat(2)
    );
}

/// The head of an event with large data does not take the frame before it past the
/// cap: the events before it go as a frame of their own, even when one item writes
/// them all (the body checks the cap only between items).
#[tokio::test]
async fn a_large_data_head_keeps_the_frame_before_it_within_the_cap() {
    struct Both(Vec<Event>);
    impl WriteEvent for Both {
        fn write_event(self, out: &mut EventWriter<'_>) {
            for event in &self.0 {
                out.write(event);
            }
        }
    }
    let data = crate::Data::from("x".repeat(frame::SHARED_DATA));
    // Many lines: more than the writer reserves for them, so the buffer grows by itself.
    let first = Event::default().data("a\n".repeat(200));
    let second = Event::default().id(2).data(data.clone());
    let body = SseBody::new(stream::iter([Ok::<_, Infallible>(Both(vec![
        first.clone(),
        second.clone(),
    ]))]))
    .max_frame_size(100);
    let frames: Vec<Bytes> = body.into_data_stream().map(Result::unwrap).collect().await;
    assert_eq!(
        frames.concat(),
        [
            first.encode().as_bytes().to_vec(),
            second.encode().as_bytes().to_vec()
        ]
        .concat()
    );
    assert_eq!(
        frames[0],
        first.encode().as_bytes(),
        "the first frame is not the first event"
    );
    assert_eq!(frames[1], &b"id: 2\ndata: "[..]);
    assert_eq!(frames[2].as_ptr(), data.as_bytes().as_ptr());
}

/// Where the server copies every frame (actix-web), data up to 8 KiB is coalesced
/// with the events around it, as events of that size are; only larger data is sent
/// as it is.
#[tokio::test]
async fn where_the_server_copies_frames_data_up_to_8_kib_is_coalesced() {
    let items = vec![
        Event::default().data("a"),
        Event::default().data("b".repeat(5000)),
        Event::default().data("c"),
    ];
    let expected: Vec<u8> = items
        .iter()
        .flat_map(|e| e.encode().as_bytes().to_vec())
        .collect();
    let body = SseBody::new(stream::iter(items.into_iter().map(Ok::<_, Infallible>)))
        .__server_copies_frames();
    let frames: Vec<Bytes> = body.into_data_stream().map(Result::unwrap).collect().await;
    assert_eq!(frames, vec![Bytes::from(expected)]);
}

/// A long burst written field by field fills whole frames, as `Event`s do: after a
/// full frame, the next one gets room for a whole frame, never a buffer sized from
/// the tail of the last one (which made a frame per event).
#[tokio::test]
async fn a_long_burst_written_field_by_field_fills_whole_frames() {
    const TICK: crate::EventType = crate::EventType::from_static("tick");
    struct Tick(u64, crate::Data);
    impl WriteEvent for Tick {
        fn write_event(self, out: &mut EventWriter<'_>) {
            out.event().id(self.0).event(&TICK).shared_data(&self.1);
        }
    }
    let data = crate::Data::from("x".repeat(64));
    let ticks = (0..10_000).map(|n| Ok::<_, Infallible>(Tick(n, data.clone())));
    let body = SseBody::new(stream::iter(ticks));
    let frames: Vec<Bytes> = body.into_data_stream().map(Result::unwrap).collect().await;
    let bytes: usize = frames.iter().map(Bytes::len).sum();
    let whole = bytes.div_ceil(DEFAULT_MAX_FRAME_SIZE);
    assert!(
        frames.len() <= whole + 1,
        "{} frames for {bytes} bytes ({whole} would do)",
        frames.len()
    );
}
