//! [`Answers`]: answers kept under an id while they are written and for a while
//! after, so that a client that reloads the page or loses its connection mid-answer
//! picks the answer up where it left it, with its `Last-Event-ID`, instead of asking
//! (and paying) for it again.
//!
//! The producer writes into an [`AnswerWriter`]; every client reads an
//! [`AnswerStream`], from the start or after the last event it saw, then live, until
//! the answer's end. The store numbers each answer's events (`id: 1`, `id: 2`, ...),
//! so a resuming client gets exactly the rest: nothing lost, nothing twice.
//!
//! ```
//! use sse_rs::resume::Answers;
//! use sse_rs::{Event, LastEventId, SseBody};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let answers = Answers::new();
//! // The request that asks: start the answer, and stream it.
//! let writer = answers.start("answer-7").expect("a new id");
//! let first = answers.resume("answer-7", &LastEventId::none()).expect("kept");
//! let _response = SseBody::new(first).into_response();
//! // The producer (a task of its own, in an app).
//! for token in ["Hel", "lo"] {
//!     writer.send(Event::default().data(token)).expect("kept");
//! }
//! writer.finish(Some(Event::default().data("[DONE]")));
//! // A reload that saw `id: 1`: the rest, from `id: 2` on, and the end.
//! let rest = answers.resume("answer-7", &LastEventId::from_bytes(b"1")).expect("kept");
//! let _response = SseBody::new(rest).into_response();
//! # });
//! ```
//!
//! # Bounds
//!
//! Every answer holds at most [`AnswersBuilder::answer_bytes`] of events and all of
//! them together at most [`AnswersBuilder::total_bytes`]; past either, the oldest
//! events go (first of answers that ended, oldest first), and a client that would
//! need them gets [`ResumeError::Gone`] (a reader that falls that far behind ends
//! with [`Lost`]). An answer that ended is kept for [`AnswersBuilder::ttl`], then
//! dropped; at most [`AnswersBuilder::max_answers`] are kept at once. No timer runs:
//! expired answers are swept when answers start or resume.
//!
//! # Cancel or go on
//!
//! Whether the work goes on when its client leaves is the app's choice, per answer:
//! to stop, race the work against [`AnswerWriter::abandoned`], which completes once
//! nobody has read the answer for a grace period (long enough for a reload to come
//! back); to go on, ignore it, and the answer is there when the client returns.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use futures_core::Stream;
use tokio::sync::Notify;

use crate::{EncodedEvent, Event, LastEventId};

/// The bounds of an [`Answers`] store.
#[derive(Clone, Debug)]
#[must_use]
pub struct AnswersBuilder {
    answer_bytes: usize,
    total_bytes: usize,
    max_answers: usize,
    ttl: Duration,
}

impl Default for AnswersBuilder {
    fn default() -> Self {
        Self {
            answer_bytes: 1024 * 1024,
            total_bytes: 64 * 1024 * 1024,
            max_answers: 10_000,
            ttl: Duration::from_secs(300),
        }
    }
}

impl AnswersBuilder {
    /// The most bytes of events one answer keeps (default 1 MiB).
    pub fn answer_bytes(mut self, bytes: usize) -> Self {
        self.answer_bytes = bytes;
        self
    }

    /// The most bytes of events all answers together keep (default 64 MiB).
    pub fn total_bytes(mut self, bytes: usize) -> Self {
        self.total_bytes = bytes;
        self
    }

    /// The most answers kept at once, running or ended (default 10,000): past it,
    /// [`Answers::start`] refuses new ones until some end and expire.
    pub fn max_answers(mut self, answers: usize) -> Self {
        self.max_answers = answers;
        self
    }

    /// How long an answer is kept after it ended (default 5 minutes).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The store.
    #[must_use]
    pub fn build(self) -> Answers {
        Answers {
            shared: Arc::new(Shared {
                config: self,
                state: Mutex::new(State::default()),
            }),
        }
    }
}

/// A store of answers that clients can resume (see the [module docs](self)). Cheap to
/// clone: clones share the store.
#[derive(Clone)]
pub struct Answers {
    shared: Arc<Shared>,
}

struct Shared {
    config: AnswersBuilder,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    answers: HashMap<Arc<str>, Answer>,
    /// Bytes of events kept by all answers.
    bytes: usize,
}

