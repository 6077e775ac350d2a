//! [`RedisAnswers`]: resumable answers (as [`sse_rs::resume::Answers`]) on Redis
//! Streams, so that a client that reloads mid-answer resumes on whichever instance the
//! load balancer sends it to.

use std::fmt;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use sse_rs::hub::Subscription;
use sse_rs::{EncodedEvent, Event, EventType, LastEventId};

use crate::entry_id::EntryId;
use crate::error::Error;
use crate::hub::RedisHub;

/// The type of the entry that opens an answer's stream (so that a resume before the
/// first event finds it): never sent to a client.
const START: EventType = EventType::from_static("sse-rs.answer.start");
/// The type of the entry that ends an answer: never sent to a client; its stream ends.
const END: EventType = EventType::from_static("sse-rs.answer.end");
/// The longest answer id.
const MAX_ID: usize = 128;

/// Answers kept in Redis under an id, that a client resumes with its `Last-Event-ID`
/// on any instance: the Redis twin of [`sse_rs::resume::Answers`], on a
/// [`RedisHub`].
///
/// Each answer is one stream (`<prefix>answer:<id>`) read by the hub's reader of
/// that topic on each instance where a client reads it; its events' ids are the Redis
/// entry ids. When the answer ends, the stream expires after the
/// [`ttl`](RedisAnswers::ttl); a running answer's stream expires if its writer stops
/// writing for [`running_ttl`](RedisAnswers::running_ttl) (an instance that died
/// mid-answer). Every instance reading an answer holds one Redis connection for it
/// while a client reads (the hub's reader per topic).
///
/// ```no_run
/// use sse_redis::{Event, LastEventId, RedisAnswers, RedisHub};
///
/// # async fn run() -> Result<(), sse_redis::Error> {
/// let hub = RedisHub::connect("redis://127.0.0.1:6379/").await?;
/// let answers = RedisAnswers::new(hub);
/// let mut writer = answers.start("answer-7f3a").await?;
/// writer.send(Event::default().data("Hel")).await?;
/// // On any instance, a reload that saw nothing yet:
/// let stream = answers.resume("answer-7f3a", &LastEventId::none()).await?;
/// writer.finish(Some(Event::default().data("[DONE]"))).await?;
/// # drop(stream); Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisAnswers {
    hub: RedisHub,
    ttl: Duration,
    running_ttl: Duration,
}

impl fmt::Debug for RedisAnswers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisAnswers")
            .field("ttl", &self.ttl)
            .field("running_ttl", &self.running_ttl)
            .finish_non_exhaustive()
    }
}

/// The hub topic of the answer `id`.
fn topic(id: &str) -> Result<String, Error> {
    if id.is_empty() || id.len() > MAX_ID {
        return Err(Error::InvalidKey);
    }
    Ok(format!("answer:{id}"))
}

/// `EXPIRE key ttl` (at least one second).
async fn expire(hub: &RedisHub, topic: &str, ttl: Duration) -> Result<(), Error> {
    let inner = hub.shared();
    let mut command = redis::cmd("EXPIRE");
    command
        .arg(inner.config.key(topic))
        .arg(ttl.as_secs().max(1));
    let mut connection = inner.publisher.clone();
    command.query_async::<i64>(&mut connection).await?;
    Ok(())
}

/// Whether the stream of `topic` exists.
async fn exists(hub: &RedisHub, topic: &str) -> Result<bool, Error> {
    let inner = hub.shared();
    let mut command = redis::cmd("EXISTS");
    command.arg(inner.config.key(topic));
    let mut connection = inner.publisher.clone();
    Ok(command.query_async::<i64>(&mut connection).await? == 1)
}

impl RedisAnswers {
    /// Answers on `hub`, kept 5 minutes after they end, and dropped when their writer
    /// has not written for an hour.
    #[must_use]
    pub fn new(hub: RedisHub) -> Self {
        Self {
            hub,
            ttl: Duration::from_secs(300),
            running_ttl: Duration::from_secs(3600),
        }
    }

