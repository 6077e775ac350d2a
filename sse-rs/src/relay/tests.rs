use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use futures_util::stream;
use sse_rs_core::decode::{Decoded, Decoder, MessageEvent};

use super::{Relay, RelayError};
use crate::{EncodedEvent, Event, EventType, SseBody};

/// An upstream with a bit of everything: a BOM, CRLF, CR-only and LF line breaks, a
/// comment, `retry`, ids (one with NUL, an id-only block, a reset), multi-line data,
/// fields without a space or a colon, an event without data, invalid UTF-8, and an
/// unfinished event at the end.
const TRICKY: &[u8] = b"\xEF\xBB\xBF: hello\r\nretry: 2500\r\nid: 1\r\nevent: greet\rdata: line one\rdata: line two\n\n\
data: x\r\r\
: comment\n\n\
id: 2\n\n\
data:no space\ndata:  two spaces\r\n\r\n\
id: bad\0id\ndata: nul\n\n\
event: x\n\n\
foo: bar\ndata\n\n\
id\ndata: reset\n\n\
data: \xff invalid\n\n\
data: unfinished";

/// `TRICKY`, as the relay sends it by default.
const TRICKY_RELAYED: &[u8] = b"event: greet\nid: 1\ndata: line one\ndata: line two\n\n\
data: x\n\n\
id: 2\ndata: no space\ndata:  two spaces\n\n\
data: nul\n\n\
data: \n\n\
id: \ndata: reset\n\n\
data: \xEF\xBF\xBD invalid\n\n";

fn upstream(chunks: Vec<&'static [u8]>) -> Relay {
    Relay::new(stream::iter(
        chunks
            .into_iter()
            .map(|chunk| Ok::<_, Infallible>(Bytes::from_static(chunk))),
    ))
}

/// Everything the relay yields, polled to its end (the test upstreams never wait).
fn drain(mut relay: Relay) -> (Vec<EncodedEvent>, Option<RelayError>) {
    let mut cx = Context::from_waker(Waker::noop());
    let (mut events, mut error) = (Vec::new(), None);
    for _ in 0..1 << 24 {
        match Pin::new(&mut relay).poll_next(&mut cx) {
            Poll::Ready(Some(Ok(event))) => events.push(event),
            Poll::Ready(Some(Err(e))) => {
                assert!(error.is_none(), "one error, then the end");
                error = Some(e);
            }
            Poll::Ready(None) => {
                assert!(futures_core::stream::FusedStream::is_terminated(&relay));
                return (events, error);
            }
            Poll::Pending => {} // the budget: poll again
        }
    }
    panic!("the relay never ended");
}

fn bytes(events: &[EncodedEvent]) -> Vec<u8> {
    events.iter().flat_map(|e| e.as_bytes().to_vec()).collect()
}

/// What a browser makes of `wire`: its events and its last event id at the end.
fn browser(wire: &[u8]) -> (Vec<MessageEvent>, String) {
    let mut decoder = Decoder::new();
    let events = decoder
        .decode(wire)
        .unwrap()
        .filter_map(|item| match item {
            Decoded::Event(event) => Some(event),
            _ => None,
        })
        .collect();
    (events, decoder.last_event_id().to_owned())
}

#[test]
fn tricky_upstream_is_sent_as_a_browser_read_it() {
    let (events, error) = drain(upstream(vec![TRICKY]));
    assert!(error.is_none());
    assert_eq!(
        String::from_utf8_lossy(&bytes(&events)),
        String::from_utf8_lossy(TRICKY_RELAYED)
    );
    // What the client reads is what a browser reads from upstream, id included.
    assert_eq!(browser(&bytes(&events)), browser(TRICKY));
}

#[test]
fn every_split_into_two_chunks_gives_the_same_events() {
    let (whole, _) = drain(upstream(vec![TRICKY]));
    for split in 0..=TRICKY.len() {
        let (events, error) = drain(upstream(vec![&TRICKY[..split], &TRICKY[split..]]));
        assert!(error.is_none());
        assert_eq!(events, whole, "split at {split}");
    }
    let singles = TRICKY.chunks(1).collect();
    assert_eq!(drain(upstream(singles)).0, whole);
    // Near the bound the relay decodes line by line: the same events.
    for split in 0..=TRICKY.len() {
        let relay = upstream(vec![&TRICKY[..split], &TRICKY[split..]]).max_event_size(128);
        assert_eq!(drain(relay).0, whole, "line by line, split at {split}");
    }
}