/// One answer's events and who waits for them.
struct Answer {
    /// The events kept, oldest first; `first` is the number of the oldest.
    events: VecDeque<EncodedEvent>,
    first: u64,
    bytes: usize,
    ended: Option<Instant>,
    /// Readers waiting for the next event or the end, each under its number (a
    /// reader replaces its own, and takes it out when dropped).
    wakers: Vec<(u64, Waker)>,
    /// Readers open now, and since when none is (tokio's clock, for `abandoned`).
    readers: usize,
    left: tokio::time::Instant,
    attached: Arc<Attached>,
}

/// What `abandoned` waits on (readers come and go), and the numbers readers get.
/// Also the answer's identity: a reader whose answer was dropped and whose id was
/// started again does not read the new one.
#[derive(Default)]
struct Attached {
    notify: Notify,
    readers: AtomicU64,
}

impl Answer {
    /// The number the next event gets.
    fn next(&self) -> u64 {
        self.first + self.events.len() as u64
    }

    fn wake(&mut self) {
        for (_, waker) in self.wakers.drain(..) {
            waker.wake();
        }
    }

    /// Drops the oldest event; its bytes.
    fn evict(&mut self) -> usize {
        match self.events.pop_front() {
            Some(event) => {
                self.first += 1;
                let bytes = event.as_bytes().len();
                self.bytes -= bytes;
                // A reader that needed it finds out at its next poll.
                self.wake();
                bytes
            }
            None => 0,
        }
    }
}

impl State {
    /// Drops the answers that ended more than `ttl` ago.
    fn sweep(&mut self, ttl: Duration) {
        let now = Instant::now();
        let mut freed = 0;
        self.answers.retain(|_, answer| {
            let keep = answer
                .ended
                .is_none_or(|ended| now.saturating_duration_since(ended) <= ttl);
            if !keep {
                freed += answer.bytes;
                answer.wake();
            }
            keep
        });
        self.bytes -= freed;
    }

    /// Evicts events until the store is within `total` bytes: from the answers that
    /// ended, oldest first, then from the head of `writing`.
    fn make_room(&mut self, total: usize, writing: &str) {
        while self.bytes > total {
            let oldest = self
                .answers
                .iter()
                .filter(|(_, answer)| answer.ended.is_some() && !answer.events.is_empty())
                .min_by_key(|(_, answer)| answer.ended)
                .map(|(key, _)| Arc::clone(key));
            let key: &str = oldest.as_deref().unwrap_or(writing);
            let freed = self.answers.get_mut(key).map_or(0, Answer::evict);
            if freed == 0 {
                return;
            }
            self.bytes -= freed;
        }
    }
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // Every step under the lock leaves the state consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for Answers {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Answers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.state();
        f.debug_struct("Answers")
            .field("config", &self.shared.config)
            .field("answers", &state.answers.len())
            .field("bytes", &state.bytes)
            .finish()
    }
}

/// Why [`Answers::start`] refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StartError {
    /// An answer with this id is already kept.
    Exists,
    /// The store keeps [`AnswersBuilder::max_answers`] answers already.
    Full,
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Exists => "an answer with this id is already kept",
            Self::Full => "the store keeps as many answers as it may",
        })
    }
}

impl std::error::Error for StartError {}

/// Why [`Answers::resume`] refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResumeError {
    /// No answer is kept under this id (never was, or it expired).
    NotFound,
    /// The `Last-Event-ID` is not an event of this answer.
    UnknownLastEventId,
    /// Events the client has not seen were dropped to stay within the bounds.
    Gone,
}

impl fmt::Display for ResumeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotFound => "no answer is kept under this id",
            Self::UnknownLastEventId => "the Last-Event-ID is not an event of this answer",
            Self::Gone => "events after the Last-Event-ID are no longer kept",
        })
    }
}

impl std::error::Error for ResumeError {}

impl Answers {
    /// A store with the default bounds (see [`AnswersBuilder`]).
    #[must_use]
    pub fn new() -> Self {
        AnswersBuilder::default().build()
    }

    /// A builder for a store with other bounds.
    pub fn builder() -> AnswersBuilder {
        AnswersBuilder::default()
    }

