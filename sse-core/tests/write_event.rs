//! `WriteEvent` and the `EventWriter` a body hands it, through the public API: what a
//! type of one's own writes field by field is byte for byte what the same `Event`
//! encodes to, no field it writes can smuggle a line into the stream, events are
//! counted and ended whatever an item writes, and large shared data goes out as it
//! is, between its event's head and end.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use futures_util::stream;
use http_body::Body;
use sse_rs_core::decode::{Decoded, Decoder};
use sse_rs_core::{
    BoxError, Data, End, Event, EventId, EventType, EventWriter, Outcome, SseBody, WriteEvent,
};

/// Data at least this long, shared and without a line break, is sent as it is, not
/// copied (the crate's `SHARED_DATA`, private).
const SHARED_DATA: usize = 16 * 1024;

const TICK: EventType = EventType::from_static("tick");

/// An item that writes whatever its closure writes: a test's script of calls on the
/// writer.
struct Script(Box<dyn FnOnce(&mut EventWriter<'_>) + Send>);

fn script(write: impl FnOnce(&mut EventWriter<'_>) + Send + 'static) -> Script {
    Script(Box::new(write))
}

impl WriteEvent for Script {
    fn write_event(self, out: &mut EventWriter<'_>) {
        (self.0)(out);
    }
}

/// Every frame of a body whose stream is always ready, polled to its end on a waker
/// that does nothing (a turn given before an error is polled again at once).
fn frames_of<S, T, E>(body: SseBody<S>) -> Vec<Bytes>
where
    S: futures_core::Stream<Item = Result<T, E>> + Unpin,
    T: WriteEvent,
    E: Into<BoxError>,
{
    let mut body = body;
    let mut cx = Context::from_waker(Waker::noop());
    let mut frames = Vec::new();
    let mut pending = 0;
    loop {
        match Pin::new(&mut body).poll_frame(&mut cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let frame = frame.into_data().unwrap();
                assert!(!frame.is_empty(), "a zero-byte frame");
                frames.push(frame);
                pending = 0;
            }
            Poll::Ready(Some(Err(error))) => panic!("the body failed: {error}"),
            Poll::Ready(None) => return frames,
            Poll::Pending => {
                pending += 1;
                assert!(pending < 2, "the body waits on a stream that is ready");
            }
        }
    }
}

fn items<T>(
    items: impl IntoIterator<Item = T>,
) -> stream::Iter<std::vec::IntoIter<Result<T, Infallible>>> {
    stream::iter(items.into_iter().map(Ok).collect::<Vec<_>>())
}

/// The wire of `events`, each encoded on its own, one after the other.
fn wire<'a>(events: impl IntoIterator<Item = &'a Event>) -> Vec<u8> {
    events
        .into_iter()
        .flat_map(|event| event.encode().into_bytes().to_vec())
        .collect()
}

/// What a browser reads from `bytes`, comments included.
fn decode(bytes: &[u8]) -> Vec<Decoded> {
    let mut decoder = Decoder::new().comments(true);
    decoder.decode(bytes).unwrap().collect()
}

/// The dispatched events of `bytes`: (type, data, last event id).
fn messages(bytes: &[u8]) -> Vec<(String, String, String)> {
    decode(bytes)
        .into_iter()
        .filter_map(|item| match item {
            Decoded::Event(event) => Some((event.event, event.data, event.last_event_id)),
            _ => None,
        })
        .collect()
}

/// The outcome given to `on_end`, once the body is dropped.
fn outcome_of<S, T, E>(body: SseBody<S>) -> (Vec<Bytes>, Outcome)
where
    S: futures_core::Stream<Item = Result<T, E>> + Unpin,
    T: WriteEvent,
    E: Into<BoxError>,
{
    let seen = Arc::new(Mutex::new(None));
    let record = seen.clone();
    let body = body.on_end(move |outcome| *record.lock().unwrap() = Some(outcome));
    let frames = frames_of(body);
    let outcome = seen.lock().unwrap().take().expect("on_end was not called");
    (frames, outcome)
}

/// A token of an answer, written field by field in the order `Event` encodes its
/// fields (comment, event, id, retry, data).
#[derive(Clone)]
struct Token {
    n: u64,
    comment: Option<&'static str>,
    retry: Option<std::time::Duration>,
    text: String,
}

impl WriteEvent for Token {
    fn write_event(self, out: &mut EventWriter<'_>) {
        let mut fields = out.event();
        if let Some(comment) = self.comment {
            fields.comment(comment);
        }
        fields.event(&TICK).id(self.n);
        if let Some(retry) = self.retry {
            fields.retry(retry);
        }
        fields.data(&self.text);
    }
}

impl Token {
    fn event(&self) -> Event {
        let mut event = Event::default()
            .event(TICK)
            .id(self.n)
            .data(self.text.clone());
        if let Some(comment) = self.comment {
            event = event.comment(comment);
        }
        if let Some(retry) = self.retry {
            event = event.retry(retry);
        }
        event
    }
}

/// What a type of one's own writes field by field is, byte for byte, what the same
/// `Event` encodes to; events ready together make one frame. (An `EventWriter` that
/// forgot a space after a colon, a line break, or the empty line that ends an event
/// fails this.)
#[test]
fn a_type_of_ones_own_writes_the_bytes_its_event_encodes_to() {
    let tokens = vec![
        Token {
            n: 1,
            comment: None,
            retry: None,
            text: "Hel".into(),
        },
        Token {
            n: 2,
            comment: Some("a comment"),
            retry: Some(std::time::Duration::from_millis(2500)),
            text: "lo".into(),
        },
        Token {
            n: u64::MAX,
            comment: None,
            retry: None,
            text: String::new(),
        },
        Token {
            n: 4,
            comment: Some(""),
            retry: None,
            text: "two\nlines".into(),
        },
    ];
    let expected = wire(&tokens.iter().map(Token::event).collect::<Vec<_>>());
    let frames = frames_of(SseBody::new(items(tokens.clone())));
    assert_eq!(frames.len(), 1, "events ready together: one frame");
    assert_eq!(
        String::from_utf8_lossy(&frames[0]),
        String::from_utf8_lossy(&expected)
    );

    // Mixed with `Event`s and encoded events in one frame, in the stream's order.
    let token = tokens[1].clone();
    let mixed = vec![
        script(move |out| token.write_event(out)),
        script(|out| out.write(&Event::default().id(5_u8).data("five"))),
        script(|out| out.encoded(Event::default().data("six").encode())),
    ];
    let frames = frames_of(SseBody::new(items(mixed)));
    let expected = [
        tokens[1].event(),
        Event::default().id(5_u8).data("five"),
        Event::default().data("six"),
    ];
    assert_eq!(frames, vec![Bytes::from(wire(&expected))]);
}

/// Fields go out in the order of the calls: `id` before `event` is another byte
/// order than `Event`'s, and the same event to a browser.
#[test]
fn fields_go_in_the_order_of_the_calls() {
    let body = SseBody::new(items([script(|out| {
        out.event().id(7_u32).event(&TICK).data("x");
    })]));
    let frames = frames_of(body);
    assert_eq!(
        frames,
        vec![Bytes::from_static(b"id: 7\nevent: tick\ndata: x\n\n")]
    );
    assert_eq!(
        messages(&frames[0]),
        messages(
            &Event::default()
                .id(7_u32)
                .event(TICK)
                .data("x")
                .encode()
                .into_bytes()
        ),
    );
}

/// Text that tries to end the event early or forge a field: every line break (CR, LF,
/// CRLF) only starts another `data:` or `:` line.
const HOSTILE: [&str; 9] = [
    "a\rb",
    "a\nb",
    "a\r\nb",
    "\n\nid: 9\nevent: evil",
    "\r\rid: 9\r\revent: evil\r\r",
    "\r\n\r\ndata: forged\r\n\r\n",
    "x\n\r\ny\r\n\nz",
    "\n",
    "",
];

/// What a browser reads from a data field of `text`: its lines joined with LF.
fn normalised(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// Data and comments with line breaks cannot end the event or add a field: the
/// decoder (as a browser) reads back exactly one event per item, with the data as it
/// was written (line breaks made LF), the id given and no other type, and the comment
/// as comment lines. Byte for byte the same as the `Event` with those fields.
#[test]
fn data_and_comments_cannot_break_out_of_their_lines() {
    for text in HOSTILE {
        let body = SseBody::new(items([
            script(move |out| {
                out.event().comment(text).id(1_u8).data(text);
            }),
            script(|out| {
                out.event().data("after");
            }),
        ]));
        let bytes = frames_of(body).concat();
        let expected = wire(&[
            Event::default().comment(text).id(1_u8).data(text),
            Event::default().data("after"),
        ]);
        assert_eq!(bytes, expected, "{text:?}");
        assert!(!bytes.contains(&b'\r'), "a raw CR on the wire: {text:?}");
        for line in bytes.split(|&b| b == b'\n') {
            assert!(
                line.is_empty()
                    || line.starts_with(b"data: ")
                    || line.starts_with(b": ")
                    || line == b":"
                    || line == b"id: 1",
                "a line of its own: {:?} from {text:?}",
                String::from_utf8_lossy(line)
            );
        }
        let comments = normalised(text)
            .split('\n')
            .map(|line| Decoded::Comment(line.to_owned()))
            .collect::<Vec<_>>();
        let decoded = decode(&bytes);
        assert_eq!(
            decoded[..comments.len()],
            comments[..],
            "comments of {text:?}"
        );
        assert_eq!(
            messages(&bytes),
            vec![
                ("message".into(), normalised(text), "1".into()),
                ("message".into(), "after".into(), "1".into()),
            ],
            "{text:?}"
        );
    }
}

/// Ids come only from integers (written as decimal, every width and sign, the
/// extremes included) or from an `EventId`, checked when it was made: a browser reads
/// back each id exactly, and text with a line break cannot become one.
#[test]
fn ids_come_only_from_integers_and_checked_event_ids() {
    let mut ids: Vec<(Script, String)> = Vec::new();
    macro_rules! integer_ids {
        ($($int:ty),*) => {$(
            for id in [<$int>::MIN, <$int>::MAX, 0 as $int] {
                ids.push((script(move |out| { out.event().id(id).data("x"); }), id.to_string()));
            }
        )*};
    }
    integer_ids!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize);
    for text in ["abc", "a b:c", "ünï", ""] {
        let id = EventId::try_from(text).unwrap();
        ids.push((
            script(move |out| {
                out.event().id(&id).data("x");
            }),
            text.to_owned(),
        ));
    }
    assert!(ids.iter().any(|(_, id)| id == "-9223372036854775808"));
    assert!(ids
        .iter()
        .any(|(_, id)| id == "340282366920938463463374607431768211455"));
    for text in ["9\nevent: evil", "9\revil", "9\r\n", "9\0"] {
        assert!(EventId::try_from(text).is_err(), "{text:?} became an id");
    }

    let (scripts, expected): (Vec<Script>, Vec<String>) = ids.into_iter().unzip();
    let bytes = frames_of(SseBody::new(items(scripts))).concat();
    let read: Vec<String> = messages(&bytes).into_iter().map(|(_, _, id)| id).collect();
    assert_eq!(read, expected);
    let lines = bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    assert_eq!(
        lines,
        2 * expected.len(),
        "one id and one data line per event"
    );
}

/// One item may write several events or none: `Outcome::events` counts the events,
/// whichever way they were written, and the wire holds exactly them. An item that
/// writes nothing sends no frame (never a zero-byte one).
#[test]
fn an_item_may_write_several_events_or_none_and_each_is_counted() {
    let body = SseBody::new(items([
        script(|out| {
            out.event().data("a");
            out.write(&Event::default().data("b"));
            out.encoded(Event::default().data("c").encode());
        }),
        script(|_| {}),
        script(|out| {
            out.event().data("d");
        }),
        script(|_| {}),
    ]));
    let (frames, outcome) = outcome_of(body);
    assert_eq!(
        frames.concat(),
        b"data: a\n\ndata: b\n\ndata: c\n\ndata: d\n\n"
    );
    assert_eq!(outcome.end, End::Completed);
    assert_eq!(outcome.events, 4);
    assert_eq!(outcome.bytes, frames.concat().len() as u64);

    let (frames, outcome) = outcome_of(SseBody::new(items([script(|_| {}), script(|_| {})])));
    assert!(frames.is_empty(), "{frames:?}");
    assert_eq!((outcome.events, outcome.bytes), (0, 0));
    assert_eq!(outcome.first_event, None);
}

/// A `FieldWriter` dropped before any field still ends its event (a lone empty line,
/// which a browser ignores), and the events of two items never run together, even
/// when the first leaves its event without data.
#[test]
fn every_event_ends_when_its_field_writer_is_dropped() {
    let body = SseBody::new(items([
        script(|out| {
            let _ = out.event();
        }),
        script(|out| {
            out.event().data("a");
        }),
        script(|out| {
            out.event().id(1_u8);
        }),
        script(|out| {
            out.event().data("b");
            let _ = out.event();
        }),
        script(|out| {
            out.event().data("c");
        }),
    ]));
    let (frames, outcome) = outcome_of(body);
    let bytes = frames.concat();
    assert_eq!(bytes, b"\ndata: a\n\nid: 1\n\ndata: b\n\n\ndata: c\n\n");
    assert_eq!(outcome.events, 6);
    assert_eq!(
        messages(&bytes),
        vec![
            ("message".into(), "a".into(), String::new()),
            ("message".into(), "b".into(), "1".into()),
            ("message".into(), "c".into(), "1".into()),
        ]
    );
}

/// Shared data of `len` bytes on one line.
fn large_data(len: usize) -> Data {
    let text: String = (0..len)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    Data::from(text)
}

/// Whether `frame` lies inside `data`'s bytes: sent as it is rather than copied.
fn is_inside(frame: &[u8], data: &Data) -> bool {
    let range = data.as_bytes().as_ptr_range();
    range.contains(&frame.as_ptr())
}

/// Large shared data on one line goes out as it is: the frame before it ends with
/// the event's head (`data: `), the data is a frame of its own whose pointer is the
/// `Data`'s, and the event's end starts the next frame. Together the frames are
/// exactly the events' encoding. The same for an `Event` and for
/// `FieldWriter::shared_data`; one byte less than the bound, the data is copied.
#[test]
fn large_shared_data_goes_out_as_it_is_between_head_and_end() {
    let data = large_data(SHARED_DATA);
    let event = Event::default().event(TICK).id(2_u8).data(data.clone());
    let before = Event::default().id(1_u8).data("before");
    let after = Event::default().id(3_u8).data("after");
    let expected = wire([&before, &event, &after]);

    let by_event = vec![
        script({
            let before = before.clone();
            move |out| out.write(&before)
        }),
        script({
            let event = event.clone();
            move |out| event.write_event(out)
        }),
        script({
            let after = after.clone();
            move |out| out.write(&after)
        }),
    ];
    let by_fields = vec![
        script({
            let before = before.clone();
            move |out| out.write(&before)
        }),
        script({
            let data = data.clone();
            move |out| {
                out.event().event(&TICK).id(2_u8).shared_data(&data);
            }
        }),
        script({
            let after = after.clone();
            move |out| out.write(&after)
        }),
    ];
    for (how, items_) in [("Event", by_event), ("shared_data", by_fields)] {
        let frames = frames_of(SseBody::new(items(items_)));
        assert_eq!(frames.concat(), expected, "{how}");
        assert_eq!(frames.len(), 3, "{how}: {frames:?}");
        assert!(
            frames[0].ends_with(b"event: tick\nid: 2\ndata: "),
            "{how}: {:?}",
            frames[0]
        );
        assert_eq!(
            frames[1].as_ptr(),
            data.as_bytes().as_ptr(),
            "{how}: the data was copied"
        );
        assert_eq!(frames[1].len(), SHARED_DATA, "{how}");
        assert!(
            frames[2].starts_with(b"\n\nid: 3\n"),
            "{how}: {:?}",
            frames[2]
        );
    }

    // Alone: head, data, end.
    let frames = frames_of(SseBody::new(items([event.clone()])));
    assert_eq!(frames.concat(), event.encode().as_bytes().to_vec());
    assert_eq!(frames.len(), 3);
    assert_eq!(&frames[0][..], b"event: tick\nid: 2\ndata: ");
    assert_eq!(frames[1].as_ptr(), data.as_bytes().as_ptr());
    assert_eq!(&frames[2][..], b"\n\n");

    // One byte less: copied, into one frame.
    let small = large_data(SHARED_DATA - 1);
    let event = Event::default().id(2_u8).data(small.clone());
    for item in [
        script({
            let event = event.clone();
            move |out| out.write(&event)
        }),
        script(move |out| {
            out.event().id(2_u8).shared_data(&small);
        }),
    ] {
        let frames = frames_of(SseBody::new(items([item])));
        assert_eq!(frames, vec![event.encode().into_bytes()]);
    }
}

/// Large data with a line break anywhere (CR or LF, first, middle or last byte) is
/// split into lines, so it is copied: the wire is still exactly the encoding.
#[test]
fn large_shared_data_with_a_line_break_is_copied_and_still_right() {
    let len = 2 * SHARED_DATA;
    for at in [0, len / 2, len - 1] {
        for brk in ['\n', '\r'] {
            let mut text: Vec<char> = (0..len).map(|_| 'x').collect();
            text[at] = brk;
            let data = Data::from(text.into_iter().collect::<String>());
            let event = Event::default().id(1_u8).data(data.clone());
            for item in [
                script({
                    let event = event.clone();
                    move |out| out.write(&event)
                }),
                script({
                    let data = data.clone();
                    move |out| {
                        out.event().id(1_u8).shared_data(&data);
                    }
                }),
            ] {
                let frames = frames_of(SseBody::new(items([item])));
                assert_eq!(
                    frames.concat(),
                    event.encode().as_bytes().to_vec(),
                    "{brk:?} at {at}"
                );
                assert!(
                    frames.iter().all(|frame| !is_inside(frame, &data)),
                    "{brk:?} at {at}: the data went out with its line break"
                );
                assert_eq!(messages(&frames.concat()).len(), 1);
            }
        }
    }
}

/// Compressed, the compressor reads every frame anyway: large data is not split off
/// (the head, data and end would cost a flush each) and the stream decompresses to
/// exactly the events' encoding.
#[cfg(feature = "gzip")]
#[test]
fn compressed_large_shared_data_is_not_split() {
    use std::io::Read;

    use sse_rs_core::compress::{Coding, Compression};

    // Shared data, yet all in one frame (far under the 64 KiB cap).
    let data = large_data(SHARED_DATA);
    let events = [
        Event::default().id(1_u8).data(data.clone()),
        Event::default().id(2_u8).data("small"),
        Event::default().id(3_u8).data(data.clone()),
    ];
    let scripted = || {
        let (first, third) = (data.clone(), data.clone());
        vec![
            script(move |out| {
                out.event().id(1_u8).shared_data(&first);
            }),
            script(|out| {
                out.event().id(2_u8).data("small");
            }),
            script(move |out| {
                out.event().id(3_u8).shared_data(&third);
            }),
        ]
    };
    let by_event = || {
        events
            .iter()
            .map(|event| {
                let event = event.clone();
                script(move |out| out.write(&event))
            })
            .collect::<Vec<_>>()
    };
    for (how, items_) in [("Event", by_event()), ("shared_data", scripted())] {
        let body = SseBody::new(items(items_)).compress_with(Coding::Gzip, Compression::default());
        let frames = frames_of(body);
        assert_eq!(frames.len(), 1, "{how}: split into {} frames", frames.len());
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&frames.concat()[..])
            .read_to_end(&mut plain)
            .unwrap();
        assert_eq!(plain, wire(&events), "{how}");
    }
}

