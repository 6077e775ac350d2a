//! `reqwest-eventsource`: an `EventSource` over a `reqwest::RequestBuilder`, parsing
//! with `eventsource-stream`.

use std::time::Duration;

use ::reqwest_eventsource::retry::{ExponentialBackoff, Never};
use ::reqwest_eventsource::{Event, EventSource};
use futures_util::stream::{BoxStream, StreamExt};

use super::{
    chain, failed_setup, reqwest_client, reqwest_request, then_end, Adapter, Ev, Observed, Setup,
};

/// `reqwest-eventsource` with its default retry policy's shape (exponential backoff,
/// factor 2, at most 5 s), started at the scenario's delay.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReqwestEventsource;

impl Adapter for ReqwestEventsource {
    fn name(&self) -> &'static str {
        "reqwest-eventsource"
    }

    fn version(&self) -> String {
        format!(
            "{} on reqwest {}",
            env!("VERSION_REQWEST_EVENTSOURCE"),
            env!("VERSION_REQWEST")
        )
    }

    fn configuration(&self) -> &'static str {
        "`EventSource::new(reqwest_client.get(..))` or `.post(..).body(..)`; \
         `set_retry_policy(ExponentialBackoff::new(d, 2.0, Some(5 s), None))`; \
         idle timeout: reqwest's `ClientBuilder::read_timeout(t)`; \
         end-on-EOF mode: the `retry::Never` policy; reqwest with `no_proxy()`"
    }

    fn open(&self, url: String, setup: &Setup) -> BoxStream<'static, Observed> {
        let client = match reqwest_client(setup) {
            Ok(client) => client,
            Err(error) => return failed_setup(&error),
        };
        let mut source = match EventSource::new(reqwest_request(&client, &url, setup)) {
            Ok(source) => source,
            Err(error) => return failed_setup(&error),
        };
        if setup.end_on_eof {
            source.set_retry_policy(Box::new(Never));
        } else {
            source.set_retry_policy(Box::new(ExponentialBackoff::new(
                setup.initial_delay,
                2.0,
                Some(Duration::from_secs(5)),
                None,
            )));
        }
        then_end(source.filter_map(|item| {
            std::future::ready(match item {
                Ok(Event::Open) => None,
                Ok(Event::Message(message)) => Some(Observed::Event(Ev {
                    event: message.event,
                    data: message.data,
                    id: message.id,
                })),
                Err(error) => Some(Observed::Error(chain(&error))),
            })
        }))
    }
}
