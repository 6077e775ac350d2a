//! Helpers for the suite that runs against every server and middleware we ship over
//! real TCP: start a server on 127.0.0.1, read its event stream with a real HTTP
//! client and our decoder, stop it. One module per concern; the names the test files
//! use are re-exported here.

// Test support: a failed expectation is a failed test, so panicking is the point.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

pub mod browser;
pub mod limits;
pub mod middleware;
pub mod nginx;
pub mod programs;
pub mod readers;
pub mod redis;
pub mod servers;
pub mod stall;
pub mod tls;

pub use limits::{assert_told_to_retry, assert_unannounced_streams_count};
pub use nginx::Nginx;
pub use programs::{
    free_port, require_program, send_signal, wait_for_port, wait_until, ChildGuard, ProcessGroup,
};
pub use readers::{
    client, expected_event, gzip_client, open_event_stream, open_unannounced_event_stream, summary,
    EventReader,
};
pub use redis::{redis_url, spawn_redis, unique_prefix, OwnRedis};
pub use servers::{
    serve_core, spawn_actix, BroadcastInstance, ShutdownSignal, TestServer,
    BROADCAST_SHUTDOWN_GRACE,
};
pub use stall::{stalled_client, Firehose};
pub use tls::{self_signed_tls, trusting};

/// The workspace README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
