//! [`StreamGate`]: what every adapter's middleware does around an event-stream
//! response, written once: admission under a [`StreamLimit`], the slot an open stream
//! holds, and the end of the stream when a [`Shutdown`] signal fires.
//!
//! The tower `SseLayer` and sse-actix's `SseMiddleware` only
//! translate their framework's types to these calls.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use sync_wrapper::SyncWrapper;

use crate::adapter::{accepts_event_stream, is_event_stream};
use crate::limit::{Refusal, StreamLimit, StreamSlot};
use crate::shutdown::Shutdown;

/// The settings of an adapter's middleware: an optional limit on open event streams
/// and an optional shutdown signal. Cheap to clone; clones share the limit's count.
///
/// A request goes through two steps:
///
/// 1. [`request`](StreamGate::request), before the handler: a request that asks for
///    an event stream (`Accept: text/event-stream`, as `EventSource` sends) takes a
///    slot, or is refused at once when there is none, before the handler does any work.
/// 2. [`Admission::response`], with the handler's response: what counts is what the
///    response *is*. An event stream holds a slot (taken now if the request did not ask
///    for one, so leaving out the `Accept` header does not get around the limit) and
///    gets a [`StreamGuard`]; any other response gives its slot back at once.
///
/// ```
/// use sse_rs::adapter::StreamGate;
/// use sse_rs::limit::StreamLimit;
///
/// let gate = StreamGate::new().limit(StreamLimit::new(1));
/// // A request without `Accept: text/event-stream` takes no slot up front...
/// let plain = gate.request([]).expect("no slot needed yet");
/// // ...but its response is an event stream, so it takes one now.
/// let guard = plain.response(Some(b"text/event-stream")).expect("a free slot");
/// assert!(guard.holds_slot());
/// // The next event stream is refused, however the request was made.
/// let refusal = gate.request([]).unwrap().response(Some(b"text/event-stream")).unwrap_err();
/// assert_eq!(refusal.status, 200);
/// drop(guard);
/// assert_eq!(gate.stream_limit().unwrap().available(), 1);
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct StreamGate {
    limit: Option<StreamLimit>,
    shutdown: Option<Shutdown>,
}

impl StreamGate {
    /// A gate with no limit and no shutdown signal: every request passes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Limits the event streams open through this gate (and its clones) at once.
    pub fn limit(mut self, limit: StreamLimit) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Ends every event stream through this gate when `signal` fires.
    pub fn shutdown(mut self, signal: Shutdown) -> Self {
        self.shutdown = Some(signal);
        self
    }

    /// The limit, if any.
    #[must_use]
    pub fn stream_limit(&self) -> Option<&StreamLimit> {
        self.limit.as_ref()
    }

    /// The first step, before the handler runs, with the request's `Accept` header
    /// values.
    ///
    /// # Errors
    ///
    /// The answer to send instead of calling the handler, when the request asks for an
    /// event stream and the limit is reached.
    pub fn request<'a>(
        &self,
        accept: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Admission, Refusal> {
        let mut slot = None;
        if let Some(limit) = &self.limit {
            if accepts_event_stream(accept) {
                slot = Some(limit.try_acquire().ok_or_else(|| refuse(limit))?);
            }
        }
        Ok(Admission {
            slot,
            limit: self.limit.clone(),
            shutdown: self.shutdown.clone(),
        })
    }
}

/// A request let through a [`StreamGate`], waiting for its response: see
/// [`StreamGate::request`].
#[derive(Debug)]
#[must_use]
pub struct Admission {
    slot: Option<StreamSlot>,
    limit: Option<StreamLimit>,
    shutdown: Option<Shutdown>,
}

impl Admission {
    /// The second step, with the response's `Content-Type`. An event stream keeps the
    /// request's slot, or takes one now; any other response lets the slot go.
    ///
    /// # Errors
    ///
    /// The answer to send instead of the response (which is then dropped, and with it
    /// its stream), when it is an event stream and the limit is reached.
    pub fn response(self, content_type: Option<&[u8]>) -> Result<StreamGuard, Refusal> {
        if !is_event_stream(content_type) {
            return Ok(StreamGuard::unguarded());
        }
        let slot = match (self.slot, &self.limit) {
            (Some(slot), _) => Some(slot),
            (None, Some(limit)) => Some(limit.try_acquire().ok_or_else(|| refuse(limit))?),
            (None, None) => None,
        };
        Ok(StreamGuard {
            slot,
            shutdown: self
                .shutdown
                .map(|signal| SyncWrapper::new(Box::pin(signal.wait()) as SignalFuture)),
            stopping: false,
            done: false,
        })
    }
}

