//! Stream entries as Redis returns them, read without trusting their contents: field
//! names and values are bytes, and an entry that cannot be an event is skipped rather
//! than failing the whole reply.

use std::time::Duration;

use redis::{FromRedisValue, Value};
use sse_rs::{Data, EncodedEvent, Event, EventType};

use crate::entry_id::EntryId;
use crate::hub::Error;

/// The stream fields an event is stored in. Other fields are ignored when reading, so
/// any Redis client can publish (`XADD <prefix><topic> * event tick data 42`).
pub(crate) const FIELD_EVENT: &str = "event";
pub(crate) const FIELD_DATA: &str = "data";
pub(crate) const FIELD_RETRY: &str = "retry";
pub(crate) const FIELD_COMMENT: &str = "comment";
/// Written only for an event with no field at all: an entry needs one.
pub(crate) const FIELD_EMPTY: &str = "empty";

/// One stream entry.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) id: EntryId,
    fields: Vec<(Vec<u8>, Value)>,
}

impl Entry {
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

fn unexpected(what: &str, value: &Value) -> Error {
    Error::UnexpectedReply(format!("{what}: {value:?}"))
}

fn bytes(value: Value) -> Result<Vec<u8>, Error> {
    match value {
        Value::BulkString(bytes) => Ok(bytes),
        Value::SimpleString(text) => Ok(text.into_bytes()),
        other => Err(unexpected("a name", &other)),
    }
}

fn entry(value: Value) -> Result<Entry, Error> {
    let Value::Array(parts) = value else {
        return Err(unexpected("an entry", &value));
    };
    let mut parts = parts.into_iter();
    let (Some(id), Some(fields), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(Error::UnexpectedReply(
            "an entry of other than 2 parts".into(),
        ));
    };
    let id = bytes(id)?;
    let id = std::str::from_utf8(&id)
        .ok()
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| Error::UnexpectedReply(format!("the entry id {id:?}")))?;
    let fields = match fields {
        Value::Array(flat) => {
            let mut pairs = Vec::with_capacity(flat.len() / 2);
            let mut flat = flat.into_iter();
            while let (Some(name), Some(value)) = (flat.next(), flat.next()) {
                pairs.push((bytes(name)?, value));
            }
            pairs
        }
        Value::Map(pairs) => pairs
            .into_iter()
            .map(|(name, value)| Ok((bytes(name)?, value)))
            .collect::<Result<_, Error>>()?,
        // An entry deleted while a consumer group held it; not ours, but harmless.
        Value::Nil => Vec::new(),
        other => return Err(unexpected("an entry's fields", &other)),
    };
    Ok(Entry { id, fields })
}

/// The entries of an `XRANGE` or `XREVRANGE` reply.
pub(crate) fn range(value: Value) -> Result<Vec<Entry>, Error> {
    match value {
        Value::Array(entries) => entries.into_iter().map(entry).collect(),
        other => Err(unexpected("a range", &other)),
    }
}

/// The entries of an `XREAD` reply on one stream (nil when the block timed out).
pub(crate) fn read(value: Value) -> Result<Vec<Entry>, Error> {
    let streams: Vec<Value> = match value {
        Value::Nil => return Ok(Vec::new()),
        // RESP2: [[key, entries], ...]
        Value::Array(streams) => streams
            .into_iter()
            .map(|stream| match stream {
                Value::Array(mut pair) if pair.len() == 2 => Ok(pair.swap_remove(1)),
                other => Err(unexpected("a stream", &other)),
            })
            .collect::<Result<_, _>>()?,
        // RESP3: {key: entries, ...}
        Value::Map(pairs) => pairs.into_iter().map(|(_, entries)| entries).collect(),
        other => return Err(unexpected("a read", &other)),
    };
    let mut out = Vec::new();
    for entries in streams {
        out.extend(range(entries)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(bytes: &[u8]) -> Value {
        Value::BulkString(bytes.to_vec())
    }

    fn raw(id: &str, fields: &[(&[u8], &[u8])]) -> Value {
        Value::Array(vec![
            bulk(id.as_bytes()),
            Value::Array(
                fields
                    .iter()
                    .flat_map(|(name, value)| [bulk(name), bulk(value)])
                    .collect(),
            ),
        ])
    }

    #[test]
    fn a_bad_field_name_spoils_nothing_but_its_own_entry() {
        let reply = Value::Array(vec![
            raw("1-0", &[(b"\xff\xfe", b"x"), (b"data", b"kept")]),
            raw("2-0", &[(b"data", b"\xff")]),
            raw("3-0", &[(b"event", b"tick"), (b"data", b"ok")]),
        ]);
        let entries = range(reply).unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(
            entries[0].event().unwrap().as_bytes(),
            &b"id: 1-0\ndata: kept\n\n"[..]
        );
        assert!(entries[1].event().is_none(), "invalid UTF-8 data");
        assert_eq!(
            entries[2].event().unwrap().as_bytes(),
            &b"event: tick\nid: 3-0\ndata: ok\n\n"[..]
        );
    }

    #[test]
    fn reads_both_protocol_versions_and_a_timeout() {
        let entries = Value::Array(vec![raw("5-1", &[(b"data", b"a")])]);
        let resp2 = Value::Array(vec![Value::Array(vec![bulk(b"k"), entries.clone()])]);
        let resp3 = Value::Map(vec![(bulk(b"k"), entries)]);
        for reply in [resp2, resp3] {
            let got = read(reply).unwrap();
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].id, EntryId::new(5, 1));
        }
        assert!(read(Value::Nil).unwrap().is_empty());
        assert!(matches!(
            read(Value::Int(3)),
            Err(Error::UnexpectedReply(_))
        ));
    }

    #[test]
    fn an_event_with_no_fields_is_stored_with_a_marker_and_read_back_empty() {
        let entries = range(Value::Array(vec![raw("7-0", &[(b"empty", b"")])])).unwrap();
        assert_eq!(entries[0].event().unwrap().as_bytes(), &b"id: 7-0\n\n"[..]);
    }
}
