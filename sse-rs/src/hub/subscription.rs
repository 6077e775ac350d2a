//! [`Subscription`]: one subscriber's stream of a hub's topics.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use smallvec::SmallVec;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio_util::sync::ReusableBoxFuture;

use super::{Hub, LagPolicy, Published, Shared};
use crate::{EncodedEvent, Event};

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
pub(super) struct Receiver {
    pub(super) topic: Arc<str>,
    /// The receiver, unless it is inside `wait`.
    pub(super) rx: Option<broadcast::Receiver<Arc<Published>>>,
    pub(super) wait: Option<ReusableBoxFuture<'static, Wait>>,
    pub(super) head: Option<Arc<Published>>,
    pub(super) done: bool,
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
    pub(super) replay: VecDeque<EncodedEvent>,
    /// Inline for the usual single topic: an idle subscription costs no allocation of
    /// its own beyond the ring's receiver.
    pub(super) receivers: SmallVec<[Receiver; 1]>,
    pub(super) lag_policy: LagPolicy,
    pub(super) hub: Arc<Shared>,
    pub(super) counted: bool,
    pub(super) ended: bool,
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
                            crate::metrics::__record::lag_close(&receiver.topic);
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
