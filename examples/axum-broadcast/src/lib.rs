//! A live chat and ticker on axum with the sse-core [`Hub`]: every message is
//! encoded once and broadcast to every open page; a page that reloads or loses its
//! connection resumes where it left off; the page shows how many subscribers are
//! connected; Ctrl-C ends every stream and stops the server.
//!
//! `cargo run -p axum-broadcast`, then open <http://127.0.0.1:8084/> in two windows.

use std::future::Future;
use std::io;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use sse_axum::{Event, EventType, KeepAlive, Sse};
use sse_core::{Hub, LastEventId, Shutdown, SseLayer};
use tokio::net::TcpListener;

/// The page: a message list, a form, the subscriber count and the connection state.
pub const PAGE: &str = include_str!("../page.html");

/// The topic every page subscribes to.
pub const TOPIC: &str = "chat";

const MESSAGE: EventType = EventType::from_static("message");
const TICK: EventType = EventType::from_static("tick");

/// The longest message accepted, in bytes.
const MAX_MESSAGE: usize = 2000;

#[derive(Clone)]
struct App {
    hub: Hub,
    stop: Shutdown,
}

#[derive(Deserialize)]
struct Resume {
    /// The last id a reloaded page saw (`EventSource` only sends `Last-Event-ID` on
    /// its own reconnections, so the page passes it in the URL after a reload).
    last: Option<String>,
}

async fn events(
    State(app): State<App>,
    last: sse_axum::LastEventId,
    Query(resume): Query<Resume>,
) -> impl IntoResponse {
    let last = if last.is_some() {
        last.0
    } else {
        resume.last.map_or_else(LastEventId::none, |id| {
            LastEventId::from_bytes(id.as_bytes())
        })
    };
    Sse::new(app.hub.subscribe(&[TOPIC], &last))
        .keep_alive(KeepAlive::default())
        .shutdown(
            app.stop.clone(),
            Some(
                Event::default()
                    .event(EventType::from_static("bye"))
                    .data("server stopping"),
            ),
        )
}

#[derive(Deserialize)]
struct Post {
    name: String,
    text: String,
}

async fn publish(State(app): State<App>, Form(post): Form<Post>) -> impl IntoResponse {
    if post.text.is_empty() || post.text.len() > MAX_MESSAGE || post.name.len() > 100 {
        return StatusCode::UNPROCESSABLE_ENTITY;
    }
    let event = Event::default()
        .event(MESSAGE)
        .json_data(&serde_json::json!({ "name": post.name, "text": post.text, "at": now_ms() }));
    match event {
        Ok(event) => {
            app.hub.publish(TOPIC, event);
            StatusCode::NO_CONTENT
        }
        Err(_) => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

/// The app: `/` (page), `/events` (the stream), `/publish` (post a message), with a
/// ticker that publishes the time and the subscriber count every `tick`.
pub fn app(hub: Hub, stop: Shutdown, tick: Duration) -> Router {
    let ticker = hub.clone();
    let ticker_stop = stop.clone();
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(tick);
        loop {
            tokio::select! {
                _ = interval.tick() => {}
                () = ticker_stop.clone().wait() => break,
            }
            let stats =
                serde_json::json!({ "at": now_ms(), "subscribers": ticker.subscriber_count() });
            if let Ok(event) = Event::default().event(TICK).json_data(&stats) {
                ticker.publish(TOPIC, event);
            }
        }
    });
    Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/events", get(events))
        .route("/publish", post(publish))
        .with_state(App {
            hub,
            stop: stop.clone(),
        })
        .layer(SseLayer::new().max_streams(10_000).shutdown(stop))
}

/// Serves the app on `listener` until `shutdown` completes, then ends every stream.
///
/// # Errors
///
/// When axum's server fails.
pub async fn serve(
    listener: TcpListener,
    hub: Hub,
    tick: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let (trigger, stop) = Shutdown::new();
    axum::serve(listener, app(hub, stop, tick))
        .with_graceful_shutdown(async move {
            shutdown.await;
            trigger.fire();
        })
        .await
}
