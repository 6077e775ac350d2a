//! The migration guides, tried: an app that used each framework's built-in SSE, moved
//! to our adapter with the replacements its guide names, through that adapter alone
//! (no `sse_rs` path in the handlers), served over real TCP and read back.
//!
//! Every framework's handler builds the same events with the guide's calls, so the
//! same expectation holds for all of them.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use sse_rs::decode::{Decoded, MessageEvent};
use sse_tests::{client, EventReader};

const KEEP_ALIVE: Duration = Duration::from_millis(40);
const IDLE: Duration = Duration::from_millis(300);

/// The guide's events, built through the adapter `$adapter` only: runtime type and id
/// (`try_event`, `try_id`), a literal type and an integer id, two comments, `retry`,
/// empty data, `json_data`, data written with `write!`. Then, after an idle time long
/// enough for keep-alives, a last event.
macro_rules! guide_events {
    ($adapter:ident, $room:expr) => {{
        use std::fmt::Write as _;
        use $adapter::{Event, EventType, InvalidField};

        const TICK: EventType = EventType::from_static("tick");
        let room: String = $room;
        let mut text = String::new();
        write!(text, "line {}\nline {}", 1, 2).unwrap();
        let events: Result<Vec<Event>, InvalidField> = (|| {
            Ok(vec![
                Event::default()
                    .try_event(room.as_str())?
                    .try_id(format!("{room}-1"))?
                    .data("hi"),
                Event::default()
                    .event(TICK)
                    .id(2_u64)
                    .comment("a")
                    .comment("b")
                    .retry(Duration::from_millis(2500))
                    .data(""),
                Event::default()
                    .json_data(&serde_json::json!({ "n": 3 }))
                    .unwrap(),
                Event::default().data(text),
            ])
        })();
        let last = async {
            tokio::time::sleep(IDLE).await;
            $adapter::Event::default().data("end")
        };
        (events, last)
    }};
}

/// What every migrated stream sends: `first` (a `retry` some constructors send
/// first), the guide's events, at least one keep-alive comment `keep_alive`, the last
/// event, the end.
async fn assert_guide_stream(
    response: reqwest::Response,
    first: Option<Duration>,
    keep_alive: &str,
) {
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(response.headers()["x-accel-buffering"], "no");
    let mut reader = EventReader::new(response);
    reader.read_to_end(Duration::from_secs(10)).await;
    let mut items: Vec<String> = reader
        .items
        .iter()
        .map(|(_, item)| describe(item))
        .collect();
    if let Some(retry) = first {
        assert_eq!(
            items.remove(0),
            describe(&Decoded::Retry(retry)),
            "the constructor's retry comes first"
        );
    }
    let expected_start = [
        "event lobby \"hi\" id lobby-1",
        "comment \"a\"",
        "comment \"b\"",
        "retry 2500 ms",
        "event tick \"\" id 2",
        "event message \"{\\\"n\\\":3}\" id 2",
        "event message \"line 1\\nline 2\" id 2",
    ];
    assert_eq!(items[..expected_start.len()], expected_start);
    let rest = &items[expected_start.len()..];
    let (last, keep_alives) = rest.split_last().expect("the last event");
    assert_eq!(last, "event message \"end\" id 2");
    assert!(
        !keep_alives.is_empty(),
        "no keep-alive while the stream was idle"
    );
    for item in keep_alives {
        assert_eq!(item, &format!("comment {keep_alive:?}"));
    }
}

/// One decoded item as a line of text, to compare whole sequences.
fn describe(item: &Decoded) -> String {
    match item {
        Decoded::Event(MessageEvent {
            event,
            data,
            last_event_id,
            ..
        }) => format!("event {event} {data:?} id {last_event_id}"),
        Decoded::Comment(comment) => format!("comment {comment:?}"),
        Decoded::Retry(retry) => format!("retry {} ms", retry.as_millis()),
        other => format!("{other:?}"),
    }
}

async fn open(addr: SocketAddr, path: &str) -> reqwest::Response {
    client()
        .get(format!("http://{addr}{path}"))
        .header("accept", "text/event-stream")
        .header("last-event-id", "41")
        .send()
        .await
        .unwrap()
}

mod axum_guide {
    use std::convert::Infallible;

    use axum::routing::get;
    use axum::Router;
    use futures_util::stream::{self, Stream, StreamExt};
    use sse_axum::{Event, KeepAlive, LastEventId, Sse};

    use super::*;

    async fn events(last: LastEventId) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
        assert_eq!(last.parse::<u64>(), Some(41));
        let (events, last) = guide_events!(sse_axum, "lobby".to_owned());
        let stream = stream::iter(events.unwrap())
            .chain(stream::once(last))
            .map(Ok::<_, Infallible>);
        Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("ka"))
    }

    #[tokio::test]
    async fn the_guide_s_replacements_work() {
        let app = Router::new().route("/events", get(events));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        assert_guide_stream(open(addr, "/events").await, None, "ka").await;
    }

    /// The guide's way to use `try_id(..)?` where events are built, in the stream
    /// closure: items `Result<Event, InvalidField>`, and `on_error` for a last event.
    async fn runtime_ids(
        axum::extract::Path(ids): axum::extract::Path<String>,
    ) -> Sse<impl Stream<Item = Result<Event, sse_axum::InvalidField>>> {
        // The path is percent-decoded: `%0A` is a line feed.
        let ids: Vec<String> = ids.split(',').map(str::to_owned).collect();
        let events = stream::iter(ids).map(|id| {
            let event = Event::default().try_id(id.as_str())?.data("x");
            Ok::<_, sse_axum::InvalidField>(event)
        });
        Sse::new(events).on_error(|error| Event::default().data(format!("stopped: {error}")))
    }

    #[tokio::test]
    async fn try_id_works_inside_a_stream_closure() {
        let app = Router::new().route("/ids/{ids}", get(runtime_ids));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let mut reader = EventReader::new(open(addr, "/ids/a,b,c%0Aid:%20forged,d").await);
        reader.read_to_end(Duration::from_secs(10)).await;
        let items: Vec<String> = reader
            .items
            .iter()
            .map(|(_, item)| describe(item))
            .collect();
        let error = Event::default().try_id("c\nid: forged").unwrap_err();
        assert_eq!(
            items,
            [
                "event message \"x\" id a".to_owned(),
                "event message \"x\" id b".to_owned(),
                format!("event message \"stopped: {error}\" id b"),
            ],
            "the bad id ends the stream with the last event, and nothing is forged"
        );
    }

    #[test]
    fn a_runtime_type_with_a_line_break_is_an_error_not_a_panic() {
        let (events, _) = guide_events!(sse_axum, "x\ndata: forged".to_owned());
        assert_eq!(events.unwrap_err().field(), sse_axum::FieldKind::Type);
    }
}

