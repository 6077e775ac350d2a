//! WHATWG's rules for parsing an event stream: one `200 text/event-stream` response
//! written in the given chunks, then a clean end; the client is set up to end there
//! (or its closest mode), and a reconnection gets `204 No Content`.
//!
//! Pass: the dispatched events (type, data, last event id) are exactly the expected
//! ones, in order. Errors and how the stream ended are not judged here (the
//! reconnect group does that).

use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;

use super::{same_events, Group, Outcome, Scenario, Until};
use crate::clients::{Ev, Setup};
use crate::server::Conn;

/// How long a parsing run reads at most.
const WINDOW: Duration = Duration::from_secs(3);

/// A parsing scenario: `chunks` as one response, `expected` the events.
fn parse(name: &'static str, pass: &str, chunks: Vec<Vec<u8>>, expected: Vec<Ev>) -> Scenario {
    let chunks = Arc::new(chunks);
    let want = expected.clone();
    Scenario {
        group: Group::Parsing,
        name,
        pass: format!("{pass}: exactly {}", list(&expected)),
        setup: Setup {
            end_on_eof: true,
            ..Setup::default()
        },
        until: Until {
            events: None,
            window: WINDOW,
        },
        script: Arc::new(move |conn: Conn| {
            let chunks = chunks.clone();
            async move {
                if conn.request.n > 0 {
                    return conn.no_content().await;
                }
                let mut conn = conn;
                conn.sse_head().await;
                for chunk in chunks.iter() {
                    conn.chunk(chunk).await;
                }
                conn.end().await;
            }
            .boxed()
        }),
        check: Arc::new(move |outcome: &Outcome| same_events(outcome, &want)),
    }
}

/// The expected events in words: `"a"`, `one/"b"` (a type other than `message`),
/// `"c"/id 7`.
fn list(events: &[Ev]) -> String {
    let items: Vec<String> = events
        .iter()
        .map(|event| {
            let data = if event.data.len() > 16 {
                format!("{} bytes", event.data.len())
            } else {
                format!("{:?}", event.data)
            };
            let mut text = String::new();
            if event.event != "message" {
                text.push_str(&event.event);
                text.push('/');
            }
            text.push_str(&data);
            if !event.id.is_empty() {
                text.push_str(&format!(" id {}", event.id));
            }
            format!("`{text}`")
        })
        .collect();
    match items.len() {
        0 => String::from("no event"),
        1 => format!("one event {}", items[0]),
        n => format!("{n} events {}", items.join(", ")),
    }
}

fn one(bytes: &[u8]) -> Vec<Vec<u8>> {
    vec![bytes.to_vec()]
}

fn msg(data: &str) -> Ev {
    Ev::new("message", data, "")
}

