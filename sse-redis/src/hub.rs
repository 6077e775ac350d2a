//! [`RedisHub`]: the sse-rs hub with Redis Streams as its backplane. This module holds
//! the hub's operations (publish, subscribe with resume, close) and uses the others:
//! the settings and the way a hub is made are in `builder`, its state in `shared`, the
//! per-topic reader in `reader`, the commands in `publish` and `stream`, the stored
//! format in `format`, the paging of a resume in `replay`.

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use sse_rs::hub::{Hub, Subscription};
use sse_rs::{EncodedEvent, Event, EventType, LastEventId};

use crate::entry_id::EntryId;
use crate::error::Error;
use crate::publish::{self, Published};
use crate::reader;
use crate::replay::{self, reset_event};
use crate::shared::{Shared, Topic};
use crate::stream;

/// The hub of one server instance, with Redis Streams as the backplane shared by every
/// instance: an event published on any instance reaches the subscribers of all of
/// them, in the same order, and a client can resume on any instance.
///
/// ```no_run
/// use sse_redis::{Event, LastEventId, RedisHub};
///
/// # async fn run() -> Result<(), sse_redis::Error> {
/// let hub = RedisHub::connect("redis://127.0.0.1:6379/").await?;
/// // In the handler of GET /events, with the request's Last-Event-ID:
/// let subscription = hub.subscribe("chat", &LastEventId::none()).await?;
/// // ... respond with `Sse::new(subscription)` of any adapter.
///
/// // Anywhere, on any instance:
/// let id = hub.publish("chat", Event::default().data("hello")).await?;
/// println!("published as {id}");
/// # Ok(()) }
/// ```
///
/// # How it works
///
/// - **Publishing** appends the event to the Redis stream of its topic (`XADD`,
///   trimmed to about [`max_len`](crate::RedisHubBuilder::max_len) entries). Its event
///   id is the entry id Redis gives it (`<ms>-<seq>`), replacing any id the event had.
///   Redis orders the entries of a stream, so every subscriber of a topic, on every
///   instance, gets its events in the same total order, whoever published them.
/// - **Reading**: each instance runs one reader per topic that has local subscribers
///   (not one per subscriber). It follows the stream from where it started with a
///   blocking `XREAD` on a connection of its own, encodes each entry once and hands it
///   to the local [`Hub`], which fans it out with the same shared bytes. The reader
///   stops within [`block`](crate::RedisHubBuilder::block) after the topic's last local
///   subscriber leaves.
/// - **Resuming**: [`subscribe`](RedisHub::subscribe) with a `Last-Event-ID` registers
///   the subscriber at the reader's position, then reads the entries after the
///   client's id up to that position from Redis (`XRANGE`) and puts them first: no gap
///   and no duplicate at the seam. A client that saw an entry this instance's reader has
///   not reached yet (it came from a faster instance) waits until the reader gets there.
///
/// A subscription follows one topic: Redis orders entries within a stream, not
/// across streams, so one `Last-Event-ID` could not resume a merge of several. Topic
/// names are the application's to choose: each topic with local subscribers costs a
/// reader and a Redis connection on every instance, so do not take them unchecked
/// from requests.
///
/// Uses only commands of Redis 5.0 (`XADD`, `XREAD`, `XRANGE`, `XREVRANGE`); tested
/// with Redis 7.0.
///
/// # Failures
///
/// - **Redis unreachable at publish**: [`publish`](RedisHub::publish) returns
///   [`Error::Redis`] and nothing is stored or sent, to anybody. The publishing
///   connection reconnects by itself; later calls succeed once Redis is back.
/// - **Redis slow or cut off with a publish in flight** (paused, overloaded, a network
///   cut): after the [`timeout`](crate::RedisHubBuilder::timeout) the publish returns
///   [`Error::Unconfirmed`]: the command may still run when Redis gets to it, and then
///   every subscriber gets the event, late. Tell the user "not confirmed", not
///   "failed", and retry with [`publish_once`](RedisHub::publish_once) and the same
///   key: the event is in the stream once, whichever attempt got through.
/// - **Redis down or restarting while streams are open**: open subscriptions stay open
///   (keep-alives go on). Each reader reconnects with back-off
///   ([`reconnect_backoff`](crate::RedisHubBuilder::reconnect_backoff)) and continues after
///   the last entry it read, so while the entries still exist (Redis with
///   persistence, or a network cut) clients get everything, once. If Redis lost its
///   data, readers go on with the entries added after the restart.
/// - **A cursor older than the replay window** (trimmed, lost in a restart, or from
///   another deployment): the subscription starts with the [`RedisHub::RESET`] event (type
///   `reset`, empty data), as with the local hub, then the retained entries after the
///   client's id, then live events. (An entry id newer than any this instance has
///   read and absent from the stream, from another deployment say, gets [`RedisHub::RESET`]
///   and then live events.) An id that is not an entry id counts as absent: live
///   events only.
/// - **A stream re-created below a reader's position** (Redis restarted without its
///   data *and* its clock went back, or the key was deleted and re-created with
///   explicit ids): the reader only reads ids above the last one it handed over, so
///   it waits until new ids pass it. Redis' own ids never go back otherwise.
/// - **Subscribing while Redis is down**: [`subscribe`](RedisHub::subscribe) returns
///   an error when it needs Redis (to start a reader or to replay). `EventSource`
///   gives up for good on an error status, so answer `200` with a stream that only
///   says `retry:` and ends: the browser comes back after that delay with its
///   `Last-Event-ID` (the broadcast example does this).
/// - An entry whose fields cannot be an event (written by another program: invalid
///   UTF-8, a bad `event` name) is skipped and counted in
///   [`malformed_entries`](RedisHub::malformed_entries); nothing of it reaches a
///   client.
#[derive(Clone)]
pub struct RedisHub {
    inner: Arc<Shared>,
}