/// `json_data` writes compact JSON straight into the frame: the same bytes as
/// `Event::json_data`, line breaks in strings escaped.
#[cfg(feature = "json")]
#[test]
fn json_data_writes_compact_json() {
    #[derive(serde::Serialize)]
    struct Delta<'a> {
        content: &'a str,
        index: u32,
    }
    let value = Delta {
        content: "two\nlines\r\n",
        index: 0,
    };
    let expected = Event::default()
        .id(1_u8)
        .json_data(&value)
        .unwrap()
        .encode();
    let body = SseBody::new(items([script(move |out| {
        out.event().id(1_u8).json_data(&value).unwrap();
    })]));
    let frames = frames_of(body);
    assert_eq!(frames.concat(), expected.as_bytes().to_vec());
    assert_eq!(
        &frames.concat()[..],
        br#"id: 1
data: {"content":"two\nlines\r\n","index":0}

"#
    );
}

/// Raw JSON (`RawValue`, as a proxy forwards upstream JSON) keeps its whitespace,
/// line breaks included: it goes as one `data:` line per line, the same bytes as
/// `Event::json_data`, so that no empty line ends the event early and no line of it
/// is read as a field. A client decodes the JSON as it was.
#[cfg(feature = "json")]
#[test]
fn json_data_with_line_breaks_goes_line_by_line() {
    let raw = "{\"a\":\n\n\"b\",\r\n\"id\": 7}";
    let value = serde_json::value::RawValue::from_string(raw.to_owned()).unwrap();
    let expected = Event::default()
        .id(1_u8)
        .json_data(&value)
        .unwrap()
        .encode();
    let body = SseBody::new(items([script(move |out| {
        out.event().id(1_u8).json_data(&*value).unwrap();
        out.event().id(2_u8).data("next");
    })]));
    let wire = frames_of(body).concat();
    assert!(wire.starts_with(expected.as_bytes()), "{wire:?}");
    let events: Vec<_> = Decoder::new()
        .decode(&wire)
        .unwrap()
        .filter_map(|item| match item {
            Decoded::Event(event) => Some(event),
            _ => None,
        })
        .collect();
    assert_eq!(events.len(), 2, "{wire:?}");
    assert_eq!(events[0].data, "{\"a\":\n\n\"b\",\n\"id\": 7}");
    assert_eq!(events[1].data, "next");
}

