//! A Redis Streams backplane for the [sse-rs-core](sse_rs) hub: run several instances of
//! a server behind a load balancer, publish on any of them, and every subscriber of
//! every instance gets the event, in the same order; a browser that reconnects to
//! another instance resumes with its `Last-Event-ID`, without loss or duplicates.
//!
//! See [`RedisHub`] for how it works and what happens when Redis fails.
//!
//! ```no_run
//! use sse_redis::{Event, EventType, LastEventId, RedisHub};
//!
//! # async fn run() -> Result<(), sse_redis::Error> {
//! let hub = RedisHub::builder(redis::Client::open("redis://127.0.0.1:6379/")?)
//!     .key_prefix("chat-app:")
//!     .max_len(50_000)
//!     .connect()
//!     .await?;
//! let mut news = hub.subscribe("news", &LastEventId::none()).await?;
//! hub.publish("news", Event::default().event(EventType::from_static("headline")).data("hello"))
//!     .await?;
//! # Ok(()) }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod answers;
mod backplane;
mod builder;
mod config;
mod entry_id;
mod error;
mod format;
mod hub;
mod publish;
mod reader;
mod replay;
mod shared;
mod stream;

pub use answers::{RedisAnswerStream, RedisAnswerWriter, RedisAnswers};
pub use builder::RedisHubBuilder;
pub use entry_id::{EntryId, InvalidEntryId};
pub use error::Error;
pub use hub::RedisHub;
pub use publish::Published;
/// The Redis client this crate is built on, for [`RedisHub::builder`].
pub use redis;
pub use sse_rs::hub::{Backplane, LagPolicy, PublishFailure, Subscription};
pub use sse_rs::{EncodedEvent, Event, EventId, EventType, LastEventId};

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