#[test]
fn verbatim_forwards_every_byte_for_every_split() {
    // Without the BOM (the client's stream may start with an event of the gateway's)
    // and without the unfinished event.
    let exact = &TRICKY[3..TRICKY.len() - b"data: unfinished".len()];
    for split in 0..=TRICKY.len() {
        let relay = upstream(vec![&TRICKY[..split], &TRICKY[split..]]).verbatim(true);
        let (events, error) = drain(relay);
        assert!(error.is_none());
        assert_eq!(bytes(&events), exact, "split at {split}");
        // Cut at event boundaries: every piece ends with an empty line (or is the
        // LF of a CRLF cut in two).
        for event in &events {
            let event = event.as_bytes();
            assert!(
                event.ends_with(b"\n\n")
                    || event.ends_with(b"\r\r")
                    || event.ends_with(b"\r\n\r\n")
                    || event.ends_with(b"\n\r")
                    || event.ends_with(b"\r\n\r")
                    || event[..] == b"\n"[..]
                    || event[..] == b"\r\n"[..],
                "split at {split}: {event:?}"
            );
        }
    }
    let singles = TRICKY.chunks(1).collect();
    assert_eq!(bytes(&drain(upstream(singles).verbatim(true)).0), exact);
    for split in 0..=TRICKY.len() {
        let relay = upstream(vec![&TRICKY[..split], &TRICKY[split..]])
            .verbatim(true)
            .max_event_size(128);
        assert_eq!(
            bytes(&drain(relay).0),
            exact,
            "line by line, split at {split}"
        );
    }
}

#[test]
fn verbatim_blocks_are_whole_events() {
    let relay = upstream(vec![b": c\r\ndata: a\r\n\r\ndata: b\n", b"\n"]).verbatim(true);
    let (events, _) = drain(relay);
    let events: Vec<&[u8]> = events.iter().map(|e| &e.as_bytes()[..]).collect();
    assert_eq!(events, [&b": c\r\ndata: a\r\n\r\n"[..], b"data: b\n\n"]);
}

#[test]
fn nothing_is_smuggled_past_the_relay() {
    // A line break inside a value (CR alone, as browsers read it) starts a field for
    // a browser: the relay writes it as the field it is, never as text a client
    // splitting on LF only would read differently.
    let (events, _) = drain(upstream(vec![
        b"data: hi\revent: admin\rid: 9\r\r",
        b"id: x\0y\ndata: nul id\n\n",
        b"data: a\n: not a field\ndata: b\n\n",
    ]));
    assert_eq!(
        bytes(&events),
        b"event: admin\nid: 9\ndata: hi\n\ndata: nul id\n\ndata: a\ndata: b\n\n"
    );
    assert!(!bytes(&events).contains(&b'\r'));

    // A filter that writes line breaks into data: more data lines, no new field.
    let relay = upstream(vec![b"data: x\n\n"]).filter_map(|mut event| {
        event.data = "1\r\nid: 666\nevent: evil\r".into();
        Some(event)
    });
    let (events, error) = drain(relay);
    assert!(error.is_none());
    assert_eq!(
        bytes(&events),
        b"data: 1\ndata: id: 666\ndata: event: evil\ndata: \n\n"
    );
    let (read, id) = browser(&bytes(&events));
    assert_eq!(
        (read[0].data.as_str(), read[0].event.as_str()),
        ("1\nid: 666\nevent: evil\n", "message")
    );
    assert_eq!(id, "");

    // A type with a line break cannot be sent: the relay ends with an error.
    let relay = upstream(vec![b"data: x\n\ndata: y\n\n"]).filter_map(|mut event| {
        if event.data == "y" {
            event.event = "x\ndata: forged".into();
        }
        Some(event)
    });
    let (events, error) = drain(relay);
    assert_eq!(bytes(&events), b"data: x\n\n");
    assert!(matches!(error, Some(RelayError::InvalidField(_))));
}

#[test]
fn comments_and_retry_are_dropped_unless_asked() {
    let chunks = || vec![&b": ping\n\nretry: 100\n: c\ndata: x\n\n: bye\n\n"[..]];
    assert_eq!(bytes(&drain(upstream(chunks())).0), b"data: x\n\n");
    // Asked for, they go with the next event: the comments of its block, the last
    // `retry`; a block of comments alone (a keep-alive) goes nowhere.
    let relay = upstream(chunks()).comments(true).retry(true);
    assert_eq!(bytes(&drain(relay).0), b": c\nretry: 100\ndata: x\n\n");
    // Verbatim keeps them, as they are.
    let relay = upstream(chunks()).verbatim(true);
    assert_eq!(bytes(&drain(relay).0), chunks()[0]);
}

