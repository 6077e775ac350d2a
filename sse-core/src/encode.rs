//! The wire encoder (WHATWG HTML, "Server-sent events", the event stream format).
//!
//! Rules, each with a byte-exact test below:
//! - every field line is `name: value\n`, with the space;
//! - `data` and comments are split on CRLF, lone CR and lone LF, each one line break,
//!   and every piece becomes its own line;
//! - empty data still writes one `data: ` line, so the event is dispatched;
//! - `retry` is whole milliseconds;
//! - an event ends with an empty line.

use bytes::{BufMut, Bytes, BytesMut};

/// Bytes added per line around a value: the longest prefix (`retry: `) and `\n`.
const LINE_OVERHEAD: usize = 8;

/// The fields of one event as the encoder reads them: the event's public view, so
/// that the encoder depends on bytes only, not on the event type.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Fields<'a> {
    pub(crate) comment: Option<&'a [u8]>,
    pub(crate) event: Option<&'a [u8]>,
    pub(crate) id: Option<&'a [u8]>,
    pub(crate) retry: Option<std::time::Duration>,
    pub(crate) data: Option<&'a [u8]>,
}

/// The most bytes `fields` take on the wire (exact for single-line values): what to
/// reserve before [`event_into`], so that it writes without growing the buffer.
pub(crate) fn capacity(fields: &Fields<'_>) -> usize {
    let mut capacity = 1;
    for value in [fields.comment, fields.event, fields.id, fields.data]
        .into_iter()
        .flatten()
    {
        capacity += value.len() + LINE_OVERHEAD;
    }
    if fields.retry.is_some() {
        capacity += 20 + LINE_OVERHEAD;
    }
    capacity
}

/// Encodes one event into one buffer, allocated once for the common single-line case.
/// `event` and `id` hold no line break (their types check it when they are built).
pub(crate) fn event(fields: Fields<'_>) -> Bytes {
    let mut buf = BytesMut::with_capacity(capacity(&fields));
    event_into(&mut buf, &fields);
    buf.freeze()
}

/// Encodes one event at the end of `buf` (the body writes events straight into its
/// frame with this).
pub(crate) fn event_into(buf: &mut BytesMut, fields: &Fields<'_>) {
    head_into(buf, fields);
    if let Some(data) = fields.data {
        lines(buf, b"data", data);
    }
    buf.put_u8(b'\n');
}

/// Every line of the event before its data.
pub(crate) fn head_into(buf: &mut BytesMut, fields: &Fields<'_>) {
    if let Some(comment) = fields.comment {
        lines(buf, b":", comment);
    }
    if let Some(kind) = fields.event {
        field(buf, b"event: ", kind);
    }
    if let Some(id) = fields.id {
        field(buf, b"id: ", id);
    }
    if let Some(retry) = fields.retry {
        retry_into(buf, retry);
    }
}

/// A `retry:` line: whole milliseconds, clamped to `u64::MAX`.
pub(crate) fn retry_into(buf: &mut BytesMut, retry: std::time::Duration) {
    let millis = u64::try_from(retry.as_millis()).unwrap_or(u64::MAX);
    field(
        buf,
        b"retry: ",
        itoa::Buffer::new().format(millis).as_bytes(),
    );
}

/// One `name: value\n` line; `value` is known to hold no line break.
#[inline]
pub(crate) fn field(buf: &mut BytesMut, prefix: &[u8], value: &[u8]) {
    buf.put_slice(prefix);
    buf.put_slice(value);
    buf.put_u8(b'\n');
}

/// Writes `text` as one line per piece between line breaks (CRLF, CR or LF each count
/// once). Each line is `name: piece\n`; for comments (`name` = `:`), an empty piece is
/// written as a bare `:\n`.
#[inline]
pub(crate) fn lines(buf: &mut BytesMut, name: &[u8], text: &[u8]) {
    // The usual case, one line of data: no per-line bookkeeping.
    if name == b"data" && memchr::memchr2(b'\r', b'\n', text).is_none() {
        buf.put_slice(b"data: ");
        buf.put_slice(text);
        buf.put_u8(b'\n');
        return;
    }
    split_lines(buf, name, text);
}

