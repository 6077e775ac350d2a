//! A live chat and ticker on axum with the sse-rs [`Hub`](sse_axum::hub::Hub): every message is
//! encoded once and broadcast to every open page; a page that reloads or loses its
//! connection resumes where it left off; the page shows how many subscribers are
//! connected; Ctrl-C ends every stream and stops the server.
//!
//! `cargo run -p axum-broadcast`, then open <http://127.0.0.1:8084/> in two windows.
//!
//! With `--redis redis://127.0.0.1:6379/` the hub is a [`RedisHub`](sse_redis::RedisHub): run two
//! instances on two ports and a message posted on one reaches the pages of both; a
//! page moved to the other instance resumes there.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::{Form, Router};
use futures_util::{Stream, StreamExt};
use serde::Deserialize;
use sse_axum::decode::{Decoded, Decoder};
use sse_axum::hub::{Backplane, PublishFailure};
use sse_axum::layer::SseLayer;
use sse_axum::{EncodedEvent, Event, EventType, KeepAlive, LastEventId, Shutdown, Sse};
use tokio::net::TcpListener;

/// The page: a message list, a form, the subscriber count and the connection state.
pub const PAGE: &str = include_str!("../page.html");

/// The topic of the chat messages, which a page resumes.
pub const TOPIC: &str = "chat";

/// The topic of the ticks: kept apart from the chat, so that a day of ticks never
/// pushes a message out of the chat's replay (they used to share one buffer, and
/// after 1024 ticks a reload got a `reset` with nothing missed).
pub const TICKS: &str = "ticks";

const MESSAGE: EventType = EventType::from_static("message");
const TICK: EventType = EventType::from_static("tick");

/// The longest message accepted, in bytes of UTF-8 text.
const MAX_MESSAGE: usize = 2000;

/// The largest event a message may become on the wire, in bytes: JSON escaping can
/// make a text six times longer (`\u0001`), and what every subscriber receives and
/// every replay holds is the encoded event, so that is what is bounded.
const MAX_EVENT: usize = 4096;

/// What a page's stream sends: the chat, resumed, with the ticks.
type Events = Pin<Box<dyn Stream<Item = Result<EncodedEvent, Infallible>> + Send>>;

/// The chat after `last`, with the ticks merged in live: a page resumes the chat, and
/// a tick it missed is not worth a replay (nor a `reset`, which following the ticks'
/// topic with replay would give once old ticks are gone). The ticks lose their ids:
/// on a backplane whose topics number their own ids (Redis: a tick's id is an entry
/// of another stream), a tick's id as the page's `Last-Event-ID` would make the chat's
/// resume start over.
async fn subscribe<B: Backplane>(broker: &B, last: &LastEventId) -> Result<Events, B::Error> {
    let chat = broker.subscribe(TOPIC, last).await?;
    let ticks = broker
        .subscribe(TICKS, &LastEventId::none())
        .await?
        .map(|tick| tick.map(without_id));
    Ok(Box::pin(futures_util::stream::select(chat, ticks)))
}

#[derive(Clone)]
struct App<B> {
    broker: B,
    stop: Shutdown,
}

/// The last id a reloaded page saw, from `?last=` (`EventSource` only sends
/// `Last-Event-ID` on its own reconnections, so the page passes it in the URL after a
/// reload). Never a rejection, which would answer 400 and make the browser give up
/// for good: a repeated `last` takes the first, an unreadable query counts as none.
fn resume_from_query(query: Option<&str>) -> LastEventId {
    query
        .into_iter()
        .flat_map(|query| form_urlencoded::parse(query.as_bytes()))
        .find(|(name, _)| name == "last")
        .map_or_else(LastEventId::none, |(_, id)| {
            LastEventId::from_bytes(id.as_bytes())
        })
}

async fn events<B: Backplane>(
    State(app): State<App<B>>,
    last: LastEventId,
    RawQuery(query): RawQuery,
) -> Response {
    let last = if last.is_some() {
        last
    } else {
        resume_from_query(query.as_deref())
    };
    match subscribe(&app.broker, &last).await {
        Ok(subscription) => Sse::new(subscription)
            .keep_alive(KeepAlive::default())
            .shutdown(
                app.stop.clone(),
                Some(
                    Event::default()
                        .event(EventType::from_static("bye"))
                        .data("server stopping"),
                ),
            )
            .into_response(),
        // The backplane is unreachable (Redis is down). An error status would make
        // EventSource give up for good; a stream that only says when to retry and ends makes it reconnect,
        // with the Last-Event-ID it had.
        Err(error) => Sse::new(futures_util::stream::iter([Ok::<_, Infallible>(
            Event::default()
                .retry(Duration::from_secs(2))
                .comment(format!("unavailable: {error}")),
        )]))
        .into_response(),
    }
}

#[derive(Deserialize)]
struct Post {
    name: String,
    text: String,
    /// The page's id for this message, the same on every retry of it.
    id: Option<String>,
}