#[test]
fn no_block_without_data_goes_out_unless_upstream_ends_with_one() {
    // Some clients (httpx-sse, `openai` for Python) take an empty line after an
    // event with an id for an empty event.
    for split in 0..=TRICKY.len() {
        let chunks = vec![&TRICKY[..split], &TRICKY[split..]];
        let relay = upstream(chunks).comments(true).retry(true);
        let (events, error) = drain(relay);
        assert!(error.is_none());
        for event in &events {
            assert!(
                event.as_bytes().windows(5).any(|w| w == b"data:"),
                "split at {split}: {event:?}"
            );
        }
        assert_eq!(browser(&bytes(&events)), browser(TRICKY));
    }
    // What is left at the end goes with the end event...
    let tail = || vec![&b"id: 1\ndata: a\n\nid: 2\nretry: 5\n: c\n\n"[..]];
    let relay = upstream(tail())
        .retry(true)
        .comments(true)
        .ensure_end_event(Event::default().data("[DONE]"));
    assert_eq!(
        bytes(&drain(relay).0),
        b"id: 1\ndata: a\n\nid: 2\nretry: 5\ndata: [DONE]\n\n"
    );
    // ... or alone, without one.
    let relay = upstream(tail()).retry(true).comments(true);
    assert_eq!(
        bytes(&drain(relay).0),
        b"id: 1\ndata: a\n\nid: 2\nretry: 5\n\n"
    );
    // An end event with an id of its own keeps it.
    let relay = upstream(tail()).ensure_end_event(Event::default().id(9_u64).data("end"));
    assert_eq!(
        bytes(&drain(relay).0),
        b"id: 1\ndata: a\n\nid: 9\ndata: end\n\n"
    );
}

#[test]
fn the_hook_sees_every_event_also_those_dropped() {
    for verbatim in [false, true] {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let relay = upstream(vec![TRICKY])
            .verbatim(verbatim)
            .inspect(move |event| log.lock().unwrap().push(event.clone()))
            .filter_map(|event| (event.data != "x").then_some(event));
        let (events, _) = drain(relay);
        let (expected, _) = browser(TRICKY);
        assert_eq!(*seen.lock().unwrap(), expected, "verbatim {verbatim}");
        assert_eq!(expected.len(), 7);
        let (sent, _) = browser(&bytes(&events));
        assert_eq!(sent.len(), 6, "verbatim {verbatim}");
        assert!(sent.iter().all(|event| event.data != "x"));
    }
}

#[test]
fn ids_follow_upstream_over_dropped_and_rewritten_events() {
    let chunks =
        || vec![&b"id: 1\ndata: keep\n\nid: 2\ndata: drop\n\ndata: same id\n\nid: 3\n\n"[..]];
    for verbatim in [false, true] {
        let relay = upstream(chunks())
            .verbatim(verbatim)
            .filter_map(|mut event| {
                event.last_event_id = "ignored".into();
                (event.data != "drop").then_some(event)
            });
        let (events, _) = drain(relay);
        let (sent, id) = browser(&bytes(&events));
        let ids: Vec<&str> = sent.iter().map(|e| e.last_event_id.as_str()).collect();
        assert_eq!(ids, ["1", "2"], "verbatim {verbatim}");
        assert_eq!(id, "3", "verbatim {verbatim}");
    }
    let (events, _) = drain(upstream(chunks()).filter_map(|e| (e.data != "drop").then_some(e)));
    assert_eq!(
        bytes(&events),
        b"id: 1\ndata: keep\n\nid: 2\ndata: same id\n\nid: 3\n\n"
    );
    // Verbatim: a block without an event moves the client's id as upstream's; a
    // dropped event after it sets the id it had, even if the relay last sent that id.
    for max in [1024, 24] {
        let relay = upstream(vec![b"id: 5\ndata: a\n\nid: 6\n\nid: 5\ndata: drop\n\n"])
            .verbatim(true)
            .max_event_size(max)
            .filter_map(|e| (e.data != "drop").then_some(e));
        let (events, error) = drain(relay);
        assert!(error.is_none());
        assert_eq!(browser(&bytes(&events)).1, "5", "max {max}");
    }
    // Decoded events: the id of a dropped event comes with the next one, or at the
    // end; also before an upstream error.
    let decoded = |wire: &[u8]| -> Vec<Result<Decoded, std::io::Error>> {
        Decoder::new().decode(wire).unwrap().map(Ok).collect()
    };
    let drop_b = |e: MessageEvent| (e.data != "b").then_some(e);
    let items =
        decoded(b"id: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\ndata: c\n\nid: 4\ndata: b\n\n");
    let relay = Relay::from_events(stream::iter(items)).filter_map(drop_b);
    assert_eq!(
        bytes(&drain(relay).0),
        b"id: 1\ndata: a\n\nid: 3\ndata: c\n\nid: 4\n\n"
    );
    let mut items = decoded(b"id: 1\ndata: a\n\nid: 2\ndata: b\n\n");
    items.push(Err(std::io::Error::other("reset")));
    let (events, error) = drain(Relay::from_events(stream::iter(items)).filter_map(drop_b));
    assert_eq!(bytes(&events), b"id: 1\ndata: a\n\nid: 2\n\n");
    assert!(matches!(error, Some(RelayError::Upstream(_))));
    // The id the client already has is not sent again.
    let relay = upstream(vec![b"id: 7\ndata: a\n\nid: 8\ndata: b\n\n"]).last_event_id("7");
    assert_eq!(bytes(&drain(relay).0), b"data: a\n\nid: 8\ndata: b\n\n");
}

