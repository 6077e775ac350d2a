//! The event model: [`Event`], its text payload [`Data`], and the wire form
//! [`EncodedEvent`].

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;

use crate::encode;
use crate::field::{EventId, EventType, InvalidField};

/// UTF-8 text for the `data` field or a comment of an [`Event`].
///
/// Any text is allowed: line breaks (CRLF, CR or LF) become separate `data:` lines on
/// the wire and come back as LF in the browser. Converting from `String`, `Box<str>`
/// or [`Bytes`] takes the buffer without copying it; from `&str` it is copied once.
///
/// ```
/// use bytes::Bytes;
/// use sse_rs_core::Data;
///
/// let a = Data::from("borrowed, copied once");
/// let b = Data::from(String::from("owned, moved"));
/// let c = Data::try_from(Bytes::from_static(b"bytes, checked for UTF-8"))?;
/// assert!(Data::try_from(Bytes::from_static(b"\xff")).is_err());
/// # let _ = (a, b, c);
/// # Ok::<(), std::str::Utf8Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Data(Bytes);

impl Data {
    /// Data from a literal, without allocating.
    #[must_use]
    pub const fn from_static(text: &'static str) -> Self {
        Self(Bytes::from_static(text.as_bytes()))
    }

    /// The UTF-8 bytes of the text.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The length of the text in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the text is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The text, shared: for the body to send large data without copying it.
    pub(crate) fn bytes(&self) -> &Bytes {
        &self.0
    }
}

impl fmt::Debug for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&String::from_utf8_lossy(&self.0), f)
    }
}

impl From<&str> for Data {
    fn from(text: &str) -> Self {
        Self(Bytes::copy_from_slice(text.as_bytes()))
    }
}

impl From<&String> for Data {
    fn from(text: &String) -> Self {
        Self::from(text.as_str())
    }
}

impl From<String> for Data {
    fn from(text: String) -> Self {
        Self(Bytes::from(text))
    }
}

impl From<Box<str>> for Data {
    fn from(text: Box<str>) -> Self {
        Self(Bytes::from(text.into_boxed_bytes()))
    }
}

impl From<Cow<'_, str>> for Data {
    fn from(text: Cow<'_, str>) -> Self {
        match text {
            Cow::Borrowed(text) => Self::from(text),
            Cow::Owned(text) => Self::from(text),
        }
    }
}

impl TryFrom<Bytes> for Data {
    type Error = std::str::Utf8Error;

    /// Takes the bytes without copying them once they are checked to be UTF-8.
    fn try_from(bytes: Bytes) -> Result<Self, Self::Error> {
        std::str::from_utf8(&bytes)?;
        Ok(Self(bytes))
    }
}

impl TryFrom<Vec<u8>> for Data {
    type Error = std::str::Utf8Error;

    fn try_from(bytes: Vec<u8>) -> Result<Self, Self::Error> {
        Self::try_from(Bytes::from(bytes))
    }
}

/// One server-sent event, built field by field.
///
/// Every field is optional and setting a field twice replaces it, except comments,
/// which add up (one `:` line each, in order). Values that could
/// break the wire format cannot be built: ids and types are checked when their
/// [`EventId`] / [`EventType`] is made, and line breaks in [`data`](Event::data) or
/// [`comment`](Event::comment) become separate lines. So encoding an event cannot fail.
///
/// ```
/// use std::time::Duration;
/// use sse_rs_core::{Event, EventType};
///
/// let event = Event::default()
///     .id(7_u64)
///     .event(EventType::from_static("tick"))
///     .retry(Duration::from_secs(5))
///     .data("first line\nsecond line");
///
/// assert_eq!(
///     event.encode().as_bytes(),
///     &b"event: tick\nid: 7\nretry: 5000\ndata: first line\ndata: second line\n\n"[..]
/// );
/// ```
///
/// # Events without data
///
/// An event with no [`data`](Event::data) encodes no `data:` line. Browsers do not
/// dispatch such an event (no `onmessage`), but they do apply its `id` and `retry`:
/// this is how a server moves a client's `Last-Event-ID` or changes its reconnection
/// delay without showing anything. To dispatch an event with empty data, call
/// `.data("")`, which sends one empty `data:` line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct Event {
    pub(crate) id: Option<EventId>,
    pub(crate) event: Option<EventType>,
    pub(crate) retry: Option<Duration>,
    pub(crate) data: Option<Data>,
    pub(crate) comment: Option<Data>,
}

