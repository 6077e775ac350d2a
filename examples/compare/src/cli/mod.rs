//! The subcommands of `compare`, one module each, and what they share: the
//! arguments, the server processes they start, their output, tables and charts.

pub(crate) mod args;
pub(crate) mod bench;
pub(crate) mod chart;
pub(crate) mod compress;
pub(crate) mod compress_tables;
pub(crate) mod fanout;
pub(crate) mod go;
pub(crate) mod h2;
pub(crate) mod live;
pub(crate) mod memory;
pub(crate) mod output;
pub(crate) mod process;
pub(crate) mod racer;
pub(crate) mod redis_fanout;
pub(crate) mod reliability;
pub(crate) mod report;
pub(crate) mod scale;
pub(crate) mod serve;
pub(crate) mod serve_broadcast;
pub(crate) mod serve_redis;
pub(crate) mod tables;