/// Every parsing scenario.
pub(super) fn all() -> Vec<Scenario> {
    let long = "x".repeat(1 << 20);
    let mut long_stream = b"data: ".to_vec();
    long_stream.extend_from_slice(long.as_bytes());
    long_stream.extend_from_slice(b"\n\n");
    vec![
        parse(
            "UTF-8 BOM at the start",
            "one BOM before the first line is skipped",
            one(b"\xEF\xBB\xBFdata: a\n\ndata: b\n\n"),
            vec![msg("a"), msg("b")],
        ),
        parse(
            "CR line ends",
            "a lone CR ends a line",
            one(b"data: a\rdata: b\r\rdata: c\r\r"),
            vec![msg("a\nb"), msg("c")],
        ),
        parse(
            "LF line ends",
            "LF ends a line",
            one(b"data: a\ndata: b\n\ndata: c\n\n"),
            vec![msg("a\nb"), msg("c")],
        ),
        parse(
            "CRLF line ends",
            "CRLF is one line end",
            one(b"data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n"),
            vec![msg("a\nb"), msg("c")],
        ),
        parse(
            "CRLF split across chunks",
            "a CR at the end of a chunk and the LF starting the next are one line end",
            vec![
                b"data: a\r".to_vec(),
                b"\ndata: b\r".to_vec(),
                b"\n\r".to_vec(),
                b"\ndata: c\r\n\r\n".to_vec(),
            ],
            vec![msg("a\nb"), msg("c")],
        ),
        parse(
            "CR at a chunk end, then CR",
            "a CR ending a chunk then a CR starting the next are two line ends",
            vec![b"data: a\r".to_vec(), b"\rdata: b\n\n".to_vec()],
            vec![msg("a"), msg("b")],
        ),
        parse(
            "NUL in id ignored",
            "an `id` containing NUL is ignored (the last event id stays `1`)",
            one(b"id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n"),
            vec![Ev::new("message", "a", "1"), Ev::new("message", "b", "1")],
        ),
        parse(
            "id persists to later events",
            "the last event id stays until the next `id`",
            one(b"id: 7\ndata: a\n\ndata: b\n\n"),
            vec![Ev::new("message", "a", "7"), Ev::new("message", "b", "7")],
        ),
        parse(
            "empty data: dispatches",
            "`data:` with an empty value dispatches an event with empty data",
            one(b"data:\n\ndata: a\n\n"),
            vec![msg(""), msg("a")],
        ),
        parse(
            "unfinished event at EOF dropped",
            "an event without its empty line when the response ends is discarded",
            one(b"data: a\n\ndata: b\n"),
            vec![msg("a")],
        ),
        parse(
            "field without colon",
            "a line without `:` is a field with an empty value (`data` adds an empty line)",
            one(b"data\ndata\ndata: x\n\n"),
            vec![msg("\n\nx")],
        ),
        parse(
            "one leading space removed",
            "exactly one space after the colon is removed, none required",
            one(b"data:  two\n\ndata:none\n\n"),
            vec![msg(" two"), msg("none")],
        ),
        parse(
            "unknown fields ignored",
            "unknown names (`foo`, `DATA`, `baz`) are ignored; names are case-sensitive",
            one(b"foo: bar\nDATA: no\ndata: a\nbaz\n\n"),
            vec![msg("a")],
        ),
        parse(
            "comments ignored",
            "lines starting with `:` are ignored",
            one(b": hello\ndata: a\n: world\n\n"),
            vec![msg("a")],
        ),
        parse(
            "event type reset after dispatch",
            "`event` applies to its own event only, also when that event had no data",
            one(b"event: one\ndata: a\n\ndata: b\n\nevent: ghost\n\ndata: c\n\n"),
            vec![Ev::new("one", "a", ""), msg("b"), msg("c")],
        ),
        parse(
            "1 byte per chunk",
            "the same stream in one-byte chunks parses the same",
            b"id: 7\nevent: t\ndata: a\r\ndata: b\r\n\r\n"
                .iter()
                .map(|byte| vec![*byte])
                .collect(),
            vec![Ev::new("t", "a\nb", "7")],
        ),
        parse(
            "invalid UTF-8",
            "a byte that is not UTF-8 becomes U+FFFD and the stream goes on",
            one(b"data: a\xFFb\n\ndata: c\n\n"),
            vec![msg("a\u{FFFD}b"), msg("c")],
        ),
        parse(
            "1 MiB line",
            "a 1 MiB data line in 16 KiB chunks",
            long_stream.chunks(16 * 1024).map(<[u8]>::to_vec).collect(),
            vec![msg(&long)],
        ),
        retry_not_digits(),
    ]
}

/// `retry` values that are not all ASCII digits (`+5000`, `5000ms`) are ignored. Only
/// visible on a reconnection: after a cut, the client must reconnect at its own
/// 200 ms (within 1.5 s), not after 5 s.
fn retry_not_digits() -> Scenario {
    Scenario {
        group: Group::Parsing,
        name: "retry with non-digits ignored",
        pass: String::from(
            "`retry: +5000` and `retry: 5000ms` (with an event) are ignored: after a cut the \
             client reconnects within 1.5 s (its delay is 200 ms) and gets `b` \
             (needs a reconnection to be seen)",
        ),
        setup: Setup::default(),
        until: Until {
            events: Some(2),
            window: Duration::from_secs(4),
        },
        script: Arc::new(|mut conn: Conn| {
            async move {
                match conn.request.n {
                    0 => {
                        conn.sse_head().await;
                        conn.chunk("retry: +5000\nretry: 5000ms\nid: 1\ndata: a\n\n")
                            .await;
                        conn.cut().await;
                    }
                    1 => {
                        conn.sse_head().await;
                        conn.chunk("id: 2\ndata: b\n\n").await;
                        conn.hold(Duration::from_secs(5)).await;
                    }
                    _ => conn.no_content().await,
                }
            }
            .boxed()
        }),
        check: Arc::new(|outcome: &Outcome| {
            match outcome.gap(0, 1) {
                Some(gap) if gap < Duration::from_millis(1500) => {}
                Some(gap) => return Err(format!("reconnected after {gap:.1?}")),
                None => return Err(format!("no reconnection within 4 s; {}", outcome.summary())),
            }
            same_events(
                outcome,
                &[Ev::new("message", "a", "1"), Ev::new("message", "b", "2")],
            )
        }),
    }
}
