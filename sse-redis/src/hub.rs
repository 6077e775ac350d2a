//! [`RedisHub`]: the sse-rs-core hub with Redis Streams as its backplane.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Client, RedisError, Value};
use sse_rs::hub::{Hub, LagPolicy, Subscription};
use sse_rs::{EncodedEvent, Event, EventType, LastEventId};
use tokio::sync::Notify;

use crate::entry;
use crate::entry_id::EntryId;
use crate::publish::{self, Published};
use crate::replay::Replay;

/// The longest `timeout`, `block` and back-off: far beyond any real use, and far from
/// overflowing the clock arithmetic.
const LONGEST: Duration = Duration::from_secs(24 * 60 * 60);

/// What went wrong in a [`RedisHub`] call.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Redis could not be reached or refused the command: nothing was done. (From
    /// [`publish`](RedisHub::publish): the event was not published, to anybody.)
    Redis(RedisError),
    /// A publish whose command may have reached Redis but whose answer did not come
    /// back (a timeout, or the connection broke with the command in flight): the event
    /// may or may not be in the stream, and if it is, every subscriber gets it. Do not
    /// report it as failed; retry with [`publish_once`](RedisHub::publish_once) and the
    /// same key, which publishes it at most once.
    Unconfirmed(RedisError),
    /// A [`publish_once`](RedisHub::publish_once) key that is empty or longer than 128
    /// bytes.
    InvalidKey,
    /// Redis answered something that is not what the command returns.
    UnexpectedReply(String),
    /// The client resumes after an entry this instance has not read yet, and its
    /// reader did not get there within the hub's timeout (Redis is unreachable).
    CatchUp(EntryId),
    /// Too many resumes were reading from Redis on this instance, and none finished
    /// within the hub's timeout (see [`max_replays`](RedisHubBuilder::max_replays)):
    /// tell the client to retry a little later.
    Busy,
    /// The hub was closed.
    Closed,
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

/// Builds a [`RedisHub`]; see the setters for the defaults.
#[must_use]
pub struct RedisHubBuilder {
    client: Client,
    prefix: String,
    max_len: usize,
    batch: usize,
    block: Duration,
    timeout: Duration,
    backoff: (Duration, Duration),
    queue_capacity: usize,
    lag_policy: LagPolicy,
    once_window: Duration,
    replay_bytes: usize,
    max_replays: usize,
}

impl fmt::Debug for RedisHubBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisHubBuilder")
            .field("prefix", &self.prefix)
            .field("max_len", &self.max_len)
            .field("batch", &self.batch)
            .field("block", &self.block)
            .field("timeout", &self.timeout)
            .field("backoff", &self.backoff)
            .field("queue_capacity", &self.queue_capacity)
            .field("lag_policy", &self.lag_policy)
            .field("once_window", &self.once_window)
            .field("replay_bytes", &self.replay_bytes)
            .field("max_replays", &self.max_replays)
            .finish_non_exhaustive()
    }
}

impl RedisHubBuilder {
    /// The prefix of the stream keys: topic `chat` is the stream `<prefix>chat`
    /// (default `sse:`). Instances that share a prefix share their topics.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// About how many entries each topic's stream keeps (`XADD ... MAXLEN ~ n`,
    /// default 10 000, at least 1): the replay window. A client that resumes after an
    /// entry that was trimmed gets [`RedisHub::RESET`] first. Redis trims in whole nodes, so a
    /// stream can hold somewhat more than `n`.
    pub fn max_len(mut self, entries: usize) -> Self {
        self.max_len = entries.max(1);
        self
    }

    /// How many entries one replay read takes at most (default 512). A reader reads at
    /// most half the [`queue_capacity`](RedisHubBuilder::queue_capacity) at a time, so
    /// that one read cannot overrun the local subscribers' queue.
    pub fn batch(mut self, entries: usize) -> Self {
        self.batch = entries.max(1);
        self
    }

    /// How long a reader's blocking read waits for new entries before it checks
    /// whether its topic still has subscribers (default 1 s). A reader stops within
    /// about this time after its topic's last subscriber leaves.
    pub fn block(mut self, block: Duration) -> Self {
        self.block = block.clamp(Duration::from_millis(1), LONGEST);
        self
    }

