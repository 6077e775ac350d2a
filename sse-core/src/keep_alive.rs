//! [`KeepAlive`]: comment frames that keep an idle connection open.

use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use crate::encode;
use crate::event::Data;
use crate::timer::{Sleep, Timer};

/// The shortest interval a keep-alive may have; shorter ones are raised to it.
const MIN_INTERVAL: Duration = Duration::from_millis(1);

/// Sends a comment when the stream has been idle for a while, so that proxies and
/// load balancers do not close a quiet connection.
///
/// The comment is a frame of its own, sent only between events and only after
/// [`interval`](KeepAlive::interval) without any other frame; every frame restarts the
/// timer, so a busy stream never carries keep-alives.
///
/// The default is a bare `:` comment line (`:\n`) every 15 seconds, with no empty
/// line after it: the one form every client we test reads right (below).
///
/// ```
/// use std::time::Duration;
/// use sse_rs_core::KeepAlive;
///
/// assert_eq!(KeepAlive::default().as_bytes(), &b":\n"[..]);
///
/// let keep_alive = KeepAlive::new()
///     .interval(Duration::from_secs(30))
///     .text("ping");
/// assert_eq!(keep_alive.as_bytes(), &b": ping\n"[..]);
///
/// // A comment followed by an empty line: see below before sending it.
/// let block = KeepAlive::new().blank_line(true);
/// assert_eq!(block.as_bytes(), &b":\n\n"[..]);
/// ```
///
/// # Build once, clone per response
///
/// Clones share their settings: a clone is one pointer, and the timer of every body
/// it is given to holds that pointer rather than a copy of the settings (the builder
/// methods copy the settings before changing them, so a change never reaches another
/// clone). Build a keep-alive once and clone it for each response;
/// `KeepAlive::default()` shares one default made once per process.
///
/// # Which bytes to send
///
/// Browsers ignore comments and empty lines between events, whichever form. Other
/// clients do not all: the official `openai` Python package (3.51.0) and httpx-sse
/// (0.4.3, its issue #35) dispatch an empty event at every empty line once an event
/// carried an `id:`, so a comment followed by an empty line (`:\n\n`, `: ping\n\n`)
/// after such events becomes an empty event: `openai` raises `JSONDecodeError`
/// mid-answer, httpx-sse yields an event with empty data. The comment line alone
/// (`:\n`, the default) is dispatched by no parser: measured with real clients
/// (`openai` for Python and for Node.js, httpx-sse, npm `eventsource`, Chromium, our
/// client) in the workspace's `tests/tests/llm_clients.rs`, and tabled in its README.
/// [`blank_line(true)`](KeepAlive::blank_line) sends the empty line too, for a peer
/// that needs it (none we know of).
///
/// # Which timer
///
/// With the default feature `tokio`, the interval is timed by tokio and the body must
/// be polled inside a tokio runtime with time enabled (axum, actix-web, warp and
/// hyper-util servers all are). Any other executor plugs its own clock in with
/// [`timer`](KeepAlive::timer). Without the `tokio` feature and without a timer, no
/// keep-alive is sent (a warning is logged once per stream): the crate never panics
/// for want of a runtime.
#[derive(Clone)]
#[must_use]
pub struct KeepAlive {
    // Shared by every clone, copied on write by the builder methods: a body's timer
    // holds this one pointer, not a copy of the settings.
    settings: Arc<Settings>,
}

/// What a [`KeepAlive`] is set to, shared by its clones and the timers made from it.
#[derive(Clone)]
struct Settings {
    interval: Duration,
    text: Data,
    blank_line: bool,
    // The frame, made from `text` and `blank_line` whenever either changes.
    bytes: Bytes,
    timer: Option<Arc<dyn Timer>>,
}

