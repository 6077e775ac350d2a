//! [`Subscription`]: one subscriber's stream of a hub's topics.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use smallvec::SmallVec;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::ReusableBoxFuture;

use super::{Hub, LagPolicy, Published, Shared, State, Topic};
use crate::{EncodedEvent, Event};

/// What waiting for the next send on a ring gives back: the result, and the receiver.
type Wait = (
    Result<Arc<Published>, RecvError>,
    broadcast::Receiver<Arc<Published>>,
);

/// The next send on the ring of `rx`, with the receiver handed back. One function, so
/// one future type: the box of a ring's wait is reused for every event.
///
/// Not an `async fn`: one keeps its argument twice in its state (as the argument,
/// and as the local it is moved into), 16 bytes more in every idle subscriber's box.
#[expect(
    clippy::manual_async_fn,
    reason = "an async fn's future is 16 bytes larger"
)]
fn next_send(
    mut rx: broadcast::Receiver<Arc<Published>>,
) -> impl Future<Output = Wait> + Send + 'static {
    async move {
        let result = rx.recv().await;
        (result, rx)
    }
}

/// One topic's ring, as one subscriber reads it: its name (to leave the ring) and the
/// future that holds the receiver until the next send.
///
/// The receiver lives in that future, always: an idle subscriber holds one boxed
/// future and nothing else per topic. The box is made once, at subscribing, and
/// reused for every event: a future that finds the event already on the ring is
/// ready at its first poll and allocates nothing.
pub(super) struct Ring {
    pub(super) topic: Topic,
    pub(super) wait: ReusableBoxFuture<'static, Wait>,
}

/// The next thing on a ring.
enum Next {
    Event(Arc<Published>),
    Lagged,
    /// The hub dropped the ring's sender: nothing more will come. The ring's future is
    /// spent: the ring must be dropped, never polled again.
    Closed,
    Pending,
}

impl Ring {
    pub(super) fn new(topic: Topic, rx: broadcast::Receiver<Arc<Published>>) -> Self {
        Self {
            topic,
            wait: ReusableBoxFuture::new(next_send(rx)),
        }
    }

    fn poll_next(&mut self, cx: &mut Context<'_>) -> Next {
        match self.wait.poll(cx) {
            Poll::Pending => Next::Pending,
            Poll::Ready((result, rx)) => match result {
                Ok(published) => {
                    self.wait.set(next_send(rx));
                    Next::Event(published)
                }
                Err(RecvError::Lagged(_)) => {
                    self.wait.set(next_send(rx));
                    Next::Lagged
                }
                Err(RecvError::Closed) => Next::Closed,
            },
        }
    }
}

/// What a subscription holds beyond one topic: the replay, and the rings of several
/// topics. Boxed, and only there when needed: an idle subscription to one topic
/// without replay does not have it.
#[derive(Default)]
pub(super) struct More {
    pub(super) replay: VecDeque<EncodedEvent>,
    /// The rings of a subscription to several topics (then `Subscription::ring` is
    /// `None`), each with the event it holds back while the others are merged.
    pub(super) rings: Vec<(Ring, Option<Arc<Published>>)>,
}

/// The events of one subscriber: replay first, then live events. Ends when the hub
/// closes or when the subscriber falls behind under [`LagPolicy::Close`]. Leaves the
/// hub when dropped.
///
/// Feed it straight into [`SseBody`](crate::SseBody) or an adapter's `Sse`.
pub struct Subscription {
    pub(super) hub: Arc<Shared>,
    /// The ring of a subscription to one topic.
    pub(super) ring: Option<Ring>,
    pub(super) more: Option<Box<More>>,
}

impl Subscription {
    /// Puts `events` before everything this subscription has not yielded yet, in
    /// their order: how a backplane that retains events itself (see
    /// [`Hub::relay`]) replays them. Subscribe first, then fetch what the client
    /// missed up to the point of subscribing, then prepend it: the live events that
    /// arrive meanwhile wait in the subscription's queue, after the replay.
    pub fn prepend(&mut self, events: impl IntoIterator<Item = EncodedEvent>) {
        let mut events: VecDeque<EncodedEvent> = events.into_iter().collect();
        if events.is_empty() {
            return;
        }
        let more = self.more.get_or_insert_with(Box::default);
        events.append(&mut more.replay);
        more.replay = events;
    }

    /// Ends the subscription: leaves every ring, drops what is left of the replay.
    fn end(&mut self) {
        let topics = self.drop_rings();
        forget_unread(&mut self.hub.state(), &topics);
    }

