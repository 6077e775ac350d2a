//! Replay: the events of one resume, read from Redis in pages ([`replay`], [`Pages`])
//! and bounded in bytes ([`Replay`]), and the reset event that marks where a client
//! missed some ([`reset_event`]).

use std::collections::VecDeque;

use redis::aio::ConnectionManager;
use sse_rs::hub::Hub;
use sse_rs::{EncodedEvent, Event};

use crate::entry_id::EntryId;
use crate::error::Error;
use crate::format::Entry;
use crate::stream;

/// The event that tells a client it missed events: type
/// [`RedisHub::RESET`](crate::RedisHub::RESET) (the local hub's), empty data.
pub(crate) fn reset_event() -> EncodedEvent {
    Event::default().event(Hub::RESET).data("").encode()
}

/// The events of the stream `key` after `after` up to `upto`, read in pages of
/// `batch` entries and bounded to `budget` bytes; led by a reset when `after` is no
/// longer (or never was) in the stream. See [`Pages`].
pub(crate) async fn replay(
    connection: &ConnectionManager,
    key: &str,
    after: EntryId,
    upto: EntryId,
    batch: usize,
    budget: usize,
) -> Result<Vec<EncodedEvent>, Error> {
    let mut pages = Pages::new(after, upto, batch, budget);
    loop {
        // One more for the entry the page starts at.
        let page = stream::range(connection, key, pages.from(), upto, batch + 1).await?;
        if !pages.take(&page) {
            return Ok(pages.into_events());
        }
    }
}

/// The paging of one replay. Each page is the entries from [`Pages::from`] to `upto`,
/// both included, at most `batch + 1`: it starts at the last entry of the one before
/// (the client's own entry, for the first). If that entry is not there, the stream was
/// trimmed past it (before the resume, or while paging), and a reset marks the gap
/// there.
pub(crate) struct Pages {
    events: Replay,
    from: EntryId,
    upto: EntryId,
    batch: usize,
}

impl Pages {
    pub(crate) fn new(after: EntryId, upto: EntryId, batch: usize, budget: usize) -> Self {
        Self {
            events: Replay::new(budget),
            from: after,
            upto,
            batch,
        }
    }

    /// Where the next page starts, inclusive.
    pub(crate) fn from(&self) -> EntryId {
        self.from
    }

    /// Takes one page; returns whether another is needed (this one was full and did
    /// not reach `upto`). An entry that cannot be an event is skipped (the readers
    /// count those), but the next page starts after it all the same.
    pub(crate) fn take(&mut self, page: &[Entry]) -> bool {
        let mut entries = page.iter().peekable();
        if entries.next_if(|entry| entry.id == self.from).is_none() {
            self.events.gap();
        }
        let mut read = 0;
        for entry in entries {
            if let Some(event) = entry.event() {
                self.events.push(event);
            }
            self.from = entry.id;
            read += 1;
        }
        read >= self.batch && self.from < self.upto
    }

    pub(crate) fn into_events(self) -> Vec<EncodedEvent> {
        self.events.into_events()
    }
}

/// The events of one resume, bounded in bytes: when they do not fit, the oldest go,
/// and the replay starts with [`RedisHub::RESET`](crate::RedisHub::RESET) (the client
/// missed what went).
pub(crate) struct Replay {
    events: VecDeque<EncodedEvent>,
    bytes: usize,
    budget: usize,
    /// Whether the client missed events (trimmed from Redis, or over the budget).
    missed: bool,
}

impl Replay {
    pub(crate) fn new(budget: usize) -> Self {
        Self {
            events: VecDeque::new(),
            bytes: 0,
            budget,
            missed: false,
        }
    }

    /// Events were lost before what comes next (the client's entry, or the start of
    /// a page, was trimmed): a reset marks the place.
    pub(crate) fn gap(&mut self) {
        self.push(reset_event());
    }

    pub(crate) fn push(&mut self, event: EncodedEvent) {
        self.bytes += event.len();
        self.events.push_back(event);
        while self.bytes > self.budget {
            match self.events.pop_front() {
                Some(old) => {
                    self.bytes -= old.len();
                    self.missed = true;
                }
                None => break,
            }
        }
    }

    pub(crate) fn into_events(self) -> Vec<EncodedEvent> {
        let reset = reset_event();
        let mut events = Vec::with_capacity(self.events.len() + 1);
        if self.missed && self.events.front() != Some(&reset) {
            events.push(reset);
        }
        events.extend(self.events);
        events
    }
}

#[cfg(test)]
mod tests {
    use redis::Value;

    use super::*;

    fn event(n: usize) -> EncodedEvent {
        Event::default().id(n as u64).data("x".repeat(90)).encode()
    }

    fn ids(events: &[EncodedEvent]) -> Vec<String> {
        events
            .iter()
            .map(|e| {
                let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
                if text.starts_with("event: reset") {
                    "reset".to_owned()
                } else {
                    text.split('\n').next().unwrap_or_default().to_owned()
                }
            })
            .collect()
    }

    #[test]
    fn within_the_budget_everything_in_order() {
        let mut replay = Replay::new(10_000);
        for n in 1..=5 {
            replay.push(event(n));
        }
        assert_eq!(
            ids(&replay.into_events()),
            ["id: 1", "id: 2", "id: 3", "id: 4", "id: 5"]
        );
    }

