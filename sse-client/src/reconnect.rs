//! [`Reconnect`]: when and how often an [`EventSource`](crate::EventSource) connects
//! again.

use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime};

use http::HeaderMap;

/// The reconnection policy: WHATWG's "reestablish the connection" with exponential
/// backoff, jitter and a give-up rule.
///
/// The delay before a reconnection is the *reconnection time* (the
/// [initial delay](Reconnect::initial_delay), replaced by each `retry:` field the
/// server sends, capped at [`max_delay`](Reconnect::max_delay)), doubled for each
/// reconnection in a row that made no progress, capped at `max_delay`, plus a random
/// jitter of up to [`jitter`](Reconnect::jitter) of it (never less than the server
/// asked for). A `Retry-After` header on a `5xx` or `429` raises the delay to its value,
/// again within `max_delay`.
///
/// A connection *made progress* when it dispatched an event or stayed open for
/// [`stable_after`](Reconnect::stable_after): the doubling and the give-up counters
/// start over. A stream that the server ends cleanly after sending events (as
/// WHATWG allows) is thus reconnected after exactly the reconnection time, plus jitter.
///
/// By default the stream never gives up (as browsers do); set
/// [`max_attempts`](Reconnect::max_attempts) or
/// [`max_elapsed`](Reconnect::max_elapsed), or use [`Reconnect::never`].
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub struct Reconnect {
    pub(crate) initial_delay: Duration,
    pub(crate) max_delay: Duration,
    pub(crate) jitter: f64,
    pub(crate) stable_after: Duration,
    pub(crate) max_attempts: Option<u32>,
    pub(crate) max_elapsed: Option<Duration>,
}

impl Default for Reconnect {
    fn default() -> Self {
        Self::new()
    }
}

/// The smallest base of the doubling, so that `retry: 0` and a server that fails at
/// once do not make a busy loop.
const MIN_BACKOFF: Duration = Duration::from_millis(10);

impl Reconnect {
    /// The default policy: initial delay 3 s (as browsers), `max_delay` 60 s, jitter
    /// 0.5, `stable_after` 10 s, never gives up.
    pub fn new() -> Self {
        Self {
            initial_delay: Duration::from_secs(3),
            max_delay: Duration::from_secs(60),
            jitter: 0.5,
            stable_after: Duration::from_secs(10),
            max_attempts: None,
            max_elapsed: None,
        }
    }

    /// A policy that never reconnects: the first error ends the stream with that
    /// error, and a clean end of the response ends it with `None`.
    pub fn never() -> Self {
        Self::new().max_attempts(0)
    }

    /// The reconnection time until the server sends a `retry:` field (default 3 s).
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// The cap on every delay: the server's `retry:`, the doubling, and `Retry-After`
    /// (default 60 s).
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The random part added to each delay, as a fraction of it, from 0 (none) to 1
    /// (up to twice the delay); default 0.5. Values outside are clamped.
    pub fn jitter(mut self, fraction: f64) -> Self {
        self.jitter = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        self
    }

    /// How long a connection must stay open to count as progress, resetting the
    /// doubling and the give-up counters (default 10 s). Dispatching an event counts
    /// as progress too.
    pub fn stable_after(mut self, duration: Duration) -> Self {
        self.stable_after = duration;
        self
    }

    /// Give up after this many reconnections in a row without progress (default:
    /// never). `0` means never reconnect.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = Some(attempts);
        self
    }

    /// Give up when a reconnection would start later than this after the last
    /// progress (default: never).
    pub fn max_elapsed(mut self, elapsed: Duration) -> Self {
        self.max_elapsed = Some(elapsed);
        self
    }

    /// The reconnection time for a server's `retry:` value.
    pub(crate) fn cap(&self, delay: Duration) -> Duration {
        delay.min(self.max_delay)
    }

    /// The delay before the reconnection that follows `failures` reconnections in a
    /// row without progress, with `retry_after` from the last response, if any.
    pub(crate) fn delay(
        &self,
        reconnection_time: Duration,
        failures: u32,
        retry_after: Option<Duration>,
    ) -> Duration {
        let base = if failures == 0 {
            reconnection_time
        } else {
            reconnection_time.max(MIN_BACKOFF)
        };
        let doubled = base
            .saturating_mul(1_u32 << failures.min(31))
            .min(self.max_delay);
        let jittered = doubled.saturating_add(doubled.mul_f64(self.jitter * random_fraction()));
        match retry_after {
            Some(after) => jittered.max(after.min(self.max_delay)),
            None => jittered,
        }
    }
}

