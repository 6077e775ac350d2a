//! [`EventWriter`]: the events that are ready together, written straight into one
//! frame.

use std::collections::VecDeque;
use std::marker::PhantomData;

use bytes::{BufMut, Bytes, BytesMut};

use super::{free_if_unused, Extra};
use crate::encode;
use crate::event::{Data, EncodedEvent, Event};

/// A shared (pre-encoded) event at least this large is never copied into a frame: it
/// ends the frame it would join and goes as a piece of its own, as it was encoded.
/// Copying it would cost more than the frame it saves (a server writes frames with
/// vectored I/O).
pub(crate) const PASS_THROUGH: usize = 1024;

/// The same, where the server copies every frame into a write buffer of its own
/// (actix-web): coalescing then costs a second copy, which pays up to this size
/// (fewer, larger chunks) and no further (measured with `compare bench`).
pub(crate) const PASS_THROUGH_WHERE_COPIED: usize = 8 * 1024;

/// Data at least this long, shared ([`Data`] is a counted reference)
/// and without a line break, is not copied: the event's head, the data and its end
/// go as three pieces, which the server writes with one vectored write (or, for
/// actix-web, copies once into its own buffer: the only copy).
///
/// Not below 16 KiB: three pieces per event and at most [`MAX_PIECES`] per poll
/// make writes of about five events, too few bytes per system call for small data.
/// `compare bench` (hyper and axum, 1 MiB raw writer, two runs each way), server CPU
/// per event: 4 KiB shared 1.79-2.08 us, copied 0.90-1.12 us; 8 KiB shared 2.84-3.21
/// us, copied 1.95-2.32 us (one outlier 3.48); from 16 KiB the two are even within
/// this machine's noise (16 KiB 4.2-5.6 against 3.7-4.9 us), and sharing spares the
/// copy of large payloads.
pub(crate) const SHARED_DATA: usize = 16 * 1024;

/// The most pieces one poll hands over (hyper queues at most 16 buffers per write).
const MAX_PIECES: usize = 16;

/// The most a burst reserves at once for its next frame, whatever the frame's cap.
const MAX_BURST_ROOM: usize = 1024 * 1024;

/// What outlives one poll of a body: pieces not handed to the server yet, an event
/// to send first (the initial event), and the rest of a burst's buffer. Absent
/// (`None` in the body's box, and the box itself gone when it holds nothing else)
/// while the stream trickles, so an idle body holds no buffer.
#[derive(Default)]
pub(super) struct Spill {
    queue: VecDeque<Bytes>,
    held: Option<Bytes>,
    buf: BytesMut,
}

impl Spill {
    /// A spill that sends `first` before anything else, coalesced with the events
    /// ready at that time.
    pub(super) fn first(first: Bytes) -> Self {
        Self {
            held: Some(first),
            ..Self::default()
        }
    }

    /// Whether pieces of a frame wait to be handed over.
    pub(super) fn has_queued(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Whether nothing is waiting to be sent.
    pub(super) fn is_empty(&self) -> bool {
        self.queue.is_empty() && self.held.is_none() && self.buf.is_empty()
    }
}

/// Where a body's stream writes the events it has ready: the frame the body sends
/// next. Given to [`WriteEvent::write_event`](crate::WriteEvent::write_event).
///
/// Every way to write keeps the wire format whole: [`event`](EventWriter::event)
/// writes typed fields (ids and types checked when they were made, data and
/// comments split on line breaks), [`write`](EventWriter::write) an [`Event`], and
/// [`encoded`](EventWriter::encoded) an event encoded earlier.
///
/// Events are written into one buffer, reused while a burst lasts; a frame of one
/// shared event is that event's bytes, and large shared data is sent as it is,
/// between its event's head and end (see [`SseBody`](crate::SseBody#frames)).
pub struct EventWriter<'a> {
    // The writer is lent for one poll of the body (the spill it started from is
    // given back by `finish`).
    _poll: PhantomData<&'a mut ()>,
    queue: VecDeque<Bytes>,
    // Shared bytes not copied yet: they go as they are if nothing joins them.
    held: Option<Bytes>,
    buf: BytesMut,
    max: usize,
    pass_through: usize,
    // Data at least this long (and one line) is sent as it is; `usize::MAX`: never.
    share_from: usize,
    bursting: bool,
    // An event was started and not ended (its `FieldWriter` was forgotten).
    open: bool,
    // Where the event being written starts in `buf`: a frame is only ever cut there.
    event_start: usize,
    // Bytes queued as pieces in this poll.
    queued: usize,
    pub(super) events: usize,
}