    /// The connection and response timeout of publishing and replay, and how long a
    /// subscription waits for this instance to read up to the client's id (default
    /// 2 s, at most a day).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.min(LONGEST);
        self
    }

    /// The back-off of a reader that lost Redis: it waits `min`, then twice as long
    /// after every failed attempt, up to `max` (default 50 ms to 2 s).
    pub fn reconnect_backoff(mut self, min: Duration, max: Duration) -> Self {
        let (min, max) = (min.min(LONGEST), max.min(LONGEST));
        self.backoff = (min, max.max(min));
        self
    }

    /// How many events each topic's local ring keeps for this instance's subscribers
    /// (see [`sse_rs::hub::HubBuilder::queue_capacity`], default 256).
    pub fn queue_capacity(mut self, events: usize) -> Self {
        self.queue_capacity = events;
        self
    }

    /// What to do with a local subscriber that falls behind (default
    /// [`LagPolicy::Close`]: the client reconnects and resumes from Redis).
    pub fn lag_policy(mut self, policy: LagPolicy) -> Self {
        self.lag_policy = policy;
        self
    }

    /// The most one resume replays, in bytes on the wire (default 1 MiB, as the local
    /// hub retains): a client further back than that gets [`RedisHub::RESET`] first,
    /// then the newest events that fit, then live ones. What a replay holds in memory
    /// is bounded by this, whatever the stream's length, so far-back resumes cannot
    /// make the server's memory grow with the window.
    pub fn replay_bytes(mut self, bytes: usize) -> Self {
        self.replay_bytes = bytes;
        self
    }

    /// How many resumes may read from Redis at once on this instance (default 32, at
    /// least 1). A resume that finds none free within the
    /// [`timeout`](RedisHubBuilder::timeout) fails with [`Error::Busy`], so that many
    /// reconnecting clients at once cost a bounded amount of memory and Redis work.
    pub fn max_replays(mut self, replays: usize) -> Self {
        self.max_replays = replays.max(1);
        self
    }

    /// How long [`publish_once`](RedisHub::publish_once) remembers a key (default 1
    /// hour, at least 1 s): a retry with the same key within it publishes nothing
    /// again. Each key costs one small Redis key for that long.
    pub fn once_window(mut self, window: Duration) -> Self {
        self.once_window = window.clamp(Duration::from_secs(1), LONGEST);
        self
    }

    /// Connects the publishing connection and returns the hub.
    ///
    /// # Errors
    ///
    /// When Redis cannot be reached.
    pub async fn connect(self) -> Result<RedisHub, Error> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let publisher = ConnectionManager::new_with_config(self.client.clone(), config).await?;
        let local = Hub::builder()
            .replay_count(0)
            .queue_capacity(self.queue_capacity)
            .lag_policy(self.lag_policy)
            .build();
        Ok(RedisHub {
            inner: Arc::new(Inner {
                publisher,
                local,
                topics: Mutex::new(HashMap::new()),
                closed: AtomicBool::new(false),
                malformed: AtomicU64::new(0),
                replays: tokio::sync::Semaphore::new(self.max_replays),
                config: self,
            }),
        })
    }
}

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
///   trimmed to about [`max_len`](RedisHubBuilder::max_len) entries). Its event id is
///   the entry id Redis gives it (`<ms>-<seq>`), replacing any id the event had.
///   Redis orders the entries of a stream, so every subscriber of a topic, on every
///   instance, gets its events in the same total order, whoever published them.
/// - **Reading**: each instance runs one reader per topic that has local subscribers
///   (not one per subscriber). It follows the stream from where it started with a
///   blocking `XREAD` on a connection of its own, encodes each entry once and hands it
///   to the local [`Hub`], which fans it out with the same shared bytes. The reader
///   stops within [`block`](RedisHubBuilder::block) after the topic's last local
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
///   cut): after the [`timeout`](RedisHubBuilder::timeout) the publish returns
///   [`Error::Unconfirmed`]: the command may still run when Redis gets to it, and then
///   every subscriber gets the event, late. Tell the user "not confirmed", not
///   "failed", and retry with [`publish_once`](RedisHub::publish_once) and the same
///   key: the event is in the stream once, whichever attempt got through.
/// - **Redis down or restarting while streams are open**: open subscriptions stay open
///   (keep-alives go on). Each reader reconnects with back-off
///   ([`reconnect_backoff`](RedisHubBuilder::reconnect_backoff)) and continues after
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
    inner: Arc<Inner>,
}

struct Inner {
    config: RedisHubBuilder,
    publisher: ConnectionManager,
    local: Hub,
    /// The topics this instance reads, each with its reader's position.
    topics: Mutex<HashMap<Arc<str>, Arc<Topic>>>,
    closed: AtomicBool,
    malformed: AtomicU64,
    /// One permit per resume reading from Redis.
    replays: tokio::sync::Semaphore,
}