/// A value that fails halfway through (a map with non-string keys, after text that
/// was already serialised): nothing of its data line is left, the fields before it
/// and the events before it stay, the event still ends, and it may go on with other
/// fields.
#[cfg(feature = "json")]
#[test]
fn json_data_that_fails_leaves_nothing_of_its_line() {
    use std::collections::BTreeMap;

    let bad = || {
        let map: BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into();
        // Long enough that the buffer grows while it is written.
        ("x".repeat(10_000), map)
    };
    let errors = Arc::new(Mutex::new(Vec::new()));
    let seen = errors.clone();
    let body = SseBody::new(items([
        // Held (an encoded event alone is not copied) until the JSON needs the buffer.
        script(|out| out.encoded(Event::default().data("before").encode())),
        script(move |out| {
            let mut fields = out.event();
            fields.id(1_u8);
            let error = fields.json_data(&bad()).err();
            seen.lock().unwrap().push(error.map(|e| e.to_string()));
        }),
        script({
            let seen = errors.clone();
            move |out| {
                let mut fields = out.event();
                let error = fields.json_data(&bad()).err();
                seen.lock().unwrap().push(error.map(|e| e.to_string()));
                fields.data("fallback");
            }
        }),
        script(|out| {
            out.event().data("after");
        }),
    ]));
    let bytes = frames_of(body).concat();
    assert_eq!(
        String::from_utf8_lossy(&bytes),
        "data: before\n\nid: 1\n\ndata: fallback\n\ndata: after\n\n"
    );
    let errors = errors.lock().unwrap();
    assert_eq!(errors.len(), 2);
    for error in errors.iter() {
        assert_eq!(error.as_deref(), Some("key must be a string"));
    }
}

