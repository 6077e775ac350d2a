//! [`RedisHub`] as a [`Backplane`]: an app written against the trait runs on one
//! instance with `sse_rs::hub::Hub` and on several with a `RedisHub`, changing only
//! the constructor.

use std::future::Future;

use sse_rs::hub::{Backplane, PublishFailure, Subscription};
use sse_rs::{Event, EventId, LastEventId};

use crate::error::Error;
use crate::hub::RedisHub;

/// Events travel through one Redis stream per topic; ids are Redis entry ids, each
/// stream numbering its own.
impl Backplane for RedisHub {
    type Error = Error;

    async fn publish(&self, topic: &str, event: Event) -> Result<EventId, Error> {
        RedisHub::publish(self, topic, event)
            .await
            .map(|id| id.to_event_id())
    }

    async fn publish_once(&self, topic: &str, key: &str, event: Event) -> Result<EventId, Error> {
        RedisHub::publish_once(self, topic, key, event)
            .await
            .map(|published| published.id.to_event_id())
    }

    fn subscribe(
        &self,
        topic: &str,
        last: &LastEventId,
    ) -> impl Future<Output = Result<Subscription, Error>> + Send {
        RedisHub::subscribe(self, topic, last)
    }

    fn subscribers_of(&self, topic: &str) -> usize {
        RedisHub::subscribers_of(self, topic)
    }

    fn subscriber_count(&self) -> usize {
        RedisHub::subscriber_count(self)
    }

    fn close(&self, last: Option<Event>) {
        RedisHub::close(self, last);
    }

    fn failure(error: &Error) -> PublishFailure {
        match error {
            Error::Unconfirmed(_) => PublishFailure::Unknown,
            Error::InvalidKey => PublishFailure::Invalid,
            _ => PublishFailure::NotPublished,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_say_whether_the_event_went_out() {
        let io = || redis::RedisError::from(std::io::Error::other("gone"));
        assert_eq!(
            <RedisHub as Backplane>::failure(&Error::Unconfirmed(io())),
            PublishFailure::Unknown
        );
        assert_eq!(
            <RedisHub as Backplane>::failure(&Error::InvalidKey),
            PublishFailure::Invalid
        );
        for error in [Error::Redis(io()), Error::Closed, Error::Busy] {
            assert_eq!(
                <RedisHub as Backplane>::failure(&error),
                PublishFailure::NotPublished,
                "{error}"
            );
        }
    }
}
