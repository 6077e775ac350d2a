//! [`Decoder`]: an incremental parser of event streams, as a browser parses them
//! (WHATWG HTML, "Server-sent events", parsing an event stream).

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use crate::event::EncodedEvent;

const BOM: &[u8; 3] = b"\xEF\xBB\xBF";

/// What the decoder read from the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decoded {
    /// An event, dispatched by an empty line.
    Event(MessageEvent),
    /// A comment line (the text after `:` and one optional space); only reported
    /// when [`Decoder::comments`] is on.
    Comment(String),
    /// A valid `retry` field: the client's new reconnection delay. Reported as soon as
    /// the field is read, as browsers apply it.
    Retry(Duration),
    /// The bytes of one event block as they arrived, up to and including the empty
    /// line that ends it (comments, `retry` and unknown fields included; a leading BOM
    /// not, as it belongs to the stream). Reported after what the block gave (its
    /// [`Decoded::Event`], if any), only when [`Decoder::blocks`] is on: for a proxy
    /// that forwards upstream bytes unchanged, cut where events end.
    ///
    /// The blocks of a stream, one after the other, are its bytes without the BOM and
    /// without an unfinished block at its end. An LF that ends a CRLF whose CR ended
    /// a block, when it arrives in a later chunk, is reported as a block of its own
    /// (`"\n"`, which a client reads as an empty line: nothing is dispatched). A
    /// block that starts with the bytes of a BOM (there a line no field name matches)
    /// gets a BOM before it, so that it reads the same at the start of a stream,
    /// where a client would strip the first one.
    Block(EncodedEvent),
}

/// A dispatched event, as a browser's `MessageEvent` sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MessageEvent {
    /// The event type: the last `event` field of the event, or `message`.
    pub event: String,
    /// The data: all `data` fields of the event joined with LF.
    pub data: String,
    /// The last event id of the stream when the event was dispatched: set by `id`
    /// fields (of this or an earlier event) and kept until the next one.
    pub last_event_id: String,
}

/// A line or an event's data was larger than the decoder's bound.
///
/// The decoder stops at the first such error: every later call to
/// [`Decoder::decode`] returns it again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    what: &'static str,
    limit: usize,
}

impl DecodeError {
    /// The bound that was exceeded, in bytes.
    #[must_use]
    pub fn limit(&self) -> usize {
        self.limit
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is larger than {} bytes", self.what, self.limit)
    }
}

impl std::error::Error for DecodeError {}

