//! `sse-rs-client`, this workspace's client.

use futures_util::stream::{BoxStream, StreamExt};
use sse_rs_client::{Client, Event, Reconnect};

use super::{chain, then_end, Adapter, Ev, Observed, Setup};

/// `sse-rs-client` with its defaults, except the options of [`Setup`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Ours;

impl Adapter for Ours {
    fn name(&self) -> &'static str {
        "sse-rs-client"
    }

    fn version(&self) -> String {
        format!("{} (this workspace)", env!("VERSION_SSE_RS_CLIENT"))
    }

    fn configuration(&self) -> &'static str {
        "`Client::new()`; `get`/`post(..).body(..)`; \
         `reconnect(Reconnect::new().initial_delay(d))` (jitter 0.5, the default); \
         `idle_timeout(t)`; `end_on_eof(true)` for the end-on-EOF mode"
    }

    fn open(&self, url: String, setup: &Setup) -> BoxStream<'static, Observed> {
        let client = Client::new();
        let mut request = match setup.post_body {
            Some(body) => client
                .post(url)
                .header("content-type", "application/json")
                .body(body),
            None => client.get(url),
        };
        request = request
            .reconnect(Reconnect::new().initial_delay(setup.initial_delay))
            .end_on_eof(setup.end_on_eof);
        if let Some(idle) = setup.idle_timeout {
            request = request.idle_timeout(idle);
        }
        then_end(request.stream().filter_map(|item| {
            std::future::ready(match item {
                Ok(Event::Message(message)) => Some(Observed::Event(Ev {
                    event: message.event,
                    data: message.data,
                    id: message.last_event_id,
                })),
                Ok(_) => None,
                Err(error) => Some(Observed::Error(chain(&error))),
            })
        }))
    }
}