    /// Starts an answer under `id`: the writer for its producer.
    ///
    /// # Errors
    ///
    /// [`StartError::Exists`] when `id` is taken (ids should be unguessable: whoever
    /// knows one can read the answer); [`StartError::Full`] at
    /// [`AnswersBuilder::max_answers`].
    pub fn start(&self, id: impl Into<Arc<str>>) -> Result<AnswerWriter, StartError> {
        let id = id.into();
        let mut state = self.shared.state();
        state.sweep(self.shared.config.ttl);
        if state.answers.contains_key(&id) {
            return Err(StartError::Exists);
        }
        if state.answers.len() >= self.shared.config.max_answers {
            return Err(StartError::Full);
        }
        let attached = Arc::new(Attached::default());
        state.answers.insert(
            Arc::clone(&id),
            Answer {
                events: VecDeque::new(),
                first: 1,
                bytes: 0,
                ended: None,
                wakers: Vec::new(),
                readers: 0,
                left: tokio::time::Instant::now(),
                attached: Arc::clone(&attached),
            },
        );
        Ok(AnswerWriter {
            shared: Arc::clone(&self.shared),
            id,
            attached,
            finished: false,
        })
    }

    /// The answer kept under `id`, after the event `last` names (from its start when
    /// `last` is empty), then live, until its end.
    ///
    /// # Errors
    ///
    /// [`ResumeError::NotFound`], [`ResumeError::UnknownLastEventId`] (not a number
    /// of an event this answer has sent), [`ResumeError::Gone`] (the events after it
    /// were dropped to stay within the bounds).
    pub fn resume(&self, id: &str, last: &LastEventId) -> Result<AnswerStream, ResumeError> {
        let mut state = self.shared.state();
        state.sweep(self.shared.config.ttl);
        let (key, answer) = state
            .answers
            .get_key_value(id)
            .ok_or(ResumeError::NotFound)?;
        let key = Arc::clone(key);
        let next = match last.as_str() {
            None | Some("") => 1,
            Some(seen) => {
                let seen: u64 = seen.parse().map_err(|_| ResumeError::UnknownLastEventId)?;
                if seen >= answer.next() {
                    return Err(ResumeError::UnknownLastEventId);
                }
                seen + 1
            }
        };
        if next < answer.first {
            return Err(ResumeError::Gone);
        }
        let answer = state.answers.get_mut(id).ok_or(ResumeError::NotFound)?;
        answer.readers += 1;
        let attached = Arc::clone(&answer.attached);
        drop(state);
        attached.notify.notify_waiters();
        let reader = attached.readers.fetch_add(1, Ordering::Relaxed);
        Ok(AnswerStream {
            shared: Arc::clone(&self.shared),
            id: key,
            next,
            attached,
            reader,
            done: false,
        })
    }

    /// How many answers are kept, running or ended.
    #[must_use]
    pub fn len(&self) -> usize {
        self.shared.state().answers.len()
    }

    /// Whether no answer is kept.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of events kept by all answers.
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.shared.state().bytes
    }
}

/// Why an [`AnswerWriter`] could not write: the answer is no longer kept (it expired
/// or the store was dropped).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct NotKept;

impl fmt::Display for NotKept {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the answer is no longer kept")
    }
}

impl std::error::Error for NotKept {}

/// The producer's end of an answer (see [`Answers::start`]). Dropping it ends the
/// answer, as [`finish`](AnswerWriter::finish) without a last event does.
pub struct AnswerWriter {
    shared: Arc<Shared>,
    id: Arc<str>,
    attached: Arc<Attached>,
    finished: bool,
}

