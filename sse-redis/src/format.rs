//! The stored format: how an [`Event`] is written into the fields of a stream entry,
//! and how an entry's fields are read back into an event. Both sides live here so that
//! they cannot drift apart.
//!
//! An event is stored as the fields `event`, `retry` (milliseconds), `data` and
//! `comment`, each only when the event has it, so any Redis client can publish
//! (`XADD <prefix><topic> * event tick data 42`). An event with no field at all is
//! stored as `empty ""`, since an entry needs one. Its id is the entry id: an id the
//! event had is not stored. Reading ignores other fields and trusts nothing: field
//! names and values are bytes, and an entry that cannot be an event reads as `None`.

use std::time::Duration;

use redis::{Cmd, FromRedisValue, Value};
use sse_rs::{Data, EncodedEvent, Event, EventType};

use crate::entry_id::EntryId;

const FIELD_EVENT: &str = "event";
const FIELD_DATA: &str = "data";
const FIELD_RETRY: &str = "retry";
const FIELD_COMMENT: &str = "comment";
/// Written only for an event with no field at all: an entry needs one.
const FIELD_EMPTY: &str = "empty";

/// Adds the event's fields to an `XADD` (or the publish-once script's arguments).
pub(crate) fn write(command: &mut Cmd, event: &Event) {
    let fields = event.fields();
    let mut any = false;
    if let Some(name) = fields.event {
        command.arg(FIELD_EVENT).arg(name.as_str());
        any = true;
    }
    if let Some(retry) = fields.retry {
        command
            .arg(FIELD_RETRY)
            .arg(u64::try_from(retry.as_millis()).unwrap_or(u64::MAX));
        any = true;
    }
    if let Some(data) = fields.data {
        command.arg(FIELD_DATA).arg(data.as_bytes());
        any = true;
    }
    if let Some(comment) = fields.comment {
        command.arg(FIELD_COMMENT).arg(comment.as_bytes());
        any = true;
    }
    if !any {
        command.arg(FIELD_EMPTY).arg("");
    }
}

/// One stream entry, its fields as Redis returned them.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) id: EntryId,
    fields: Vec<(Vec<u8>, Value)>,
}

impl Entry {
    pub(crate) fn new(id: EntryId, fields: Vec<(Vec<u8>, Value)>) -> Self {
        Self { id, fields }
    }

    fn field(&self, name: &str) -> Option<&Value> {
        self.fields
            .iter()
            .find(|(field, _)| field == name.as_bytes())
            .map(|(_, value)| value)
    }

    /// The event stored in this entry, with the entry id as its id; `None` when the
    /// fields cannot be an event (a value that is not UTF-8 text, an event type with a
    /// line break, a retry that is not a number).
    pub(crate) fn event(&self) -> Option<EncodedEvent> {
        fn text(value: &Value) -> Option<Data> {
            Data::try_from(Vec::<u8>::from_redis_value_ref(value).ok()?).ok()
        }
        let mut event = Event::default().id(self.id.to_event_id());
        if let Some(value) = self.field(FIELD_EVENT) {
            let name = String::from_redis_value_ref(value).ok()?;
            event = event.event(EventType::try_from(name).ok()?);
        }
        if let Some(value) = self.field(FIELD_RETRY) {
            event = event.retry(Duration::from_millis(
                u64::from_redis_value_ref(value).ok()?,
            ));
        }
        if let Some(value) = self.field(FIELD_DATA) {
            event = event.data(text(value)?);
        }
        if let Some(value) = self.field(FIELD_COMMENT) {
            event = event.comment(text(value)?);
        }
        Some(event.encode())
    }
}

#[cfg(test)]
mod tests {
    use redis::Arg;

    use super::*;