#[test]
fn verbatim_sends_a_changed_event_encoded_again() {
    let relay = upstream(vec![b": c\r\nid: 4\r\ndata: a\r\n\r\ndata: b\r\n\r\n"])
        .verbatim(true)
        .filter_map(|mut event| {
            if event.data == "a" {
                event.data = "A".into();
            }
            Some(event)
        });
    assert_eq!(bytes(&drain(relay).0), b"id: 4\ndata: A\n\ndata: b\r\n\r\n");
}

#[test]
fn an_event_over_the_bound_ends_the_relay_after_the_events_before_it() {
    for verbatim in [false, true] {
        // In one chunk: the events before it are not lost with it.
        let relay = upstream(vec![b"data: small\n\ndata: 0123456789abcdef0123456789\n\n"])
            .max_event_size(24)
            .verbatim(verbatim);
        let (events, error) = drain(relay);
        assert_eq!(bytes(&events), b"data: small\n\n", "verbatim {verbatim}");
        assert!(
            matches!(error, Some(RelayError::TooLarge { limit: 24 })),
            "verbatim {verbatim}"
        );
    }
    // Data over the bound in short lines.
    let relay = upstream(vec![
        b"data: 0123456789\ndata: 0123456789\ndata: 0123456789\n\n",
    ])
    .max_event_size(24);
    assert!(matches!(drain(relay).1, Some(RelayError::TooLarge { .. })));
    // Verbatim keeps whole blocks: many short comment lines are bounded together.
    let flood: Vec<&[u8]> = std::iter::repeat_n(&b": keep-alive\n"[..], 1000).collect();
    let (_, error) = drain(upstream(flood.clone()).max_event_size(1024).verbatim(true));
    assert!(matches!(error, Some(RelayError::TooLarge { limit: 1024 })));
    // Re-encoding keeps nothing of dropped comments: no bound is reached.
    let (events, error) = drain(upstream(flood).max_event_size(1024));
    assert!(events.is_empty() && error.is_none());
}

#[test]
fn a_huge_upstream_chunk_is_decoded_piece_by_piece() {
    // 100 000 events in one chunk: the queue holds at most a piece's worth.
    let chunk: &'static [u8] = "data: x\n\n".repeat(100_000).leak().as_bytes();
    let mut relay = upstream(vec![chunk]);
    let mut cx = Context::from_waker(Waker::noop());
    let first = Pin::new(&mut relay).poll_next(&mut cx);
    assert!(matches!(first, Poll::Ready(Some(Ok(_)))));
    assert!(relay.core.queue.len() < super::PIECE / 9 + 1);
    assert_eq!(drain(relay).0.len(), 100_000 - 1);
}