/// One topic this instance reads.
struct Topic {
    /// The last entry the reader handed to the local hub; taken together with
    /// registering a subscriber, so the seam between replay and live is exact.
    state: Mutex<TopicState>,
    /// Woken after every batch the reader hands over.
    advanced: Notify,
}

struct TopicState {
    cursor: EntryId,
    stopped: bool,
}

impl Topic {
    fn state(&self) -> MutexGuard<'_, TopicState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The last handle is gone and the readers with it: end the subscriptions
        // rather than leave them open with nothing to feed them. (After `close` this
        // changes nothing: only the first close counts.)
        self.local.close(None);
    }
}

impl Inner {
    fn topics(&self) -> MutexGuard<'_, HashMap<Arc<str>, Arc<Topic>>> {
        self.topics.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn key(&self, topic: &str) -> String {
        format!("{}{topic}", self.config.prefix)
    }

    /// Runs a read-only command on the shared connection. A read is safe to repeat, so
    /// when the connection turns out to have dropped (the first command after a
    /// Redis restart learns that), it is tried once more on the new connection.
    async fn read(&self, command: &redis::Cmd) -> Result<Value, RedisError> {
        let mut connection = self.publisher.clone();
        match command.query_async(&mut connection).await {
            Err(e) if e.is_connection_dropped() || (e.is_io_error() && !e.is_timeout()) => {
                command.query_async(&mut connection).await
            }
            result => result,
        }
    }

    /// The entries a range command returns.
    async fn range(&self, command: &redis::Cmd) -> Result<Vec<entry::Entry>, Error> {
        entry::range(self.read(command).await?)
    }
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