    /// How long an answer is kept after it ended (default 5 minutes; whole seconds,
    /// at least one).
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// How long a running answer is kept after its writer last wrote (default one
    /// hour): the bound on an answer whose instance died before it ended.
    #[must_use]
    pub fn running_ttl(mut self, ttl: Duration) -> Self {
        self.running_ttl = ttl;
        self
    }

    /// Starts the answer `id` (1 to 128 bytes; make it unguessable: whoever knows it
    /// can read the answer).
    ///
    /// # Errors
    ///
    /// [`Error::AnswerExists`] when an answer is kept under `id`;
    /// [`Error::InvalidKey`] for an empty or too long id; the hub's errors when Redis
    /// fails.
    pub async fn start(&self, id: &str) -> Result<RedisAnswerWriter, Error> {
        let topic = topic(id)?;
        if exists(&self.hub, &topic).await? {
            return Err(Error::AnswerExists);
        }
        self.hub
            .publish(&topic, Event::default().event(START).data(""))
            .await?;
        expire(&self.hub, &topic, self.running_ttl).await?;
        Ok(RedisAnswerWriter {
            hub: self.hub.clone(),
            topic,
            ttl: self.ttl,
            running_ttl: self.running_ttl,
            refreshed: tokio::time::Instant::now(),
            finished: false,
        })
    }

    /// The answer `id` after the event `last` names (from its start when `last` is
    /// empty), then live, until its end.
    ///
    /// # Errors
    ///
    /// [`Error::AnswerNotFound`] when no answer is kept under `id` (never was, or
    /// expired); [`Error::UnknownLastEventId`] when `last` is not an event of this
    /// answer (or no longer kept); the hub's errors when Redis fails.
    pub async fn resume(&self, id: &str, last: &LastEventId) -> Result<RedisAnswerStream, Error> {
        let topic = topic(id)?;
        if !exists(&self.hub, &topic).await? {
            return Err(Error::AnswerNotFound);
        }
        let inner = self.hub.shared();
        let key = inner.config.key(&topic);
        let last = if last.as_str().is_some() {
            let after = EntryId::from_last_event_id(last).ok_or(Error::UnknownLastEventId)?;
            if !crate::stream::exists(&inner.publisher, &key, after).await? {
                return Err(Error::UnknownLastEventId);
            }
            last.clone()
        } else {
            // From the start: after the marker that opens the answer (the hub, asked
            // for no id, would give live events only). A stream that no longer starts
            // with it was trimmed (the hub's `max_len`): its start is gone.
            let opening = crate::stream::first(&inner.publisher, &key)
                .await?
                .ok_or(Error::AnswerNotFound)?;
            if !opening.event().is_some_and(|event| is(&event, START_LINE)) {
                return Err(Error::AnswerGone);
            }
            LastEventId::from_bytes(opening.id.to_string().as_bytes())
        };
        let subscription = self.hub.subscribe(&topic, &last).await?;
        Ok(RedisAnswerStream {
            subscription,
            done: false,
        })
    }
}

/// The producer's end of an answer in Redis (see [`RedisAnswers::start`]). Finish it
/// with [`finish`](RedisAnswerWriter::finish); one dropped unfinished ends the answer
/// from a task of its own (if a tokio runtime is there to run it).
pub struct RedisAnswerWriter {
    hub: RedisHub,
    topic: String,
    ttl: Duration,
    running_ttl: Duration,
    refreshed: tokio::time::Instant,
    finished: bool,
}