impl Event {
    /// An event with no fields; the same as [`Event::default`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the `data` field. Each line of `data` (split on CRLF, CR or LF) is sent as
    /// its own `data:` line; browsers join them with LF.
    pub fn data(mut self, data: impl Into<Data>) -> Self {
        self.data = Some(data.into());
        self
    }

    /// Sets the `data` field to `value` serialised as compact JSON.
    ///
    /// Compact JSON never contains a raw line break (they are escaped inside strings),
    /// so the data is one line; it goes through the same line splitter all the same.
    ///
    /// # Errors
    ///
    /// When `value` cannot be serialised (for example a map with non-string keys).
    #[cfg(feature = "json")]
    #[cfg_attr(docsrs, doc(cfg(feature = "json")))]
    pub fn json_data<T: serde::Serialize + ?Sized>(
        self,
        value: &T,
    ) -> Result<Self, serde_json::Error> {
        Ok(self.data(serde_json::to_string(value)?))
    }

    /// Sets the `event` field (the event's type; browsers default to `message`).
    ///
    /// Takes an [`EventType`], checked when it was made: a literal with
    /// `EventType::from_static("tick")` (a compile error if it holds a line break, when
    /// used in a `const`), or text known only at run time with
    /// [`try_event`](Event::try_event), which returns the error instead.
    pub fn event(mut self, event: impl Into<EventType>) -> Self {
        self.event = Some(event.into());
        self
    }

    /// Sets the `event` field from text known only at run time (`&str`, `String`).
    ///
    /// ```
    /// use sse_rs_core::{Event, FieldKind};
    ///
    /// let kind = String::from("user-joined");
    /// let event = Event::default().try_event(kind.as_str())?.data("ada");
    /// assert_eq!(event.encode().as_bytes(), &b"event: user-joined\ndata: ada\n\n"[..]);
    ///
    /// // A line break would start a new field on the wire: refused, never sent.
    /// let error = Event::default().try_event("x\ndata: forged").unwrap_err();
    /// assert_eq!(error.field(), FieldKind::Type);
    /// # Ok::<(), sse_rs_core::InvalidField>(())
    /// ```
    ///
    /// # Errors
    ///
    /// When `event` contains CR or LF.
    pub fn try_event<T>(self, event: T) -> Result<Self, InvalidField>
    where
        T: TryInto<EventType, Error = InvalidField>,
    {
        Ok(self.event(event.try_into()?))
    }

    /// Sets the `id` field. Integers convert directly: `.id(42_u64)`; a literal with
    /// `EventId::from_static("a1")`; text known only at run time with
    /// [`try_id`](Event::try_id), which returns the error instead.
    pub fn id(mut self, id: impl Into<EventId>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets the `id` field from text known only at run time (`&str`, `String`).
    ///
    /// ```
    /// use sse_rs_core::{Event, FieldKind};
    ///
    /// let id = format!("order-{}", 17);
    /// let event = Event::default().try_id(id)?.data("paid");
    /// assert_eq!(event.encode().as_bytes(), &b"id: order-17\ndata: paid\n\n"[..]);
    ///
    /// let error = Event::default().try_id("1\r\nretry: 1").unwrap_err();
    /// assert_eq!(error.field(), FieldKind::Id);
    /// # Ok::<(), sse_rs_core::InvalidField>(())
    /// ```
    ///
    /// # Errors
    ///
    /// When `id` contains CR, LF or NUL.
    pub fn try_id<T>(self, id: T) -> Result<Self, InvalidField>
    where
        T: TryInto<EventId, Error = InvalidField>,
    {
        Ok(self.id(id.try_into()?))
    }

    /// Sets the `retry` field: how long a browser waits before reconnecting. Sent as
    /// whole milliseconds (sub-millisecond parts are dropped, huge values clamped to
    /// `u64::MAX` milliseconds).
    pub fn retry(mut self, retry: Duration) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Adds a comment, sent as `: text` lines (one per line of `comment`). Called
    /// again, it adds more lines after the earlier ones (as axum's `Event::comment`
    /// does). Clients ignore comments; they are useful for debugging and to keep
    /// connections alive.
    ///
    /// ```
    /// use sse_rs_core::Event;
    ///
    /// let event = Event::default().comment("first").comment("second").data("x");
    /// assert_eq!(event.encode().as_bytes(), &b": first\n: second\ndata: x\n\n"[..]);
    /// ```
    pub fn comment(mut self, comment: impl Into<Data>) -> Self {
        let comment = comment.into();
        self.comment = Some(match self.comment.take() {
            None => comment,
            Some(earlier) => {
                let mut joined = Vec::with_capacity(earlier.len() + 1 + comment.len());
                joined.extend_from_slice(earlier.as_bytes());
                joined.push(b'\n');
                joined.extend_from_slice(comment.as_bytes());
                Data(Bytes::from(joined))
            }
        });
        self
    }

    /// The fields set on this event, to read them back: for a backplane that stores
    /// events field by field, or for logging.
    ///
    /// ```
    /// use sse_rs_core::{Event, EventType};
    ///
    /// let event = Event::default().event(EventType::from_static("tick")).data("1");
    /// let fields = event.fields();
    /// assert_eq!(fields.event.map(|t| t.as_str()), Some("tick"));
    /// assert_eq!(fields.data.map(|d| d.as_bytes()), Some(&b"1"[..]));
    /// assert!(fields.id.is_none() && fields.retry.is_none() && fields.comment.is_none());
    /// ```
    pub fn fields(&self) -> EventFields<'_> {
        EventFields {
            id: self.id.as_ref(),
            event: self.event.as_ref(),
            retry: self.retry,
            data: self.data.as_ref(),
            comment: self.comment.as_ref(),
        }
    }

