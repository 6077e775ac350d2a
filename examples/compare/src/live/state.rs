//! The page server's state: the servers it shows, the job running, the last
//! reports, and the figures it publishes on `/updates`.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};

use countdown::Countdown;
use sse_axum::hub::Hub;
use sse_axum::{Event, EventType};
use sse_rs::shutdown::Shutdown;

use super::jobs::Job;
use super::page::SERVERS;
use super::relay::Tap;

/// One countdown server as the page sees it.
pub(super) struct Served {
    pub(super) port: u16,
    pub(super) countdown: Countdown,
    pub(super) tap: Arc<Tap>,
}

/// The page server's state.
#[derive(Clone)]
pub(super) struct App {
    /// The page's port: requests must name it (see
    /// [`from_the_page`](super::routes::from_the_page)).
    pub(super) port: u16,
    pub(super) hub: Hub,
    pub(super) stop: Shutdown,
    /// The program whose `bench` and `fanout` subcommands run the jobs.
    pub(super) exe: Arc<PathBuf>,
    pub(super) servers: Arc<[Served]>,
    /// The job running now, if any: at most one, so that two never share the cores.
    pub(super) busy: Arc<Mutex<Option<Job>>>,
    /// The last report of each job, as the tool printed it.
    pub(super) reports: Arc<Mutex<Reports>>,
}

#[derive(Default)]
pub(super) struct Reports {
    pub(super) race: Option<serde_json::Value>,
    pub(super) fanout: Option<serde_json::Value>,
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl App {
    pub(super) fn publish(&self, topic: &'static str, value: &serde_json::Value) {
        self.hub.publish(
            topic,
            Event::default()
                .event(EventType::from_static(topic))
                .data(value.to_string()),
        );
    }

    /// The servers' figures, as `/updates` sends them.
    pub(super) fn figures(&self) -> serde_json::Value {
        let servers: Vec<serde_json::Value> = SERVERS
            .iter()
            .zip(self.servers.iter())
            .map(|(name, served)| {
                serde_json::json!({
                    "name": name,
                    "port": served.port,
                    "open_streams": served.countdown.open_streams(),
                    "requests": served.countdown.requests(),
                    "bytes": served.tap.sent.load(Ordering::Relaxed),
                    "connections": served.tap.connections.load(Ordering::Relaxed),
                })
            })
            .collect();
        serde_json::json!({ "servers": servers })
    }
}
