//! [`Hub`]: broadcast with replay, topics and bounded subscriber queues.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use futures_core::Stream;
use smallvec::SmallVec;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio_util::sync::ReusableBoxFuture;

use crate::event::{EncodedEvent, Event};
use crate::field::EventType;
use crate::last_event_id::LastEventId;

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
/// use sse_rs_core::{Event, LastEventId};
/// use sse_rs_core::hub::Hub;
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
    replay: HashMap<Arc<str>, Retention>,
    /// One shared ring per topic: publishing is one `send`, whatever the number of
    /// subscribers; each subscriber reads at its own pace.
    channels: HashMap<Arc<str>, broadcast::Sender<Arc<Published>>>,
    subscribers: usize,
    closed: bool,
    last_event: Option<EncodedEvent>,
}

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
    fn send(&mut self, topic: &str, event: &EncodedEvent) -> Arc<str> {
        self.sent += 1;
        let id = self.sent;
        match self.channels.get_key_value(topic) {
            Some((name, tx)) => {
                let name = Arc::clone(name);
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
            None => Arc::from(topic),
        }
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
            replay: VecDeque::new(),
            receivers: SmallVec::new(),
            lag_policy: self.shared.config.lag_policy,
            hub: Arc::clone(&self.shared),
            counted: false,
            ended: false,
        };
        if state.closed {
            subscription.ended = true;
            return subscription;
        }
        if let Some(after) = last.parse::<u64>() {
            let followed: SmallVec<[&Retention; 2]> = topics
                .iter()
                .filter_map(|topic| state.replay.get(*topic))
                .collect();
            let missed = followed.iter().any(|retention| retention.evicted > after);
            if after > state.last_id || missed {
                crate::metrics::count_hub_reset();
                subscription
                    .replay
                    .push_back(Event::default().event(Hub::RESET).data("").encode());
            }
            let mut retained: Vec<&(u64, EncodedEvent)> = followed
                .iter()
                .flat_map(|retention| retention.events.iter())
                .filter(|(id, _)| *id > after)
                .collect();
            // Each buffer is in id order; several topics interleave.
            retained.sort_unstable_by_key(|(id, _)| *id);
            retained.dedup_by_key(|(id, _)| *id);
            subscription
                .replay
                .extend(retained.into_iter().map(|(_, event)| event.clone()));
        }
        for topic in topics {
            if subscription
                .receivers
                .iter()
                .any(|seen| &*seen.topic == *topic)
            {
                continue;
            }
            let (name, rx) = match state.channels.get_key_value(*topic) {
                Some((name, tx)) => (Arc::clone(name), tx.subscribe()),
                None => {
                    let (tx, rx) = broadcast::channel(capacity);
                    let name: Arc<str> = Arc::from(*topic);
                    state.channels.insert(Arc::clone(&name), tx);
                    (name, rx)
                }
            };
            subscription.receivers.push(Receiver {
                topic: name,
                rx: Some(rx),
                wait: None,
                head: None,
                done: false,
            });
        }
        state.subscribers += 1;
        subscription.counted = true;
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

/// What waiting for the next send on a ring gives back: the result, and the receiver.
type Wait = (
    Result<Arc<Published>, RecvError>,
    broadcast::Receiver<Arc<Published>>,
);

/// One topic's ring, as one subscriber reads it.
///
/// Events already on the ring are taken with `try_recv`: no future, no allocation,
/// per event. Only when the ring is empty does the subscriber wait, in a future that
/// holds the receiver until the next send; its box is made once and reused, so
/// waiting allocates nothing after the first time either.
struct Receiver {
    topic: Arc<str>,
    /// The receiver, unless it is inside `wait`.
    rx: Option<broadcast::Receiver<Arc<Published>>>,
    wait: Option<ReusableBoxFuture<'static, Wait>>,
    head: Option<Arc<Published>>,
    done: bool,
}

/// The next thing on a ring.
enum Next {
    Event(Arc<Published>),
    Lagged,
    Closed,
    Pending,
}

impl Receiver {
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Next {
        if let Some(mut rx) = self.rx.take() {
            match rx.try_recv() {
                Ok(published) => {
                    self.rx = Some(rx);
                    return Next::Event(published);
                }
                Err(TryRecvError::Lagged(_)) => {
                    self.rx = Some(rx);
                    return Next::Lagged;
                }
                Err(TryRecvError::Closed) => return Next::Closed,
                Err(TryRecvError::Empty) => {}
            }
            let wait = async move {
                let result = rx.recv().await;
                (result, rx)
            };
            match &mut self.wait {
                Some(boxed) => boxed.set(wait),
                None => self.wait = Some(ReusableBoxFuture::new(wait)),
            }
        }
        let Some(wait) = &mut self.wait else {
            return Next::Closed;
        };
        match wait.poll(cx) {
            Poll::Pending => Next::Pending,
            Poll::Ready((result, rx)) => match result {
                Ok(published) => {
                    self.rx = Some(rx);
                    Next::Event(published)
                }
                Err(RecvError::Lagged(_)) => {
                    self.rx = Some(rx);
                    Next::Lagged
                }
                Err(RecvError::Closed) => Next::Closed,
            },
        }
    }
}

/// The events of one subscriber: replay first, then live events. Ends when the hub
/// closes or when the subscriber falls behind under [`LagPolicy::Close`]. Leaves the
/// hub when dropped.
///
/// Feed it straight into [`SseBody`](crate::SseBody) or an adapter's `Sse`.
pub struct Subscription {
    replay: VecDeque<EncodedEvent>,
    /// Inline for the usual single topic: an idle subscription costs no allocation of
    /// its own beyond the ring's receiver.
    receivers: SmallVec<[Receiver; 1]>,
    lag_policy: LagPolicy,
    hub: Arc<Shared>,
    counted: bool,
    ended: bool,
}

impl Subscription {
    /// Puts `events` before everything this subscription has not yielded yet, in
    /// their order: how a backplane that retains events itself (see
    /// [`Hub::relay`]) replays them. Subscribe first, then fetch what the client
    /// missed up to the point of subscribing, then prepend it: the live events that
    /// arrive meanwhile wait in the subscription's queue, after the replay.
    pub fn prepend(&mut self, events: impl IntoIterator<Item = EncodedEvent>) {
        let mut events: VecDeque<EncodedEvent> = events.into_iter().collect();
        events.append(&mut self.replay);
        self.replay = events;
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("replay", &self.replay.len())
            .field("topics", &self.receivers.len())
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl Stream for Subscription {
    type Item = Result<EncodedEvent, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let Some(event) = this.replay.pop_front() {
            return Poll::Ready(Some(Ok(event)));
        }
        if this.ended {
            return Poll::Ready(None);
        }
        // Fill every empty head. Events of different topics are merged in id order:
        // ids are given in send order under one lock, so once a head is seen, every
        // smaller id of another topic is already visible there. Keep polling the empty
        // ones until a pass finds nothing new, so no smaller id is missed.
        loop {
            let mut filled = false;
            for receiver in &mut this.receivers {
                if receiver.head.is_some() || receiver.done {
                    continue;
                }
                match receiver.poll_next(cx) {
                    Next::Event(published) => {
                        receiver.head = Some(published);
                        filled = true;
                    }
                    Next::Lagged => match this.lag_policy {
                        LagPolicy::Close => {
                            this.ended = true;
                            crate::metrics::count_lag_close(&receiver.topic);
                            return Poll::Ready(None);
                        }
                        LagPolicy::SkipAhead => {
                            return Poll::Ready(Some(Ok(Event::default()
                                .event(Hub::GAP)
                                .data("")
                                .encode())));
                        }
                    },
                    Next::Closed => receiver.done = true,
                    Next::Pending => {}
                }
            }
            if !filled {
                break;
            }
        }
        let next = this
            .receivers
            .iter_mut()
            .filter(|receiver| receiver.head.is_some())
            .min_by_key(|receiver| receiver.head.as_ref().map_or(u64::MAX, |p| p.id));
        if let Some(receiver) = next {
            if let Some(published) = receiver.head.take() {
                return Poll::Ready(Some(Ok(published.event.clone())));
            }
        }
        if this.receivers.iter().all(|receiver| receiver.done) {
            // The hub closed: send its last event, if any, then end.
            this.ended = true;
            let last = this.hub.state().last_event.clone();
            return Poll::Ready(last.map(Ok));
        }
        Poll::Pending
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // Leave the rings first, so that a ring nobody reads any more can go.
        let topics: SmallVec<[Arc<str>; 1]> = self
            .receivers
            .drain(..)
            .map(|receiver| receiver.topic)
            .collect();
        let mut state = self.hub.state();
        if self.counted && !state.closed {
            state.subscribers -= 1;
        }
        for topic in &topics {
            if state
                .channels
                .get(topic)
                .is_some_and(|tx| tx.receiver_count() == 0)
            {
                state.channels.remove(topic);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures_util::StreamExt;

    use super::*;
    use crate::decode::{Decoded, Decoder};
    use crate::EventId;

    fn last(id: u64) -> LastEventId {
        LastEventId::from_bytes(id.to_string().as_bytes())
    }

    /// (type, data, id) of everything ready on `subscription` now.
    fn drain(subscription: &mut Subscription) -> Vec<(String, String, String)> {
        let mut decoder = Decoder::new();
        let mut out = Vec::new();
        while let Some(Some(Ok(event))) = futures_util::FutureExt::now_or_never(subscription.next())
        {
            for item in decoder.decode(event.as_bytes()).unwrap() {
                if let Decoded::Event(e) = item {
                    out.push((e.event, e.data, e.last_event_id));
                }
            }
        }
        out
    }

    fn ids(events: &[(String, String, String)]) -> Vec<u64> {
        events
            .iter()
            .filter(|e| e.0 == "message")
            .map(|e| e.2.parse().unwrap())
            .collect()
    }

    /// Events already on the ring are read without a future: one waits only on an
    /// empty ring, the event it brings is delivered, and the events after it are read
    /// directly again.
    #[test]
    fn queued_events_are_read_without_waiting() {
        let hub = Hub::new();
        let mut subscription = hub.subscribe(&["t"], &LastEventId::none());
        for n in 1..=3 {
            hub.publish("t", Event::default().data(n.to_string()));
        }
        assert_eq!(ids(&drain(&mut subscription)), [1, 2, 3]);
        let receiver = &subscription.receivers[0];
        assert!(receiver.wait.is_some(), "the empty ring was not waited on");
        assert!(
            receiver.rx.is_none(),
            "the waiting future holds the receiver"
        );

        hub.publish("t", Event::default().data("4"));
        hub.publish("t", Event::default().data("5"));
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(matches!(
            Pin::new(&mut subscription).poll_next(&mut cx),
            Poll::Ready(Some(Ok(_)))
        ));
        assert!(
            subscription.receivers[0].rx.is_some(),
            "the receiver did not come back from the wait"
        );
        assert_eq!(ids(&drain(&mut subscription)), [5]);
    }

    fn ended(subscription: &mut Subscription) -> bool {
        matches!(
            futures_util::FutureExt::now_or_never(subscription.next()),
            Some(None)
        )
    }

    #[test]
    fn publish_reaches_only_the_topic_s_subscribers_and_shares_the_bytes() {
        let hub = Hub::new();
        let mut a = hub.subscribe(&["a"], &LastEventId::none());
        let mut a2 = hub.subscribe(&["a"], &LastEventId::none());
        let mut b = hub.subscribe(&["b"], &LastEventId::none());
        let mut both = hub.subscribe(&["a", "b"], &LastEventId::none());
        hub.publish("a", Event::default().data("for a"));
        hub.publish("b", Event::default().data("for b"));
        hub.publish("c", Event::default().data("for nobody"));

        let x = futures_util::FutureExt::now_or_never(a.next())
            .unwrap()
            .unwrap()
            .unwrap();
        let y = futures_util::FutureExt::now_or_never(a2.next())
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(
            x.as_bytes().as_ptr(),
            y.as_bytes().as_ptr(),
            "encoded per subscriber"
        );
        assert_eq!(x.as_bytes(), &b"id: 1\ndata: for a\n\n"[..]);
        assert!(drain(&mut a).is_empty());
        assert_eq!(ids(&drain(&mut b)), [2]);
        assert_eq!(ids(&drain(&mut both)), [1, 2]);
    }

    #[test]
    fn ids_replace_the_event_s_own_and_grow_across_topics() {
        let hub = Hub::new();
        assert_eq!(hub.publish("a", Event::default().id(99_u8).data("x")), 1);
        assert_eq!(hub.publish("b", Event::default().data("y")), 2);
        assert_eq!(hub.last_id(), 2);
    }

    #[test]
    fn resume_replays_the_missed_events_of_the_topics_then_goes_live() {
        let hub = Hub::new();
        for n in 1..=5 {
            hub.publish(
                if n % 2 == 0 { "even" } else { "odd" },
                Event::default().data(n.to_string()),
            );
        }
        let mut odd = hub.subscribe(&["odd"], &last(1));
        hub.publish("odd", Event::default().data("7"));
        assert_eq!(ids(&drain(&mut odd)), [3, 5, 6]);

        // No Last-Event-ID, or one that is not a number: live only.
        let mut fresh = hub.subscribe(&["odd"], &LastEventId::none());
        let mut garbage = hub.subscribe(&["odd"], &LastEventId::from_bytes(b"abc"));
        assert!(drain(&mut fresh).is_empty());
        assert!(drain(&mut garbage).is_empty());
        // Up to date: nothing to replay.
        let mut current = hub.subscribe(&["odd"], &last(hub.last_id()));
        assert!(drain(&mut current).is_empty());
    }

    #[test]
    fn an_id_older_than_the_buffer_gets_a_reset_first() {
        let hub = Hub::builder().replay_count(3).build();
        for n in 1..=10 {
            hub.publish("t", Event::default().data(n.to_string()));
        }
        let mut late = hub.subscribe(&["t"], &last(2));
        let events = drain(&mut late);
        assert_eq!(
            events[0],
            ("reset".to_owned(), String::new(), String::new())
        );
        assert_eq!(ids(&events), [8, 9, 10]);

        // Just inside the window: no reset.
        let mut inside = hub.subscribe(&["t"], &last(7));
        let events = drain(&mut inside);
        assert_eq!(ids(&events), [8, 9, 10]);
        assert_eq!(events.len(), 3);

        // An id this hub never gave (for example from before a restart): reset.
        let mut future = hub.subscribe(&["t"], &last(1000));
        assert_eq!(drain(&mut future)[0].0, "reset");
    }

    #[test]
    fn replay_is_bounded_by_bytes_too() {
        let hub = Hub::builder().replay_bytes(100).build();
        for _ in 0..10 {
            hub.publish("t", Event::default().data("x".repeat(30)));
        }
        let state = hub.state();
        let retention = &state.replay["t"];
        assert_eq!(
            retention.events.len(),
            2,
            "two events of about 45 bytes fit in 100"
        );
        assert!(retention.bytes <= 100);
    }

    #[test]
    fn a_busy_topic_never_pushes_a_quiet_one_out_of_replay() {
        let hub = Hub::builder().replay_count(3).build();
        let chat = hub.publish("chat", Event::default().data("hello"));
        let mut ticks = Vec::new();
        for n in 0..100 {
            ticks.push(hub.publish("ticks", Event::default().data(n.to_string())));
        }
        // Resuming the chat from before its message: the message, no reset.
        let mut resumed = hub.subscribe(&["chat"], &last(chat - 1));
        let events = drain(&mut resumed);
        assert_eq!(ids(&events), [chat]);
        assert_eq!(events.len(), 1, "{events:?}");
        // Following both, with the id of the last tick seen: nothing missed, no reset,
        // whatever the ticks did to their own buffer.
        let mut both = hub.subscribe(&["chat", "ticks"], &last(ticks[98]));
        let events = drain(&mut both);
        assert_eq!(ids(&events), [ticks[99]]);
        assert_eq!(events.len(), 1, "{events:?}");
        // Following both from an id older than the ticks retained: a reset, then
        // what is retained of both topics, in id order.
        let mut old = hub.subscribe(&["chat", "ticks"], &last(chat));
        let events = drain(&mut old);
        assert_eq!(events[0].0, "reset");
        assert_eq!(ids(&events[1..]), ticks[97..]);
        let mut with_chat = hub.subscribe(&["ticks", "chat"], &last(chat - 1));
        let events = drain(&mut with_chat);
        assert_eq!(events[0].0, "reset");
        assert_eq!(ids(&events[1..]), [chat, ticks[97], ticks[98], ticks[99]]);
    }

    #[test]
    fn a_slow_subscriber_is_closed_and_the_others_get_everything() {
        let hub = Hub::builder().queue_capacity(4).build();
        let mut slow = hub.subscribe(&["t"], &LastEventId::none());
        let mut fast = hub.subscribe(&["t"], &LastEventId::none());
        let mut got = Vec::new();
        for n in 1..=50 {
            hub.publish("t", Event::default().data(n.to_string()));
            got.extend(ids(&drain(&mut fast)));
        }
        assert_eq!(got, (1..=50).collect::<Vec<_>>());
        // Memory is bounded by the ring: only the last 4 events are held.
        assert!(hub.state().channels["t"].len() <= 4);
        // The slow one fell out of the ring: its stream ends (its client resumes by
        // id from the replay buffer), and it leaves the hub when the server drops it.
        assert!(drain(&mut slow).is_empty());
        assert!(ended(&mut slow));
        assert_eq!(hub.subscriber_count(), 2);
        drop(slow);
        assert_eq!(hub.subscriber_count(), 1);
        let mut resumed = hub.subscribe(&["t"], &last(10));
        assert_eq!(ids(&drain(&mut resumed)), (11..=50).collect::<Vec<_>>());
    }

    #[test]
    fn skip_ahead_sends_a_gap_marker_and_continues() {
        let hub = Hub::builder()
            .queue_capacity(4)
            .lag_policy(LagPolicy::SkipAhead)
            .build();
        let mut slow = hub.subscribe(&["t"], &LastEventId::none());
        for n in 1..=10 {
            hub.publish("t", Event::default().data(n.to_string()));
        }
        let events = drain(&mut slow);
        assert_eq!(events[0].0, "gap");
        assert_eq!(ids(&events), [7, 8, 9, 10]);
        hub.publish("t", Event::default().data("11"));
        assert_eq!(ids(&drain(&mut slow)), [11]);
        assert_eq!(hub.subscriber_count(), 1);
    }

    #[test]
    fn a_subscriber_of_several_topics_gets_them_in_id_order() {
        let hub = Hub::new();
        let mut both = hub.subscribe(&["a", "b", "a"], &LastEventId::none());
        for n in 1..=20 {
            hub.publish(
                if n % 3 == 0 { "a" } else { "b" },
                Event::default().data(n.to_string()),
            );
        }
        assert_eq!(ids(&drain(&mut both)), (1..=20).collect::<Vec<_>>());
    }

    #[test]
    fn relayed_events_keep_their_id_and_leave_numbering_and_replay_alone() {
        let hub = Hub::new();
        let mut a = hub.subscribe(&["a"], &LastEventId::none());
        let mut both = hub.subscribe(&["a", "b"], &LastEventId::none());
        assert_eq!((hub.subscribers_of("a"), hub.subscribers_of("b")), (2, 1));
        assert_eq!(hub.subscribers_of("c"), 0);
        hub.relay(
            "b",
            Event::default()
                .id(EventId::from_static("9-0"))
                .data("b first")
                .encode(),
        );
        hub.publish("a", Event::default().data("numbered"));
        hub.relay(
            "a",
            Event::default()
                .id(EventId::from_static("7-3"))
                .data("relayed")
                .encode(),
        );
        assert_eq!(hub.last_id(), 1, "relay moved the numbering");

        let got = drain(&mut a);
        assert_eq!(
            got.iter().map(|e| &*e.2).collect::<Vec<_>>(),
            ["1", "7-3"],
            "relayed id replaced"
        );
        let got = drain(&mut both);
        assert_eq!(
            got.iter().map(|e| &*e.1).collect::<Vec<_>>(),
            ["b first", "numbered", "relayed"],
            "not in relay order"
        );
        // Only the numbered event is retained.
        let mut late = hub.subscribe(&["a"], &last(0));
        assert_eq!(ids(&drain(&mut late)), [1]);
        drop((a, both, late));
        assert_eq!(hub.subscribers_of("a"), 0);
        hub.close(None);
        hub.relay("a", Event::default().data("after close").encode());
    }

    #[test]
    fn only_the_first_close_counts() {
        let hub = Hub::new();
        let mut sub = hub.subscribe(&["a"], &LastEventId::none());
        hub.close(Some(
            Event::default()
                .event(EventType::from_static("bye"))
                .data(""),
        ));
        hub.close(None);
        hub.close(Some(Event::default().data("second")));
        let got = drain(&mut sub);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0, "bye");
        assert!(ended(&mut sub));
    }

    #[test]
    fn prepended_events_go_before_everything_not_yet_yielded() {
        let hub = Hub::new();
        let mut sub = hub.subscribe(&["a"], &LastEventId::none());
        hub.relay(
            "a",
            Event::default()
                .id(EventId::from_static("3"))
                .data("live")
                .encode(),
        );
        sub.prepend([
            Event::default()
                .id(EventId::from_static("1"))
                .data("old")
                .encode(),
            Event::default()
                .id(EventId::from_static("2"))
                .data("missed too")
                .encode(),
        ]);
        sub.prepend([Event::default().event(Hub::RESET).data("").encode()]);
        let got = drain(&mut sub);
        assert_eq!(
            got.iter().map(|e| &*e.0).collect::<Vec<_>>(),
            ["reset", "message", "message", "message"]
        );
        assert_eq!(
            got.iter().skip(1).map(|e| &*e.2).collect::<Vec<_>>(),
            ["1", "2", "3"]
        );
    }

    #[test]
    fn dropping_subscriptions_leaves_no_subscriber() {
        let hub = Hub::new();
        for i in 0..10_000_u32 {
            let topics: &[&str] = if i % 2 == 0 { &["a"] } else { &["a", "b"] };
            let subscription = hub.subscribe(topics, &LastEventId::none());
            if i % 3 == 0 {
                hub.publish("a", Event::default().data("x"));
            }
            drop(subscription);
        }
        assert_eq!(hub.subscriber_count(), 0);
        assert!(hub.state().channels.is_empty(), "topic rings leak");
    }

    #[test]
    fn close_sends_the_last_event_ends_every_stream_and_refuses_new_ones() {
        let hub = Hub::new();
        let mut a = hub.subscribe(&["a"], &LastEventId::none());
        hub.publish("a", Event::default().data("before"));
        hub.close(Some(
            Event::default()
                .event(EventType::from_static("bye"))
                .data(""),
        ));
        let events = drain(&mut a);
        assert_eq!(
            events.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
            ["message", "bye"]
        );
        assert!(ended(&mut a));
        assert_eq!(hub.subscriber_count(), 0);
        let mut late = hub.subscribe(&["a"], &LastEventId::none());
        assert!(ended(&mut late));
    }

    /// Publishing while subscribing with a Last-Event-ID must never lose or repeat an
    /// event at the seam between replay and live delivery.
    #[test]
    fn no_gap_and_no_duplicate_at_the_seam_under_concurrent_publishing() {
        for round in 0..20 {
            let hub = Hub::builder()
                .replay_count(10_000)
                .queue_capacity(10_000)
                .build();
            let publisher = {
                let hub = hub.clone();
                std::thread::spawn(move || {
                    for n in 0..1_000 {
                        hub.publish("t", Event::default().data(n.to_string()));
                    }
                })
            };
            let mut subscriptions = Vec::new();
            while !publisher.is_finished() || subscriptions.len() < 5 {
                let after = hub.last_id().saturating_sub(round % 7);
                subscriptions.push((after, hub.subscribe(&["t"], &last(after))));
                std::thread::yield_now();
                if subscriptions.len() > 100 {
                    break;
                }
            }
            publisher.join().unwrap();
            hub.close(None);
            for (after, mut subscription) in subscriptions {
                let got = ids(&drain(&mut subscription));
                let expected: Vec<u64> = if after == 0 {
                    // `Last-Event-ID: 0` asks for everything from the start.
                    (1..=1_000).collect()
                } else {
                    (after + 1..=1_000).collect()
                };
                assert_eq!(got, expected, "round {round}, resumed after {after}");
            }
        }
    }

    #[tokio::test]
    async fn a_subscription_feeds_an_sse_body() {
        use http_body_util::BodyExt;
        let hub = Hub::new();
        let body = crate::SseBody::new(hub.subscribe(&["t"], &LastEventId::none()));
        hub.publish("t", Event::default().data("1"));
        hub.publish("t", Event::default().data("2"));
        hub.close(None);
        let bytes = tokio::time::timeout(Duration::from_secs(5), BodyExt::collect(body))
            .await
            .unwrap()
            .unwrap()
            .to_bytes();
        assert_eq!(bytes, &b"id: 1\ndata: 1\n\nid: 2\ndata: 2\n\n"[..]);
    }
}
