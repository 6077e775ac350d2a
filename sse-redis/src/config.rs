//! [`Config`]: the settings of a hub, as its builder set them. A module of its own so
//! that the builder, the hub's shared state and the readers can all read them without
//! depending on each other.

use std::fmt;
use std::time::Duration;

use redis::Client;
use sse_rs::hub::LagPolicy;

/// The settings of one hub; the defaults and the limits are the builder's
/// ([`RedisHubBuilder`](crate::RedisHubBuilder)).
pub(crate) struct Config {
    pub(crate) client: Client,
    pub(crate) prefix: String,
    pub(crate) max_len: usize,
    pub(crate) batch: usize,
    pub(crate) block: Duration,
    pub(crate) timeout: Duration,
    pub(crate) backoff: (Duration, Duration),
    pub(crate) queue_capacity: usize,
    pub(crate) lag_policy: LagPolicy,
    pub(crate) once_window: Duration,
    pub(crate) replay_bytes: usize,
    pub(crate) max_replays: usize,
}

impl Config {
    /// The stream key of `topic`.
    pub(crate) fn key(&self, topic: &str) -> String {
        format!("{}{topic}", self.prefix)
    }

    /// How many entries a reader takes in one read: the batch, but never more than half
    /// of what a local subscriber's queue holds, so one read cannot overrun it.
    pub(crate) fn read_batch(&self) -> usize {
        self.batch.min((self.queue_capacity / 2).max(1))
    }
}

/// Printed under the builder's name: these are the builder's settings, and both
/// `RedisHubBuilder` and `RedisHub` show them this way. The client is left out (its
/// address may hold a password).
impl fmt::Debug for Config {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config(batch: usize, queue_capacity: usize) -> Config {
        Config {
            client: Client::open("redis://127.0.0.1:1/").unwrap(),
            prefix: "app:".to_owned(),
            max_len: 10,
            batch,
            block: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            backoff: (Duration::from_millis(1), Duration::from_millis(2)),
            queue_capacity,
            lag_policy: LagPolicy::Close,
            once_window: Duration::from_secs(1),
            replay_bytes: 1,
            max_replays: 1,
        }
    }

    #[test]
    fn a_read_takes_at_most_half_the_queue_and_at_least_one() {
        assert_eq!(config(512, 256).read_batch(), 128);
        assert_eq!(config(16, 256).read_batch(), 16);
        assert_eq!(config(512, 1).read_batch(), 1);
        assert_eq!(config(512, 0).read_batch(), 1);
    }

    #[test]
    fn a_topic_key_is_the_prefix_then_the_topic() {
        assert_eq!(config(1, 1).key("chat"), "app:chat");
    }

    #[test]
    fn prints_the_settings_but_not_the_client() {
        let printed = format!("{:?}", config(7, 256));
        assert!(
            printed.starts_with("RedisHubBuilder { prefix: \"app:\""),
            "{printed}"
        );
        assert!(printed.contains("batch: 7"), "{printed}");
        assert!(!printed.contains("127.0.0.1"), "{printed}");
    }
}
