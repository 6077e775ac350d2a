//! Resumable answers: where an answer asked for with `"resumable": true` is kept
//! while it is written and for a while after, so that a client that reloads the page
//! (or loses its connection) picks it up where it was with its `Last-Event-ID`: in
//! this process ([`sse_axum::resume::Answers`]) or, with `--redis`, in Redis
//! ([`sse_redis::RedisAnswers`]), where any instance behind a load balancer serves the
//! rest.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::stream::{BoxStream, StreamExt};
use sse_axum::resume::{AnswerWriter, Answers, ResumeError};
use sse_axum::{BoxError, EncodedEvent, Event, LastEventId};
use sse_redis::{RedisAnswerWriter, RedisAnswers};
use tokio::sync::Notify;

/// A stream of a kept answer's events, for `Sse::new`.
pub type AnswerEvents = BoxStream<'static, Result<EncodedEvent, BoxError>>;

/// Where resumable answers are kept.
#[derive(Clone)]
pub enum Store {
    /// In this process: a reload must come back to this instance.
    Local(Answers),
    /// In Redis: any instance sharing it serves the rest.
    Redis(RedisAnswers),
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local(answers) => f.debug_tuple("Local").field(answers).finish(),
            Self::Redis(answers) => f.debug_tuple("Redis").field(answers).finish(),
        }
    }
}

impl Default for Store {
    fn default() -> Self {
        Self::Local(Answers::new())
    }
}

/// Why an answer could not be resumed.
#[derive(Debug)]
pub enum ResumeFailure {
    /// No answer under this id (never, or expired).
    NotFound,
    /// The `Last-Event-ID` is not an event of the answer.
    UnknownLastEventId,
    /// Events after the `Last-Event-ID` are no longer kept (the store's bounds).
    Gone,
    /// The store failed (Redis unreachable).
    Store(String),
}

impl Store {
    /// Starts the answer `id`.
    ///
    /// # Errors
    ///
    /// When the id is taken or the store fails.
    pub async fn start(&self, id: &str) -> Result<Writer, String> {
        match self {
            Self::Local(answers) => answers
                .start(id)
                .map(Writer::Local)
                .map_err(|e| e.to_string()),
            Self::Redis(answers) => answers
                .start(id)
                .await
                .map(Writer::Redis)
                .map_err(|e| e.to_string()),
        }
    }

    /// The answer `id` after `last` (from its start when empty), live, to its end.
    ///
    /// # Errors
    ///
    /// See [`ResumeFailure`].
    pub async fn resume(
        &self,
        id: &str,
        last: &LastEventId,
    ) -> Result<AnswerEvents, ResumeFailure> {
        match self {
            Self::Local(answers) => match answers.resume(id, last) {
                Ok(stream) => Ok(stream.map(|item| item.map_err(BoxError::from)).boxed()),
                Err(ResumeError::NotFound) => Err(ResumeFailure::NotFound),
                Err(ResumeError::Gone) => Err(ResumeFailure::Gone),
                Err(_) => Err(ResumeFailure::UnknownLastEventId),
            },
            Self::Redis(answers) => match answers.resume(id, last).await {
                Ok(stream) => Ok(stream.map(|item| item.map_err(BoxError::from)).boxed()),
                Err(sse_redis::Error::AnswerNotFound | sse_redis::Error::InvalidKey) => {
                    Err(ResumeFailure::NotFound)
                }
                Err(sse_redis::Error::UnknownLastEventId) => Err(ResumeFailure::UnknownLastEventId),
                Err(sse_redis::Error::AnswerGone) => Err(ResumeFailure::Gone),
                Err(other) => Err(ResumeFailure::Store(other.to_string())),
            },
        }
    }
}

/// Whether a stream's error says the reader missed events of a kept answer (it
/// should resume), not that the model failed.
pub fn is_lost(error: &BoxError) -> bool {
    error.downcast_ref::<sse_axum::resume::Lost>().is_some()
        || matches!(
            error.downcast_ref::<sse_redis::Error>(),
            Some(sse_redis::Error::AnswerLost)
        )
}

/// The generation's end of a kept answer.
#[derive(Debug)]
pub enum Writer {
    /// In this process.
    Local(AnswerWriter),
    /// In Redis.
    Redis(RedisAnswerWriter),
}

impl Writer {
    /// Appends one event for every reader.
    ///
    /// # Errors
    ///
    /// When the answer is no longer kept or the store fails.
    pub async fn send(&mut self, event: Event) -> Result<(), String> {
        match self {
            Self::Local(writer) => writer.send(event).map(drop).map_err(|e| e.to_string()),
            Self::Redis(writer) => writer
                .send(event)
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
        }
    }

    /// Ends the answer after `last`, if any.
    pub async fn finish(self, last: Option<Event>) {
        match self {
            Self::Local(writer) => writer.finish(last),
            Self::Redis(writer) => {
                if let Err(error) = writer.finish(last).await {
                    eprintln!("llm-stream: could not end a kept answer: {error}");
                }
            }
        }
    }
}

/// The kept answers being generated by this instance, each with its stop signal
/// (`DELETE /v1/answers/{id}`, the page's Stop).
#[derive(Clone, Debug, Default)]
pub struct Running(Arc<Mutex<HashMap<String, Arc<Notify>>>>);

impl Running {
    /// Registers `id`; its stop signal.
    pub fn add(&self, id: &str) -> Arc<Notify> {
        let stop = Arc::new(Notify::new());
        self.lock().insert(id.to_owned(), Arc::clone(&stop));
        stop
    }

    /// Forgets `id` (its generation ended).
    pub fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    /// Stops the generation of `id`; whether it ran here.
    pub fn stop(&self, id: &str) -> bool {
        match self.lock().get(id) {
            Some(stop) => {
                // `notify_one` keeps the permit if the generation is not waiting now.
                stop.notify_one();
                true
            }
            None => false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Notify>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
