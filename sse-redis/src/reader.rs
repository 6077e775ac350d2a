//! The reader of one topic: a task that follows the topic's stream with a blocking
//! `XREAD` on a connection of its own and hands every entry to the local hub, until
//! the topic has no local subscriber or the hub closes. It reconnects with back-off
//! when it loses Redis, and continues after the last entry it handed over.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::AsyncConnectionConfig;
use sse_rs::hub::Hub;
use sse_rs::EncodedEvent;

use crate::entry_id::EntryId;
use crate::error::Error;
use crate::shared::{Shared, Topic, TopicState};
use crate::stream;

/// The reader of the topic `name` (the stream `key`): follows its stream and hands
/// every entry to the local hub, until the topic has no local subscriber or the hub
/// closes. Holds the hub only weakly, so that dropping the last handle ends it.
pub(crate) async fn read(hub: Weak<Shared>, name: Arc<str>, key: String, topic: Arc<Topic>) {
    // However the task ends (stopped, the hub gone, a panic, its runtime shutting
    // down), the topic leaves the map, so later subscribers start a new reader.
    let _guard = ReaderGuard {
        hub: hub.clone(),
        name: Arc::clone(&name),
        topic: Arc::clone(&topic),
    };
    let mut connection: Option<MultiplexedConnection> = None;
    let mut backoff: Option<Duration> = None;
    loop {
        let Some(inner) = hub.upgrade() else { return };
        let config = &inner.config;
        let (block, timeout, bounds) = (config.block, config.timeout, config.backoff);
        let batch = config.read_batch();
        let client = config.client.clone();
        // Do not keep the hub alive while waiting on Redis.
        drop(inner);
        let cursor = topic.state().cursor;
        let reply = match &mut connection {
            Some(conn) => stream::read_after(conn, &key, cursor, batch, block).await,
            None => {
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(block.saturating_add(timeout)));
                match client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await
                {
                    Ok(conn) => {
                        let conn = connection.insert(conn);
                        stream::read_after(conn, &key, cursor, batch, block).await
                    }
                    Err(e) => Err(Error::Redis(e)),
                }
            }
        };
        let Some(inner) = hub.upgrade() else { return };
        match reply {
            Ok(entries) => {
                backoff = None;
                // Encoded before taking the lock that subscribers register under.
                let events: Vec<(EntryId, Option<EncodedEvent>)> = entries
                    .iter()
                    .map(|entry| (entry.id, entry.event()))
                    .collect();
                let mut state = topic.state();
                hand_over(&inner.local, &inner.malformed, &name, &mut state, events);
                drop(state);
                topic.advanced.notify_waiters();
            }
            Err(_) => {
                // Lost Redis: reconnect with back-off, then go on after the cursor.
                connection = None;
                let wait = next_backoff(backoff, bounds);
                backoff = Some(wait);
                drop(inner);
                tokio::time::sleep(wait).await;
                let Some(again) = hub.upgrade() else { return };
                if stop_if_unused(&again, &name, &topic) {
                    return;
                }
                continue;
            }
        }
        // Checked after a read, not before the first: the subscriber that started the
        // reader registers meanwhile.
        if stop_if_unused(&inner, &name, &topic) {
            return;
        }
    }
}

/// Hands the events read to the local hub's topic `name`, in order, and moves the
/// cursor to the last; under the topic's lock (`state`), so that a subscriber
/// registers either before an event or after it. Entries up to the cursor were handed
/// over already and are passed over; entries that could not be an event (`None`) are
/// counted in `malformed` and passed over too.
fn hand_over(
    local: &Hub,
    malformed: &AtomicU64,
    name: &str,
    state: &mut TopicState,
    events: Vec<(EntryId, Option<EncodedEvent>)>,
) {
    for (id, event) in events {
        if id <= state.cursor {
            continue;
        }
        match event {
            Some(event) => local.relay(name, event),
            None => {
                malformed.fetch_add(1, Ordering::Relaxed);
                sse_rs::metrics::__record::malformed_entry();
            }
        }
        state.cursor = id;
    }
}

/// The next wait of a back-off from `bounds.0` doubling up to `bounds.1`; `None` (no
/// wait yet, or reset after a successful read) starts at `bounds.0`.
fn next_backoff(current: Option<Duration>, (min, max): (Duration, Duration)) -> Duration {
    current.map_or(min, |wait| wait.saturating_mul(2).min(max))
}

