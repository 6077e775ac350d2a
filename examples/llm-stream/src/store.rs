//! Where a streamed answer's chunks go besides the client: the seam for resumable
//! answers (a reload picks the answer up where it was, from a store such as Redis).
//! The example ships [`NoStore`]; a store plugs in with
//! [`Config::store`](crate::Config::store).

use std::fmt;
use std::future::Future;
use std::pin::Pin;

/// What a store's calls return: it may wait (a network round trip).
pub type StoreFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// How an answer ended, for the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerEnd {
    /// All chunks were sent; `[DONE]` follows.
    Completed,
    /// The model failed; `error` is the last event.
    Failed,
    /// The client left (or the server stopped) before the end.
    Cancelled,
}

/// Keeps the chunks of each streamed answer as the generation sends them. The
/// generation awaits each call before the chunk goes to the client, so a store that
/// has chunk `seq` can replay everything up to it.
pub trait AnswerStore: fmt::Debug + Send + Sync + 'static {
    /// Chunk `seq` (from 0) of the answer `answer` (its `chatcmpl-` id): the JSON of
    /// its `data:` line.
    fn chunk<'a>(&'a self, answer: &'a str, seq: u64, data: &'a str) -> StoreFuture<'a>;

    /// The answer `answer` is over.
    fn end<'a>(&'a self, answer: &'a str, end: AnswerEnd) -> StoreFuture<'a>;
}

/// Keeps nothing: answers cannot be resumed.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoStore;

impl AnswerStore for NoStore {
    fn chunk<'a>(&'a self, _answer: &'a str, _seq: u64, _data: &'a str) -> StoreFuture<'a> {
        Box::pin(std::future::ready(()))
    }

    fn end<'a>(&'a self, _answer: &'a str, _end: AnswerEnd) -> StoreFuture<'a> {
        Box::pin(std::future::ready(()))
    }
}
