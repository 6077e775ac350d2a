//! `eventsource-stream`: a parser over a stream of bytes, here reqwest's
//! `Response::bytes_stream()`. It has no reconnection: one request, one response.

use ::eventsource_stream::Eventsource;
use futures_util::stream::{self, BoxStream, StreamExt};

use super::{
    chain, failed_setup, reqwest_client, reqwest_request, then_end, Adapter, Ev, Observed, Setup,
};

/// One reqwest request, its body parsed by `eventsource-stream`; the status and
/// `Content-Type` are not checked (the parser does not see them).
#[derive(Clone, Copy, Debug, Default)]
pub struct EventsourceStream;

impl Adapter for EventsourceStream {
    fn name(&self) -> &'static str {
        "eventsource-stream"
    }

    fn version(&self) -> String {
        format!(
            "{} on reqwest {}",
            env!("VERSION_EVENTSOURCE_STREAM"),
            env!("VERSION_REQWEST")
        )
    }

    fn configuration(&self) -> &'static str {
        "`reqwest_client.get(..)` or `.post(..).body(..)`, `.send()`, then \
         `response.bytes_stream().eventsource()`; idle timeout: reqwest's \
         `read_timeout(t)`; no reconnection and no end-on-EOF option (it always ends \
         there); reqwest with `no_proxy()`"
    }

    fn open(&self, url: String, setup: &Setup) -> BoxStream<'static, Observed> {
        let client = match reqwest_client(setup) {
            Ok(client) => client,
            Err(error) => return failed_setup(&error),
        };
        let request = reqwest_request(&client, &url, setup);
        let items = stream::once(async move {
            match request.send().await {
                Ok(response) => response
                    .bytes_stream()
                    .eventsource()
                    .map(|item| match item {
                        Ok(event) => Observed::Event(Ev {
                            event: event.event,
                            data: event.data,
                            id: event.id,
                        }),
                        Err(error) => Observed::Error(chain(&error)),
                    })
                    .boxed(),
                Err(error) => {
                    stream::once(std::future::ready(Observed::Error(chain(&error)))).boxed()
                }
            }
        })
        .flatten();
        then_end(items)
    }
}