/// [`lines`] for text with line breaks, and for comments.
fn split_lines(buf: &mut BytesMut, name: &[u8], text: &[u8]) {
    let is_comment = name == b":";
    let line = |buf: &mut BytesMut, piece: &[u8]| {
        buf.put_slice(name);
        if !(is_comment && piece.is_empty()) {
            if !is_comment {
                buf.put_u8(b':');
            }
            buf.put_u8(b' ');
            buf.put_slice(piece);
        }
        buf.put_u8(b'\n');
    };

    let mut start = 0;
    for at in memchr::memchr2_iter(b'\r', b'\n', text) {
        if at < start {
            // The LF of a CRLF whose CR already ended the line.
            continue;
        }
        line(buf, &text[start..at]);
        start = at + 1;
        if text[at] == b'\r' && text.get(start) == Some(&b'\n') {
            start += 1;
        }
    }
    line(buf, &text[start..]);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::{Event, EventId, EventType};

    fn wire(event: Event) -> String {
        String::from_utf8(event.encode().into_bytes().to_vec()).unwrap()
    }

    #[test]
    fn fields_have_a_space_after_the_colon_and_end_with_an_empty_line() {
        let event = Event::default()
            .id(EventId::from_static("1"))
            .event(EventType::from_static("tick"))
            .data("x");
        assert_eq!(wire(event), "event: tick\nid: 1\ndata: x\n\n");
    }

    #[test]
    fn line_break_matrix_each_break_counts_once() {
        let cases = [
            ("a\nb", "data: a\ndata: b\n\n"),
            ("a\rb", "data: a\ndata: b\n\n"),
            ("a\r\nb", "data: a\ndata: b\n\n"),
            ("a\n\rb", "data: a\ndata: \ndata: b\n\n"),
            ("a\r\rb", "data: a\ndata: \ndata: b\n\n"),
            ("a\n\nb", "data: a\ndata: \ndata: b\n\n"),
            ("a\r\n\r\nb", "data: a\ndata: \ndata: b\n\n"),
            ("\r\n", "data: \ndata: \n\n"),
            ("\r", "data: \ndata: \n\n"),
            ("\n", "data: \ndata: \n\n"),
            ("a\r", "data: a\ndata: \n\n"),
            ("\ra", "data: \ndata: a\n\n"),
            ("a\r\n", "data: a\ndata: \n\n"),
            ("\r\r\n\n", "data: \ndata: \ndata: \ndata: \n\n"),
        ];
        for (data, expected) in cases {
            assert_eq!(wire(Event::default().data(data)), expected, "{data:?}");
        }
    }

    #[test]
    fn no_raw_carriage_return_ever_reaches_the_wire() {
        let encoded = wire(Event::default().data("1\r2\r\n3\n4\r").comment("c\rd"));
        assert!(!encoded.contains('\r'), "{encoded:?}");
    }

    #[test]
    fn empty_data_is_still_dispatched() {
        assert_eq!(wire(Event::default().data("")), "data: \n\n");
    }

    #[test]
    fn an_event_without_data_sends_no_data_line() {
        assert_eq!(wire(Event::default().id(3_u8)), "id: 3\n\n");
        assert_eq!(wire(Event::default()), "\n");
    }

    #[test]
    fn retry_is_whole_milliseconds_and_clamped() {
        let retry = |d| wire(Event::default().retry(d));
        assert_eq!(retry(Duration::from_secs(5)), "retry: 5000\n\n");
        assert_eq!(retry(Duration::from_micros(1999)), "retry: 1\n\n");
        assert_eq!(retry(Duration::ZERO), "retry: 0\n\n");
        assert_eq!(retry(Duration::MAX), "retry: 18446744073709551615\n\n");
    }

    #[test]
    fn comments_split_like_data_and_an_empty_piece_is_a_bare_colon() {
        assert_eq!(wire(Event::default().comment("hi")), ": hi\n\n");
        assert_eq!(wire(Event::default().comment("")), ":\n\n");
        assert_eq!(
            wire(Event::default().comment("a\r\nb\rc\n")),
            ": a\n: b\n: c\n:\n\n"
        );
    }

    #[test]
    fn a_comment_cannot_smuggle_a_field() {
        let encoded = wire(Event::default().comment("x\ndata: injected"));
        assert_eq!(encoded, ": x\n: data: injected\n\n");
    }

    #[test]
    fn data_cannot_smuggle_a_field_or_end_the_event() {
        let encoded = wire(Event::default().data("x\n\nid: 9\nevent: evil"));
        assert_eq!(
            encoded,
            "data: x\ndata: \ndata: id: 9\ndata: event: evil\n\n"
        );
    }

    #[test]
    fn field_order_is_fixed_whatever_the_call_order() {
        let a = Event::default()
            .data("d")
            .retry(Duration::from_millis(10))
            .id(1_u8)
            .event(EventType::from_static("t"))
            .comment("c");
        let b = Event::default()
            .comment("c")
            .event(EventType::from_static("t"))
            .id(1_u8)
            .retry(Duration::from_millis(10))
            .data("d");
        assert_eq!(wire(a.clone()), wire(b));
        assert_eq!(wire(a), ": c\nevent: t\nid: 1\nretry: 10\ndata: d\n\n");
    }

    #[test]
    fn setting_a_field_twice_replaces_it_but_comments_add_up() {
        let event = Event::default()
            .id(1_u8)
            .id(2_u8)
            .event(EventType::from_static("a"))
            .event(EventType::from_static("b"))
            .data("old")
            .data("new")
            .comment("x")
            .comment("y")
            .retry(Duration::from_millis(1))
            .retry(Duration::from_millis(2));
        assert_eq!(
            wire(event),
            ": x\n: y\nevent: b\nid: 2\nretry: 2\ndata: new\n\n"
        );
        // A comment with line breaks of its own keeps them, one line each.
        let event = Event::default().comment("a\r\nb").comment("c");
        assert_eq!(wire(event), ": a\n: b\n: c\n\n");
    }

    #[test]
    fn empty_id_and_type_are_written() {
        let event = Event::default()
            .id(EventId::from_static(""))
            .event(EventType::from_static(""))
            .data("x");
        assert_eq!(wire(event), "event: \nid: \ndata: x\n\n");
    }

    #[test]
    fn unicode_passes_through_unchanged() {
        let text = "héllo 🌍 \u{2028} \u{85} end";
        assert_eq!(
            wire(Event::default().data(text)),
            format!("data: {text}\n\n")
        );
    }

    #[test]
    fn leading_spaces_survive_because_one_space_is_always_written() {
        assert_eq!(wire(Event::default().data("  x")), "data:   x\n\n");
    }

    #[cfg(feature = "json")]
    #[test]
    fn json_data_is_one_line_with_escaped_breaks() {
        #[derive(serde::Serialize)]
        struct Counter<'a> {
            r#type: &'a str,
            value: u32,
        }
        let event = Event::default()
            .json_data(&Counter {
                r#type: "a\r\nb",
                value: 7,
            })
            .unwrap();
        assert_eq!(wire(event), "data: {\"type\":\"a\\r\\nb\",\"value\":7}\n\n");
    }

    #[cfg(feature = "json")]
    #[test]
    fn json_data_reports_serialisation_errors() {
        let mut map = std::collections::HashMap::new();
        map.insert((1, 2), 3);
        assert!(Event::default().json_data(&map).is_err());
    }
}