impl fmt::Debug for AnswerWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnswerWriter")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl AnswerWriter {
    /// The answer's id.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Appends `event` (its `id` set to the event's number in the answer, which it
    /// returns) and wakes the readers. Never waits: readers take events at their own
    /// pace, within the store's bounds.
    ///
    /// # Errors
    ///
    /// When the answer is no longer kept.
    pub fn send(&self, event: Event) -> Result<u64, NotKept> {
        self.append(event, false)
    }

    /// Ends the answer after `last` (an end marker such as `data: [DONE]`, or an
    /// error object), if any: every reader gets it, then its stream ends.
    pub fn finish(mut self, last: Option<Event>) {
        if let Some(last) = last {
            let _ = self.append(last, true);
        } else {
            self.end();
        }
        self.finished = true;
    }

    fn append(&self, event: Event, last: bool) -> Result<u64, NotKept> {
        let config = &self.shared.config;
        let mut state = self.shared.state();
        let answer = state.answers.get_mut(&*self.id).ok_or(NotKept)?;
        let number = answer.next();
        let event = event.id(number).encode();
        let bytes = event.as_bytes().len();
        answer.events.push_back(event);
        answer.bytes += bytes;
        let mut freed = 0;
        while answer.bytes > config.answer_bytes && answer.events.len() > 1 {
            freed += answer.evict();
        }
        if last {
            answer.ended = Some(Instant::now());
        }
        answer.wake();
        state.bytes = state.bytes + bytes - freed;
        state.make_room(config.total_bytes, &self.id);
        Ok(number)
    }

    fn end(&self) {
        let mut state = self.shared.state();
        if let Some(answer) = state.answers.get_mut(&*self.id) {
            answer.ended.get_or_insert_with(Instant::now);
            answer.wake();
        }
    }

    /// How many clients read the answer now.
    #[must_use]
    pub fn readers(&self) -> usize {
        self.shared
            .state()
            .answers
            .get(&*self.id)
            .map_or(0, |answer| answer.readers)
    }

    /// Completes once nobody has read the answer for `grace` (counted from when the
    /// last reader left, or from the start if none came): the moment to stop the work
    /// if the answer should not go on without its client. A reader that comes back
    /// within `grace` (a reload) keeps it going. Needs tokio's timer.
    pub async fn abandoned(&self, grace: Duration) {
        loop {
            // Registered before the readers are counted: no change is missed between.
            let mut notified = std::pin::pin!(self.attached.notify.notified());
            notified.as_mut().enable();
            let (readers, left) = {
                let state = self.shared.state();
                match state.answers.get(&*self.id) {
                    Some(answer) => (answer.readers, answer.left),
                    // No longer kept: nobody can read it again.
                    None => return,
                }
            };
            if readers > 0 {
                notified.await;
                continue;
            }
            let deadline = left + grace;
            if tokio::time::Instant::now() >= deadline {
                return;
            }
            // Until the grace is out, unless a reader comes (then count again).
            let _ = tokio::time::timeout_at(deadline, notified).await;
        }
    }
}

impl Drop for AnswerWriter {
    fn drop(&mut self) {
        if !self.finished {
            self.end();
        }
    }
}

/// A reader that fell behind events the store dropped to stay within its bounds, or
/// whose answer was dropped (expired) before it got to its end: its stream ends with
/// this error (the client reconnects, and gets [`ResumeError::Gone`] or
/// [`ResumeError::NotFound`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Lost;

impl fmt::Display for Lost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("events of the answer were dropped before this reader got them")
    }
}

impl std::error::Error for Lost {}

/// One client's read of an answer (see [`Answers::resume`]): a stream of its events
/// from where the client was, live, ending after the answer's last event.
pub struct AnswerStream {
    shared: Arc<Shared>,
    id: Arc<str>,
    next: u64,
    attached: Arc<Attached>,
    // This reader's number among the answer's.
    reader: u64,
    done: bool,
}

impl fmt::Debug for AnswerStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnswerStream")
            .field("id", &self.id)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl Stream for AnswerStream {
    type Item = Result<EncodedEvent, Lost>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        let shared = Arc::clone(&self.shared);
        let mut state = shared.state();
        let answer = state
            .answers
            .get_mut(&*self.id)
            .filter(|answer| Arc::ptr_eq(&answer.attached, &self.attached));
        let Some(answer) = answer else {
            // Dropped (expired, or evicted with the store) before this reader got to
            // its end.
            self.done = true;
            return Poll::Ready(Some(Err(Lost)));
        };
        if self.next < answer.first {
            self.done = true;
            return Poll::Ready(Some(Err(Lost)));
        }
        let index = usize::try_from(self.next - answer.first).unwrap_or(usize::MAX);
        if let Some(event) = answer.events.get(index) {
            let event = event.clone();
            drop(state);
            self.next += 1;
            return Poll::Ready(Some(Ok(event)));
        }
        if answer.ended.is_some() {
            self.done = true;
            return Poll::Ready(None);
        }
        match answer
            .wakers
            .iter_mut()
            .find(|(reader, _)| *reader == self.reader)
        {
            Some((_, waker)) => waker.clone_from(cx.waker()),
            None => answer.wakers.push((self.reader, cx.waker().clone())),
        }
        Poll::Pending
    }
}

impl Drop for AnswerStream {
    fn drop(&mut self) {
        let mut state = self.shared.state();
        let answer = state
            .answers
            .get_mut(&*self.id)
            .filter(|answer| Arc::ptr_eq(&answer.attached, &self.attached));
        if let Some(answer) = answer {
            answer.readers = answer.readers.saturating_sub(1);
            if answer.readers == 0 {
                answer.left = tokio::time::Instant::now();
            }
            answer.wakers.retain(|(reader, _)| *reader != self.reader);
        }
        drop(state);
        self.attached.notify.notify_waiters();
    }
}

#[cfg(test)]
mod tests;
