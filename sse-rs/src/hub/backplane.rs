//! [`Backplane`]: where a hub's events travel.

use std::convert::Infallible;
use std::fmt;
use std::future::{ready, Future};

use super::{Hub, Subscription};
use crate::{Event, EventId, LastEventId};

/// Where a hub's events travel: this process ([`Hub`]) or a store shared by several
/// instances (`sse_redis::RedisHub`), so that an app is written once for one instance
/// and for several.
///
/// The in-process [`Hub`] is one backplane: publishing is a function call and cannot
/// fail. A shared store is another: `sse_redis::RedisHub` carries every event through
/// Redis Streams to the hubs of every instance behind a load balancer, so a client
/// resumes on any of them. An app written against the trait switches between them
/// with a constructor:
///
/// ```
/// use sse_rs::hub::{Backplane, Hub, PublishFailure};
/// use sse_rs::{Event, LastEventId, SseBody};
///
/// /// A handler that works on any backplane.
/// async fn say<B: Backplane>(hub: &B, text: &str) -> Result<(), PublishFailure> {
///     hub.publish("chat", Event::default().data(text.to_owned()))
///         .await
///         .map(drop)
///         .map_err(|error| B::failure(&error))
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let hub = Hub::new(); // or sse_redis::RedisHub::connect(url).await?
/// let subscription = Backplane::subscribe(&hub, "chat", &LastEventId::none()).await.unwrap();
/// say(&hub, "hello").await.unwrap();
/// let _response = SseBody::new(subscription).into_response();
/// # }
/// ```
///
/// Ids are the backplane's: a published event's own id is replaced by the one it
/// gets, and a subscription resumes after a client's `Last-Event-ID` in the same
/// numbering. Ids of different topics are not comparable in general (each Redis
/// stream numbers its own entries): resume one topic per id.
pub trait Backplane: Clone + fmt::Debug + Send + Sync + 'static {
    /// Why a call failed.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Publishes `event` on `topic`, to every subscriber of every instance; returns
    /// the id it got.
    fn publish(
        &self,
        topic: &str,
        event: Event,
    ) -> impl Future<Output = Result<EventId, Self::Error>> + Send;

    /// Publishes `event` at most once per `key` (within the backplane's window): the
    /// way to retry a publish whose outcome is unknown
    /// ([`PublishFailure::Unknown`]) without sending it twice. The default publishes:
    /// right for a backplane whose publish cannot be half done.
    fn publish_once(
        &self,
        topic: &str,
        key: &str,
        event: Event,
    ) -> impl Future<Output = Result<EventId, Self::Error>> + Send {
        let _ = key;
        self.publish(topic, event)
    }

    /// A subscription to `topic`: the events after `last` that are still retained
    /// (or a `reset` event first when some are gone), then live events.
    fn subscribe(
        &self,
        topic: &str,
        last: &LastEventId,
    ) -> impl Future<Output = Result<Subscription, Self::Error>> + Send;

    /// The subscriptions of this instance to `topic` that are open now.
    fn subscribers_of(&self, topic: &str) -> usize;

    /// The subscriptions of this instance that are open now.
    fn subscriber_count(&self) -> usize;

    /// Ends every subscription of this instance after `last` (if any), and refuses new
    /// ones: for a graceful stop.
    fn close(&self, last: Option<Event>);

    /// What a failed publish means for the caller.
    fn failure(error: &Self::Error) -> PublishFailure;
}

/// What a failed publish means, whatever the backplane: whether the event went out is
/// the one thing a caller must know to answer its client and to retry safely.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishFailure {
    /// Not published, to anybody (the store was unreachable, or refused): safe to
    /// report as failed and to retry.
    NotPublished,
    /// Maybe published: the command may have reached the store but no answer came
    /// back. Not a failure to report; retry with
    /// [`publish_once`](Backplane::publish_once) and the same key.
    Unknown,
    /// The request itself is bad (such as an unusable `publish_once` key): retrying
    /// it will not help.
    Invalid,
}

impl fmt::Display for PublishFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotPublished => "the event was not published",
            Self::Unknown => "the event may or may not have been published",
            Self::Invalid => "the publish request is invalid",
        })
    }
}

/// The in-process backplane: publishing is a function call, nothing can fail, and the
/// ids of every topic are one sequence.
impl Backplane for Hub {
    type Error = Infallible;

    fn publish(
        &self,
        topic: &str,
        event: Event,
    ) -> impl Future<Output = Result<EventId, Infallible>> + Send {
        ready(Ok(EventId::from(Hub::publish(self, topic, event))))
    }

    fn subscribe(
        &self,
        topic: &str,
        last: &LastEventId,
    ) -> impl Future<Output = Result<Subscription, Infallible>> + Send {
        ready(Ok(Hub::subscribe(self, &[topic], last)))
    }

    fn subscribers_of(&self, topic: &str) -> usize {
        Hub::subscribers_of(self, topic)
    }

    fn subscriber_count(&self) -> usize {
        Hub::subscriber_count(self)
    }

    fn close(&self, last: Option<Event>) {
        Hub::close(self, last);
    }

    fn failure(error: &Infallible) -> PublishFailure {
        match *error {}
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    /// Written once against the trait, as an app's handler would be.
    async fn round_trip<B: Backplane>(hub: &B) -> (EventId, EventId, Vec<String>) {
        let mut subscription = hub.subscribe("t", &LastEventId::none()).await.unwrap();
        let first = hub.publish("t", Event::default().data("a")).await.unwrap();
        let second = hub
            .publish_once("t", "key", Event::default().data("b"))
            .await
            .unwrap();
        let mut got = Vec::new();
        for _ in 0..2 {
            let event = subscription.next().await.unwrap().unwrap();
            got.push(String::from_utf8(event.as_bytes().to_vec()).unwrap());
        }
        (first, second, got)
    }

    #[tokio::test]
    async fn the_hub_is_a_backplane_with_its_own_ids() {
        let hub = Hub::new();
        let (first, second, got) = round_trip(&hub).await;
        assert_eq!((first.as_str(), second.as_str()), ("1", "2"));
        assert_eq!(got, ["id: 1\ndata: a\n\n", "id: 2\ndata: b\n\n"]);
        assert_eq!(Backplane::subscriber_count(&hub), 0);
        // A resume through the trait replays what was missed.
        let last = LastEventId::from_bytes(b"1");
        let mut resumed = Backplane::subscribe(&hub, "t", &last).await.unwrap();
        let replayed = resumed.next().await.unwrap().unwrap();
        assert_eq!(replayed.as_bytes().as_ref(), b"id: 2\ndata: b\n\n");
        assert_eq!(Backplane::subscribers_of(&hub, "t"), 1);
        Backplane::close(&hub, None);
        assert!(resumed.next().await.is_none());
    }
}
