//! [`Replay`]: the events of one resume, bounded in bytes.

use std::collections::VecDeque;

use sse_rs::EncodedEvent;

use crate::hub::reset_event;

/// The events of one resume, bounded in bytes: when they do not fit, the oldest go,
/// and the replay starts with [`RedisHub::RESET`] (the client missed what went).
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
    use sse_rs::Event;

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
}