async fn publish<B: Backplane>(
    State(app): State<App<B>>,
    Form(post): Form<Post>,
) -> impl IntoResponse {
    if post.text.is_empty() || post.text.len() > MAX_MESSAGE || post.name.len() > 100 {
        return StatusCode::UNPROCESSABLE_ENTITY;
    }
    let event = Event::default()
        .event(MESSAGE)
        .json_data(&serde_json::json!({ "name": post.name, "text": post.text, "at": now_ms() }));
    match event {
        Ok(event) if event.encode().len() > MAX_EVENT => StatusCode::PAYLOAD_TOO_LARGE,
        Ok(event) => {
            // With the page's message id, at most once per id: the page can retry a
            // publish whose outcome it did not learn.
            let published = match post.id.as_deref() {
                Some(key) => app.broker.publish_once(TOPIC, key, event).await,
                None => app.broker.publish(TOPIC, event).await,
            };
            match published.map_err(|error| B::failure(&error)) {
                Ok(_) => StatusCode::NO_CONTENT,
                // Maybe published: Redis did not answer in time. The page retries with
                // the same id, which publishes it at most once.
                Err(PublishFailure::Unknown) => StatusCode::GATEWAY_TIMEOUT,
                Err(PublishFailure::Invalid) => StatusCode::UNPROCESSABLE_ENTITY,
                // Not published, to anybody: the page can say so and the user retry.
                Err(_) => StatusCode::SERVICE_UNAVAILABLE,
            }
        }
        Err(_) => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// The event without its `id` field, for events that must not move the page's
/// `Last-Event-ID`.
fn without_id(event: EncodedEvent) -> EncodedEvent {
    let mut decoder = Decoder::new();
    let Ok(mut items) = decoder.decode(event.as_bytes()) else {
        return event;
    };
    match items.find_map(|item| match item {
        Decoded::Event(message) => Some(message),
        _ => None,
    }) {
        Some(message) => match Event::default().try_event(message.event.as_str()) {
            Ok(stripped) => stripped.data(message.data).encode(),
            Err(_) => event,
        },
        None => event,
    }
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

/// The app: `/` (page), `/events` (the stream), `/publish` (post a message), with a
/// ticker that publishes the time and this instance's subscriber count every `tick`,
/// signed with `instance` (with Redis, every page sees the ticks of every instance).
/// `broker` is where events travel: an in-process [`Hub`](sse_axum::hub::Hub) for one instance, a
/// [`RedisHub`](sse_redis::RedisHub) for several.
pub fn app<B: Backplane>(broker: B, instance: &str, stop: Shutdown, tick: Duration) -> Router {
    let ticker = broker.clone();
    let ticker_stop = stop.clone();
    let instance = instance.to_owned();
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(tick);
        loop {
            tokio::select! {
                _ = interval.tick() => {}
                () = ticker_stop.clone().wait() => break,
            }
            let stats = serde_json::json!({
                "at": now_ms(),
                "subscribers": ticker.subscribers_of(TOPIC),
                "instance": instance,
            });
            if let Ok(event) = Event::default().event(TICK).json_data(&stats) {
                // A tick lost while Redis is down is not worth reporting.
                let _ = ticker.publish(TICKS, event).await;
            }
        }
    });
    Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/events", get(events::<B>))
        .route("/publish", post(publish::<B>))
        .with_state(App {
            broker,
            stop: stop.clone(),
        })
        .layer(SseLayer::new().max_streams(10_000).shutdown(stop))
}

/// How long a shutdown waits for open connections before it drops them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Serves the app on `listener` until `shutdown` completes, then ends every stream
/// (each gets a `bye` event) and waits up to `grace` for the connections to finish;
/// past it, the connections left (a client that stopped reading holds one forever)
/// are dropped. The ticks name the instance by its address.
///
/// # Errors
///
/// When axum's server fails.
pub async fn serve(
    listener: TcpListener,
    broker: impl Backplane,
    tick: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> io::Result<()> {
    serve_with(listener, None, broker, tick, shutdown, grace).await
}

/// [`serve`] over HTTPS with `tls` (HTTP/2 or HTTP/1.1 by ALPN): past the browser's
/// six connections per origin, for users with many tabs open.
///
/// # Errors
///
/// As [`serve`].
pub async fn serve_https(
    listener: TcpListener,
    tls: std::sync::Arc<sse_axum::server::rustls::ServerConfig>,
    broker: impl Backplane,
    tick: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> io::Result<()> {
    serve_with(listener, Some(tls), broker, tick, shutdown, grace).await
}

async fn serve_with(
    listener: TcpListener,
    tls: Option<std::sync::Arc<sse_axum::server::rustls::ServerConfig>>,
    broker: impl Backplane,
    tick: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> io::Result<()> {
    let (trigger, stop) = Shutdown::new();
    let instance = listener.local_addr()?.to_string();
    let app = app(broker, &instance, stop, tick);
    // `axum::serve` would set no request timeouts.
    let server = sse_axum::server::Server::new(listener).grace(grace);
    let server = match tls {
        Some(config) => server.tls(config),
        None => server,
    };
    server.serve(app, shutdown, trigger).await
}