#[test]
fn the_end_event_is_added_when_upstream_did_not_send_it() {
    let done = || Event::default().data("[DONE]");
    let relay = upstream(vec![b"data: a\n\n"]).ensure_end_event(done());
    assert_eq!(bytes(&drain(relay).0), b"data: a\n\ndata: [DONE]\n\n");
    for verbatim in [false, true] {
        let relay = upstream(vec![b"data: a\n\ndata:[DONE]\r\n\r\n"])
            .verbatim(verbatim)
            .ensure_end_event(done());
        let (sent, _) = browser(&bytes(&drain(relay).0));
        assert_eq!(sent.len(), 2, "not twice, verbatim {verbatim}");
    }
    // Another type is another event.
    let relay = upstream(vec![b"event: end\ndata: [DONE]\n\n"]).ensure_end_event(done());
    assert_eq!(browser(&bytes(&drain(relay).0)).0.len(), 2);
    // Upstream sent it, the filter dropped it: the client still gets an end.
    let relay = upstream(vec![b"data: [DONE]\n\n"])
        .filter_map(|e| (e.data != "[DONE]").then_some(e))
        .ensure_end_event(done());
    assert_eq!(bytes(&drain(relay).0), b"data: [DONE]\n\n");
    // Not after an error.
    let failing = stream::iter([
        Ok(Bytes::from_static(b"data: a\n\n")),
        Err(std::io::Error::other("reset")),
    ]);
    let (events, error) = drain(Relay::new(failing).ensure_end_event(done()));
    assert_eq!(bytes(&events), b"data: a\n\n");
    let error = error.unwrap();
    assert_eq!(error.to_string(), "the upstream event stream failed");
    assert_eq!(
        std::error::Error::source(&error).unwrap().to_string(),
        "reset"
    );
}

/// An upstream that counts its polls and says when it is dropped.
struct Watched {
    chunks: Vec<Result<Bytes, std::io::Error>>,
    dropped: Arc<AtomicBool>,
    polls: Arc<AtomicUsize>,
}

impl Stream for Watched {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.polls.fetch_add(1, Ordering::Relaxed);
        if self.chunks.is_empty() {
            return Poll::Ready(Some(Ok(Bytes::from_static(b": still here\n"))));
        }
        Poll::Ready(Some(self.chunks.remove(0)))
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::Relaxed);
    }
}

#[test]
fn upstream_is_dropped_on_error_and_with_the_relay() {
    let dropped = Arc::new(AtomicBool::new(false));
    let polls = Arc::new(AtomicUsize::new(0));
    let upstream = Watched {
        chunks: vec![
            Ok(Bytes::from_static(b"data: a\n\n")),
            Err(std::io::Error::other("reset")),
        ],
        dropped: Arc::clone(&dropped),
        polls: Arc::clone(&polls),
    };
    let mut relay = Relay::new(upstream);
    let mut cx = Context::from_waker(Waker::noop());
    assert!(matches!(
        Pin::new(&mut relay).poll_next(&mut cx),
        Poll::Ready(Some(Ok(_)))
    ));
    assert!(matches!(
        Pin::new(&mut relay).poll_next(&mut cx),
        Poll::Ready(Some(Err(RelayError::Upstream(_))))
    ));
    assert!(dropped.load(Ordering::Relaxed), "closed at the error");
    assert!(matches!(
        Pin::new(&mut relay).poll_next(&mut cx),
        Poll::Ready(None)
    ));

    // A client that leaves drops the body, the relay and the upstream.
    let dropped = Arc::new(AtomicBool::new(false));
    let upstream = Watched {
        chunks: vec![Ok(Bytes::from_static(b"data: a\n\n"))],
        dropped: Arc::clone(&dropped),
        polls: Arc::clone(&polls),
    };
    let body = SseBody::new(Relay::new(upstream));
    drop(body);
    assert!(dropped.load(Ordering::Relaxed));
}

#[test]
fn an_upstream_with_nothing_to_send_lets_other_tasks_run() {
    let polls = Arc::new(AtomicUsize::new(0));
    let upstream = Watched {
        chunks: Vec::new(), // comments forever, always ready
        dropped: Arc::new(AtomicBool::new(false)),
        polls: Arc::clone(&polls),
    };
    let mut relay = Relay::new(upstream);
    let mut cx = Context::from_waker(Waker::noop());
    assert!(Pin::new(&mut relay).poll_next(&mut cx).is_pending());
    assert_eq!(polls.load(Ordering::Relaxed), super::BUDGET);
}

