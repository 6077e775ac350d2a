//! [`EntryId`]: a Redis stream entry id, the event id of a backplane event.

use std::fmt;
use std::str::FromStr;

use sse_rs::{EventId, LastEventId};

/// The id of a Redis stream entry, `<milliseconds>-<sequence>`, which is also the SSE
/// event id of the event stored in it.
///
/// Ids are ordered as Redis orders them: by milliseconds, then by sequence.
///
/// ```
/// use sse_redis::EntryId;
///
/// let id: EntryId = "1700000000000-3".parse().unwrap();
/// assert_eq!((id.ms(), id.seq()), (1_700_000_000_000, 3));
/// assert!(id < "1700000000001-0".parse().unwrap());
/// assert_eq!(id.to_string(), "1700000000000-3");
/// assert!("42".parse::<EntryId>().is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryId {
    ms: u64,
    seq: u64,
}

impl EntryId {
    /// `0-0`, below every id Redis gives an entry.
    pub const ZERO: Self = Self { ms: 0, seq: 0 };

    /// The id `<ms>-<seq>`.
    #[must_use]
    pub const fn new(ms: u64, seq: u64) -> Self {
        Self { ms, seq }
    }

    /// The milliseconds part (the Redis server's clock when it added the entry).
    #[must_use]
    pub const fn ms(self) -> u64 {
        self.ms
    }

    /// The sequence part (entries added within the same millisecond).
    #[must_use]
    pub const fn seq(self) -> u64 {
        self.seq
    }

    /// The id a reconnecting client sent, if it is an entry id. Anything else (absent,
    /// a number, text) is `None`: such a client starts live.
    #[must_use]
    pub fn from_last_event_id(last: &LastEventId) -> Option<Self> {
        last.parse()
    }

    /// The id as an SSE event id.
    #[must_use]
    pub fn to_event_id(self) -> EventId {
        // Digits and one `-`: always a valid event id; the fallback is never taken.
        EventId::try_from(self.to_string()).unwrap_or_else(|_| EventId::from(self.ms))
    }
}

/// Text that is not a Redis entry id (`<digits>-<digits>`, each part fitting a `u64`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidEntryId(());

impl fmt::Display for InvalidEntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a Redis stream entry id (<milliseconds>-<sequence>)")
    }
}

impl std::error::Error for InvalidEntryId {}

impl FromStr for EntryId {
    type Err = InvalidEntryId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        fn part(digits: &str) -> Result<u64, InvalidEntryId> {
            // `u64::from_str` also takes a leading `+`, which Redis never writes.
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(InvalidEntryId(()));
            }
            digits.parse().map_err(|_| InvalidEntryId(()))
        }
        let (ms, seq) = s.split_once('-').ok_or(InvalidEntryId(()))?;
        Ok(Self {
            ms: part(ms)?,
            seq: part(seq)?,
        })
    }
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_what_redis_writes() {
        assert_eq!("0-0".parse(), Ok(EntryId::ZERO));
        assert_eq!(
            "18446744073709551615-18446744073709551615".parse(),
            Ok(EntryId::new(u64::MAX, u64::MAX))
        );
        for bad in [
            "",
            "-",
            "1-",
            "-1",
            "1",
            "1-2-3",
            "+1-2",
            "1-+2",
            " 1-2",
            "1-2 ",
            "18446744073709551616-0",
            "a-b",
            "١-٢",
        ] {
            assert_eq!(bad.parse::<EntryId>(), Err(InvalidEntryId(())), "{bad:?}");
        }
    }

    #[test]
    fn orders_by_milliseconds_then_sequence() {
        let mut ids = [
            EntryId::new(2, 0),
            EntryId::new(1, 10),
            EntryId::new(1, 2),
            EntryId::ZERO,
        ];
        ids.sort();
        assert_eq!(
            ids.map(|id| id.to_string()),
            ["0-0", "1-2", "1-10", "2-0"],
            "not numeric order"
        );
    }

    #[test]
    fn reads_a_last_event_id() {
        let last = LastEventId::from_bytes(b"1700000000000-7");
        assert_eq!(
            EntryId::from_last_event_id(&last),
            Some(EntryId::new(1_700_000_000_000, 7))
        );
        assert_eq!(EntryId::from_last_event_id(&LastEventId::none()), None);
        assert_eq!(
            EntryId::from_last_event_id(&LastEventId::from_bytes(b"42")),
            None
        );
        assert_eq!(EntryId::new(5, 6).to_event_id().as_str(), "5-6");
    }
}