    /// Drops every ring (their receivers with them) and the replay, and returns the
    /// rings' topics.
    fn drop_rings(&mut self) -> SmallVec<[Topic; 1]> {
        let more = self.more.take().map(|more| more.rings).unwrap_or_default();
        self.ring
            .take()
            .into_iter()
            .chain(more.into_iter().map(|(ring, _)| ring))
            .map(|ring| ring.topic)
            .collect()
    }

    /// A ring fell behind: ends the subscription or tells it about the gap.
    fn lagged(&mut self, topic: &str) -> Poll<Option<Result<EncodedEvent, Infallible>>> {
        match self.hub.config.lag_policy {
            LagPolicy::Close => {
                crate::metrics::__record::lag_close(topic);
                self.end();
                Poll::Ready(None)
            }
            LagPolicy::SkipAhead => {
                Poll::Ready(Some(Ok(Event::default().event(Hub::GAP).data("").encode())))
            }
        }
    }

    /// The hub closed the last ring: its last event, if any, ends the stream.
    fn closed(&self) -> Poll<Option<Result<EncodedEvent, Infallible>>> {
        Poll::Ready(self.hub.state().last_event.clone().map(Ok))
    }

    /// The next event of several topics, merged in id order.
    fn poll_merged(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<EncodedEvent, Infallible>>> {
        let Some(more) = self.more.as_mut().filter(|more| !more.rings.is_empty()) else {
            // No ring left: the subscription has ended.
            return Poll::Ready(None);
        };
        // Fill every empty head. Events of different topics are merged in id order:
        // ids are given in send order under one lock, so once a head is seen, every
        // smaller id of another topic is already visible there. Keep polling the empty
        // ones until a pass finds nothing new, so no smaller id is missed.
        loop {
            let mut filled = false;
            let mut index = 0;
            while index < more.rings.len() {
                let (ring, head) = &mut more.rings[index];
                if head.is_some() {
                    index += 1;
                    continue;
                }
                match ring.poll_next(cx) {
                    Next::Event(published) => {
                        *head = Some(published);
                        filled = true;
                    }
                    Next::Lagged => {
                        let topic = ring.topic.clone();
                        return self.lagged(&topic);
                    }
                    Next::Closed => {
                        let (ring, _) = more.rings.swap_remove(index);
                        let topic = ring.topic;
                        forget_unread(&mut self.hub.state(), &[topic]);
                        continue;
                    }
                    Next::Pending => {}
                }
                index += 1;
            }
            if !filled {
                break;
            }
        }
        let next = more
            .rings
            .iter_mut()
            .filter_map(|(_, head)| Some((head.as_ref()?.id, head)))
            .min_by_key(|(id, _)| *id);
        if let Some((_, head)) = next {
            if let Some(published) = head.take() {
                return Poll::Ready(Some(Ok(published.event.clone())));
            }
        }
        if more.rings.is_empty() {
            // The hub closed every ring: send its last event, if any, then end.
            self.more = None;
            return self.closed();
        }
        Poll::Pending
    }
}

/// Removes the rings of `topics` that nobody reads any more: called with the
/// receivers of a subscription already dropped.
fn forget_unread(state: &mut State, topics: &[Topic]) {
    for topic in topics {
        if state
            .channels
            .get(&**topic)
            .is_some_and(|tx| tx.receiver_count() == 0)
        {
            state.channels.remove(&**topic);
        }
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (replay, rings) = self
            .more
            .as_ref()
            .map_or((0, 0), |more| (more.replay.len(), more.rings.len()));
        f.debug_struct("Subscription")
            .field("replay", &replay)
            .field("topics", &(rings + usize::from(self.ring.is_some())))
            .finish_non_exhaustive()
    }
}

impl Stream for Subscription {
    type Item = Result<EncodedEvent, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let Some(event) = this.more.as_mut().and_then(|more| more.replay.pop_front()) {
            return Poll::Ready(Some(Ok(event)));
        }
        let Some(ring) = &mut this.ring else {
            return this.poll_merged(cx);
        };
        match ring.poll_next(cx) {
            Next::Event(published) => Poll::Ready(Some(Ok(published.event.clone()))),
            Next::Pending => Poll::Pending,
            Next::Lagged => {
                let topic = ring.topic.clone();
                this.lagged(&topic)
            }
            Next::Closed => {
                this.end();
                this.closed()
            }
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // Drop the receivers first, so that a ring nobody reads any more can go.
        let topics = self.drop_rings();
        let mut state = self.hub.state();
        forget_unread(&mut state, &topics);
        // A subscription made after `close` was never counted, and `close` set the
        // count to 0 for the others: only one made and dropped while open counts.
        if !state.closed {
            state.subscribers -= 1;
        }
    }
}
