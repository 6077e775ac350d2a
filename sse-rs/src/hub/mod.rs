//! [`Hub`]: broadcast with replay, topics and bounded subscriber queues, and
//! [`Backplane`]: the trait an app is written against, so that it runs on this
//! process's hub or on a store shared by several instances (`sse_redis::RedisHub`).

use std::borrow::Borrow;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use smallvec::SmallVec;
use tokio::sync::broadcast;

use crate::EventType;
use crate::LastEventId;
use crate::{EncodedEvent, Event};

mod backplane;
mod subscription;
#[cfg(test)]
mod tests;

pub use backplane::{Backplane, PublishFailure};
pub use subscription::Subscription;
use subscription::{More, Ring};

/// What the hub does with a subscriber whose queue is full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum LagPolicy {
    /// End the subscriber's stream. A browser reconnects with its `Last-Event-ID` and
    /// gets the missed events from the replay buffer, as long as they are still
    /// retained. The default.
    #[default]
    Close,
    /// Skip the events that fell out of the ring: the subscriber gets a [`Hub::GAP`] event
    /// (empty data), then continues with the oldest event still in the ring.
    SkipAhead,
}

/// Builds a [`Hub`] with bounds other than the defaults.
#[derive(Clone, Debug)]
#[must_use]
pub struct HubBuilder {
    replay_count: usize,
    replay_bytes: usize,
    queue_capacity: usize,
    lag_policy: LagPolicy,
}

impl Default for HubBuilder {
    fn default() -> Self {
        Self {
            replay_count: 1024,
            replay_bytes: 1024 * 1024,
            queue_capacity: 256,
            lag_policy: LagPolicy::Close,
        }
    }
}

impl HubBuilder {
    /// How many events each topic's replay buffer keeps at most (default 1024; 0
    /// disables replay). Each topic has its own: a busy topic never pushes a quiet
    /// one's events out.
    pub fn replay_count(mut self, events: usize) -> Self {
        self.replay_count = events;
        self
    }

    /// How many bytes of encoded events each topic's replay buffer keeps at most
    /// (default 1 MiB). What a hub retains is this times the number of topics it has
    /// published to, so keep topic names the application's, not the clients'.
    pub fn replay_bytes(mut self, bytes: usize) -> Self {
        self.replay_bytes = bytes;
        self
    }

    /// How many events each topic's ring keeps for its subscribers (default 256, at
    /// least 1): a subscriber further behind than that has lagged.
    pub fn queue_capacity(mut self, events: usize) -> Self {
        self.queue_capacity = events.max(1);
        self
    }

    /// What to do with a subscriber whose queue is full (default
    /// [`LagPolicy::Close`]).
    pub fn lag_policy(mut self, policy: LagPolicy) -> Self {
        self.lag_policy = policy;
        self
    }

    /// The hub.
    pub fn build(self) -> Hub {
        Hub {
            shared: Arc::new(Shared {
                config: self,
                state: Mutex::new(State::default()),
            }),
        }
    }
}

/// A broadcast hub: publish an event once, deliver it to every subscriber of its topic, with
/// replay for reconnecting clients and a bounded queue per subscriber.
///
/// ```
/// use sse_rs::{Event, LastEventId};
/// use sse_rs::hub::Hub;
/// use futures_util::StreamExt;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let hub = Hub::new();
/// let mut news = hub.subscribe(&["news"], &LastEventId::none());
/// let id = hub.publish("news", Event::default().data("hello"));
/// let event = news.next().await.unwrap().unwrap();
/// assert_eq!(event.as_bytes(), &format!("id: {id}\ndata: hello\n\n")[..]);
///
/// // A client that reconnects with the last id it saw gets what it missed.
/// hub.publish("news", Event::default().data("missed"));
/// let mut again = hub.subscribe(&["news"], &LastEventId::from_bytes(id.to_string().as_bytes()));
/// assert!(again.next().await.unwrap().unwrap().as_bytes().ends_with(b"data: missed\n\n"));
/// # });
/// ```
///
/// # Ids and replay
///
/// The hub numbers events itself: every published event gets the next id of one
/// sequence shared by all topics (1, 2, 3, ...), replacing any id the event had. Each
/// topic keeps its latest events in a replay buffer of its own, bounded by count and
/// by bytes. A subscriber that passes a `Last-Event-ID` first gets the retained events
/// after that id (of its topics, in id order), then live events, with no gap and no
/// duplicate between the two, even while other tasks publish: both happen under the
/// same lock.
///
/// When events after the requested id are gone from the buffer of one of its topics
/// (or the id is unknown to this hub, for example from before a restart), the
/// subscription starts with a [`Hub::RESET`] event (type `reset`, empty data), then
/// replays what is retained: the client knows it missed events and can reload its
/// state. Events of other topics never cause a reset: a chat followed with a busy
/// ticker resumes without one however many ticks went by. An id that is not a number counts as absent: live
/// events only.
///
/// # Slow subscribers
///
/// Each topic keeps its latest events in one bounded ring shared by its subscribers
/// ([`HubBuilder::queue_capacity`]); publishing is one send, whatever the number of
/// subscribers, and never waits. A subscriber that falls more than the ring's size
/// behind has lagged and is handled by the [`LagPolicy`], so a slow client never
/// blocks the publisher or the others and memory stays bounded.
///
/// Cheap to clone; usable from sync and async code and from many tasks or threads at
/// once.
#[derive(Clone)]
pub struct Hub {
    shared: Arc<Shared>,
}