impl<'a> EventWriter<'a> {
    /// A writer that goes on from `spill`, what the body's last poll left (taken
    /// out of it, in place: it is given back by [`finish`](Self::finish)).
    pub(super) fn new(
        spill: Option<&mut Spill>,
        max: usize,
        pass_through: usize,
        share_from: usize,
        bursting: bool,
    ) -> Self {
        let (queue, held, mut buf) = match spill {
            Some(spill) => (
                std::mem::take(&mut spill.queue),
                spill.held.take(),
                std::mem::take(&mut spill.buf),
            ),
            None => (VecDeque::new(), None, BytesMut::new()),
        };
        if bursting && !buf.is_empty() && buf.capacity() - buf.len() < max.min(MAX_BURST_ROOM) {
            // A burst goes on with the event that did not fit into the last frame:
            // room for a whole frame now (moving that one event), rather than a frame
            // the size of what is left of the last one's buffer.
            buf.reserve(room(max));
        }
        Self {
            _poll: PhantomData,
            queue,
            held,
            buf,
            max,
            pass_through,
            share_from,
            bursting,
            open: false,
            event_start: 0,
            queued: 0,
            events: 0,
        }
    }

    /// Starts an event, written field by field in the order of the calls; the
    /// empty line that ends it is written when the returned [`FieldWriter`] is
    /// dropped.
    ///
    /// ```
    /// use sse_rs_core::{EventType, EventWriter, WriteEvent};
    ///
    /// /// A token of an answer, written without an `Event` in between.
    /// struct Token { n: u64, text: String }
    ///
    /// const TOKEN: EventType = EventType::from_static("token");
    ///
    /// impl WriteEvent for Token {
    ///     fn write_event(self, out: &mut EventWriter<'_>) {
    ///         out.event().id(self.n).event(&TOKEN).data(&self.text);
    ///     }
    /// }
    /// ```
    #[inline]
    pub fn event(&mut self) -> FieldWriter<'_, 'a> {
        self.close();
        self.events += 1;
        self.event_start = self.buf.len();
        self.open = true;
        FieldWriter { out: self }
    }

    /// Writes `event`, encoded straight into the frame.
    pub fn write(&mut self, event: &Event) {
        self.close();
        self.events += 1;
        self.event_start = self.buf.len();
        let fields = event.wire_fields();
        match &event.data {
            Some(data) if self.shares(data) => {
                let head = encode::capacity(&encode::Fields {
                    data: None,
                    ..fields
                });
                encode::head_into(self.reserve(head), &fields);
                self.shared_data_line(data);
                self.reserve(1).put_u8(b'\n');
            }
            _ => {
                let capacity = encode::capacity(&fields);
                encode::event_into(self.reserve(capacity), &fields);
            }
        }
        self.end_event();
    }

    /// Whether `data` is sent as it is rather than copied: large, shared, one line.
    #[inline]
    fn shares(&self, data: &Data) -> bool {
        let bytes = data.as_bytes();
        bytes.len() >= self.share_from && memchr::memchr2(b'\r', b'\n', bytes).is_none()
    }