#[test]
fn decoded_events_are_encoded_again() {
    let decoded = |wire: &[u8]| -> Vec<Result<Option<Decoded>, Infallible>> {
        let mut decoder = Decoder::new().comments(true);
        let mut items: Vec<_> = decoder.decode(wire).unwrap().map(|i| Ok(Some(i))).collect();
        items.insert(1, Ok(None)); // a connection event of the upstream client
        items
    };
    let relay = Relay::from_events(stream::iter(decoded(TRICKY)))
        .verbatim(true) // does nothing: decoded events have no bytes
        .comments(true)
        .retry(true);
    let (events, error) = drain(relay);
    assert!(error.is_none());
    let wire = bytes(&events);
    assert!(wire.starts_with(b": hello\nevent: greet\nid: 1\nretry: 2500\ndata: line one"));
    assert_eq!(browser(&wire).0, browser(TRICKY).0);

    // Bounded too, and an error of the upstream reader ends the relay.
    let items = vec![
        Ok(Some(Decoded::Retry(Duration::from_secs(1)))),
        Err(std::io::Error::other("gone")),
    ];
    let (events, error) = drain(Relay::from_events(stream::iter(items)));
    assert!(events.is_empty());
    assert!(matches!(error, Some(RelayError::Upstream(_))));
    let big = Decoder::new()
        .decode(b"data: 0123456789\n\n")
        .unwrap()
        .map(|i| Ok::<_, Infallible>(Some(i)))
        .collect::<Vec<_>>();
    let (_, error) = drain(Relay::from_events(stream::iter(big)).max_event_size(4));
    assert!(matches!(error, Some(RelayError::TooLarge { limit: 4 })));
}

#[test]
fn a_body_is_an_upstream_too() {
    let body = http_body_util::Full::new(Bytes::from_static(b"data: from a body\n\n"));
    assert_eq!(
        bytes(&drain(Relay::from_body(body)).0),
        b"data: from a body\n\n"
    );
}

#[tokio::test]
async fn an_upstream_error_becomes_the_last_event_with_on_error() {
    use futures_util::StreamExt;
    let failing = stream::iter([
        Ok(Bytes::from_static(b"data: a\n\n")),
        Err(std::io::Error::other("upstream reset")),
    ]);
    let body = SseBody::new(Relay::new(failing)).on_error(|error| {
        Event::default()
            .event(EventType::from_static("error"))
            .data(error.to_string())
    });
    let frames: Vec<_> = body.collect().await;
    let wire: Vec<u8> = frames
        .into_iter()
        .flat_map(|frame| frame.unwrap().to_vec())
        .collect();
    assert_eq!(
        wire,
        b"data: a\n\nevent: error\ndata: the upstream event stream failed\n\n"
    );
}

/// A small pseudo-random generator (xorshift), so the test needs no dependency and
/// every run checks the same streams.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[test]
fn random_streams_never_panic_and_read_as_upstream_reads() {
    const TOKENS: &[&[u8]] = &[
        b"data",
        b"data:",
        b"data: ",
        b"id: ",
        b"id:",
        b"event: ",
        b"retry: ",
        b"retry: 12",
        b":",
        b": c",
        b" ",
        b"\r",
        b"\n",
        b"\r\n",
        b"\n\n",
        b"\0",
        b"x",
        b"7",
        b"\xEF\xBB\xBF",
        b"\xC3",
        b"\xA9",
        b"\xff",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..2000 {
        let mut input = Vec::new();
        for _ in 0..rng.below(60) {
            input.extend_from_slice(TOKENS[rng.below(TOKENS.len())]);
        }
        let input: &'static [u8] = input.leak();
        let split = rng.below(input.len() + 1);
        let chunks = || vec![&input[..split], &input[split..]];
        let max = [16, 64, 4096][rng.below(3)];
        let (whole, error) = drain(upstream(vec![input]).max_event_size(max));
        let (halves, split_error) = drain(upstream(chunks()).max_event_size(max));
        assert_eq!(whole, halves, "round {round}: {input:?} split at {split}");
        assert_eq!(error.is_some(), split_error.is_some());
        if error.is_none() {
            assert_eq!(
                browser(&bytes(&whole)),
                browser(input),
                "round {round}: {input:?}"
            );
        }
        let (raw, error) = drain(upstream(chunks()).max_event_size(max).verbatim(true));
        let raw = bytes(&raw);
        // Upstream's bytes, but for BOMs (the first one goes, a block that starts
        // like one gets another).
        let strip = |bytes: &[u8]| -> Vec<u8> {
            let mut out = Vec::new();
            let mut rest = bytes;
            while !rest.is_empty() {
                if let Some(after) = rest.strip_prefix(b"\xEF\xBB\xBF") {
                    rest = after;
                } else {
                    out.push(rest[0]);
                    rest = &rest[1..];
                }
            }
            out
        };
        assert!(
            strip(input).starts_with(&strip(&raw)),
            "round {round}: {input:?}"
        );
        if error.is_none() {
            assert_eq!(browser(&raw), browser(input), "round {round}: {input:?}");
        }
    }
}
