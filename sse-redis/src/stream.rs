//! Reading a stream: the commands (`XRANGE`, `XREVRANGE`, `XREAD`) and the parsing of
//! their replies into [`Entry`]s. A reply is read without trusting its entries' fields
//! (see [`crate::format`]); only a reply that is not shaped like the command's fails.

use std::time::Duration;

use redis::aio::{ConnectionManager, MultiplexedConnection};
use redis::{Cmd, RedisError, Value};

use crate::entry_id::EntryId;
use crate::error::Error;
use crate::format::Entry;

/// The entry ids `from` to `upto`, both included, at most `count` of them (`XRANGE`).
pub(crate) async fn range(
    connection: &ConnectionManager,
    key: &str,
    from: EntryId,
    upto: EntryId,
    count: usize,
) -> Result<Vec<Entry>, Error> {
    let mut command = redis::cmd("XRANGE");
    command
        .arg(key)
        .arg(from.to_string())
        .arg(upto.to_string())
        .arg("COUNT")
        .arg(count);
    parse_range(query(connection, &command).await?)
}

/// Whether the stream holds the entry `id` (`XRANGE id id`).
pub(crate) async fn exists(
    connection: &ConnectionManager,
    key: &str,
    id: EntryId,
) -> Result<bool, Error> {
    let id = id.to_string();
    let mut command = redis::cmd("XRANGE");
    command.arg(key).arg(&id).arg(&id);
    Ok(!parse_range(query(connection, &command).await?)?.is_empty())
}

/// The id of the stream's last entry, [`EntryId::ZERO`] when it has none (`XREVRANGE`).
pub(crate) async fn last(connection: &ConnectionManager, key: &str) -> Result<EntryId, Error> {
    let mut command = redis::cmd("XREVRANGE");
    command.arg(key).arg("+").arg("-").arg("COUNT").arg(1);
    let top = parse_range(query(connection, &command).await?)?;
    Ok(top.first().map_or(EntryId::ZERO, |entry| entry.id))
}

/// The stream's first entry, if it has one (`XRANGE - + COUNT 1`).
pub(crate) async fn first(
    connection: &ConnectionManager,
    key: &str,
) -> Result<Option<Entry>, Error> {
    let mut command = redis::cmd("XRANGE");
    command.arg(key).arg("-").arg("+").arg("COUNT").arg(1);
    Ok(parse_range(query(connection, &command).await?)?
        .into_iter()
        .next())
}

/// One blocking read of at most `count` entries after `cursor` (`XREAD BLOCK`), on a
/// reader's own connection; none when the block times out.
pub(crate) async fn read_after(
    connection: &mut MultiplexedConnection,
    key: &str,
    cursor: EntryId,
    count: usize,
    block: Duration,
) -> Result<Vec<Entry>, Error> {
    let reply: Value = redis::cmd("XREAD")
        .arg("COUNT")
        .arg(count)
        .arg("BLOCK")
        .arg(u64::try_from(block.as_millis()).unwrap_or(u64::MAX))
        .arg("STREAMS")
        .arg(key)
        .arg(cursor.to_string())
        .query_async(connection)
        .await?;
    parse_read(reply)
}

/// Runs a read-only command on the shared connection. A read is safe to repeat, so
/// when the connection turns out to have dropped (the first command after a Redis
/// restart learns that), it is tried once more on the new connection.
async fn query(connection: &ConnectionManager, command: &Cmd) -> Result<Value, RedisError> {
    let mut connection = connection.clone();
    match command.query_async(&mut connection).await {
        Err(e) if e.is_connection_dropped() || (e.is_io_error() && !e.is_timeout()) => {
            command.query_async(&mut connection).await
        }
        result => result,
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
    Ok(Entry::new(id, fields))
}

/// The entries of an `XRANGE` or `XREVRANGE` reply.
fn parse_range(value: Value) -> Result<Vec<Entry>, Error> {
    match value {
        Value::Array(entries) => entries.into_iter().map(entry).collect(),
        other => Err(unexpected("a range", &other)),
    }
}

/// The entries of an `XREAD` reply on one stream (nil when the block timed out).
fn parse_read(value: Value) -> Result<Vec<Entry>, Error> {
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
        out.extend(parse_range(entries)?);
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
        let entries = parse_range(reply).unwrap();
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
            let got = parse_read(reply).unwrap();
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].id, EntryId::new(5, 1));
        }
        assert!(parse_read(Value::Nil).unwrap().is_empty());
        assert!(matches!(
            parse_read(Value::Int(3)),
            Err(Error::UnexpectedReply(_))
        ));
    }

    #[test]
    fn fields_as_a_map_and_a_deleted_entry() {
        let reply = Value::Array(vec![
            Value::Array(vec![
                bulk(b"4-0"),
                Value::Map(vec![(Value::SimpleString("data".into()), bulk(b"m"))]),
            ]),
            Value::Array(vec![bulk(b"4-1"), Value::Nil]),
        ]);
        let entries = parse_range(reply).unwrap();
        assert_eq!(
            entries[0].event().unwrap().as_bytes(),
            &b"id: 4-0\ndata: m\n\n"[..]
        );
        assert_eq!(entries[1].id, EntryId::new(4, 1));
    }

    #[test]
    fn a_reply_not_shaped_like_a_range_fails() {
        let bad = [
            Value::Int(1),
            Value::Array(vec![Value::Int(1)]),
            Value::Array(vec![Value::Array(vec![bulk(b"1-0")])]),
            Value::Array(vec![Value::Array(vec![
                bulk(b"1-0"),
                Value::Array(vec![]),
                Value::Nil,
            ])]),
            Value::Array(vec![raw("not-an-id", &[])]),
            Value::Array(vec![Value::Array(vec![bulk(b"1-0"), Value::Int(2)])]),
            Value::Array(vec![Value::Array(vec![
                bulk(b"1-0"),
                Value::Array(vec![Value::Int(2), bulk(b"x")]),
            ])]),
        ];
        for reply in bad {
            let shown = format!("{reply:?}");
            assert!(
                matches!(parse_range(reply), Err(Error::UnexpectedReply(_))),
                "{shown}"
            );
        }
    }
}