/// The limit's refusal, counted.
fn refuse(limit: &StreamLimit) -> Refusal {
    let refusal = limit.refusal();
    crate::metrics::__record::refused_stream(refusal.status);
    refusal
}

type SignalFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// What an admitted event-stream body carries: its slot under the limit, held until
/// the body ends or is dropped, and the shutdown signal, which ends the body after
/// what it has ready at that moment (an `SseBody` given the same signal sends its last
/// event then).
///
/// An adapter's body calls [`poll_next`](StreamGuard::poll_next) with a closure that
/// polls the inner body once.
#[must_use]
pub struct StreamGuard {
    slot: Option<StreamSlot>,
    shutdown: Option<SyncWrapper<SignalFuture>>,
    stopping: bool,
    done: bool,
}

impl StreamGuard {
    /// A guard with no slot and no signal: the body passes through untouched.
    pub fn unguarded() -> Self {
        Self {
            slot: None,
            shutdown: None,
            stopping: false,
            done: false,
        }
    }

    /// Whether this body holds a slot under the limit.
    #[must_use]
    pub fn holds_slot(&self) -> bool {
        self.slot.is_some()
    }

    /// Whether the body has ended (through its own end or the shutdown signal).
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Polls the inner body through `poll_inner` and passes on what it yields. The end
    /// of the inner body ends the guarded one and gives the slot back; once the
    /// shutdown signal has fired, the first poll with nothing ready ends it too.
    pub fn poll_next<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll_inner: impl FnOnce(&mut Context<'_>) -> Poll<Option<T>>,
    ) -> Poll<Option<T>> {
        if self.done {
            return Poll::Ready(None);
        }
        if let Some(signal) = &mut self.shutdown {
            if signal.get_mut().as_mut().poll(cx).is_ready() {
                self.shutdown = None;
                self.stopping = true;
            }
        }
        match poll_inner(cx) {
            Poll::Ready(Some(item)) => Poll::Ready(Some(item)),
            Poll::Pending if !self.stopping => Poll::Pending,
            // The end, or shutting down with nothing more ready: give the slot back.
            _ => {
                self.done = true;
                self.slot = None;
                Poll::Ready(None)
            }
        }
    }
}