/// Stops the reader of `name` when the hub is closed or nobody on this instance follows
/// the topic; returns whether it did. The topic leaves the map in the same step, under
/// both locks, so a subscriber that finds it stopped starts a new reader.
fn stop_if_unused(inner: &Shared, name: &Arc<str>, topic: &Arc<Topic>) -> bool {
    let mut topics = inner.topics();
    let mut state = topic.state();
    if !inner.closed.load(Ordering::Acquire) && inner.local.subscribers_of(name) > 0 {
        return false;
    }
    state.stopped = true;
    if topics.get(name).is_some_and(|t| Arc::ptr_eq(t, topic)) {
        topics.remove(name);
    }
    drop((state, topics));
    topic.advanced.notify_waiters();
    true
}

/// Takes a reader's topic out of service when the reader ends, however it ends.
struct ReaderGuard {
    hub: Weak<Shared>,
    name: Arc<str>,
    topic: Arc<Topic>,
}

impl Drop for ReaderGuard {
    fn drop(&mut self) {
        match self.hub.upgrade() {
            Some(inner) => {
                let mut topics = inner.topics();
                self.topic.state().stopped = true;
                if topics
                    .get(&self.name)
                    .is_some_and(|t| Arc::ptr_eq(t, &self.topic))
                {
                    topics.remove(&self.name);
                }
            }
            None => self.topic.state().stopped = true,
        }
        self.topic.advanced.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;
    use sse_rs::{Event, LastEventId};

    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_backoff_starts_at_min_and_doubles() {
        let bounds = (50 * MS, 2000 * MS);
        let mut wait = None;
        let mut waits = Vec::new();
        for _ in 0..5 {
            let next = next_backoff(wait, bounds);
            waits.push(next.as_millis());
            wait = Some(next);
        }
        assert_eq!(waits, [50, 100, 200, 400, 800]);
    }

    #[test]
    fn the_backoff_stops_growing_at_max() {
        let bounds = (50 * MS, 300 * MS);
        assert_eq!(next_backoff(Some(200 * MS), bounds), 300 * MS);
        assert_eq!(next_backoff(Some(300 * MS), bounds), 300 * MS);
        // Never past the max, even from a wait that was.
        assert_eq!(next_backoff(Some(Duration::MAX), bounds), 300 * MS);
        // min == max: always the same.
        assert_eq!(next_backoff(Some(7 * MS), (7 * MS, 7 * MS)), 7 * MS);
    }

    #[test]
    fn the_backoff_starts_over_after_a_reset() {
        let bounds = (50 * MS, 2000 * MS);
        let grown = next_backoff(Some(next_backoff(None, bounds)), bounds);
        assert_eq!(grown, 100 * MS);
        // A successful read sets the reader's back-off to `None`.
        assert_eq!(next_backoff(None, bounds), 50 * MS);
        // A zero min stays zero: no doubling makes it grow.
        assert_eq!(
            next_backoff(Some(Duration::ZERO), (Duration::ZERO, MS)),
            Duration::ZERO
        );
    }

    fn event(n: u64) -> EncodedEvent {
        Event::default().id(n).data(format!("e{n}")).encode()
    }

    #[tokio::test]
    async fn hands_over_in_order_once_and_counts_the_malformed() {
        let id = |ms| EntryId::new(ms, 0);
        let local = Hub::builder().replay_count(0).build();
        let mut subscription = local.subscribe(&["t"], &LastEventId::none());
        let malformed = AtomicU64::new(0);
        let topic = Topic::new(id(2));
        let read = vec![
            // Handed over already.
            (id(1), Some(event(1))),
            (id(2), Some(event(2))),
            (id(3), Some(event(3))),
            (id(4), None),
            (id(5), Some(event(5))),
        ];
        hand_over(&local, &malformed, "t", &mut topic.state(), read);
        assert_eq!(topic.state().cursor, id(5), "past the malformed one too");
        assert_eq!(malformed.load(Ordering::Relaxed), 1);
        // The same read again (a reconnect that read from an older cursor): nothing.
        hand_over(
            &local,
            &malformed,
            "t",
            &mut topic.state(),
            vec![(id(5), Some(event(5)))],
        );
        local.close(None);
        let mut got = Vec::new();
        while let Some(Ok(event)) = subscription.next().await {
            got.push(event);
        }
        assert_eq!(got, [event(3), event(5)]);
    }
}