    /// A hub on the Redis server at `url` (`redis://host:port/db`) with the default
    /// settings.
    ///
    /// # Errors
    ///
    /// When the URL is invalid or Redis cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::builder(Client::open(url)?).connect().await
    }

    /// A builder for a hub on `client`'s Redis server, with other settings.
    pub fn builder(client: Client) -> RedisHubBuilder {
        RedisHubBuilder {
            client,
            prefix: "sse:".to_owned(),
            max_len: 10_000,
            batch: 512,
            block: Duration::from_secs(1),
            timeout: Duration::from_secs(2),
            backoff: (Duration::from_millis(50), Duration::from_secs(2)),
            queue_capacity: 256,
            lag_policy: LagPolicy::Close,
            once_window: Duration::from_secs(3600),
            replay_bytes: 1024 * 1024,
            max_replays: 32,
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
        let mut xadd = redis::cmd("XADD");
        xadd.arg(inner.key(topic))
            .arg("MAXLEN")
            .arg("~")
            .arg(inner.config.max_len)
            .arg("*");
        publish::add_fields(&mut xadd, &event);
        let id: String = xadd
            .query_async(&mut inner.publisher.clone())
            .await
            .map_err(publish::publish_error)?;
        id.parse()
            .map_err(|_| Error::UnexpectedReply(format!("XADD gave the id {id:?}")))
    }

    /// Publishes `event` to `topic` at most once for `key` (a message id the client
    /// chose, say), within the [`once_window`](RedisHubBuilder::once_window): the first
    /// call appends it, any later call with the same key appends nothing and returns
    /// the first one's entry id. The check and the append are one atomic step in
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
        if key.is_empty() || key.len() > publish::MAX_KEY {
            return Err(Error::InvalidKey);
        }
        let stream = inner.key(topic);
        let marker = format!("{stream}:published:{key}");
        let mut eval = redis::cmd("EVAL");
        eval.arg(publish::PUBLISH_ONCE)
            .arg(2)
            .arg(&stream)
            .arg(&marker)
            .arg(inner.config.once_window.as_secs())
            .arg(inner.config.max_len);
        publish::add_fields(&mut eval, &event);
        let (appended, id): (i64, String) = eval
            .query_async(&mut inner.publisher.clone())
            .await
            .map_err(publish::publish_error)?;
        let id = id
            .parse()
            .map_err(|_| Error::UnexpectedReply(format!("the script gave the id {id:?}")))?;
        Ok(Published {
            id,
            first: appended == 1,
        })
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
        let top = inner
            .range(
                redis::cmd("XREVRANGE")
                    .arg(inner.key(topic))
                    .arg("+")
                    .arg("-")
                    .arg("COUNT")
                    .arg(1),
            )
            .await?;
        let start = top.first().map_or(EntryId::ZERO, |entry| entry.id);
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
        let served = Arc::new(Topic {
            state: Mutex::new(TopicState {
                cursor: start,
                stopped: false,
            }),
            advanced: Notify::new(),
        });
        topics.insert(Arc::clone(&name), Arc::clone(&served));
        tokio::spawn(read(
            Arc::downgrade(&self.inner),
            name,
            inner.key(topic),
            Arc::clone(&served),
        ));
        Ok(served)
    }

    /// Whether the stream of `topic` holds the entry `id`.
    async fn exists(&self, topic: &str, id: EntryId) -> Result<bool, Error> {
        let id = id.to_string();
        let found = self
            .inner
            .range(
                redis::cmd("XRANGE")
                    .arg(self.inner.key(topic))
                    .arg(&id)
                    .arg(&id),
            )
            .await?;
        Ok(!found.is_empty())
    }

    /// The events after `after` up to `upto`, read from Redis in pages; led by
    /// [`RedisHub::RESET`] when `after` is no longer (or never was) in the stream. Each page starts
    /// at the last entry of the one before, inclusive: if that entry is gone, the
    /// stream was trimmed past it while paging, and a [`RedisHub::RESET`] marks the gap there.
    async fn replay(
        &self,
        topic: &str,
        after: EntryId,
        upto: EntryId,
    ) -> Result<Vec<EncodedEvent>, Error> {
        let inner = &self.inner;
        let key = inner.key(topic);
        let mut events = Replay::new(inner.config.replay_bytes);
        let mut from = after;
        loop {
            let page = inner
                .range(
                    redis::cmd("XRANGE")
                        .arg(&key)
                        .arg(from.to_string())
                        .arg(upto.to_string())
                        .arg("COUNT")
                        // One more for the entry the page starts at.
                        .arg(inner.config.batch + 1),
                )
                .await?;
            let mut entries = page.iter().peekable();
            if entries.next_if(|entry| entry.id == from).is_none() {
                events.gap();
            }
            let mut read = 0;
            for entry in entries {
                // Skipped when it cannot be an event; the readers count those.
                if let Some(event) = entry.event() {
                    events.push(event);
                }
                from = entry.id;
                read += 1;
            }
            if read < inner.config.batch || from >= upto {
                return Ok(events.into_events());
            }
        }
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
    /// reader lingers up to [`block`](RedisHubBuilder::block) after its topic's last
    /// subscriber left).
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

pub(crate) fn reset_event() -> EncodedEvent {
    Event::default().event(RedisHub::RESET).data("").encode()
}

/// The reader of one topic: follows its stream and hands every entry to the local hub,
/// until the topic has no local subscriber or the hub closes.
async fn read(hub: Weak<Inner>, name: Arc<str>, key: String, topic: Arc<Topic>) {
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
        // One read never brings more than half of what a subscriber's queue holds.
        let batch = config.batch.min((config.queue_capacity / 2).max(1));
        let client = config.client.clone();
        // Do not keep the hub alive while waiting on Redis.
        drop(inner);
        let cursor = topic.state().cursor;
        let reply = match &mut connection {
            Some(conn) => read_after(conn, &key, cursor, batch, block).await,
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
                        read_after(conn, &key, cursor, batch, block).await
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
                for (id, event) in events {
                    if id <= state.cursor {
                        continue;
                    }
                    match event {
                        Some(event) => inner.local.relay(&name, event),
                        None => {
                            inner.malformed.fetch_add(1, Ordering::Relaxed);
                            sse_rs::metrics::__record::malformed_entry();
                        }
                    }
                    state.cursor = id;
                }
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

/// One blocking read of the entries after `cursor`.
async fn read_after(
    connection: &mut MultiplexedConnection,
    key: &str,
    cursor: EntryId,
    batch: usize,
    block: Duration,
) -> Result<Vec<entry::Entry>, Error> {
    let reply: Value = redis::cmd("XREAD")
        .arg("COUNT")
        .arg(batch)
        .arg("BLOCK")
        .arg(u64::try_from(block.as_millis()).unwrap_or(u64::MAX))
        .arg("STREAMS")
        .arg(key)
        .arg(cursor.to_string())
        .query_async(connection)
        .await?;
    entry::read(reply)
}

/// The next wait of a back-off from `bounds.0` doubling up to `bounds.1`.
fn next_backoff(current: Option<Duration>, (min, max): (Duration, Duration)) -> Duration {
    current.map_or(min, |wait| wait.saturating_mul(2).min(max))
}

/// Stops the reader of `name` when the hub is closed or nobody on this instance follows
/// the topic; returns whether it did. The topic leaves the map in the same step, under
/// both locks, so a subscriber that finds it stopped starts a new reader.
fn stop_if_unused(inner: &Inner, name: &Arc<str>, topic: &Arc<Topic>) -> bool {
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
    hub: Weak<Inner>,
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