struct Shared {
    config: HubBuilder,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    last_id: u64,
    /// The order of sends on the rings, for merging topics: one sequence for
    /// [`Hub::publish`] and [`Hub::relay`] alike.
    sent: u64,
    /// Each topic's replay buffer.
    replay: HashMap<Topic, Retention>,
    /// One shared ring per topic: publishing is one `send`, whatever the number of
    /// subscribers; each subscriber reads at its own pace.
    channels: HashMap<Topic, broadcast::Sender<Arc<Published>>>,
    subscribers: usize,
    closed: bool,
    last_event: Option<EncodedEvent>,
}

/// A topic's name, shared by the hub's maps and the rings of its subscribers: one
/// pointer wide (an `Arc<str>` is two), so that an idle subscription stays small.
#[derive(Clone)]
struct Topic(Arc<Box<str>>);

impl Topic {
    fn new(name: &str) -> Self {
        Self(Arc::new(Box::from(name)))
    }
}

impl Deref for Topic {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

// Hashed and compared as the name, so that the maps are searched with a `&str`.
impl Borrow<str> for Topic {
    fn borrow(&self) -> &str {
        self
    }
}

impl Hash for Topic {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state);
    }
}

impl PartialEq for Topic {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Topic {}

/// One topic's replay buffer.
#[derive(Default)]
struct Retention {
    events: VecDeque<(u64, EncodedEvent)>,
    bytes: usize,
    /// The id of the newest event that left the buffer (0: none did): a client whose
    /// id is older missed events of this topic.
    evicted: u64,
}

struct Published {
    id: u64,
    event: EncodedEvent,
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub")
            .field("config", &self.shared.config)
            .field("subscribers", &self.subscriber_count())
            .finish_non_exhaustive()
    }
}

impl State {
    /// Sends `event` on the ring of `topic`, if anybody listens, and returns the
    /// topic's shared name.
    fn send(&mut self, topic: &str, event: &EncodedEvent) -> Topic {
        self.sent += 1;
        let id = self.sent;
        match self.channels.get_key_value(topic) {
            Some((name, tx)) => {
                let name = name.clone();
                let published = Arc::new(Published {
                    id,
                    event: event.clone(),
                });
                if tx.send(published).is_err() {
                    // Nobody listens any more.
                    self.channels.remove(&name);
                }
                name
            }
            None => self.name(topic),
        }
    }

    /// The shared name of `topic` where no ring has it: its replay buffer's, or a
    /// new one for a topic the hub has not seen.
    fn name(&self, topic: &str) -> Topic {
        self.replay
            .get_key_value(topic)
            .map_or_else(|| Topic::new(topic), |(name, _)| name.clone())
    }
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // Every step under the lock leaves the state consistent, so a panic elsewhere
        // while holding it leaves nothing half-done worth refusing.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Hub {
    /// The type of the event that tells a resuming subscriber it missed events that
    /// are no longer retained (`event: reset`, empty data).
    pub const RESET: EventType = EventType::from_static("reset");

    /// The type of the event that tells a lagging subscriber, under
    /// [`LagPolicy::SkipAhead`], that events were skipped (`event: gap`, empty data).
    pub const GAP: EventType = EventType::from_static("gap");

    /// A hub with the default bounds (see [`HubBuilder`]).
    #[must_use]
    pub fn new() -> Self {
        HubBuilder::default().build()
    }

    /// A builder for a hub with other bounds or another [`LagPolicy`].
    pub fn builder() -> HubBuilder {
        HubBuilder::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.state()
    }

    /// Publishes `event` to the subscribers of `topic` and returns the id it was given.
    /// The event is encoded once and sent once, whatever the number of subscribers;
    /// each gets a clone of the same bytes. Never waits. After
    /// [`close`](Hub::close), the event is numbered but not sent.
    pub fn publish(&self, topic: &str, event: Event) -> u64 {
        let config = &self.shared.config;
        let mut state = self.state();
        state.last_id += 1;
        let id = state.last_id;
        if state.closed {
            return id;
        }
        let event = event.id(id).encode();
        let name = state.send(topic, &event);
        let retention = state.replay.entry(name).or_default();
        retention.bytes += event.len();
        retention.events.push_back((id, event));
        while retention.events.len() > config.replay_count || retention.bytes > config.replay_bytes
        {
            match retention.events.pop_front() {
                Some((old, event)) => {
                    retention.bytes -= event.len();
                    retention.evicted = old;
                }
                None => break,
            }
        }
        id
    }