impl fmt::Debug for RedisHub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisHub")
            .field("config", &self.inner.config)
            .field("readers", &self.reader_count())
            .field("subscribers", &self.subscriber_count())
            .finish_non_exhaustive()
    }
}

impl RedisHub {
    /// The type of the event that starts a subscription whose `Last-Event-ID` is no
    /// longer in the stream (`event: reset`, empty data): the same as the local hub's
    /// [`Hub::RESET`](sse_rs::hub::Hub::RESET).
    pub const RESET: EventType = Hub::RESET;

    /// The hub over `shared`; made by
    /// [`RedisHubBuilder::connect`](crate::RedisHubBuilder::connect).
    pub(crate) fn new(shared: Shared) -> Self {
        Self {
            inner: Arc::new(shared),
        }
    }

    /// Appends `event` to the stream of `topic`, for the subscribers of every instance,
    /// and returns its id (the Redis entry id; any id the event had is replaced).
    ///
    /// # Errors
    ///
    /// [`Error::Redis`] when Redis cannot be reached or refuses the command: the event
    /// was not published, to anybody. [`Error::Unconfirmed`] when the command may have
    /// reached Redis but its answer did not come back: the event may be published all
    /// the same, so a plain retry could publish it twice; use
    /// [`publish_once`](RedisHub::publish_once) when a retry must not.
    /// [`Error::Closed`] after [`close`](RedisHub::close).
    pub async fn publish(&self, topic: &str, event: Event) -> Result<EntryId, Error> {
        let inner = &self.inner;
        if inner.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        publish::publish(
            &inner.publisher,
            &inner.config.key(topic),
            inner.config.max_len,
            &event,
        )
        .await
    }

