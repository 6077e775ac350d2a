//! How a hub is made: [`RedisHub::connect`], [`RedisHub::builder`] and
//! [`RedisHubBuilder`], its settings and their defaults.

use std::fmt;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::Client;
use sse_rs::hub::LagPolicy;

use crate::config::Config;
use crate::error::Error;
use crate::hub::RedisHub;
use crate::shared::Shared;

/// The longest `timeout`, `block` and back-off: far beyond any real use, and far from
/// overflowing the clock arithmetic.
const LONGEST: Duration = Duration::from_secs(24 * 60 * 60);

impl RedisHub {
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
            config: Config {
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
            },
        }
    }
}

/// Builds a [`RedisHub`]; see the setters for the defaults.
#[must_use]
pub struct RedisHubBuilder {
    config: Config,
}

impl fmt::Debug for RedisHubBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `Config` prints itself as `RedisHubBuilder { .. }`, without the client.
        fmt::Debug::fmt(&self.config, f)
    }
}

impl RedisHubBuilder {
    /// The prefix of the stream keys: topic `chat` is the stream `<prefix>chat`
    /// (default `sse:`). Instances that share a prefix share their topics.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.config.prefix = prefix.into();
        self
    }

    /// About how many entries each topic's stream keeps (`XADD ... MAXLEN ~ n`,
    /// default 10 000, at least 1): the replay window. A client that resumes after an
    /// entry that was trimmed gets [`RedisHub::RESET`] first. Redis trims in whole nodes, so a
    /// stream can hold somewhat more than `n`.
    pub fn max_len(mut self, entries: usize) -> Self {
        self.config.max_len = entries.max(1);
        self
    }

    /// How many entries one replay read takes at most (default 512). A reader reads at
    /// most half the [`queue_capacity`](RedisHubBuilder::queue_capacity) at a time, so
    /// that one read cannot overrun the local subscribers' queue.
    pub fn batch(mut self, entries: usize) -> Self {
        self.config.batch = entries.max(1);
        self
    }

    /// How long a reader's blocking read waits for new entries before it checks
    /// whether its topic still has subscribers (default 1 s). A reader stops within
    /// about this time after its topic's last subscriber leaves.
    pub fn block(mut self, block: Duration) -> Self {
        self.config.block = block.clamp(Duration::from_millis(1), LONGEST);
        self
    }

    /// The connection and response timeout of publishing and replay, and how long a
    /// subscription waits for this instance to read up to the client's id (default
    /// 2 s, at most a day).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout = timeout.min(LONGEST);
        self
    }

    /// The back-off of a reader that lost Redis: it waits `min`, then twice as long
    /// after every failed attempt, up to `max` (default 50 ms to 2 s).
    pub fn reconnect_backoff(mut self, min: Duration, max: Duration) -> Self {
        let (min, max) = (min.min(LONGEST), max.min(LONGEST));
        self.config.backoff = (min, max.max(min));
        self
    }

    /// How many events each topic's local ring keeps for this instance's subscribers
    /// (see [`sse_rs::hub::HubBuilder::queue_capacity`], default 256).
    pub fn queue_capacity(mut self, events: usize) -> Self {
        self.config.queue_capacity = events;
        self
    }

    /// What to do with a local subscriber that falls behind (default
    /// [`LagPolicy::Close`]: the client reconnects and resumes from Redis).
    pub fn lag_policy(mut self, policy: LagPolicy) -> Self {
        self.config.lag_policy = policy;
        self
    }

    /// The most one resume replays, in bytes on the wire (default 1 MiB, as the local
    /// hub retains): a client further back than that gets [`RedisHub::RESET`] first,
    /// then the newest events that fit, then live ones. What a replay holds in memory
    /// is bounded by this, whatever the stream's length, so far-back resumes cannot
    /// make the server's memory grow with the window.
    pub fn replay_bytes(mut self, bytes: usize) -> Self {
        self.config.replay_bytes = bytes;
        self
    }

    /// How many resumes may read from Redis at once on this instance (default 32, at
    /// least 1). A resume that finds none free within the
    /// [`timeout`](RedisHubBuilder::timeout) fails with [`Error::Busy`], so that many
    /// reconnecting clients at once cost a bounded amount of memory and Redis work.
    pub fn max_replays(mut self, replays: usize) -> Self {
        self.config.max_replays = replays.max(1);
        self
    }

    /// How long [`publish_once`](RedisHub::publish_once) remembers a key (default 1
    /// hour, at least 1 s): a retry with the same key within it publishes nothing
    /// again. Each key costs one small Redis key for that long.
    pub fn once_window(mut self, window: Duration) -> Self {
        self.config.once_window = window.clamp(Duration::from_secs(1), LONGEST);
        self
    }

    /// Connects the publishing connection and returns the hub.
    ///
    /// # Errors
    ///
    /// When Redis cannot be reached.
    pub async fn connect(self) -> Result<RedisHub, Error> {
        let config = self.config;
        let manager = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.timeout))
            .set_response_timeout(Some(config.timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let publisher = ConnectionManager::new_with_config(config.client.clone(), manager).await?;
        Ok(RedisHub::new(Shared::new(config, publisher)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder() -> RedisHubBuilder {
        RedisHub::builder(Client::open("redis://127.0.0.1:1/").unwrap())
    }

    #[test]
    fn the_documented_defaults() {
        let config = builder().config;
        assert_eq!(config.prefix, "sse:");
        assert_eq!(config.max_len, 10_000);
        assert_eq!(config.batch, 512);
        assert_eq!(config.block, Duration::from_secs(1));
        assert_eq!(config.timeout, Duration::from_secs(2));
        assert_eq!(
            config.backoff,
            (Duration::from_millis(50), Duration::from_secs(2))
        );
        assert_eq!(config.queue_capacity, 256);
        assert_eq!(config.lag_policy, LagPolicy::Close);
        assert_eq!(config.once_window, Duration::from_secs(3600));
        assert_eq!(config.replay_bytes, 1024 * 1024);
        assert_eq!(config.max_replays, 32);
    }

    #[test]
    fn settings_are_kept_within_their_limits() {
        let config = builder()
            .max_len(0)
            .batch(0)
            .block(Duration::ZERO)
            .timeout(Duration::MAX)
            .reconnect_backoff(Duration::from_secs(5), Duration::from_secs(1))
            .max_replays(0)
            .once_window(Duration::ZERO)
            .config;
        assert_eq!(
            (config.max_len, config.batch, config.max_replays),
            (1, 1, 1)
        );
        assert_eq!(config.block, Duration::from_millis(1));
        assert_eq!(config.timeout, LONGEST);
        assert_eq!(
            config.backoff,
            (Duration::from_secs(5), Duration::from_secs(5)),
            "max is at least min"
        );
        assert_eq!(config.once_window, Duration::from_secs(1));
        let config = builder()
            .block(Duration::MAX)
            .reconnect_backoff(Duration::MAX, Duration::MAX)
            .once_window(Duration::MAX)
            .config;
        assert_eq!(config.block, LONGEST);
        assert_eq!(config.backoff, (LONGEST, LONGEST));
        assert_eq!(config.once_window, LONGEST);
    }

    #[test]
    fn setting_twice_keeps_the_last() {
        let config = builder().key_prefix("a:").key_prefix("b:").config;
        assert_eq!(config.prefix, "b:");
    }
}
