//! [`Error`]: what went wrong in a [`RedisHub`](crate::RedisHub) call.

use std::fmt;

use redis::RedisError;

use crate::entry_id::EntryId;

/// What went wrong in a [`RedisHub`](crate::RedisHub) call.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Redis could not be reached or refused the command: nothing was done. (From
    /// [`publish`](crate::RedisHub::publish): the event was not published, to anybody.)
    Redis(RedisError),
    /// A publish whose command may have reached Redis but whose answer did not come
    /// back (a timeout, or the connection broke with the command in flight): the event
    /// may or may not be in the stream, and if it is, every subscriber gets it. Do not
    /// report it as failed; retry with [`publish_once`](crate::RedisHub::publish_once)
    /// and the same key, which publishes it at most once.
    Unconfirmed(RedisError),
    /// A [`publish_once`](crate::RedisHub::publish_once) key that is empty or longer
    /// than 128 bytes.
    InvalidKey,
    /// Redis answered something that is not what the command returns.
    UnexpectedReply(String),
    /// The client resumes after an entry this instance has not read yet, and its
    /// reader did not get there within the hub's timeout (Redis is unreachable).
    CatchUp(EntryId),
    /// Too many resumes were reading from Redis on this instance, and none finished
    /// within the hub's timeout (see
    /// [`max_replays`](crate::RedisHubBuilder::max_replays)): tell the client to retry
    /// a little later.
    Busy,
    /// The hub was closed.
    Closed,
    /// [`RedisAnswers::start`](crate::RedisAnswers::start): an answer is kept under
    /// this id already.
    AnswerExists,
    /// [`RedisAnswers::resume`](crate::RedisAnswers::resume): no answer is kept under
    /// this id (never was, or it expired).
    AnswerNotFound,
    /// [`RedisAnswers::resume`](crate::RedisAnswers::resume): the `Last-Event-ID` is
    /// not an event of this answer (or no longer kept).
    UnknownLastEventId,
    /// [`RedisAnswers::resume`](crate::RedisAnswers::resume) from the start: the
    /// answer's first events are no longer kept (trimmed by the hub's `max_len`).
    AnswerGone,
    /// A [`RedisAnswerStream`](crate::RedisAnswerStream) missed events (trimmed, or
    /// skipped by the hub's lag policy), or was ended by the hub before the answer's
    /// end: the client should resume from the last event it has.
    AnswerLost,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Redis(_) => f.write_str("the redis command failed"),
            Self::Unconfirmed(_) => f.write_str(
                "redis did not confirm the publish: the event may or may not have been published",
            ),
            Self::InvalidKey => f.write_str("a publish key must be 1 to 128 bytes long"),
            Self::UnexpectedReply(what) => write!(f, "unexpected reply from redis: {what}"),
            Self::CatchUp(id) => write!(
                f,
                "this instance has not read up to entry {id} in time; is redis reachable?"
            ),
            Self::Busy => f.write_str("too many resumes at once on this instance; retry later"),
            Self::Closed => f.write_str("the hub is closed"),
            Self::AnswerExists => f.write_str("an answer is kept under this id already"),
            Self::AnswerNotFound => f.write_str("no answer is kept under this id"),
            Self::UnknownLastEventId => {
                f.write_str("the Last-Event-ID is not an event of this answer")
            }
            Self::AnswerGone => f.write_str("the start of this answer is no longer kept"),
            Self::AnswerLost => {
                f.write_str("events of this answer were missed, or the read ended before its end")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Redis(e) | Self::Unconfirmed(e) => Some(e),
            _ => None,
        }
    }
}

impl From<RedisError> for Error {
    fn from(e: RedisError) -> Self {
        Self::Redis(e)
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use redis::ErrorKind;

    use super::*;

    #[test]
    fn a_redis_error_is_the_source_and_not_in_the_message() {
        let cause = RedisError::from((ErrorKind::Io, "the cause"));
        for error in [Error::Redis(cause.clone()), Error::Unconfirmed(cause)] {
            assert!(!error.to_string().contains("the cause"), "{error}");
            let source = error.source().map(ToString::to_string);
            assert!(source.is_some_and(|s| s.contains("the cause")));
        }
        assert!(Error::Busy.source().is_none());
        assert!(matches!(
            Error::from(RedisError::from((ErrorKind::Io, "x"))),
            Error::Redis(_)
        ));
    }
}