    /// Publishes `event` to `topic` at most once for `key` (a message id the client
    /// chose, say), within the [`once_window`](crate::RedisHubBuilder::once_window):
    /// the first call appends it, any later call with the same key appends nothing and
    /// returns the first one's entry id. The check and the append are one atomic step in
    /// Redis, so a retry after [`Error::Unconfirmed`] is safe: the event ends up in the
    /// stream once, whichever attempt got through.
    ///
    /// ```no_run
    /// # async fn run(hub: sse_redis::RedisHub) -> Result<(), sse_redis::Error> {
    /// use sse_redis::{Error, Event};
    ///
    /// let event = || Event::default().data("hello");
    /// let published = loop {
    ///     match hub.publish_once("chat", "msg-7f3a", event()).await {
    ///         Err(Error::Unconfirmed(_)) => continue, // the same key: never twice
    ///         other => break other?,
    ///     }
    /// };
    /// println!("{} (new: {})", published.id, published.first);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`publish`](RedisHub::publish); [`Error::InvalidKey`] for an empty key or
    /// one over 128 bytes.
    pub async fn publish_once(
        &self,
        topic: &str,
        key: &str,
        event: Event,
    ) -> Result<Published, Error> {
        let inner = &self.inner;
        if inner.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        publish::publish_once(
            &inner.publisher,
            &inner.config.key(topic),
            key,
            inner.config.once_window,
            inner.config.max_len,
            &event,
        )
        .await
    }

    /// Subscribes to `topic`, resuming after `last` (see [`RedisHub`]): the
    /// subscription yields the missed entries still in the stream, then live ones. Feed
    /// it to any adapter's `Sse`.
    ///
    /// # Errors
    ///
    /// When Redis is needed (to start this instance's reader of the topic, or to
    /// replay) and cannot be reached; [`Error::CatchUp`] when the client is ahead of
    /// this instance's reader and the reader does not catch up within the timeout. A
    /// closed hub gives a subscription that ends at once (after the hub's last event).
    pub async fn subscribe(&self, topic: &str, last: &LastEventId) -> Result<Subscription, Error> {
        let inner = &self.inner;
        if inner.closed.load(Ordering::Acquire) {
            return Ok(inner.local.subscribe(&[topic], &LastEventId::none()));
        }
        let after = EntryId::from_last_event_id(last);
        let mut reset = false;
        let mut checked_ahead = false;
        let deadline = tokio::time::Instant::now() + inner.config.timeout;
        let (mut subscription, upto) = loop {
            let served = match self.serve(topic).await {
                Ok(served) => served,
                // Closed meanwhile: the local hub ends the subscription at once.
                Err(Error::Closed) => {
                    return Ok(inner.local.subscribe(&[topic], &LastEventId::none()));
                }
                Err(e) => return Err(e),
            };
            let advanced = served.advanced.notified();
            tokio::pin!(advanced);
            advanced.as_mut().enable();
            {
                let state = served.state();
                if state.stopped || inner.closed.load(Ordering::Acquire) {
                    // It left the map with that: the next `serve` starts a new reader.
                    continue;
                }
                let cursor = state.cursor;
                if reset || after.is_none_or(|after| after <= cursor) {
                    // Registered at the reader's position, under its lock: the reader
                    // hands over everything after `cursor`, replay covers the rest.
                    let subscription = inner.local.subscribe(&[topic], &LastEventId::none());
                    break (subscription, cursor);
                }
            }
            // The client is ahead of this instance's reader: it saw the entry on a
            // faster instance. An id that is no entry at all would never be reached:
            // check that once.
            if let Some(after) = after {
                if !checked_ahead {
                    checked_ahead = true;
                    if !self.exists(topic, after).await? {
                        reset = true;
                        continue;
                    }
                }
                if tokio::time::timeout_at(deadline, advanced).await.is_err() {
                    return Err(Error::CatchUp(after));
                }
            }
        };
        if let Some(after) = after {
            let replay = if reset {
                vec![reset_event()]
            } else {
                let permit = tokio::time::timeout(inner.config.timeout, inner.replays.acquire())
                    .await
                    .map_err(|_| Error::Busy)?
                    .map_err(|_| Error::Closed)?;
                let replay = self.replay(topic, after, upto).await;
                drop(permit);
                replay?
            };
            if replay.contains(&reset_event()) {
                sse_rs::metrics::__record::reset();
            }
            subscription.prepend(replay);
        }
        Ok(subscription)
    }