/// The default settings, made once per process: `KeepAlive::default()` shares them,
/// so a body with the default keep-alive holds no settings of its own.
static DEFAULT: LazyLock<Arc<Settings>> = LazyLock::new(|| {
    Arc::new(Settings {
        interval: Duration::from_secs(15),
        text: Data::default(),
        blank_line: false,
        bytes: Bytes::from_static(b":\n"),
        timer: None,
    })
});

impl PartialEq for KeepAlive {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (&*self.settings, &*other.settings);
        let same_timer = match (&a.timer, &b.timer) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        Arc::ptr_eq(&self.settings, &other.settings)
            || (a.interval == b.interval
                && a.blank_line == b.blank_line
                && a.bytes == b.bytes
                && same_timer)
    }
}

impl Eq for KeepAlive {}

impl fmt::Debug for KeepAlive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeepAlive")
            .field("interval", &self.settings.interval)
            .field("bytes", &self.settings.bytes)
            .field("timer", &self.settings.timer)
            .finish()
    }
}

impl Default for KeepAlive {
    fn default() -> Self {
        Self::new()
    }
}

impl KeepAlive {
    /// A keep-alive of `:\n` every 15 seconds.
    pub fn new() -> Self {
        Self {
            settings: Arc::clone(&DEFAULT),
        }
    }

    /// Times the interval with `timer` instead of the default (tokio's, with the
    /// feature `tokio`). See [`timer`](crate::timer).
    pub fn timer(mut self, timer: impl Timer) -> Self {
        self.settings_mut().timer = Some(Arc::new(timer));
        self
    }

    /// How long the stream must be idle before a keep-alive is sent (default 15 s;
    /// anything below one millisecond is raised to one millisecond).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.settings_mut().interval = interval.max(MIN_INTERVAL);
        self
    }

    /// The comment text (default empty). Line breaks in it become separate comment
    /// lines, so the text can never turn into a field.
    pub fn text(mut self, text: impl Into<Data>) -> Self {
        self.settings_mut().text = text.into();
        self.rebuild()
    }

    /// Whether the comment is followed by an empty line (default `false`). See
    /// [which bytes to send](KeepAlive#which-bytes-to-send).
    pub fn blank_line(mut self, blank_line: bool) -> Self {
        self.settings_mut().blank_line = blank_line;
        self.rebuild()
    }

    /// The configured idle interval.
    #[must_use]
    pub fn idle_interval(&self) -> Duration {
        self.settings.interval
    }

    /// The exact bytes of one keep-alive frame. Never empty.
    #[must_use]
    pub fn as_bytes(&self) -> &Bytes {
        &self.settings.bytes
    }

    /// The settings to change: this keep-alive's own, copied first if they are
    /// shared (with its clones, or the process-wide default).
    fn settings_mut(&mut self) -> &mut Settings {
        Arc::make_mut(&mut self.settings)
    }

    fn rebuild(mut self) -> Self {
        let settings = self.settings_mut();
        let mut buf = BytesMut::with_capacity(settings.text.len() + 4);
        encode::lines(&mut buf, b":", settings.text.as_bytes());
        if settings.blank_line {
            buf.extend_from_slice(b"\n");
        }
        settings.bytes = buf.freeze();
        self
    }
}

/// The running timer of one stream's keep-alive, created on first use so that a body
/// can be built outside a runtime.
///
/// It lives in the box of every idle body with keep-alive, so every byte counts per
/// stream: it holds the [`KeepAlive`]'s shared settings (one pointer) and, once
/// polled, its sleep (24 bytes in all).
pub(crate) struct KeepAliveTimer {
    settings: Arc<Settings>,
    // `None` until the first poll; then the sleep, reset in place for every frame.
    // With no timer to run on (no `tokio` feature, none set) it is `Inert`, which
    // never completes: the keep-alive is off. (Zero-sized: its box allocates
    // nothing.)
    sleep: Option<Pin<Box<dyn Sleep>>>,
}