impl fmt::Debug for RedisAnswerWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisAnswerWriter")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl RedisAnswerWriter {
    /// Appends `event` for every reader, on every instance; its entry id (the event's
    /// `id`). Keeps the running answer from expiring.
    ///
    /// # Errors
    ///
    /// As [`RedisHub::publish`].
    pub async fn send(&mut self, event: Event) -> Result<EntryId, Error> {
        let id = self.hub.publish(&self.topic, event).await?;
        if self.refreshed.elapsed() > self.running_ttl / 2 {
            // The event is out: a failed refresh is tried again at the next send.
            match expire(&self.hub, &self.topic, self.running_ttl).await {
                Ok(()) => self.refreshed = tokio::time::Instant::now(),
                Err(error) => {
                    tracing::warn!(%error, topic = self.topic, "could not refresh an answer's TTL")
                }
            }
        }
        Ok(id)
    }

    /// Ends the answer after `last` (an end marker such as `data: [DONE]`, or an error
    /// object), if any: every reader gets it, then its stream ends. The answer is kept
    /// for the store's TTL from now.
    ///
    /// # Errors
    ///
    /// As [`RedisHub::publish`]: the readers may then not know the answer ended.
    pub async fn finish(mut self, last: Option<Event>) -> Result<(), Error> {
        if let Some(last) = last {
            self.hub.publish(&self.topic, last).await?;
        }
        end(&self.hub, &self.topic, self.ttl).await?;
        // Only now: a writer dropped before (this future cancelled, an error above)
        // still ends the answer from its `Drop`.
        self.finished = true;
        Ok(())
    }
}

/// Publishes the end marker of `topic` and sets its TTL.
async fn end(hub: &RedisHub, topic: &str, ttl: Duration) -> Result<(), Error> {
    hub.publish(topic, Event::default().event(END).data(""))
        .await?;
    expire(hub, topic, ttl).await
}

impl Drop for RedisAnswerWriter {
    fn drop(&mut self) {
        if self.finished || self.hub.shared().closed.load(Ordering::Acquire) {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (hub, topic, ttl) = (self.hub.clone(), self.topic.clone(), self.ttl);
            runtime.spawn(async move {
                if let Err(error) = end(&hub, &topic, ttl).await {
                    tracing::warn!(%error, topic, "could not end a dropped answer");
                }
            });
        }
    }
}

/// One client's read of an answer in Redis (see [`RedisAnswers::resume`]): its events
/// from where the client was, live, ending after the answer's last event. When events
/// the client has not seen are gone (the hub's `reset` or `gap`), or the hub ends the
/// read before the answer's end (its lag policy, a close), it ends with
/// [`Error::AnswerLost`] instead: never a silent gap or a false end.
pub struct RedisAnswerStream {
    subscription: Subscription,
    done: bool,
}

impl fmt::Debug for RedisAnswerStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisAnswerStream")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

/// The lines of the markers' types, as the encoder writes them, and of the hub's
/// events that say events were missed.
const START_LINE: &[u8] = b"event: sse-rs.answer.start\n";
const END_LINE: &[u8] = b"event: sse-rs.answer.end\n";
const RESET_LINE: &[u8] = b"event: reset\n";
const GAP_LINE: &[u8] = b"event: gap\n";

/// Whether `event` has the `event:` line `line` (only the `event` field can make such
/// a line: data and comments have their own prefixes).
fn is(event: &EncodedEvent, line: &[u8]) -> bool {
    let bytes = event.as_bytes();
    bytes.starts_with(line)
        || bytes
            .windows(line.len() + 1)
            .any(|window| window[0] == b'\n' && &window[1..] == line)
}

impl Stream for RedisAnswerStream {
    type Item = Result<EncodedEvent, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if self.done {
                return Poll::Ready(None);
            }
            match std::task::ready!(Pin::new(&mut self.subscription).poll_next(cx)) {
                Some(Ok(event)) if is(&event, END_LINE) => self.done = true,
                Some(Ok(event)) if is(&event, START_LINE) => {}
                Some(Ok(event)) if is(&event, RESET_LINE) || is(&event, GAP_LINE) => {
                    self.done = true;
                    return Poll::Ready(Some(Err(Error::AnswerLost)));
                }
                Some(Ok(event)) => return Poll::Ready(Some(Ok(event))),
                Some(Err(never)) => match never {},
                None => {
                    self.done = true;
                    return Poll::Ready(Some(Err(Error::AnswerLost)));
                }
            }
        }
    }
}