    /// The state shared by this hub's handles, for the answers built on it.
    pub(crate) fn shared(&self) -> &Shared {
        &self.inner
    }

    /// Makes sure this instance reads `topic`, starting a reader at the stream's last
    /// entry if none runs.
    async fn serve(&self, topic: &str) -> Result<Arc<Topic>, Error> {
        let inner = &self.inner;
        if inner.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        if let Some(served) = inner.topics().get(topic) {
            return Ok(Arc::clone(served));
        }
        let start = stream::last(&inner.publisher, &inner.config.key(topic)).await?;
        let mut topics = inner.topics();
        if let Some(served) = topics.get(topic) {
            return Ok(Arc::clone(served));
        }
        // `close` sets the flag before it wakes the readers: seen here, under the map's
        // lock, no reader starts after the readers were told.
        if inner.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        let name: Arc<str> = Arc::from(topic);
        let served = Arc::new(Topic::new(start));
        topics.insert(Arc::clone(&name), Arc::clone(&served));
        tokio::spawn(reader::read(
            Arc::downgrade(&self.inner),
            name,
            inner.config.key(topic),
            Arc::clone(&served),
        ));
        Ok(served)
    }

    /// Whether the stream of `topic` holds the entry `id`.
    async fn exists(&self, topic: &str, id: EntryId) -> Result<bool, Error> {
        stream::exists(&self.inner.publisher, &self.inner.config.key(topic), id).await
    }

    /// The events after `after` up to `upto`, read from Redis in pages; led by
    /// [`RedisHub::RESET`] when `after` is no longer (or never was) in the stream, and
    /// with a [`RedisHub::RESET`] where the stream was trimmed while paging (see
    /// [`replay::Pages`]).
    async fn replay(
        &self,
        topic: &str,
        after: EntryId,
        upto: EntryId,
    ) -> Result<Vec<EncodedEvent>, Error> {
        let inner = &self.inner;
        replay::replay(
            &inner.publisher,
            &inner.config.key(topic),
            after,
            upto,
            inner.config.batch,
            inner.config.replay_bytes,
        )
        .await
    }

    /// How many subscriptions are open on this instance.
    #[must_use]
    pub fn subscriber_count(&self) -> usize {
        self.inner.local.subscriber_count()
    }

    /// How many subscriptions to `topic` are open on this instance.
    #[must_use]
    pub fn subscribers_of(&self, topic: &str) -> usize {
        self.inner.local.subscribers_of(topic)
    }

    /// How many readers this instance runs: one per topic with local subscribers (a
    /// reader lingers up to [`block`](crate::RedisHubBuilder::block) after its topic's
    /// last subscriber left).
    #[must_use]
    pub fn reader_count(&self) -> usize {
        self.inner.topics().len()
    }

    /// How many entries the readers skipped because their fields could not be an event.
    #[must_use]
    pub fn malformed_entries(&self) -> u64 {
        self.inner.malformed.load(Ordering::Relaxed)
    }

    /// Ends this instance's subscriptions, after what they have not read yet and then
    /// `last` (if any), stops its readers and refuses later calls. Other instances and
    /// the streams in Redis are not touched. For graceful shutdown. Dropping the last
    /// clone of the hub does the same, with no last event.
    pub fn close(&self, last: Option<Event>) {
        let inner = &self.inner;
        inner.closed.store(true, Ordering::Release);
        inner.local.close(last);
        for topic in inner.topics().values() {
            topic.advanced.notify_waiters();
        }
    }
}
