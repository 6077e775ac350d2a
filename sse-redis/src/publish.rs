//! Publishing: the fields an event is stored as, how a failed publish is classified
//! (not published, or not confirmed), and the idempotent publish's script.

use redis::{Cmd, RedisError};
use sse_rs::Event;

use crate::entry::{FIELD_COMMENT, FIELD_DATA, FIELD_EMPTY, FIELD_EVENT, FIELD_RETRY};
use crate::entry_id::EntryId;
use crate::hub::Error;

/// The longest key [`RedisHub::publish_once`](crate::RedisHub::publish_once) takes, in
/// bytes.
pub(crate) const MAX_KEY: usize = 128;

/// What [`RedisHub::publish_once`](crate::RedisHub::publish_once) did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Published {
    /// The entry id of the event: the one it got now, or the one an earlier call with
    /// the same key gave it.
    pub id: EntryId,
    /// Whether this call published it (`false`: an earlier call with the same key did,
    /// and nothing was added now).
    pub first: bool,
}

/// Adds the event's fields to an `XADD` (or the script's arguments): any Redis client
/// can publish the same way (`XADD sse:chat * event note data hi`).
pub(crate) fn add_fields(command: &mut Cmd, event: &Event) {
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

/// A failed publish: [`Error::Unconfirmed`] when the command may have reached Redis
/// (its answer timed out, or the connection broke with it in flight), so the event
/// may be in the stream; [`Error::Redis`] when it certainly is not (the connection was
/// refused, or Redis answered with an error).
pub(crate) fn publish_error(error: RedisError) -> Error {
    let maybe_sent = error.is_timeout()
        || error.is_connection_dropped()
        || (error.is_io_error() && !error.is_connection_refusal());
    if maybe_sent {
        Error::Unconfirmed(error)
    } else {
        Error::Redis(error)
    }
}

/// Appends to the stream unless the key was seen, atomically (a script runs alone):
/// `KEYS[1]` the stream, `KEYS[2]` the key's marker; `ARGV[1]` the marker's lifetime
/// in seconds, `ARGV[2]` the stream's `MAXLEN ~`, then the fields. Returns
/// `{1, id}` when it appended, `{0, id}` (the earlier entry's id) when not.
pub(crate) const PUBLISH_ONCE: &str = r"
local seen = redis.call('GET', KEYS[2])
if seen then return {0, seen} end
local args = {'XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*'}
for i = 3, #ARGV do args[#args + 1] = ARGV[i] end
local id = redis.call(unpack(args))
redis.call('SET', KEYS[2], id, 'EX', ARGV[1])
return {1, id}
";