    /// The fields `write` adds, as name/value pairs of bytes.
    fn written(event: &Event) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut command = redis::cmd("XADD");
        write(&mut command, event);
        let args: Vec<Vec<u8>> = command
            .args_iter()
            .skip(1)
            .map(|arg| match arg {
                Arg::Simple(bytes) => bytes.to_vec(),
                _ => panic!("not a plain argument among the fields"),
            })
            .collect();
        assert_eq!(args.len() % 2, 0, "names and values in pairs");
        args.chunks(2)
            .map(|pair| (pair[0].clone(), pair[1].clone()))
            .collect()
    }

    /// An entry of those fields, as Redis returns them (bulk strings).
    fn stored(id: EntryId, fields: Vec<(Vec<u8>, Vec<u8>)>) -> Entry {
        let fields = fields
            .into_iter()
            .map(|(name, value)| (name, Value::BulkString(value)))
            .collect();
        Entry::new(id, fields)
    }

    fn entry(fields: &[(&str, &[u8])]) -> Entry {
        let fields = fields
            .iter()
            .map(|(name, value)| (name.as_bytes().to_vec(), value.to_vec()))
            .collect();
        stored(EntryId::new(9, 2), fields)
    }

    #[test]
    fn writes_the_fields_any_redis_client_can_write() {
        let event = Event::default()
            .id(77)
            .event(EventType::from_static("note"))
            .retry(Duration::from_millis(1500))
            .data("hi")
            .comment("c");
        let fields: Vec<(String, String)> = written(&event)
            .into_iter()
            .map(|(n, v)| (String::from_utf8(n).unwrap(), String::from_utf8(v).unwrap()))
            .collect();
        let want = [
            ("event", "note"),
            ("retry", "1500"),
            ("data", "hi"),
            ("comment", "c"),
        ];
        assert_eq!(
            fields,
            want.map(|(n, v)| (n.to_owned(), v.to_owned())),
            "no id: the entry id replaces it"
        );
        assert_eq!(
            written(&Event::default()),
            [(b"empty".to_vec(), Vec::new())]
        );
    }

    #[test]
    fn what_is_written_reads_back_as_the_same_wire_bytes() {
        let id = EntryId::new(1_700_000_000_000, 3);
        let events = [
            Event::default(),
            Event::default().data(""),
            Event::default().data("one\ntwo\r\nthree\rfour"),
            Event::default().event(EventType::from_static("tick")),
            Event::default().retry(Duration::from_millis(2500)),
            Event::default().comment("just a comment\nof two lines"),
            Event::default().id(5).data("the old id goes"),
            Event::default()
                .event(EventType::from_static("all"))
                .retry(Duration::ZERO)
                .data("é ✓ \u{0}")
                .comment("c"),
        ];
        for event in events {
            let read = stored(id, written(&event)).event();
            let want = event.id(id.to_event_id()).encode();
            assert_eq!(read.as_ref(), Some(&want), "{want:?}");
        }
    }

    #[test]
    fn an_empty_event_is_stored_with_a_marker_and_read_back_empty() {
        assert_eq!(
            entry(&[("empty", b"")]).event().unwrap().as_bytes(),
            &b"id: 9-2\n\n"[..]
        );
    }

    #[test]
    fn other_fields_are_ignored() {
        assert_eq!(
            entry(&[("user", b"7"), ("data", b"x"), ("Data", b"y")])
                .event()
                .unwrap()
                .as_bytes(),
            &b"id: 9-2\ndata: x\n\n"[..]
        );
    }

    #[test]
    fn a_malformed_entry_is_no_event() {
        let malformed: [&[(&str, &[u8])]; 6] = [
            &[("data", b"\xff")],
            &[("comment", b"\xc3")],
            &[("event", b"two\nlines"), ("data", b"x")],
            &[("event", b"\xff")],
            &[("retry", b"soon")],
            &[("retry", b"-1")],
        ];
        for fields in malformed {
            assert!(entry(fields).event().is_none(), "{fields:?}");
        }
        // A field that is not a string at all.
        let nested = Entry::new(
            EntryId::new(1, 0),
            vec![(b"data".to_vec(), Value::Array(vec![Value::Nil]))],
        );
        assert!(nested.event().is_none());
    }

    #[test]
    fn a_retry_is_read_from_integer_replies_too() {
        let entry = Entry::new(
            EntryId::new(1, 0),
            vec![(b"retry".to_vec(), Value::Int(30))],
        );
        assert_eq!(
            entry.event().unwrap().as_bytes(),
            &b"id: 1-0\nretry: 30\n\n"[..]
        );
    }
}