/// An incremental, bounded event stream parser.
///
/// Feed it the body's bytes in chunks split anywhere (also inside a UTF-8 sequence or
/// between the CR and LF of a line break); it reports events as a browser would
/// dispatch them. Each byte is looked at once: a partial line is kept, not parsed
/// again when more bytes arrive. Lines and event data are bounded (see
/// [`max_event_size`](Decoder::max_event_size)), so a hostile stream cannot make it
/// use unbounded memory.
///
/// ```
/// use sse_rs_core::decode::{Decoded, Decoder};
///
/// let mut decoder = Decoder::new();
/// let mut events = Vec::new();
/// for chunk in [&b"id: 1\nevent: greet\ndata: hel"[..], b"lo\r", b"\n\r\n"] {
///     for item in decoder.decode(chunk)? {
///         if let Decoded::Event(event) = item {
///             events.push(event);
///         }
///     }
/// }
/// assert_eq!(events.len(), 1);
/// assert_eq!(events[0].event, "greet");
/// assert_eq!(events[0].data, "hello");
/// assert_eq!(events[0].last_event_id, "1");
/// # Ok::<(), sse_rs_core::decode::DecodeError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Decoder {
    max_event_size: usize,
    comments: bool,
    /// How many bytes of a leading BOM have been matched; `None` once past the start.
    bom_matched: Option<usize>,
    /// The previous chunk ended in CR: an LF at the start of the next one belongs to
    /// it.
    after_cr: bool,
    line: Vec<u8>,
    data: Vec<u8>,
    event_type: Vec<u8>,
    /// An `id` field read since the last empty line: it becomes the last event id
    /// only when the event is dispatched (an unfinished event at a cut must not move
    /// the id a reconnection resumes from).
    pending_id: Option<String>,
    last_event_id: String,
    out: VecDeque<Decoded>,
    error: Option<DecodeError>,
    /// The bytes of the block read so far, when [`Decoder::blocks`] is on.
    block: Option<BytesMut>,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// The default bound on one line and on one event's data: 4 MiB.
    pub const DEFAULT_MAX_EVENT_SIZE: usize = 4 * 1024 * 1024;

    /// A decoder with the default bound ([`Decoder::DEFAULT_MAX_EVENT_SIZE`]) that does not
    /// report comments.
    #[must_use]
    pub fn new() -> Self {
        Self {
            max_event_size: Self::DEFAULT_MAX_EVENT_SIZE,
            comments: false,
            bom_matched: Some(0),
            after_cr: false,
            line: Vec::new(),
            data: Vec::new(),
            event_type: Vec::new(),
            pending_id: None,
            last_event_id: String::new(),
            out: VecDeque::new(),
            error: None,
            block: None,
        }
    }

    /// Bounds the length of one line and of one event's data, in bytes.
    #[must_use]
    pub fn max_event_size(mut self, bytes: usize) -> Self {
        self.max_event_size = bytes;
        self
    }

    /// Whether to report comment lines as [`Decoded::Comment`] (default `false`).
    #[must_use]
    pub fn comments(mut self, comments: bool) -> Self {
        self.comments = comments;
        self
    }

    /// Whether to report the bytes of each event block as [`Decoded::Block`]
    /// (default `false`): for a proxy that forwards a stream byte for byte, cut at
    /// event boundaries. With blocks on, the bound
    /// ([`max_event_size`](Decoder::max_event_size)) also applies to a whole block, as
    /// the decoder keeps the bytes of an unfinished one.
    ///
    /// ```
    /// use sse_rs_core::decode::{Decoded, Decoder};
    ///
    /// let mut decoder = Decoder::new().blocks(true);
    /// let items: Vec<Decoded> = decoder.decode(b": hi\r\ndata: x\r\n\r\ndata: y")?.collect();
    /// assert!(matches!(&items[0], Decoded::Event(e) if e.data == "x"));
    /// assert!(matches!(&items[1], Decoded::Block(b) if b.as_bytes() == &b": hi\r\ndata: x\r\n\r\n"[..]));
    /// assert_eq!(items.len(), 2, "`data: y` waits for its empty line");
    /// # Ok::<(), sse_rs_core::decode::DecodeError>(())
    /// ```
    #[must_use]
    pub fn blocks(mut self, blocks: bool) -> Self {
        self.block = blocks.then(BytesMut::new);
        self
    }

    /// Starts with `id` as the last event id, as if an event block with that `id`
    /// had been read: a client resuming a stream (a stored `Last-Event-ID`) reports
    /// it in events until the server sends an `id` of its own. An `id` containing NUL
    /// is ignored, as in the stream (the last event id stays as it was); CR and LF
    /// cannot come from a stream, so check them before if the id goes into a header.
    ///
    /// ```
    /// use sse_rs_core::decode::{Decoded, Decoder};
    ///
    /// let mut decoder = Decoder::new().with_last_event_id("41");
    /// assert_eq!(decoder.last_event_id(), "41");
    /// let items: Vec<Decoded> = decoder.decode(b"data: next\n\n")?.collect();
    /// assert!(matches!(&items[0], Decoded::Event(e) if e.last_event_id == "41"));
    /// # Ok::<(), sse_rs_core::decode::DecodeError>(())
    /// ```
    #[must_use]
    pub fn with_last_event_id(mut self, id: &str) -> Self {
        if !id.contains('\0') {
            id.clone_into(&mut self.last_event_id);
        }
        self
    }

    /// The stream's last event id so far (what a browser would send as
    /// `Last-Event-ID` when it reconnects): the last `id` field of an event block that
    /// was ended by an empty line, dispatched or not. An `id` in an unfinished block is
    /// not counted until its empty line arrives.
    #[must_use]
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// Parses `chunk` and returns what it completed.
    ///
    /// # Errors
    ///
    /// When a line or an event's data grows beyond the bound; the decoder then stays
    /// failed.
    pub fn decode(
        &mut self,
        chunk: &[u8],
    ) -> Result<std::collections::vec_deque::Drain<'_, Decoded>, DecodeError> {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        if let Err(error) = self.feed(chunk) {
            self.out.clear();
            self.error = Some(error.clone());
            return Err(error);
        }
        Ok(self.out.drain(..))
    }

    /// Ends the current stream: a partial line and an event without its final empty
    /// line are discarded (its `id` too), as browsers do. The last event id is kept,
    /// so the decoder can read the stream of a reconnection next (which may start
    /// with a BOM again).
    pub fn finish(&mut self) {
        if let Some(block) = &mut self.block {
            block.clear();
        }
        self.pending_id = None;
        self.bom_matched = Some(0);
        self.after_cr = false;
        self.line.clear();
        self.data.clear();
        self.event_type.clear();
    }

    fn feed(&mut self, mut chunk: &[u8]) -> Result<(), DecodeError> {
        if let Some(matched) = self.bom_matched {
            let mut matched = matched;
            while matched < BOM.len() {
                match chunk.first() {
                    None => {
                        self.bom_matched = Some(matched);
                        return Ok(());
                    }
                    Some(&b) if b == BOM[matched] => {
                        matched += 1;
                        chunk = &chunk[1..];
                    }
                    Some(_) => break,
                }
            }
            self.bom_matched = None;
            if matched < BOM.len() {
                // Not a BOM after all: the bytes matched so far are content.
                self.feed_lines(&BOM[..matched])?;
            }
        }
        self.feed_lines(chunk)
    }

    fn feed_lines(&mut self, mut chunk: &[u8]) -> Result<(), DecodeError> {
        if chunk.is_empty() {
            // Nothing to see, and a pending CR may still meet its LF in the next chunk.
            return Ok(());
        }
        if self.after_cr {
            self.after_cr = false;
            if let Some(rest) = chunk.strip_prefix(b"\n") {
                chunk = rest;
                self.block_lf()?;
            }
        }
        let mut start = 0;
        // Where the current block starts in `chunk` (for `blocks`).
        let mut block_start = 0;
        for at in memchr::memchr2_iter(b'\r', b'\n', chunk) {
            if at < start {
                continue; // the LF of a CRLF
            }
            let piece = &chunk[start..at];
            self.check_line(piece.len())?;
            let empty = piece.is_empty() && self.line.is_empty();
            if self.line.is_empty() {
                self.line_done(piece)?;
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(piece);
                let result = self.line_done(&line);
                line.clear();
                self.line = line;
                result?;
            }
            start = at + 1;
            if chunk[at] == b'\r' {
                match chunk.get(start) {
                    Some(b'\n') => start += 1,
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            if empty && self.block.is_some() {
                self.block_done(&chunk[block_start..start])?;
                block_start = start;
            }
        }
        let rest = &chunk[start..];
        if !rest.is_empty() {
            self.check_line(rest.len())?;
            self.line.extend_from_slice(rest);
        }
        if let Some(block) = &mut self.block {
            let rest = &chunk[block_start..];
            check_block(block.len() + rest.len(), self.max_event_size)?;
            block.extend_from_slice(rest);
        }
        Ok(())
    }

    /// An empty line ended a block whose last bytes are `tail` (`blocks` on).
    fn block_done(&mut self, tail: &[u8]) -> Result<(), DecodeError> {
        let Some(block) = &mut self.block else {
            return Ok(());
        };
        check_block(block.len() + tail.len(), self.max_event_size)?;
        let bytes = if block.is_empty() {
            Bytes::copy_from_slice(tail)
        } else {
            block.extend_from_slice(tail);
            block.split().freeze()
        };
        let bytes = if bytes.starts_with(BOM) {
            Bytes::from([&BOM[..], &bytes].concat())
        } else {
            bytes
        };
        self.out.push_back(Decoded::Block(EncodedEvent(bytes)));
        Ok(())
    }

    /// The LF of a CRLF split across chunks (`blocks` on): part of the current block,
    /// or, when the CR ended a block, a block of its own (the bytes stay exact).
    fn block_lf(&mut self) -> Result<(), DecodeError> {
        let Some(block) = &mut self.block else {
            return Ok(());
        };
        if block.is_empty() {
            let lf = Bytes::from_static(b"\n");
            self.out.push_back(Decoded::Block(EncodedEvent(lf)));
        } else {
            check_block(block.len() + 1, self.max_event_size)?;
            block.extend_from_slice(b"\n");
        }
        Ok(())
    }

    fn check_line(&self, more: usize) -> Result<(), DecodeError> {
        if self.line.len() + more > self.max_event_size {
            return Err(DecodeError {
                what: "a line",
                limit: self.max_event_size,
            });
        }
        Ok(())
    }

    fn line_done(&mut self, line: &[u8]) -> Result<(), DecodeError> {
        if line.is_empty() {
            self.dispatch();
            return Ok(());
        }
        let (name, value) = match memchr::memchr(b':', line) {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match name {
            b"" if self.comments => {
                let text = String::from_utf8_lossy(value).into_owned();
                self.out.push_back(Decoded::Comment(text));
            }
            b"data" => {
                if self.data.len() + value.len() + 1 > self.max_event_size {
                    return Err(DecodeError {
                        what: "an event's data",
                        limit: self.max_event_size,
                    });
                }
                self.data.extend_from_slice(value);
                self.data.push(b'\n');
            }
            b"event" => {
                self.event_type.clear();
                self.event_type.extend_from_slice(value);
            }
            b"id" if memchr::memchr(0, value).is_none() => {
                self.pending_id = Some(String::from_utf8_lossy(value).into_owned());
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                let millis = value.iter().fold(0_u64, |n, digit| {
                    n.saturating_mul(10).saturating_add(u64::from(digit - b'0'))
                });
                self.out
                    .push_back(Decoded::Retry(Duration::from_millis(millis)));
            }
            _ => {}
        }
        Ok(())
    }

    fn dispatch(&mut self) {
        // WHATWG: the last event id is set first, also when nothing is dispatched.
        if let Some(id) = self.pending_id.take() {
            self.last_event_id = id;
        }
        if self.data.is_empty() {
            self.event_type.clear();
            return;
        }
        self.data.pop(); // the LF after the last data line
        let data = into_string(std::mem::take(&mut self.data));
        let event = if self.event_type.is_empty() {
            String::from("message")
        } else {
            into_string(std::mem::take(&mut self.event_type))
        };
        self.event_type.clear();
        self.out.push_back(Decoded::Event(MessageEvent {
            event,
            data,
            last_event_id: self.last_event_id.clone(),
        }));
    }
}

fn check_block(len: usize, limit: usize) -> Result<(), DecodeError> {
    if len > limit {
        return Err(DecodeError {
            what: "an event block",
            limit,
        });
    }
    Ok(())
}

/// UTF-8 text, with U+FFFD for invalid sequences (as browsers decode the stream).
fn into_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes)
        .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(chunks: &[&[u8]]) -> Vec<Decoded> {
        let mut decoder = Decoder::new().comments(true);
        let mut out = Vec::new();
        for chunk in chunks {
            out.extend(decoder.decode(chunk).unwrap());
        }
        out
    }

    fn event(event: &str, data: &str, id: &str) -> Decoded {
        Decoded::Event(MessageEvent {
            event: event.into(),
            data: data.into(),
            last_event_id: id.into(),
        })
    }

    #[test]
    fn every_line_ending_and_chunk_split_gives_the_same_events() {
        let body = "id: 1\r\nevent: a\rdata: x\ndata:  y\r\n\r\ndata:z\r\rdata\n\n";
        let expected = vec![
            event("a", "x\n y", "1"),
            event("message", "z", "1"),
            event("message", "", "1"),
        ];
        let bytes = body.as_bytes();
        assert_eq!(decode_all(&[bytes]), expected);
        for split in 0..=bytes.len() {
            assert_eq!(
                decode_all(&[&bytes[..split], &bytes[split..]]),
                expected,
                "split at {split}"
            );
        }
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(decode_all(&singles), expected);
    }

    #[test]
    fn cr_at_chunk_end_then_lf_is_one_break() {
        // "data: a\r" | "\n" | "\n": CRLF split across chunks, then the empty line.
        assert_eq!(
            decode_all(&[b"data: a\r", b"\n", b"\n"]),
            vec![event("message", "a", "")]
        );
        // An empty chunk between the CR and the LF changes nothing.
        assert_eq!(decode_all(&[b"data: a\r", b"", b"\n"]), vec![]);
        assert_eq!(
            decode_all(&[b"data: a\r", b"", b"\ndata: b\n\n"]),
            vec![event("message", "a\nb", "")]
        );
        // "data: a\r" | "\r": two breaks, so the event is dispatched.
        assert_eq!(
            decode_all(&[b"data: a\r", b"\r"]),
            vec![event("message", "a", "")]
        );
    }

    #[test]
    fn one_bom_is_stripped_even_when_split_and_only_at_the_start() {
        let expected = vec![event("message", "x", "")];
        assert_eq!(decode_all(&[b"\xEF\xBB\xBFdata: x\n\n"]), expected);
        assert_eq!(
            decode_all(&[b"\xEF", b"\xBB", b"\xBF", b"data: x\n\n"]),
            expected
        );
        // A second BOM is part of the first line, which is then no `data` field.
        assert_eq!(
            decode_all(&[b"\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\n"]),
            vec![]
        );
        // A partial BOM followed by other bytes is content, not lost.
        assert_eq!(decode_all(&[b"\xEF", b"\xBBdata: x\n\n"]), vec![]);
        assert_eq!(
            decode_all(&[b"\xEF", b"", b"\xBB\xBF", b"data: x\n\n"]),
            expected
        );
    }

    #[test]
    fn comments_and_fields_without_colon() {
        assert_eq!(
            decode_all(&[b": hello\n:\n:  two\ndata\n\n"]),
            vec![
                Decoded::Comment("hello".into()),
                Decoded::Comment(String::new()),
                Decoded::Comment(" two".into()),
                event("message", "", ""),
            ]
        );
        let mut quiet = Decoder::new();
        assert_eq!(quiet.decode(b": hidden\ndata: x\n\n").unwrap().count(), 1);
    }

    #[test]
    fn empty_data_buffer_dispatches_nothing_and_resets_the_type() {
        assert_eq!(
            decode_all(&[b"event: a\n\ndata: x\n\n"]),
            vec![event("message", "x", "")]
        );
    }

    #[test]
    fn id_persists_nul_is_ignored_and_empty_resets() {
        assert_eq!(
            decode_all(&[b"id: 5\n\ndata: a\n\nid: 6\0\ndata: b\n\nid\ndata: c\n\n"]),
            vec![
                event("message", "a", "5"),
                event("message", "b", "5"),
                event("message", "c", "")
            ]
        );
    }

    #[test]
    fn retry_needs_only_digits() {
        assert_eq!(
            decode_all(&[b"retry: 1500\nretry: 1x\nretry: -1\nretry: \nretry:+5\nretry: 99999999999999999999999\n"]),
            vec![
                Decoded::Retry(Duration::from_millis(1500)),
                Decoded::Retry(Duration::from_millis(u64::MAX)),
            ]
        );
    }

    #[test]
    fn unknown_fields_and_odd_names_are_ignored() {
        assert_eq!(
            decode_all(&[b"foo: bar\nData: x\ndata : y\n data: z\n\n"]),
            vec![]
        );
    }

    #[test]
    fn with_last_event_id_seeds_the_id_and_ignores_nul() {
        let mut decoder = Decoder::new().with_last_event_id("7");
        assert_eq!(decoder.last_event_id(), "7");
        let items: Vec<_> = decoder
            .decode(b"\xEF\xBB\xBFdata: a\n\nid: 8\ndata: b\n\n")
            .unwrap()
            .collect();
        assert_eq!(
            items,
            vec![event("message", "a", "7"), event("message", "b", "8")],
            "reported until the stream sends an id; a BOM at the start still stripped"
        );
        let decoder = Decoder::new()
            .with_last_event_id("7")
            .with_last_event_id("a\0b");
        assert_eq!(decoder.last_event_id(), "7", "an id with NUL is ignored");
        let decoder = Decoder::new()
            .with_last_event_id("7")
            .with_last_event_id("");
        assert_eq!(
            decoder.last_event_id(),
            "",
            "an empty id resets, as `id` does"
        );
    }

    #[test]
    fn unfinished_event_at_end_is_discarded_with_its_id() {
        let mut decoder = Decoder::new();
        assert_eq!(decoder.decode(b"id: 8\n\n").unwrap().count(), 0);
        assert_eq!(decoder.last_event_id(), "8", "an id-only block counts");
        assert_eq!(decoder.decode(b"id: 9\ndata: lost\n").unwrap().count(), 0);
        assert_eq!(decoder.last_event_id(), "8", "not before its empty line");
        decoder.finish();
        // The event with id 9 never arrived: resuming after 9 would lose it.
        assert_eq!(decoder.last_event_id(), "8");
        let items: Vec<_> = decoder
            .decode(b"\xEF\xBB\xBFdata: new\n\n")
            .unwrap()
            .collect();
        assert_eq!(items, vec![event("message", "new", "8")]);
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters() {
        assert_eq!(
            decode_all(&[b"event: \xff\ndata: a\xc3\n\n"]),
            vec![event("\u{fffd}", "a\u{fffd}", "")]
        );
        // A multi-byte character split across chunks survives.
        let text = "é".as_bytes();
        assert_eq!(
            decode_all(&[b"data: ", &text[..1], &text[1..], b"\n\n"]),
            vec![event("message", "é", "")]
        );
    }

    #[test]
    fn long_lines_and_large_events_are_errors_and_the_decoder_stays_failed() {
        let mut decoder = Decoder::new().max_event_size(16);
        assert!(decoder.decode(b"data: 0123456789").is_ok());
        let err = decoder.decode(b"abcdef").unwrap_err();
        assert_eq!(err.limit(), 16);
        assert_eq!(err.to_string(), "a line is larger than 16 bytes");
        assert_eq!(decoder.decode(b"\n\n").unwrap_err(), err);

        let mut decoder = Decoder::new().max_event_size(16);
        let err = decoder
            .decode(b"data: 01234567\ndata: 01234567\n")
            .unwrap_err();
        assert_eq!(err.to_string(), "an event's data is larger than 16 bytes");

        // A long line in one chunk, never buffered, still counts.
        let mut decoder = Decoder::new().max_event_size(16);
        assert!(decoder.decode(&[b'x'; 100]).is_err());
    }

    /// The events and the concatenated blocks of `chunks`, decoded with blocks on.
    fn blocks_of(chunks: &[&[u8]], max: usize) -> Result<(Vec<Decoded>, Vec<u8>), DecodeError> {
        let mut decoder = Decoder::new().blocks(true).max_event_size(max);
        let (mut events, mut bytes) = (Vec::new(), Vec::new());
        for chunk in chunks {
            for item in decoder.decode(chunk)? {
                match item {
                    Decoded::Block(block) => bytes.extend_from_slice(block.as_bytes()),
                    other => events.push(other),
                }
            }
        }
        Ok((events, bytes))
    }

    #[test]
    fn blocks_are_the_exact_bytes_for_every_split() {
        let body = b"\xEF\xBB\xBF: c\r\nid: 1\r\nevent: a\rdata: x\ndata:  y\r\n\r\nretry: 5\r\rdata\n\n\r\ndata: z\r\n\r\ndata: cut";
        let (events, bytes) = blocks_of(&[body], 1024).unwrap();
        assert_eq!(
            events,
            vec![
                event("a", "x\n y", "1"),
                Decoded::Retry(Duration::from_millis(5)),
                event("message", "", "1"),
                event("message", "z", "1"),
            ]
        );
        let whole = &body[3..body.len() - b"data: cut".len()];
        assert_eq!(bytes, whole, "without the BOM and the unfinished block");
        for split in 0..=body.len() {
            let (split_events, split_bytes) =
                blocks_of(&[&body[..split], &body[split..]], 1024).unwrap();
            assert_eq!(split_events, events, "split at {split}");
            assert_eq!(split_bytes, whole, "split at {split}");
        }
        let singles: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(blocks_of(&singles, 1024).unwrap(), (events, whole.to_vec()));
    }

    #[test]
    fn blocks_end_at_each_empty_line_after_their_event() {
        let mut decoder = Decoder::new().blocks(true);
        let items: Vec<_> = decoder.decode(b"data: a\n\n: c\n\n").unwrap().collect();
        assert_eq!(items.len(), 3);
        assert_eq!(items[0], event("message", "a", ""));
        assert!(matches!(&items[1], Decoded::Block(b) if b.as_bytes() == &b"data: a\n\n"[..]));
        assert!(matches!(&items[2], Decoded::Block(b) if b.as_bytes() == &b": c\n\n"[..]));
        // The LF of a CRLF whose CR ended a block, in the next chunk.
        assert_eq!(decoder.decode(b"data: b\r\r").unwrap().count(), 2);
        let items: Vec<_> = decoder.decode(b"\n").unwrap().collect();
        assert!(matches!(&items[..], [Decoded::Block(b)] if b.as_bytes() == &b"\n"[..]));
        // Off by default.
        let mut decoder = Decoder::new();
        assert_eq!(decoder.decode(b"data: a\n\n").unwrap().count(), 1);
    }

    #[test]
    fn a_block_that_starts_like_a_bom_reads_the_same_at_the_start_of_a_stream() {
        // Two BOMs: the second is content, and the line it starts is no field.
        let body =
            b"\xEF\xBB\xBF\xEF\xBB\xBFdata: ignored\n\ndata: a\n\n\xEF\xBB\xBFdata: ignored\n\n";
        let (events, bytes) = blocks_of(&[body], 1024).unwrap();
        assert_eq!(events, vec![event("message", "a", "")]);
        let (again, _) = blocks_of(&[&bytes], 1024).unwrap();
        assert_eq!(
            again, events,
            "read from the start, the blocks give the same events"
        );
        assert_eq!(
            bytes,
            b"\xEF\xBB\xBF\xEF\xBB\xBFdata: ignored\n\ndata: a\n\n\xEF\xBB\xBF\xEF\xBB\xBFdata: ignored\n\n",
            "the stream's first BOM kept, one more before the later block"
        );
        let (_, bytes) = blocks_of(&[b"data: a\n\n\xEF\xBB\xBF: c\n\n"], 1024).unwrap();
        assert_eq!(bytes, b"data: a\n\n\xEF\xBB\xBF\xEF\xBB\xBF: c\n\n");
    }

    #[test]
    fn blocks_are_bounded_as_a_whole() {
        // Each comment line is short, the block is not.
        let mut decoder = Decoder::new().blocks(true).max_event_size(16);
        assert!(decoder.decode(b": 0123\n: 4567\n").is_ok());
        let err = decoder.decode(b": 89\n").unwrap_err();
        assert_eq!(err.to_string(), "an event block is larger than 16 bytes");
        // A block that ends within one chunk counts too.
        assert!(blocks_of(&[b": 0123\n: 4567\n: 89ab\n\n"], 16).is_err());
        assert!(blocks_of(&[b": 0123\n: 4567\n\n"], 16).is_ok());
        // Without blocks, comments are not kept and not bounded together.
        let mut decoder = Decoder::new().max_event_size(16);
        assert!(decoder.decode(b": 0123\n: 4567\n: 89ab\n\n").is_ok());
    }

    #[test]
    fn data_at_the_bound_is_accepted() {
        let mut decoder = Decoder::new().max_event_size(8);
        let items: Vec<_> = decoder.decode(b"data:abc\ndata:abc\n\n").unwrap().collect();
        assert_eq!(items, vec![event("message", "abc\nabc", "")]);
    }
}