impl fmt::Debug for StreamGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamGuard")
            .field("holds_slot", &self.slot.is_some())
            .field("stopping", &self.stopping)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::task::Waker;

    use super::*;

    const EVENT_STREAM: Option<&[u8]> = Some(b"text/event-stream");
    const ACCEPT_STREAM: [&[u8]; 1] = [b"text/event-stream"];

    /// A scripted inner body: each poll takes the next step.
    fn poll_script<'a>(
        script: &'a mut VecDeque<Poll<Option<u32>>>,
    ) -> impl FnOnce(&mut Context<'_>) -> Poll<Option<u32>> + 'a {
        move |_| script.pop_front().unwrap_or(Poll::Pending)
    }

    fn context() -> Context<'static> {
        Context::from_waker(Waker::noop())
    }

    #[test]
    fn an_event_stream_request_takes_its_slot_before_the_handler() {
        let limit = StreamLimit::new(1);
        let gate = StreamGate::new().limit(limit.clone());
        let first = gate.request(ACCEPT_STREAM).unwrap();
        assert_eq!(limit.available(), 0);
        let refused = gate.request(ACCEPT_STREAM).unwrap_err();
        assert_eq!(refused, limit.refusal());
        let guard = first.response(EVENT_STREAM).unwrap();
        assert!(guard.holds_slot());
        drop(guard);
        assert_eq!(limit.available(), 1);
    }

    #[test]
    fn a_response_that_is_not_an_event_stream_gives_the_slot_back() {
        let limit = StreamLimit::new(1);
        let gate = StreamGate::new().limit(limit.clone());
        let admitted = gate.request(ACCEPT_STREAM).unwrap();
        let guard = admitted.response(Some(b"text/html")).unwrap();
        assert!(!guard.holds_slot());
        assert_eq!(limit.available(), 1);
    }

    #[test]
    fn an_event_stream_counts_whatever_the_request_claimed() {
        let limit = StreamLimit::new(1);
        let gate = StreamGate::new().limit(limit.clone());
        // No Accept header at all: nothing taken up front, the response takes it.
        let sneaky = gate.request([]).unwrap();
        assert_eq!(limit.available(), 1);
        let guard = sneaky.response(EVENT_STREAM).unwrap();
        assert!(guard.holds_slot());
        assert_eq!(limit.available(), 0);
        // The next one, honest or not, is refused.
        assert!(gate.request(ACCEPT_STREAM).is_err());
        let refused = gate.request([&b"*/*"[..]]).unwrap();
        assert_eq!(refused.response(EVENT_STREAM).unwrap_err(), limit.refusal());
        drop(guard);
        assert_eq!(limit.available(), 1);
    }

    #[test]
    fn without_a_limit_every_request_passes() {
        let gate = StreamGate::new();
        for _ in 0..3 {
            let guard = gate.request(ACCEPT_STREAM).unwrap();
            assert!(!guard.response(EVENT_STREAM).unwrap().holds_slot());
        }
    }

    #[test]
    fn the_end_of_the_inner_body_gives_the_slot_back() {
        let limit = StreamLimit::new(1);
        let gate = StreamGate::new().limit(limit.clone());
        let mut guard = gate
            .request(ACCEPT_STREAM)
            .unwrap()
            .response(EVENT_STREAM)
            .unwrap();
        let mut script = VecDeque::from([Poll::Ready(Some(1)), Poll::Pending, Poll::Ready(None)]);
        let mut cx = context();
        assert_eq!(
            guard.poll_next(&mut cx, poll_script(&mut script)),
            Poll::Ready(Some(1))
        );
        assert_eq!(
            guard.poll_next(&mut cx, poll_script(&mut script)),
            Poll::Pending
        );
        assert_eq!(limit.available(), 0);
        assert_eq!(
            guard.poll_next(&mut cx, poll_script(&mut script)),
            Poll::Ready(None)
        );
        assert!(guard.is_done() && !guard.holds_slot());
        assert_eq!(limit.available(), 1);
        // Ended for good: the inner body is not polled again.
        let mut never = VecDeque::from([Poll::Ready(Some(9))]);
        assert_eq!(
            guard.poll_next(&mut cx, poll_script(&mut never)),
            Poll::Ready(None)
        );
        assert_eq!(never.len(), 1);
    }

    #[test]
    fn shutdown_passes_on_what_is_ready_then_ends() {
        let (trigger, signal) = Shutdown::new();
        let limit = StreamLimit::new(1);
        let gate = StreamGate::new().limit(limit.clone()).shutdown(signal);
        let mut guard = gate
            .request(ACCEPT_STREAM)
            .unwrap()
            .response(EVENT_STREAM)
            .unwrap();
        let mut cx = context();
        let mut script = VecDeque::from([Poll::Pending]);
        assert_eq!(
            guard.poll_next(&mut cx, poll_script(&mut script)),
            Poll::Pending
        );
        trigger.fire();
        // The last event the inner body has ready still goes out...
        let mut script = VecDeque::from([Poll::Ready(Some(7)), Poll::Pending]);
        assert_eq!(
            guard.poll_next(&mut cx, poll_script(&mut script)),
            Poll::Ready(Some(7))
        );
        // ...and the first poll with nothing ready ends the body, however endless.
        assert_eq!(
            guard.poll_next(&mut cx, poll_script(&mut script)),
            Poll::Ready(None)
        );
        assert_eq!(limit.available(), 1);
    }

    #[test]
    fn an_unguarded_body_passes_through() {
        let mut guard = StreamGuard::unguarded();
        let mut cx = context();
        let mut script = VecDeque::from([Poll::Pending, Poll::Ready(Some(1)), Poll::Ready(None)]);
        assert_eq!(
            guard.poll_next(&mut cx, poll_script(&mut script)),
            Poll::Pending
        );
        assert_eq!(
            guard.poll_next(&mut cx, poll_script(&mut script)),
            Poll::Ready(Some(1))
        );
        assert_eq!(
            guard.poll_next(&mut cx, poll_script(&mut script)),
            Poll::Ready(None)
        );
    }
}