    /// One `data:` line whose text goes as a piece of its own, not copied.
    fn shared_data_line(&mut self, data: &Data) {
        self.reserve(6).put_slice(b"data: ");
        self.piece(data.bytes().clone());
        self.reserve(1).put_u8(b'\n');
    }

    /// Writes an event encoded earlier (shared with other streams): copied into the
    /// frame when small and joined by other events, sent as it is otherwise.
    pub fn encoded(&mut self, event: EncodedEvent) {
        self.events += 1;
        self.shared(event.into_bytes());
    }

    /// Bytes of whole events, shared: held (not copied) while they are alone.
    pub(super) fn shared(&mut self, bytes: Bytes) {
        self.close();
        if bytes.len() >= self.pass_through {
            self.piece(bytes);
        } else if self.held.is_none() && self.buf.is_empty() {
            self.held = Some(bytes);
        } else {
            self.event_start = self.buf.len();
            self.reserve(bytes.len()).put_slice(&bytes);
            self.end_event();
        }
    }

    /// Ends an event whose `FieldWriter` was forgotten (`mem::forget`) instead of
    /// dropped, so that it never merges with the next.
    #[inline]
    fn close(&mut self) {
        if self.open {
            self.end_fields();
        }
    }

    /// The end of an event written field by field: the empty line.
    fn end_fields(&mut self) {
        self.open = false;
        self.reserve(1).put_u8(b'\n');
        self.end_event();
    }

    /// An event was written whole: if it took a frame of several events past the
    /// cap, the events before it go as a frame, and it starts the next.
    #[inline]
    fn end_event(&mut self) {
        if self.buf.len() > self.max && self.event_start > 0 {
            self.queue_front(self.event_start);
        }
    }

    /// Queues the first `len` bytes of the buffer as a piece: whole events.
    fn queue_front(&mut self, len: usize) {
        let front = self.buf.split_to(len).freeze();
        self.queued += front.len();
        self.queue.push_back(front);
        self.event_start = 0;
    }

    /// Whether the frame is full: no more events should be added to it.
    #[must_use]
    pub fn is_full(&self) -> bool {
        self.queued + self.held.as_ref().map_or(0, Bytes::len) + self.buf.len() >= self.max
            || self.queue.len() >= MAX_PIECES
    }

    /// Whether nothing has been written.
    pub(super) fn is_empty(&self) -> bool {
        self.held.is_none() && self.buf.is_empty() && self.queue.is_empty()
    }

    #[cfg(test)]
    pub(super) fn buffer_capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Ends the current piece and queues `bytes` after it, as they are.
    fn piece(&mut self, bytes: Bytes) {
        // The events before this one's head stay within the cap.
        if self.buf.len() > self.max && self.event_start > 0 {
            self.queue_front(self.event_start);
        }
        self.cut();
        self.queued += bytes.len();
        self.queue.push_back(bytes);
    }

    /// Queues what was written so far as a piece.
    fn cut(&mut self) {
        if let Some(current) = self.current() {
            self.queued += current.len();
            self.queue.push_back(current);
        }
        self.event_start = 0;
    }

    /// What was written since the last piece: the held bytes, or the buffer's.
    fn current(&mut self) -> Option<Bytes> {
        if let Some(held) = self.held.take() {
            return Some(held);
        }
        (!self.buf.is_empty()).then(|| self.buf.split().freeze())
    }

    /// The buffer, with room for `additional` bytes more, held bytes copied in first.
    #[inline]
    fn reserve(&mut self, additional: usize) -> &mut BytesMut {
        if self.held.is_none() && self.buf.capacity() - self.buf.len() >= additional {
            return &mut self.buf;
        }
        self.make_room(additional)
    }