/// A stream error after large data that went out in pieces: every piece is handed
/// over first, then the server gets a turn, then the error.
#[test]
fn an_error_after_large_data_comes_after_all_its_pieces() {
    let data = large_data(SHARED_DATA);
    let event = Event::default().id(1_u8).data(data.clone());
    for how in ["Event", "shared_data"] {
        let item = match how {
            "Event" => script({
                let event = event.clone();
                move |out| out.write(&event)
            }),
            _ => script({
                let data = data.clone();
                move |out| {
                    out.event().id(1_u8).shared_data(&data);
                }
            }),
        };
        let source = stream::iter([Ok(item), Err::<Script, BoxError>("boom".into())]);
        let mut body = SseBody::new(source);
        let mut cx = Context::from_waker(Waker::noop());
        let mut next = || Pin::new(&mut body).poll_frame(&mut cx);
        let mut frame = |expected: &[u8]| match next() {
            Poll::Ready(Some(Ok(frame))) => {
                let frame = frame.into_data().unwrap();
                assert_eq!(&frame[..], expected, "{how}");
                frame
            }
            other => panic!("{how}: a frame, not {other:?}"),
        };
        frame(b"id: 1\ndata: ");
        let piece = frame(data.as_bytes());
        assert_eq!(piece.as_ptr(), data.as_bytes().as_ptr(), "{how}");
        frame(b"\n\n");
        assert!(next().is_pending(), "{how}: a turn to write the events");
        match next() {
            Poll::Ready(Some(Err(error))) => assert_eq!(error.to_string(), "boom"),
            other => panic!("{how}: the error, not {other:?}"),
        }
        assert!(matches!(next(), Poll::Ready(None)), "{how}");
    }
}