impl fmt::Debug for KeepAliveTimer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeepAliveTimer")
            .field("interval", &self.settings.interval)
            .field("bytes", &self.settings.bytes)
            .field("timer", &self.settings.timer.is_some())
            .field("started", &self.sleep.is_some())
            .finish()
    }
}

impl KeepAliveTimer {
    pub(crate) fn new(config: KeepAlive) -> Self {
        Self {
            settings: config.settings,
            sleep: None,
        }
    }

    /// Restarts the idle interval: called for every frame sent.
    pub(crate) fn reset(&mut self) {
        if let Some(sleep) = &mut self.sleep {
            sleep.as_mut().reset(self.settings.interval);
        }
    }

    /// The keep-alive bytes once the stream has been idle for the interval.
    pub(crate) fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Bytes> {
        let settings = &*self.settings;
        let sleep = self.sleep.get_or_insert_with(|| {
            start(settings.timer.as_deref(), settings.interval).unwrap_or_else(|| {
                tracing::warn!(
                    "keep-alive is set but has no timer (no `tokio` feature and no \
                     `KeepAlive::timer`): no keep-alive is sent"
                );
                Box::pin(Inert)
            })
        });
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                sleep.as_mut().reset(settings.interval);
                Poll::Ready(settings.bytes.clone())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The sleep of a keep-alive that has no timer to run on: never due.
struct Inert;

impl std::future::Future for Inert {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

impl Sleep for Inert {
    fn reset(self: Pin<&mut Self>, _after: Duration) {}
}

/// The first sleep: on the configured timer, else on tokio's (feature `tokio`).
fn start(timer: Option<&dyn Timer>, interval: Duration) -> Option<Pin<Box<dyn Sleep>>> {
    match timer {
        Some(timer) => Some(timer.sleep(interval)),
        #[cfg(feature = "tokio")]
        None => Some(crate::timer::Timer::sleep(
            &crate::timer::TokioTimer,
            interval,
        )),
        #[cfg(not(feature = "tokio"))]
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;

    use super::*;

    #[test]
    fn default_is_an_empty_comment_line_every_15_seconds() {
        let keep_alive = KeepAlive::default();
        assert_eq!(keep_alive.as_bytes(), &b":\n"[..]);
        assert_eq!(keep_alive.idle_interval(), Duration::from_secs(15));
    }

    #[test]
    fn text_and_blank_line_combine_in_any_order() {
        let a = KeepAlive::new().text("hi").blank_line(false);
        let b = KeepAlive::new().blank_line(false).text("hi");
        assert_eq!(a.as_bytes(), &b": hi\n"[..]);
        assert_eq!(a, b);
        assert_eq!(KeepAlive::new().text("hi").as_bytes(), &b": hi\n"[..]);
        assert_eq!(
            KeepAlive::new().text("hi").blank_line(true).as_bytes(),
            &b": hi\n\n"[..]
        );
    }

    #[test]
    fn text_cannot_inject_a_field() {
        let keep_alive = KeepAlive::new().text("a\r\ndata: x\rb");
        assert_eq!(keep_alive.as_bytes(), &b": a\n: data: x\n: b\n"[..]);
    }

    /// A clock the test moves by hand: every sleep it made is due once `fire` is
    /// called, until it is reset. No runtime is involved.
    #[derive(Debug, Default, Clone)]
    struct ManualTimer(Arc<std::sync::Mutex<Vec<Arc<std::sync::atomic::AtomicBool>>>>);

    struct ManualSleep(Arc<std::sync::atomic::AtomicBool>);

    impl ManualTimer {
        fn fire(&self) {
            for due in self.0.lock().unwrap().iter() {
                due.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
    }

    impl Timer for ManualTimer {
        fn sleep(&self, _after: Duration) -> Pin<Box<dyn Sleep>> {
            let due = Arc::new(std::sync::atomic::AtomicBool::new(false));
            self.0.lock().unwrap().push(due.clone());
            Box::pin(ManualSleep(due))
        }
    }

    impl Future for ManualSleep {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            if self.0.load(std::sync::atomic::Ordering::SeqCst) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }
    }

    impl Sleep for ManualSleep {
        fn reset(self: Pin<&mut Self>, _after: Duration) {
            self.0.store(false, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[test]
    fn a_custom_timer_runs_keep_alive_without_any_runtime() {
        let clock = ManualTimer::default();
        let mut timer = KeepAliveTimer::new(KeepAlive::new().text("ping").timer(clock.clone()));
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!(timer.poll_tick(&mut cx).is_pending());
        clock.fire();
        assert_eq!(
            timer.poll_tick(&mut cx),
            Poll::Ready(Bytes::from_static(b": ping\n"))
        );
        // Ticking restarts the interval.
        assert!(timer.poll_tick(&mut cx).is_pending());
        // So does a frame.
        clock.fire();
        timer.reset();
        assert!(timer.poll_tick(&mut cx).is_pending());
        assert_eq!(
            clock.0.lock().unwrap().len(),
            1,
            "one sleep per stream, reset in place"
        );
    }

    #[cfg(not(feature = "tokio"))]
    #[test]
    fn without_tokio_and_without_a_timer_keep_alive_is_off_not_a_panic() {
        let mut timer = KeepAliveTimer::new(KeepAlive::new().interval(Duration::from_millis(1)));
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        for _ in 0..3 {
            assert!(timer.poll_tick(&mut cx).is_pending());
        }
    }

    #[test]
    fn keep_alives_are_equal_when_their_bytes_interval_and_timer_are() {
        let clock = ManualTimer::default();
        let a = KeepAlive::new().timer(clock.clone());
        assert_eq!(a, a.clone());
        assert_ne!(a, KeepAlive::new().timer(clock));
        assert_ne!(a, KeepAlive::new());
        assert_eq!(KeepAlive::new(), KeepAlive::default());
    }

    #[test]
    fn clones_share_their_settings_and_changes_copy_them() {
        let a = KeepAlive::new().text("ping");
        let b = a.clone();
        assert!(Arc::ptr_eq(&a.settings, &b.settings));
        assert!(Arc::ptr_eq(
            &KeepAlive::default().settings,
            &KeepAlive::new().settings
        ));
        // A change to a clone leaves the others as they were.
        let c = b.clone().interval(Duration::from_secs(1)).blank_line(true);
        assert_eq!(a.idle_interval(), Duration::from_secs(15));
        assert_eq!(a.as_bytes(), &b": ping\n"[..]);
        assert_eq!(c.idle_interval(), Duration::from_secs(1));
        assert_eq!(c.as_bytes(), &b": ping\n\n"[..]);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(KeepAlive::default().as_bytes(), &b":\n"[..]);
        // Equal settings made apart are equal.
        assert_eq!(KeepAlive::new().text("ping"), a);
    }

    /// The timer lives in the box of every idle body with keep-alive: the shared
    /// settings (one pointer) and the sleep (a boxed `dyn Sleep`, 16 bytes), 24 bytes
    /// in all; was 88 with a copy of the interval, the bytes and the timer inline.
    /// Putting any of them back inline (or an inert flag: it is a zero-sized sleep)
    /// fails this.
    #[test]
    fn a_keep_alive_timer_is_one_pointer_and_its_sleep() {
        let size = std::mem::size_of::<KeepAliveTimer>();
        assert!(size <= 24, "KeepAliveTimer is {size} bytes");
        let size = std::mem::size_of::<Option<KeepAliveTimer>>();
        assert!(size <= 24, "Option<KeepAliveTimer> is {size} bytes");
    }

    #[test]
    fn zero_interval_is_raised_to_one_millisecond() {
        let keep_alive = KeepAlive::new().interval(Duration::ZERO);
        assert_eq!(keep_alive.idle_interval(), Duration::from_millis(1));
    }
}
