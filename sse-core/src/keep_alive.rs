//! [`KeepAlive`]: comment frames that keep an idle connection open.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::time::{Instant, Sleep};

use crate::encode;
use crate::event::Data;

/// The shortest interval a keep-alive may have; shorter ones are raised to it.
const MIN_INTERVAL: Duration = Duration::from_millis(1);

/// Sends a comment when the stream has been idle for a while, so that proxies and
/// load balancers do not close a quiet connection.
///
/// The comment is a frame of its own, sent only between events and only after
/// [`interval`](KeepAlive::interval) without any other frame; every frame restarts the
/// timer, so a busy stream never carries keep-alives.
///
/// The default is a bare `:` comment followed by an empty line (`:\n\n`) every 15
/// seconds.
///
/// ```
/// use std::time::Duration;
/// use sse_rs_core::KeepAlive;
///
/// let keep_alive = KeepAlive::new()
///     .interval(Duration::from_secs(30))
///     .text("ping");
/// assert_eq!(keep_alive.as_bytes(), &b": ping\n\n"[..]);
///
/// // A comment line without the empty line after it.
/// let bare = KeepAlive::new().blank_line(false);
/// assert_eq!(bare.as_bytes(), &b":\n"[..]);
/// ```
///
/// # Which bytes to send
///
/// Browsers ignore comments and empty lines between events, so the default is safe for
/// them. Some other clients are not: httpx-sse (Python, issue #35) turns every
/// `:\n\n` into an empty event once an id has been seen. For such clients use
/// [`blank_line(false)`](KeepAlive::blank_line), which sends a single comment line
/// (`:\n`) that no parser dispatches.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct KeepAlive {
    interval: Duration,
    text: Data,
    blank_line: bool,
    bytes: Bytes,
}

impl Default for KeepAlive {
    fn default() -> Self {
        Self::new()
    }
}

impl KeepAlive {
    /// A keep-alive of `:\n\n` every 15 seconds.
    pub fn new() -> Self {
        Self {
            interval: Duration::from_secs(15),
            text: Data::default(),
            blank_line: true,
            bytes: Bytes::from_static(b":\n\n"),
        }
    }

    /// How long the stream must be idle before a keep-alive is sent (default 15 s;
    /// anything below one millisecond is raised to one millisecond).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval.max(MIN_INTERVAL);
        self
    }

    /// The comment text (default empty). Line breaks in it become separate comment
    /// lines, so the text can never turn into a field.
    pub fn text(mut self, text: impl Into<Data>) -> Self {
        self.text = text.into();
        self.rebuild()
    }

    /// Whether the comment is followed by an empty line (default `true`). See
    /// [which bytes to send](KeepAlive#which-bytes-to-send).
    pub fn blank_line(mut self, blank_line: bool) -> Self {
        self.blank_line = blank_line;
        self.rebuild()
    }

    /// The configured idle interval.
    #[must_use]
    pub fn idle_interval(&self) -> Duration {
        self.interval
    }

    /// The exact bytes of one keep-alive frame. Never empty.
    #[must_use]
    pub fn as_bytes(&self) -> &Bytes {
        &self.bytes
    }

    fn rebuild(mut self) -> Self {
        let mut buf = BytesMut::with_capacity(self.text.len() + 4);
        encode::lines(&mut buf, b":", self.text.as_bytes());
        if self.blank_line {
            buf.extend_from_slice(b"\n");
        }
        self.bytes = buf.freeze();
        self
    }
}

/// The running timer of one stream's keep-alive, created on first use so that a body
/// can be built outside a runtime.
#[derive(Debug)]
pub(crate) struct KeepAliveTimer {
    config: KeepAlive,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl KeepAliveTimer {
    pub(crate) fn new(config: KeepAlive) -> Self {
        Self {
            config,
            sleep: None,
        }
    }

    /// Restarts the idle interval: called for every frame sent.
    pub(crate) fn reset(&mut self) {
        if let Some(sleep) = &mut self.sleep {
            sleep.as_mut().reset(Instant::now() + self.config.interval);
        }
    }

    /// The keep-alive bytes once the stream has been idle for the interval.
    pub(crate) fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Bytes> {
        let interval = self.config.interval;
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(interval)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                sleep.as_mut().reset(Instant::now() + interval);
                Poll::Ready(self.config.bytes.clone())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_an_empty_comment_and_an_empty_line_every_15_seconds() {
        let keep_alive = KeepAlive::default();
        assert_eq!(keep_alive.as_bytes(), &b":\n\n"[..]);
        assert_eq!(keep_alive.idle_interval(), Duration::from_secs(15));
    }

    #[test]
    fn text_and_blank_line_combine_in_any_order() {
        let a = KeepAlive::new().text("hi").blank_line(false);
        let b = KeepAlive::new().blank_line(false).text("hi");
        assert_eq!(a.as_bytes(), &b": hi\n"[..]);
        assert_eq!(a, b);
        assert_eq!(KeepAlive::new().text("hi").as_bytes(), &b": hi\n\n"[..]);
    }

    #[test]
    fn text_cannot_inject_a_field() {
        let keep_alive = KeepAlive::new().text("a\r\ndata: x\rb");
        assert_eq!(keep_alive.as_bytes(), &b": a\n: data: x\n: b\n\n"[..]);
    }

    #[test]
    fn zero_interval_is_raised_to_one_millisecond() {
        let keep_alive = KeepAlive::new().interval(Duration::ZERO);
        assert_eq!(keep_alive.idle_interval(), Duration::from_millis(1));
    }
}