    /// Encodes the event into its wire form, ready to be sent to any number of
    /// streams.
    #[must_use]
    pub fn encode(&self) -> EncodedEvent {
        EncodedEvent(encode::event(self.wire_fields()))
    }

    /// The fields as the encoder reads them.
    pub(crate) fn wire_fields(&self) -> encode::Fields<'_> {
        encode::Fields {
            comment: self.comment.as_ref().map(Data::as_bytes),
            event: self.event.as_ref().map(EventType::as_bytes),
            id: self.id.as_ref().map(EventId::as_bytes),
            retry: self.retry,
            data: self.data.as_ref().map(Data::as_bytes),
        }
    }
}

/// The event's wire form, as text: what [`Event::encode`] sends (for logging, or to
/// move from `warp::sse::Event`, which is displayed the same way).
///
/// ```
/// use sse_rs_core::Event;
///
/// assert_eq!(Event::default().id(1_u64).data("a\nb").to_string(), "id: 1\ndata: a\ndata: b\n\n");
/// ```
impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let encoded = self.encode();
        // The wire form is built from UTF-8 text only.
        f.write_str(&String::from_utf8_lossy(encoded.as_bytes()))
    }
}

/// The fields of an [`Event`], borrowed: see [`Event::fields`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventFields<'a> {
    /// The `id` field.
    pub id: Option<&'a EventId>,
    /// The `event` field (the type).
    pub event: Option<&'a EventType>,
    /// The `retry` field.
    pub retry: Option<Duration>,
    /// The data, before it is split into `data:` lines.
    pub data: Option<&'a Data>,
    /// The comment, before it is split into `:` lines.
    pub comment: Option<&'a Data>,
}

/// An event in its wire form: the exact bytes of one event, ending in an empty line.
///
/// Encode an event once and send clones to as many streams as you like; a clone is a
/// reference count, not a copy. [`SseBody`](crate::SseBody) accepts anything that
/// converts into an `EncodedEvent`, so a stream may yield `Event`s or pre-encoded
/// events.
///
/// ```
/// use sse_rs_core::{EncodedEvent, Event};
///
/// let once: EncodedEvent = Event::default().data("hello").into();
/// let for_another_stream = once.clone();
/// assert_eq!(once.as_bytes(), &b"data: hello\n\n"[..]);
/// assert_eq!(once.as_bytes().as_ptr(), for_another_stream.as_bytes().as_ptr());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
// `pub(crate)`: the decoder's raw blocks (`decode::Decoded::Block`) are made here too.
pub struct EncodedEvent(pub(crate) Bytes);

impl EncodedEvent {
    /// The wire bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// The wire bytes, by value.
    #[must_use]
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// The number of bytes on the wire. Never zero.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always `false`: every encoded event ends with at least a line break.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for EncodedEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("EncodedEvent")
            .field(&String::from_utf8_lossy(&self.0))
            .finish()
    }
}

impl From<Event> for EncodedEvent {
    fn from(event: Event) -> Self {
        event.encode()
    }
}

impl From<&Event> for EncodedEvent {
    fn from(event: &Event) -> Self {
        event.encode()
    }
}

impl From<EncodedEvent> for Bytes {
    fn from(event: EncodedEvent) -> Self {
        event.0
    }
}
