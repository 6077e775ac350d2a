//! [`WriteEvent`]: what a body's stream yields, written straight into the frame.

use crate::body::EventWriter;
use crate::event::{EncodedEvent, Event};

/// What the stream of an [`SseBody`](crate::SseBody) yields: anything that writes
/// events into the frame the body sends next.
///
/// [`Event`] and [`EncodedEvent`] implement it. Implement it for a type of your own to
/// write events from it field by field, with no [`Event`] and no buffer of its own
/// in between: the fast path for a stream of many small events (tokens of an answer,
/// rows of a query). Every field goes through the same checks as an `Event`'s, so
/// nothing written this way can break the stream:
///
/// ```
/// use std::convert::Infallible;
/// use futures_util::stream;
/// use sse_rs_core::{EventType, EventWriter, SseBody, WriteEvent};
///
/// struct Row { n: u64, name: String }
///
/// const ROW: EventType = EventType::from_static("row");
///
/// impl WriteEvent for Row {
///     fn write_event(self, out: &mut EventWriter<'_>) {
///         out.event().id(self.n).event(&ROW).data(&self.name);
///     }
/// }
///
/// let rows = stream::iter([Row { n: 1, name: "ada".into() }].map(Ok::<_, Infallible>));
/// let body = SseBody::new(rows);
/// # let _ = body;
/// ```
///
/// One item may write any number of events, or none.
pub trait WriteEvent {
    /// Writes the item's events into `out`.
    fn write_event(self, out: &mut EventWriter<'_>);
}

impl WriteEvent for Event {
    fn write_event(self, out: &mut EventWriter<'_>) {
        out.write(&self);
    }
}

impl WriteEvent for &Event {
    fn write_event(self, out: &mut EventWriter<'_>) {
        out.write(self);
    }
}

impl WriteEvent for EncodedEvent {
    fn write_event(self, out: &mut EventWriter<'_>) {
        out.encoded(self);
    }
}