/// `delay` from now; a delay too large for the clock (`Duration::MAX` given as a
/// timeout or cap) is about 30 years, never an overflow.
pub(crate) fn after(delay: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(delay)
        .or_else(|| now.checked_add(Duration::from_secs(30 * 365 * 24 * 3600)))
        .unwrap_or(now)
}

/// A number in `[0, 1)`, from the standard library's randomly keyed hasher (each
/// `RandomState` has new keys): enough to spread reconnections, no dependency.
fn random_fraction() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.subsec_nanos());
    hasher.write_u32(nanos);
    // 53 random bits make an f64 in [0, 1) exactly.
    #[allow(clippy::cast_precision_loss)]
    let fraction = (hasher.finish() >> 11) as f64 / (1_u64 << 53) as f64;
    fraction
}

/// The `Retry-After` header: delay-seconds or an HTTP-date (RFC 9110, 10.2.3). A
/// date in the past is no delay; anything else unreadable is ignored.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Saturate absurd values; the policy caps them anyway.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(
        date.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_within_the_cap_and_jitter_only_adds() {
        let policy = Reconnect::new()
            .max_delay(Duration::from_secs(1))
            .jitter(0.0);
        let time = Duration::from_millis(100);
        let delays: Vec<_> = (0..6).map(|n| policy.delay(time, n, None)).collect();
        assert_eq!(
            delays,
            [100, 200, 400, 800, 1000, 1000].map(Duration::from_millis)
        );
        assert_eq!(
            policy.delay(time, 200, None),
            Duration::from_secs(1),
            "no overflow"
        );
        let jittered = policy.jitter(0.5);
        for _ in 0..100 {
            let delay = jittered.delay(time, 0, None);
            assert!(delay >= time && delay <= time * 3 / 2, "{delay:?}");
        }
    }

    #[test]
    fn huge_durations_do_not_overflow() {
        let policy = Reconnect::new().max_delay(Duration::MAX);
        let delay = policy.delay(Duration::MAX, 40, Some(Duration::MAX));
        assert_eq!(delay, Duration::MAX);
        assert!(after(delay) > tokio::time::Instant::now());
    }

    #[test]
    fn retry_zero_does_not_spin_once_failing() {
        let policy = Reconnect::new().jitter(0.0);
        assert_eq!(policy.delay(Duration::ZERO, 0, None), Duration::ZERO);
        assert_eq!(policy.delay(Duration::ZERO, 1, None), MIN_BACKOFF * 2);
    }

    #[test]
    fn retry_after_raises_the_delay_within_the_cap() {
        let policy = Reconnect::new()
            .max_delay(Duration::from_secs(5))
            .jitter(0.0);
        let time = Duration::from_millis(100);
        let after = Some(Duration::from_secs(2));
        assert_eq!(policy.delay(time, 0, after), Duration::from_secs(2));
        let far = Some(Duration::from_secs(3600));
        assert_eq!(policy.delay(time, 0, far), Duration::from_secs(5));
    }

    #[test]
    fn retry_after_parses_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(http::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(
            http::header::RETRY_AFTER,
            "99999999999999999999999".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(u64::MAX)));
        let later = SystemTime::now() + Duration::from_secs(120);
        headers.insert(
            http::header::RETRY_AFTER,
            httpdate::fmt_http_date(later).parse().unwrap(),
        );
        let delay = retry_after(&headers).unwrap();
        assert!(delay > Duration::from_secs(100) && delay <= Duration::from_secs(120));
        headers.insert(
            http::header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        for bad in ["-1", "soon", "1.5", ""] {
            headers.insert(http::header::RETRY_AFTER, bad.parse().unwrap());
            assert_eq!(retry_after(&headers), None, "{bad:?}");
        }
    }
}