    /// [`reserve`](Self::reserve) when the buffer has no room (or bytes are held:
    /// they are copied in first, always at the start of an event). A buffer that
    /// would have to move with a large frame in it is cut instead, where the event
    /// being written starts: the events before it go as a piece, unmoved.
    #[inline(never)]
    fn make_room(&mut self, additional: usize) -> &mut BytesMut {
        let held = self.held.take();
        let additional = additional + held.as_ref().map_or(0, Bytes::len);
        if self.buf.capacity() - self.buf.len() < additional {
            let room = room(self.max);
            let cut = self.event_start > 0
                && (self.bursting || self.buf.len().saturating_add(additional) > room);
            if cut {
                self.queue_front(self.event_start);
            }
            let want = if self.bursting || cut {
                // A burst, or the start of the frame after a full one: room for a
                // whole frame at once, so it never moves.
                room
            } else if !self.buf.is_empty() {
                // A small frame grows: doubling, bounded by the frame's size.
                self.buf.capacity().saturating_mul(2).min(room)
            } else {
                // The usual few events.
                additional.saturating_mul(4).max(1024).min(room)
            };
            let len = self.buf.len();
            self.buf.reserve(want.max(len + additional) - len);
        }
        if let Some(held) = held {
            self.buf.put_slice(&held);
            self.event_start = self.buf.len();
        }
        &mut self.buf
    }

    /// The next piece to send, if any; what remains waits in the spill in the body's
    /// box (`extra`, made if needed) for the next polls. `full`: the frame ended
    /// because it was full (a burst goes on): events written past it stay in the
    /// buffer, to start the next frame.
    pub(super) fn finish(mut self, full: bool, extra: &mut Option<Box<Extra>>) -> Option<Bytes> {
        self.close();
        let next = match self.queue.pop_front() {
            Some(front) => {
                if !full {
                    self.cut();
                }
                Some(front)
            }
            None => self.current(),
        };
        if !full && self.queue.is_empty() {
            // Idle or trickling: nothing kept, the buffer goes with the last piece
            // (and the box, if it holds nothing else).
            if let Some(kept) = extra.as_deref_mut() {
                kept.spill = None;
            }
            free_if_unused(extra);
        } else {
            let spill = extra
                .get_or_insert_with(Box::default)
                .spill
                .get_or_insert_with(Box::default);
            spill.queue = std::mem::take(&mut self.queue);
            spill.held = self.held.take();
            spill.buf = std::mem::take(&mut self.buf);
        }
        next
    }
}

/// The room a buffer gets for a frame capped at `max`: the frame, and an event's
/// worth past it (at most [`MAX_BURST_ROOM`]).
fn room(max: usize) -> usize {
    max.saturating_add(max / 8).min(MAX_BURST_ROOM)
}

impl std::fmt::Debug for EventWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventWriter")
            .field("buffered", &self.buf.len())
            .field("pieces", &self.queue.len())
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

/// The fields of one event being written: see [`EventWriter::event`]. Each call
/// writes one field (data and comments one line per line of text); the empty line
/// that ends the event is written when this is dropped, so an event is always whole.
///
/// Fields are written in the order of the calls. A field set twice is sent twice:
/// for `id`, `event` and `retry` the client keeps the last; `data` lines are joined
/// with a line break.
#[must_use = "an event is ended when its FieldWriter is dropped"]
pub struct FieldWriter<'w, 'a> {
    out: &'w mut EventWriter<'a>,
}

impl FieldWriter<'_, '_> {
    /// The `id` field: an integer (written straight into the frame, without an
    /// [`EventId`](crate::EventId)), or an `&EventId`.
    #[inline]
    pub fn id(&mut self, id: impl FieldId) -> &mut Self {
        id.write_id(self.out.reserve(4 + 40 + 1));
        self
    }

    /// The `event` field (the event's type).
    #[inline]
    pub fn event(&mut self, kind: &crate::EventType) -> &mut Self {
        let kind = kind.as_bytes();
        encode::field(self.out.reserve(7 + kind.len() + 1), b"event: ", kind);
        self
    }