/// The initial event goes first, coalesced with what the stream has ready, custom
/// items and large data included; alone it is sent as it was encoded (not copied).
#[test]
fn initial_event_goes_first_with_what_is_ready() {
    let initial = Event::default()
        .retry(std::time::Duration::from_secs(5))
        .encode();
    let (frames, outcome) = outcome_of(
        SseBody::new(items([
            script(|out| {
                out.event().id(1_u8).data("a");
            }),
            script(|out| {
                out.event().id(2_u8).data("b");
            }),
        ]))
        .initial_event(initial.clone()),
    );
    assert_eq!(
        frames,
        vec![Bytes::from(
            [
                &initial.as_bytes()[..],
                b"id: 1\ndata: a\n\nid: 2\ndata: b\n\n"
            ]
            .concat()
        )]
    );
    assert_eq!(outcome.events, 2, "the initial event is not counted");

    let data = large_data(SHARED_DATA);
    let event = Event::default().id(1_u8).data(data.clone());
    let frames = frames_of(SseBody::new(items([event.clone()])).initial_event(initial.clone()));
    assert_eq!(frames.len(), 3, "{frames:?}");
    assert_eq!(
        &frames[0][..],
        [&initial.as_bytes()[..], b"id: 1\ndata: "].concat()
    );
    assert_eq!(frames[1].as_ptr(), data.as_bytes().as_ptr());
    assert_eq!(&frames[2][..], b"\n\n");

    // Alone: its own bytes.
    let source = stream::pending::<Result<Event, Infallible>>();
    let mut body = SseBody::new(source).initial_event(initial.clone());
    let mut cx = Context::from_waker(Waker::noop());
    let Poll::Ready(Some(Ok(frame))) = Pin::new(&mut body).poll_frame(&mut cx) else {
        panic!("the initial event at once");
    };
    let frame = frame.into_data().unwrap();
    assert_eq!(frame, initial.as_bytes());
    assert_eq!(frame.as_ptr(), initial.as_bytes().as_ptr(), "copied");
    assert!(Pin::new(&mut body).poll_frame(&mut cx).is_pending());
}
