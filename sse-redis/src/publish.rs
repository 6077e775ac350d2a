//! Publishing: the `XADD` command and the publish-once script, their replies, and how
//! a failed publish is classified (not published, or not confirmed).

use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{Cmd, RedisError};
use sse_rs::Event;

use crate::entry_id::EntryId;
use crate::error::Error;
use crate::format;

/// The longest key [`RedisHub::publish_once`](crate::RedisHub::publish_once) takes, in
/// bytes.
const MAX_KEY: usize = 128;

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

/// Appends `event` to the stream `key`, trimmed to about `max_len` entries, and
/// returns its entry id.
pub(crate) async fn publish(
    connection: &ConnectionManager,
    key: &str,
    max_len: usize,
    event: &Event,
) -> Result<EntryId, Error> {
    let id: String = xadd(key, max_len, event)
        .query_async(&mut connection.clone())
        .await
        .map_err(publish_error)?;
    parse_id(id, "XADD")
}

/// Appends `event` to the stream `stream` unless `key` was published within
/// `window` (see [`PUBLISH_ONCE`]).
pub(crate) async fn publish_once(
    connection: &ConnectionManager,
    stream: &str,
    key: &str,
    window: Duration,
    max_len: usize,
    event: &Event,
) -> Result<Published, Error> {
    check_key(key)?;
    let (appended, id): (i64, String) = eval_once(stream, key, window, max_len, event)
        .query_async(&mut connection.clone())
        .await
        .map_err(publish_error)?;
    Ok(Published {
        id: parse_id(id, "the script")?,
        first: appended == 1,
    })
}

/// A publish-once key is 1 to [`MAX_KEY`] bytes long.
fn check_key(key: &str) -> Result<(), Error> {
    if key.is_empty() || key.len() > MAX_KEY {
        return Err(Error::InvalidKey);
    }
    Ok(())
}

/// `XADD <key> MAXLEN ~ <max_len> * <fields>`.
fn xadd(key: &str, max_len: usize, event: &Event) -> Cmd {
    let mut xadd = redis::cmd("XADD");
    xadd.arg(key).arg("MAXLEN").arg("~").arg(max_len).arg("*");
    format::write(&mut xadd, event);
    xadd
}

/// The [`PUBLISH_ONCE`] script's call; the key's marker is `<stream>:published:<key>`.
fn eval_once(stream: &str, key: &str, window: Duration, max_len: usize, event: &Event) -> Cmd {
    let marker = format!("{stream}:published:{key}");
    let mut eval = redis::cmd("EVAL");
    eval.arg(PUBLISH_ONCE)
        .arg(2)
        .arg(stream)
        .arg(&marker)
        .arg(window.as_secs())
        .arg(max_len);
    format::write(&mut eval, event);
    eval
}

/// The entry id `who` answered with.
fn parse_id(id: String, who: &str) -> Result<EntryId, Error> {
    id.parse()
        .map_err(|_| Error::UnexpectedReply(format!("{who} gave the id {id:?}")))
}

/// A failed publish: [`Error::Unconfirmed`] when the command may have reached Redis
/// (its answer timed out, or the connection broke with it in flight), so the event
/// may be in the stream; [`Error::Redis`] when it certainly is not (the connection was
/// refused, or Redis answered with an error).
fn publish_error(error: RedisError) -> Error {
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
const PUBLISH_ONCE: &str = r"
local seen = redis.call('GET', KEYS[2])
if seen then return {0, seen} end
local args = {'XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*'}
for i = 3, #ARGV do args[#args + 1] = ARGV[i] end
local id = redis.call(unpack(args))
redis.call('SET', KEYS[2], id, 'EX', ARGV[1])
return {1, id}
";

#[cfg(test)]
mod tests {
    use std::io;

    use redis::{Arg, ErrorKind, ServerErrorKind};

    use super::*;

    fn args(command: &Cmd) -> Vec<String> {
        command
            .args_iter()
            .map(|arg| match arg {
                Arg::Simple(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                _ => panic!("not a plain argument"),
            })
            .collect()
    }

    #[test]
    fn xadd_trims_and_lets_redis_choose_the_id() {
        let event = Event::default().id(3).data("hi");
        assert_eq!(
            args(&xadd("sse:chat", 50, &event)),
            ["XADD", "sse:chat", "MAXLEN", "~", "50", "*", "data", "hi"]
        );
    }

    #[test]
    fn the_script_gets_the_stream_the_marker_the_window_and_the_fields() {
        let event = Event::default().data("hi");
        let window = Duration::from_millis(90_500);
        let args = args(&eval_once("sse:chat", "k1", window, 50, &event));
        assert_eq!(args[..2], ["EVAL", PUBLISH_ONCE]);
        assert_eq!(
            args[2..],
            [
                "2",
                "sse:chat",
                "sse:chat:published:k1",
                "90",
                "50",
                "data",
                "hi"
            ]
        );
    }

    #[test]
    fn a_key_is_1_to_128_bytes() {
        assert!(check_key("k").is_ok());
        assert!(check_key(&"k".repeat(128)).is_ok());
        for key in [String::new(), "k".repeat(129)] {
            assert!(matches!(check_key(&key), Err(Error::InvalidKey)), "{key}");
        }
    }

    #[test]
    fn an_id_that_is_no_entry_id_is_an_unexpected_reply() {
        assert_eq!(parse_id("5-1".into(), "XADD").unwrap(), EntryId::new(5, 1));
        let Err(Error::UnexpectedReply(what)) = parse_id("OK".into(), "XADD") else {
            panic!("accepted");
        };
        assert_eq!(what, "XADD gave the id \"OK\"");
    }

    #[test]
    fn a_publish_that_may_have_reached_redis_is_unconfirmed() {
        let maybe = [
            RedisError::from(io::Error::from(io::ErrorKind::TimedOut)),
            RedisError::from(io::Error::from(io::ErrorKind::BrokenPipe)),
            RedisError::from(io::Error::from(io::ErrorKind::ConnectionReset)),
            RedisError::from((ErrorKind::Io, "dropped")),
        ];
        for error in maybe {
            let shown = error.to_string();
            assert!(
                matches!(publish_error(error), Error::Unconfirmed(_)),
                "{shown}"
            );
        }
        let refused = RedisError::from((
            ErrorKind::Server(ServerErrorKind::ResponseError),
            "ERR wrong",
        ));
        assert!(matches!(publish_error(refused), Error::Redis(_)));
    }
}