    /// The `retry` field, whole milliseconds.
    pub fn retry(&mut self, retry: std::time::Duration) -> &mut Self {
        encode::retry_into(self.out.reserve(7 + 20 + 1), retry);
        self
    }

    /// Data, one `data:` line per line of `text` (split on CRLF, CR or LF).
    #[inline]
    pub fn data(&mut self, text: &str) -> &mut Self {
        encode::lines(
            self.out.reserve(6 + text.len() + 1),
            b"data",
            text.as_bytes(),
        );
        self
    }

    /// Data shared with other events or streams ([`Data`] is a counted reference):
    /// large data without a line break is sent as it is, between the event's head and
    /// its end, never copied; smaller data is written like [`data`](Self::data).
    #[inline]
    pub fn shared_data(&mut self, data: &Data) -> &mut Self {
        if self.out.shares(data) {
            self.out.shared_data_line(data);
        } else {
            let text = data.as_bytes();
            encode::lines(self.out.reserve(6 + text.len() + 1), b"data", text);
        }
        self
    }

    /// A comment, one `:` line per line of `text`.
    #[inline]
    pub fn comment(&mut self, text: &str) -> &mut Self {
        encode::lines(self.out.reserve(2 + text.len() + 1), b":", text.as_bytes());
        self
    }

    /// Data: `value` serialised as compact JSON straight into the frame. Compact JSON
    /// escapes every line break in strings, but a `serde_json::value::RawValue` keeps
    /// its text as it is, whitespace included: JSON with line breaks goes as one
    /// `data:` line per line, as [`Event::json_data`](crate::Event::json_data) sends
    /// it, so that no line break ends the event early.
    ///
    /// # Errors
    ///
    /// When `value` cannot be serialised. Nothing of the data is written then; the
    /// event still ends (with the fields written before it).
    #[cfg(feature = "json")]
    #[cfg_attr(docsrs, doc(cfg(feature = "json")))]
    pub fn json_data<T: serde::Serialize + ?Sized>(
        &mut self,
        value: &T,
    ) -> Result<&mut Self, serde_json::Error> {
        let buf = self.out.reserve(6 + 64 + 1);
        let start = buf.len();
        buf.put_slice(b"data: ");
        match serde_json::to_writer(buf.writer(), value) {
            Ok(()) => {
                let buf = &mut self.out.buf;
                if memchr::memchr2(b'\r', b'\n', &buf[start + 6..]).is_some() {
                    // Rare (raw JSON with whitespace): copied out, written again.
                    let json = buf[start + 6..].to_vec();
                    buf.truncate(start);
                    encode::lines(buf, b"data", &json);
                } else {
                    buf.put_u8(b'\n');
                }
                Ok(self)
            }
            Err(error) => {
                self.out.buf.truncate(start);
                Err(error)
            }
        }
    }
}

impl std::fmt::Debug for FieldWriter<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldWriter").finish_non_exhaustive()
    }
}

impl Drop for FieldWriter<'_, '_> {
    #[inline]
    fn drop(&mut self) {
        self.out.end_fields();
    }
}

mod sealed {
    pub trait Sealed {}
}

/// What [`FieldWriter::id`] takes: an integer or an [`EventId`](crate::EventId).
pub trait FieldId: sealed::Sealed {
    #[doc(hidden)]
    fn write_id(self, buf: &mut BytesMut);
}

impl sealed::Sealed for &crate::EventId {}

impl FieldId for &crate::EventId {
    #[inline]
    fn write_id(self, buf: &mut BytesMut) {
        encode::field(buf, b"id: ", self.as_bytes());
    }
}

macro_rules! field_id_integer {
    ($($int:ty),*) => {$(
        impl sealed::Sealed for $int {}

        impl FieldId for $int {
            #[inline]
            fn write_id(self, buf: &mut BytesMut) {
                encode::field(buf, b"id: ", itoa::Buffer::new().format(self).as_bytes());
            }
        }
    )*};
}

field_id_integer!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize);
