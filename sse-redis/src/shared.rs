//! [`Shared`]: the state of one instance's hub, held by every handle and (weakly) by
//! every reader: the settings, the shared connection, the local hub and the topics
//! being read.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use redis::aio::ConnectionManager;
use sse_rs::hub::Hub;
use tokio::sync::{Notify, Semaphore};

use crate::config::Config;
use crate::entry_id::EntryId;

/// The state of one instance's hub.
pub(crate) struct Shared {
    pub(crate) config: Config,
    /// The shared connection: publishing, and the reads of `subscribe` (replay).
    pub(crate) publisher: ConnectionManager,
    /// The local hub the readers hand their entries to.
    pub(crate) local: Hub,
    /// The topics this instance reads, each with its reader's position.
    topics: Mutex<HashMap<Arc<str>, Arc<Topic>>>,
    pub(crate) closed: AtomicBool,
    /// How many entries the readers skipped because they could not be an event.
    pub(crate) malformed: AtomicU64,
    /// One permit per resume reading from Redis.
    pub(crate) replays: Semaphore,
}

impl Shared {
    pub(crate) fn new(config: Config, publisher: ConnectionManager) -> Self {
        let local = Hub::builder()
            .replay_count(0)
            .queue_capacity(config.queue_capacity)
            .lag_policy(config.lag_policy)
            .build();
        Self {
            publisher,
            local,
            topics: Mutex::new(HashMap::new()),
            closed: AtomicBool::new(false),
            malformed: AtomicU64::new(0),
            replays: Semaphore::new(config.max_replays),
            config,
        }
    }

    pub(crate) fn topics(&self) -> MutexGuard<'_, HashMap<Arc<str>, Arc<Topic>>> {
        self.topics.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // The last handle is gone and the readers with it: end the subscriptions
        // rather than leave them open with nothing to feed them. (After `close` this
        // changes nothing: only the first close counts.)
        self.local.close(None);
    }
}

/// One topic this instance reads.
pub(crate) struct Topic {
    /// The last entry the reader handed to the local hub; taken together with
    /// registering a subscriber, so the seam between replay and live is exact.
    state: Mutex<TopicState>,
    /// Woken after every batch the reader hands over.
    pub(crate) advanced: Notify,
}

pub(crate) struct TopicState {
    pub(crate) cursor: EntryId,
    pub(crate) stopped: bool,
}

impl Topic {
    /// A topic whose reader starts after `cursor`.
    pub(crate) fn new(cursor: EntryId) -> Self {
        Self {
            state: Mutex::new(TopicState {
                cursor,
                stopped: false,
            }),
            advanced: Notify::new(),
        }
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, TopicState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