    /// Delivers an event numbered elsewhere to the local subscribers of `topic`, as it
    /// is: for a backplane (such as `sse-redis`) that orders and retains events itself
    /// and feeds them to the hub of each instance.
    ///
    /// Unlike [`publish`](Hub::publish), the event keeps its own id, the hub's
    /// numbering ([`last_id`](Hub::last_id)) does not move and nothing is retained for
    /// replay: the backplane replays with [`Subscription::prepend`]. Subscribers of
    /// several topics get relayed events in the order they were relayed. Never waits;
    /// does nothing after [`close`](Hub::close).
    pub fn relay(&self, topic: &str, event: EncodedEvent) {
        let mut state = self.state();
        if !state.closed {
            state.send(topic, &event);
        }
    }

    /// Subscribes to `topics`, resuming after `last` (see [`Hub`]): the stream yields
    /// the missed events that are retained, then live ones.
    ///
    /// The subscription leaves the hub when the stream is dropped.
    pub fn subscribe(&self, topics: &[&str], last: &LastEventId) -> Subscription {
        let capacity = self.shared.config.queue_capacity;
        let mut state = self.state();
        let mut subscription = Subscription {
            hub: Arc::clone(&self.shared),
            ring: None,
            more: None,
        };
        if state.closed {
            return subscription;
        }
        let mut replay = VecDeque::new();
        if let Some(after) = last.parse::<u64>() {
            let followed: SmallVec<[&Retention; 2]> = topics
                .iter()
                .filter_map(|topic| state.replay.get(*topic))
                .collect();
            let missed = followed.iter().any(|retention| retention.evicted > after);
            if after > state.last_id || missed {
                crate::metrics::__record::reset();
                replay.push_back(Event::default().event(Hub::RESET).data("").encode());
            }
            let mut retained: Vec<&(u64, EncodedEvent)> = followed
                .iter()
                .flat_map(|retention| retention.events.iter())
                .filter(|(id, _)| *id > after)
                .collect();
            // Each buffer is in id order; several topics interleave.
            retained.sort_unstable_by_key(|(id, _)| *id);
            retained.dedup_by_key(|(id, _)| *id);
            replay.extend(retained.into_iter().map(|(_, event)| event.clone()));
        }
        let mut rings: SmallVec<[Ring; 1]> = SmallVec::new();
        for topic in topics {
            if rings.iter().any(|seen| &*seen.topic == *topic) {
                continue;
            }
            let ring = match state.channels.get_key_value(*topic) {
                Some((name, tx)) => Ring::new(name.clone(), tx.subscribe()),
                None => {
                    let (tx, rx) = broadcast::channel(capacity);
                    let name = state.name(topic);
                    state.channels.insert(name.clone(), tx);
                    Ring::new(name, rx)
                }
            };
            rings.push(ring);
        }
        if rings.len() == 1 {
            subscription.ring = rings.pop();
        }
        if !rings.is_empty() || !replay.is_empty() {
            subscription.more = Some(Box::new(More {
                replay,
                rings: rings.into_iter().map(|ring| (ring, None)).collect(),
            }));
        }
        state.subscribers += 1;
        subscription
    }

    /// How many subscriptions are open right now.
    #[must_use]
    pub fn subscriber_count(&self) -> usize {
        self.state().subscribers
    }

    /// How many open subscriptions follow `topic` right now.
    #[must_use]
    pub fn subscribers_of(&self, topic: &str) -> usize {
        self.state()
            .channels
            .get(topic)
            .map_or(0, broadcast::Sender::receiver_count)
    }

    /// The id of the last published event (0 before the first).
    #[must_use]
    pub fn last_id(&self) -> u64 {
        self.state().last_id
    }

    /// Ends every subscription, after what it has not read yet and then `last` (if
    /// any), and refuses new ones (they end at once). For graceful shutdown: open SSE
    /// bodies fed by the hub finish, so the server can stop. Only the first call counts:
    /// a later one does not replace its last event.
    pub fn close(&self, last: Option<Event>) {
        let mut state = self.state();
        if state.closed {
            return;
        }
        state.closed = true;
        state.last_event = last.map(|event| event.encode());
        // Dropping the senders ends every receiver once it has read what is queued.
        state.channels.clear();
        state.subscribers = 0;
    }
}
