//! LaunchDarkly's `eventsource-client` on its `launchdarkly-sdk-transport`
//! `HyperTransport`.

use std::time::Duration;

use eventsource_client::{Client as _, ClientBuilder, ReconnectOptions, SSE};
use futures_util::stream::{BoxStream, StreamExt};
use launchdarkly_sdk_transport::HyperTransport;

use super::{chain, failed_setup, then_end, Adapter, Ev, Observed, Setup};

/// `eventsource-client` with reconnection on, also for the first connection, at the
/// scenario's delay (factor 2, at most 5 s, its jitter).
#[derive(Clone, Copy, Debug, Default)]
pub struct LaunchDarkly;

impl Adapter for LaunchDarkly {
    fn name(&self) -> &'static str {
        "eventsource-client"
    }

    fn version(&self) -> String {
        format!(
            "{} on launchdarkly-sdk-transport {}",
            env!("VERSION_EVENTSOURCE_CLIENT"),
            env!("VERSION_LAUNCHDARKLY_SDK_TRANSPORT")
        )
    }

    fn configuration(&self) -> &'static str {
        "`ClientBuilder::for_url(..)`, `.method(\"POST\").body(..)` for POST; \
         `ReconnectOptions::reconnect(true).retry_initial(true).delay(d).backoff_factor(2)\
         .delay_max(5 s)`; idle timeout: `HyperTransport::builder().read_timeout(t)`; \
         end-on-EOF mode: `reconnect(false)`; transport with `disable_proxy()`"
    }

    fn open(&self, url: String, setup: &Setup) -> BoxStream<'static, Observed> {
        let mut transport = HyperTransport::builder().disable_proxy();
        if let Some(idle) = setup.idle_timeout {
            transport = transport.read_timeout(idle);
        }
        let transport = match transport.build_http() {
            Ok(transport) => transport,
            Err(error) => return failed_setup(&error),
        };
        let mut builder = match ClientBuilder::for_url(&url) {
            Ok(builder) => builder,
            Err(error) => return failed_setup(&error),
        };
        if let Some(body) = setup.post_body {
            builder = match builder.header("content-type", "application/json") {
                Ok(builder) => builder,
                Err(error) => return failed_setup(&error),
            };
            builder = builder.method(String::from("POST")).body(body.to_owned());
        }
        let reconnect = ReconnectOptions::reconnect(!setup.end_on_eof)
            .retry_initial(true)
            .delay(setup.initial_delay)
            .backoff_factor(2)
            .delay_max(Duration::from_secs(5))
            .build();
        let client = builder.reconnect(reconnect).build_with_transport(transport);
        then_end(client.stream().filter_map(|item| {
            std::future::ready(match item {
                Ok(SSE::Event(event)) => Some(Observed::Event(Ev {
                    event: event.event_type,
                    data: event.data,
                    id: event.id.unwrap_or_default(),
                })),
                Ok(SSE::Connected(_) | SSE::Comment(_)) => None,
                Err(error) => Some(Observed::Error(chain(&error))),
            })
        }))
    }
}
