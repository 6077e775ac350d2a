//! The broadcast example over real TCP: a message posted once reaches every open
//! stream, the ticker reports the subscriber count, a reloaded page resumes with
//! `?last=`, and shutdown ends open streams with a last event.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::time::Duration;

use sse_rs::decode::MessageEvent;
use sse_rs::hub::Hub;
use sse_rs::Event;
use sse_tests::{
    client, stalled_client, wait_until, BroadcastInstance, EventReader, BROADCAST_SHUTDOWN_GRACE,
};

type Server = BroadcastInstance<Hub>;

async fn start() -> Server {
    BroadcastInstance::start_local(Duration::from_millis(50)).await
}

async fn subscribe(server: &Server, query: &str) -> EventReader {
    let response = client()
        .get(format!("http://{}/events{query}", server.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    EventReader::new(response)
}

async fn post(server: &Server, text: &str) {
    let response = client()
        .post(format!("http://{}/publish", server.addr))
        .form(&[("name", "ann"), ("text", text)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
}

/// Reads until a `message` event with `text` arrives; returns the messages so far.
async fn until_message(reader: &mut EventReader, text: &str) -> Vec<MessageEvent> {
    let needle = format!("\"text\":\"{text}\"");
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let messages: Vec<MessageEvent> = reader
                .events()
                .into_iter()
                .filter(|e| e.event == "message")
                .collect();
            if messages.iter().any(|e| e.data.contains(&needle)) {
                return messages;
            }
            assert!(reader.read_chunk().await, "the stream ended");
        }
    })
    .await
    .expect("the message did not arrive")
}

#[tokio::test]
async fn a_message_reaches_every_stream_and_the_ticker_counts_subscribers() {
    let server = start().await;
    let mut a = subscribe(&server, "").await;
    let mut b = subscribe(&server, "").await;
    assert_eq!(server.hub.subscribers_of(axum_broadcast::TOPIC), 2);
    post(&server, "hello").await;
    let got_a = until_message(&mut a, "hello").await;
    let got_b = until_message(&mut b, "hello").await;
    assert_eq!(
        got_a.last().unwrap().last_event_id,
        got_b.last().unwrap().last_event_id
    );

    // The ticker reports both subscribers (ticks from before `b` said 1).
    tokio::time::timeout(Duration::from_secs(5), async {
        while !a
            .events()
            .iter()
            .any(|e| e.event == "tick" && e.data.contains("\"subscribers\":2"))
        {
            assert!(a.read_chunk().await);
        }
    })
    .await
    .expect("no tick counted 2 subscribers");

    drop(b);
    assert!(
        tokio::time::timeout(Duration::from_secs(5), async {
            while server.hub.subscribers_of(axum_broadcast::TOPIC) != 1 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .is_ok(),
        "a closed page was not removed from the hub"
    );
}

#[tokio::test]
async fn a_reloaded_page_resumes_after_its_last_id() {
    let server = start().await;
    let mut page = subscribe(&server, "").await;
    post(&server, "one").await;
    let seen = until_message(&mut page, "one").await;
    let last = seen.last().unwrap().last_event_id.clone();
    drop(page);

    post(&server, "two").await;
    post(&server, "three").await;
    let mut reloaded = subscribe(&server, &format!("?last={last}")).await;
    let messages = until_message(&mut reloaded, "three").await;
    let texts: Vec<&str> = messages.iter().map(|e| e.data.as_str()).collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(
        texts[0].contains("\"two\"") && texts[1].contains("\"three\""),
        "{texts:?}"
    );
}

#[tokio::test]
async fn shutdown_ends_open_streams_with_a_last_event() {
    let server = start().await;
    let mut readers = vec![subscribe(&server, "").await, subscribe(&server, "").await];
    assert!(
        server.stop(Duration::from_secs(1)).await,
        "the server did not stop within a second with streams open"
    );
    for reader in &mut readers {
        let events = reader.read_to_end(Duration::from_secs(5)).await;
        assert_eq!(events.last().unwrap().event, "bye");
    }
}

#[tokio::test]
async fn shutdown_completes_with_clients_that_stopped_reading() {
    let server = start().await;
    let mut stalled = Vec::new();
    for _ in 0..5 {
        stalled.push(stalled_client(server.addr).await);
    }
    assert!(
        wait_until(Duration::from_secs(5), || server
            .hub
            .subscribers_of(axum_broadcast::TOPIC)
            == 5)
        .await,
        "the stalled clients did not subscribe"
    );
    // Far more than the kernel buffers of a connection hold: each stalled
    // connection ends up with bytes the server cannot write.
    let big = "x".repeat(16 * 1024);
    for n in 0..1500 {
        server
            .hub
            .publish(axum_broadcast::TOPIC, Event::default().data(big.as_str()));
        if n % 64 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let start = std::time::Instant::now();
    assert!(
        server
            .stop(BROADCAST_SHUTDOWN_GRACE + Duration::from_secs(5))
            .await,
        "the server did not stop with clients that stopped reading"
    );
    let took = start.elapsed();
    assert!(
        took >= BROADCAST_SHUTDOWN_GRACE - Duration::from_millis(50),
        "stopped in {took:?}: the stalled connections did not hold the stop up, so this tested nothing"
    );
    drop(stalled);
}

#[tokio::test]
async fn a_hostile_query_never_turns_the_stream_into_an_error() {
    let server = start().await;
    post(&server, "one").await;
    // `subscribe` asserts a 200 event stream for each.
    for query in [
        "?last=1&last=2",
        "?last=%ZZ",
        "?last",
        "?&&=&last=",
        "?last=\u{0}",
    ] {
        let mut reader = subscribe(&server, query).await;
        assert!(!reader.events_until(1).await.is_empty(), "{query}");
    }
    // A repeated `last` resumes after the first.
    let mut reader = subscribe(&server, "?last=0&last=999").await;
    assert_eq!(until_message(&mut reader, "one").await.len(), 1);
}

#[tokio::test]
async fn a_message_is_bounded_by_what_it_costs_on_the_wire() {
    let server = start().await;
    let send = |text: String| {
        let url = format!("http://{}/publish", server.addr);
        async move {
            client()
                .post(url)
                .form(&[("name", "ann"), ("text", text.as_str())])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    // 2000 bytes of text that JSON leaves alone: accepted.
    assert_eq!(send("a".repeat(2000)).await, 204);
    // 2000 bytes that JSON escapes six times over (`\u0001`): 12 KB on the wire.
    assert_eq!(send("\u{1}".repeat(2000)).await, 413);
    // Over 2000 bytes of text (700 "€" are 2100): refused before encoding.
    assert_eq!(send("€".repeat(700)).await, 422);
}

/// Issue: ticks and chat shared one replay buffer, so after 1024 ticks (17 minutes
/// at one a second) a reload got a `reset` ("messages were missed") with nothing
/// missed. Each topic has its own buffer now.
#[tokio::test]
async fn ticks_never_push_the_chat_out_of_replay() {
    let server = start().await;
    let mut reader = subscribe(&server, "").await;
    post(&server, "before").await;
    let seen = until_message(&mut reader, "before").await;
    let before: u64 = seen.last().unwrap().last_event_id.parse().unwrap();
    for n in 0..3000 {
        server.hub.publish(
            axum_broadcast::TICKS,
            Event::default()
                .event(sse_rs::EventType::from_static("tick"))
                .data(format!("{{\"n\":{n}}}")),
        );
    }
    post(&server, "after").await;
    // A reload from the message it saw: the next message, no reset.
    let mut reloaded = subscribe(&server, &format!("?last={before}")).await;
    let messages = until_message(&mut reloaded, "after").await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        !reloaded.events().iter().any(|e| e.event == "reset"),
        "a reset with nothing missed"
    );
    // A reload from the last tick it saw: nothing missed either.
    let last_tick = server.hub.last_id() - 1;
    let mut from_tick = subscribe(&server, &format!("?last={last_tick}")).await;
    until_message(&mut from_tick, "after").await;
    assert!(!from_tick.events().iter().any(|e| e.event == "reset"));
}