mod actix_guide {
    use std::convert::Infallible;

    use actix_web::{web, App, HttpServer, Responder};
    use futures_util::stream::{self, StreamExt};
    use sse_actix::{Event, LastEventId, Sse};
    use sse_tests::spawn_actix;

    use super::*;

    const RETRY: Duration = Duration::from_secs(3);

    fn guide_stream() -> impl futures_util::Stream<Item = Event> {
        let (events, last) = guide_events!(sse_actix, "lobby".to_owned());
        stream::iter(events.unwrap()).chain(stream::once(last))
    }

    /// Sends the guide's events on a tokio channel, as `from_receiver` apps do.
    fn guide_receiver<T: Send + 'static>(wrap: fn(Event) -> T) -> tokio::sync::mpsc::Receiver<T> {
        let (tx, rx) = tokio::sync::mpsc::channel(8);
        actix_web::rt::spawn(async move {
            let mut events = std::pin::pin!(guide_stream());
            while let Some(event) = events.next().await {
                if tx.send(wrap(event)).await.is_err() {
                    return;
                }
            }
        });
        rx
    }

    async fn from_stream(last: LastEventId) -> impl Responder {
        assert_eq!(last.as_str(), Some("41"));
        Sse::from_stream(guide_stream().map(Ok::<_, Infallible>))
            .with_keep_alive(KEEP_ALIVE)
            .with_retry_duration(RETRY)
    }

    async fn from_infallible_stream() -> impl Responder {
        Sse::from_infallible_stream(guide_stream())
            .with_keep_alive(KEEP_ALIVE)
            .with_retry_duration(RETRY)
    }

    async fn from_receiver() -> impl Responder {
        Sse::from_receiver(guide_receiver(Ok::<_, Infallible>))
            .with_keep_alive(KEEP_ALIVE)
            .with_retry_duration(RETRY)
    }

    /// Named as an app moved from actix-web-lab names it, with the guide's types: if
    /// `from_infallible_receiver` returned other types than the guide says, this would
    /// not compile (E0308).
    async fn from_infallible_receiver(
    ) -> Sse<sse_actix::InfallibleStream<sse_actix::ReceiverStream<Event>>> {
        Sse::from_infallible_receiver(guide_receiver(|event| event))
            .with_keep_alive(KEEP_ALIVE)
            .with_retry_duration(RETRY)
    }

    #[tokio::test]
    async fn the_guide_s_replacements_work() {
        let addr = spawn_actix(|listener| async move {
            HttpServer::new(|| {
                App::new()
                    .route("/stream", web::get().to(from_stream))
                    .route("/infallible", web::get().to(from_infallible_stream))
                    .route("/receiver", web::get().to(from_receiver))
                    .route(
                        "/infallible-receiver",
                        web::get().to(from_infallible_receiver),
                    )
            })
            .workers(1)
            .disable_signals()
            .listen(listener)?
            .run()
            .await
        });
        for path in [
            "/stream",
            "/infallible",
            "/receiver",
            "/infallible-receiver",
        ] {
            let response = open(addr, path).await;
            assert_eq!(response.headers()["content-encoding"], "identity", "{path}");
            // `with_keep_alive` keeps the default text: an empty comment.
            assert_guide_stream(response, Some(RETRY), "").await;
        }
    }
}

mod warp_guide {
    use std::convert::Infallible;

    use futures_util::stream::{self, StreamExt};
    use sse_warp::{Event, LastEventId, Sse};
    use warp::Filter;

    use super::*;

    #[tokio::test]
    async fn the_guide_s_replacements_work() {
        let events =
            warp::path("events")
                .and(sse_warp::last_event_id())
                .map(|last: LastEventId| {
                    assert_eq!(last.parse::<u64>(), Some(41));
                    let (events, last) = guide_events!(sse_warp, "lobby".to_owned());
                    let stream = stream::iter(events.unwrap())
                        .chain(stream::once(last))
                        .map(Ok::<_, Infallible>);
                    let keep_alive = sse_warp::keep_alive().interval(KEEP_ALIVE).text("ka");
                    sse_warp::reply(Sse::new(stream).keep_alive(keep_alive))
                });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(warp::serve(events).incoming(listener).run());
        assert_guide_stream(open(addr, "/events").await, None, "ka").await;
    }

    #[test]
    fn an_event_displays_as_its_wire_form() {
        let event = Event::default().id(7_u64).comment("c").data("a\r\nb");
        assert_eq!(event.to_string(), ": c\nid: 7\ndata: a\ndata: b\n\n");
        assert_eq!(event.to_string().as_bytes(), &event.encode().as_bytes()[..]);
    }
}