    #[test]
    fn over_the_budget_a_reset_then_the_newest_that_fit() {
        // Two-digit ids: every event the same size.
        let size = event(10).len();
        let mut replay = Replay::new(3 * size);
        for n in 10..=19 {
            replay.push(event(n));
        }
        let events = replay.into_events();
        assert_eq!(ids(&events), ["reset", "id: 17", "id: 18", "id: 19"]);
        assert!(events[1..].iter().map(EncodedEvent::len).sum::<usize>() <= 3 * size);
    }

    #[test]
    fn a_gap_is_marked_where_it_is() {
        let mut replay = Replay::new(10_000);
        replay.push(event(1));
        replay.gap();
        replay.push(event(5));
        assert_eq!(ids(&replay.into_events()), ["id: 1", "reset", "id: 5"]);
        let mut replay = Replay::new(10_000);
        replay.gap();
        replay.push(event(5));
        assert_eq!(ids(&replay.into_events()), ["reset", "id: 5"]);
    }

    #[test]
    fn an_event_larger_than_the_budget_leaves_only_the_reset() {
        let mut replay = Replay::new(10);
        replay.push(event(1));
        assert_eq!(ids(&replay.into_events()), ["reset"]);
    }

    fn id(ms: u64) -> EntryId {
        EntryId::new(ms, 0)
    }

    /// The entries `ms`, with data `e<ms>`.
    fn page(ms: &[u64]) -> Vec<Entry> {
        ms.iter()
            .map(|&ms| {
                let data = Value::BulkString(format!("e{ms}").into_bytes());
                Entry::new(id(ms), vec![(b"data".to_vec(), data)])
            })
            .collect()
    }

    /// What a replay yields, one word per event: `reset`, or the event's data.
    fn words(pages: Pages) -> Vec<String> {
        pages
            .into_events()
            .iter()
            .map(|event| {
                let text = String::from_utf8_lossy(event.as_bytes()).into_owned();
                if text.starts_with("event: reset") {
                    "reset".to_owned()
                } else {
                    text.lines()
                        .find_map(|line| line.strip_prefix("data: "))
                        .unwrap_or_default()
                        .to_owned()
                }
            })
            .collect()
    }

    #[test]
    fn the_reset_event_is_the_local_hubs() {
        // What `Hub` sends a subscriber whose cursor it no longer has: type `reset`,
        // empty data.
        assert_eq!(reset_event().as_bytes(), &b"event: reset\ndata: \n\n"[..]);
    }

    #[test]
    fn one_short_page_after_the_clients_entry() {
        let mut pages = Pages::new(id(1), id(4), 10, 10_000);
        assert_eq!(pages.from(), id(1));
        assert!(!pages.take(&page(&[1, 2, 3, 4])));
        assert_eq!(words(pages), ["e2", "e3", "e4"]);
    }

    #[test]
    fn a_full_page_asks_for_the_next_from_its_last_entry() {
        let mut pages = Pages::new(id(1), id(9), 2, 10_000);
        assert!(pages.take(&page(&[1, 2, 3])), "full, short of upto");
        assert_eq!(pages.from(), id(3));
        assert!(pages.take(&page(&[3, 4, 5])));
        assert_eq!(pages.from(), id(5));
        assert!(!pages.take(&page(&[5, 6])), "short");
        assert_eq!(words(pages), ["e2", "e3", "e4", "e5", "e6"]);
    }

    #[test]
    fn a_full_page_that_reaches_upto_is_the_last() {
        let mut pages = Pages::new(id(1), id(3), 2, 10_000);
        assert!(!pages.take(&page(&[1, 2, 3])));
        assert_eq!(words(pages), ["e2", "e3"]);
    }

    #[test]
    fn a_trimmed_client_entry_gets_a_reset_first() {
        let mut pages = Pages::new(id(1), id(9), 10, 10_000);
        assert!(!pages.take(&page(&[5, 6])));
        assert_eq!(words(pages), ["reset", "e5", "e6"]);
    }

    #[test]
    fn a_trim_while_paging_is_marked_where_it_happened() {
        let mut pages = Pages::new(id(1), id(9), 2, 10_000);
        assert!(pages.take(&page(&[1, 2, 3])));
        // Entry 3, where this page should start, was trimmed meanwhile.
        assert!(!pages.take(&page(&[7])));
        assert_eq!(words(pages), ["e2", "e3", "reset", "e7"]);
    }

    #[test]
    fn an_empty_stream_is_a_reset_alone() {
        let mut pages = Pages::new(id(1), id(9), 2, 10_000);
        assert!(!pages.take(&[]));
        assert_eq!(words(pages), ["reset"]);
    }

    #[test]
    fn a_malformed_entry_is_skipped_but_paged_past() {
        let mut entries = page(&[1, 2, 3]);
        entries[1] = Entry::new(
            id(2),
            vec![(b"data".to_vec(), Value::BulkString(vec![0xff]))],
        );
        let mut pages = Pages::new(id(1), id(9), 2, 10_000);
        assert!(pages.take(&entries), "two read, though one was no event");
        assert_eq!(pages.from(), id(3));
        assert!(!pages.take(&page(&[3])));
        assert_eq!(words(pages), ["e3"]);
    }

    #[test]
    fn pages_over_the_budget_keep_the_newest() {
        let size = page(&[10])[0].event().map_or(0, |e| e.len());
        let mut pages = Pages::new(id(10), id(99), 3, 2 * size);
        assert!(pages.take(&page(&[10, 11, 12, 13])));
        assert!(!pages.take(&page(&[13, 14])));
        assert_eq!(words(pages), ["reset", "e13", "e14"]);
    }
}
