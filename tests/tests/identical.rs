//! The same edge-case events through every adapter give byte-identical bodies: the
//! adapters add nothing to and take nothing from the core's encoding.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::stream::{self, Stream};
use sse_rs::decode::{Decoded, Decoder};
use sse_rs::{Data, Event, EventId, EventType};
use tokio::net::TcpListener;

/// Events that stress the encoder: every kind of line break, empty and missing data,
/// unicode, long data, custom types, odd ids, retry and comments.
fn fixture() -> Vec<Event> {
    vec![
        Event::default().data("plain"),
        Event::default().data("lf\nsplit"),
        Event::default().data("crlf\r\nsplit"),
        Event::default().data("cr\rsplit"),
        Event::default().data("\r\n\r\r\n\n"),
        Event::default().data(""),
        Event::default().id(EventId::from_static("only-id")),
        Event::default()
            .data("ünïcödé 🎉 \u{2028} end")
            .id(EventId::try_from("ид-7").unwrap()),
        Event::default().data("x".repeat(100_000)),
        Event::default()
            .event(EventType::from_static("custom-type"))
            .data("typed"),
        Event::default()
            .event(EventType::try_from("with space: and colon").unwrap())
            .data("odd type"),
        Event::default()
            .id(EventId::from_static(""))
            .data("id reset"),
        Event::default()
            .retry(Duration::from_millis(1234))
            .comment("a comment\nover two lines")
            .data("with retry"),
        Event::default().comment(""),
        Event::default().data(Data::from_static("  leading spaces")),
        Event::default().data("data: not a field\nid: 666"),
    ]
}

fn events() -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
    stream::iter(fixture().into_iter().map(Ok))
}

async fn body_of(addr: SocketAddr) -> Vec<u8> {
    let response = sse_tests::client()
        .get(format!("http://{addr}/fixture"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    response.bytes().await.expect("body").to_vec()
}

async fn listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

async fn hyper_server() -> SocketAddr {
    use http_body_util::BodyExt;
    let (listener, addr) = listener().await;
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let service = hyper::service::service_fn(|_request| async {
                Ok::<_, Infallible>(
                    sse_rs::SseBody::new(events())
                        .into_response()
                        .map(BodyExt::boxed),
                )
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(socket), service),
            );
        }
    });
    addr
}

async fn axum_server() -> SocketAddr {
    let (listener, addr) = listener().await;
    let app = axum::Router::new().route(
        "/fixture",
        axum::routing::get(|| async { sse_axum::Sse::new(events()) }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

async fn warp_server() -> SocketAddr {
    use warp::Filter;
    let (listener, addr) = listener().await;
    let route = warp::any().map(|| sse_warp::Sse::new(events()));
    tokio::spawn(warp::serve(route).incoming(listener).run());
    addr
}

fn actix_server() -> SocketAddr {
    sse_tests::spawn_actix(|listener| async move {
        actix_web::HttpServer::new(|| {
            actix_web::App::new().route(
                "/fixture",
                actix_web::web::get().to(|| async { sse_actix::Sse::new(events()) }),
            )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)?
        .run()
        .await
    })
}

#[tokio::test]
async fn every_adapter_sends_the_same_bytes() {
    let expected: Vec<u8> = fixture()
        .iter()
        .flat_map(|event| event.encode().into_bytes().to_vec())
        .collect();

    let bodies = [
        ("hyper", body_of(hyper_server().await).await),
        ("axum", body_of(axum_server().await).await),
        ("warp", body_of(warp_server().await).await),
        ("actix", body_of(actix_server()).await),
    ];
    for (name, body) in &bodies {
        assert!(
            body == &expected,
            "{name} sent different bytes ({} vs {} bytes)",
            body.len(),
            expected.len()
        );
    }

    // And what they send is what a browser would see.
    let mut decoder = Decoder::new();
    let decoded: Vec<Decoded> = decoder.decode(&expected).unwrap().collect();
    let data: Vec<String> = decoded
        .iter()
        .filter_map(|item| match item {
            Decoded::Event(event) => Some(event.data.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        data[..6],
        [
            "plain",
            "lf\nsplit",
            "crlf\nsplit",
            "cr\nsplit",
            "\n\n\n\n",
            ""
        ]
    );
    assert_eq!(
        data.len(),
        fixture().len() - 2,
        "the id-only and comment-only events are not dispatched"
    );
    assert!(data.contains(&"data: not a field\nid: 666".to_owned()));
}
