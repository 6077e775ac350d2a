//! Several instances of the broadcast example sharing one real redis-server: fan-out
//! across instances, resume on another instance, one total order under concurrent
//! publishers, and Redis restarting under open streams.
//!
//! The shared server's address comes from `SSE_REDIS_URL` (`.ci/run` starts it); the
//! restart test runs a redis-server of its own.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::time::Duration;

use serde_json::Value;
use sse_redis::{redis, Error, Event, RedisHub};
use sse_rs::decode::MessageEvent;
use sse_tests::{
    client, free_port, open_event_stream, redis_url, require_program, unique_prefix, wait_for_port,
    BroadcastInstance, ChildGuard, EventReader,
};

async fn post(instance: &BroadcastInstance, text: &str) -> reqwest::StatusCode {
    client()
        .post(format!("http://{}/publish", instance.addr))
        .form(&[("name", "t"), ("text", text)])
        .send()
        .await
        .unwrap()
        .status()
}

/// A stream from `instance`, resuming after `last` if given.
async fn open(instance: &BroadcastInstance, last: Option<&str>) -> EventReader {
    let response = open_event_stream(instance.addr, last).await;
    assert_eq!(response.status(), 200);
    EventReader::new(response)
}

/// The chat messages of `events` as (id, text).
fn messages(events: &[MessageEvent]) -> Vec<(String, String)> {
    events
        .iter()
        .filter(|e| e.event == "message")
        .map(|e| {
            let body: Value = serde_json::from_str(&e.data).unwrap();
            (
                e.last_event_id.clone(),
                body["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Reads until `n` chat messages have arrived (failing after `limit`).
async fn read_messages(
    reader: &mut EventReader,
    n: usize,
    limit: Duration,
) -> Vec<(String, String)> {
    tokio::time::timeout(limit, async {
        while messages(&reader.events()).len() < n {
            assert!(reader.read_chunk().await, "the stream ended");
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "only {} of {n} messages came",
            messages(&reader.events()).len()
        )
    });
    messages(&reader.events())
}

/// Reads for `wait` and returns every chat message so far.
async fn settle(reader: &mut EventReader, wait: Duration) -> Vec<(String, String)> {
    let _ = tokio::time::timeout(wait, async { while reader.read_chunk().await {} }).await;
    messages(&reader.events())
}

fn texts(messages: &[(String, String)]) -> Vec<&str> {
    messages.iter().map(|(_, text)| text.as_str()).collect()
}

#[tokio::test]
async fn a_client_on_one_instance_receives_what_is_published_on_the_other_in_order() {
    let Some(url) = redis_url() else { return };
    let prefix = unique_prefix("fanout");
    let (a, b) = (
        BroadcastInstance::start(&url, &prefix).await,
        BroadcastInstance::start(&url, &prefix).await,
    );
    let mut on_a = open(&a, None).await;
    let mut on_b = open(&b, None).await;
    let sent: Vec<String> = (0..30).map(|i| format!("m{i}")).collect();
    for text in &sent {
        assert_eq!(post(&b, text).await, 204);
    }
    for reader in [&mut on_a, &mut on_b] {
        let got = read_messages(reader, 30, Duration::from_secs(10)).await;
        assert_eq!(texts(&got), sent, "lost, repeated or reordered");
        let ids: Vec<sse_redis::EntryId> = got.iter().map(|(id, _)| id.parse().unwrap()).collect();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "ids not increasing: {ids:?}"
        );
    }
    let mut more = Vec::new();
    for _ in 0..20 {
        more.push(open(&a, None).await);
    }
    // One reader per topic (the chat and the ticks), whatever the number of streams.
    assert_eq!(a.hub.reader_count(), 2);
    assert_eq!(a.hub.subscribers_of(axum_broadcast::TOPIC), 21);
}

#[tokio::test]
async fn a_message_posted_again_with_its_id_is_published_once() {
    let Some(url) = redis_url() else { return };
    let prefix = unique_prefix("post-once");
    let (a, b) = (
        BroadcastInstance::start(&url, &prefix).await,
        BroadcastInstance::start(&url, &prefix).await,
    );
    let mut reader = open(&a, None).await;
    // The page's retry after a 504 goes to either instance, with the same id.
    for instance in [&a, &b, &a] {
        let status = client()
            .post(format!("http://{}/publish", instance.addr))
            .form(&[("name", "t"), ("text", "once"), ("id", "msg-42")])
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 204);
    }
    assert_eq!(post(&b, "after").await, 204);
    let got = read_messages(&mut reader, 2, Duration::from_secs(10)).await;
    assert_eq!(
        texts(&got),
        ["once", "after"],
        "a retried message came twice"
    );
}

#[tokio::test]
async fn a_client_cut_off_from_one_instance_resumes_on_the_other_exactly_once() {
    let Some(url) = redis_url() else { return };
    let prefix = unique_prefix("resume");
    let (a, b) = (
        BroadcastInstance::start(&url, &prefix).await,
        BroadcastInstance::start(&url, &prefix).await,
    );
    let mut on_a = open(&a, None).await;
    for i in 0..10 {
        assert_eq!(post(&a, &format!("m{i}")).await, 204);
    }
    // The client sees the first messages, then its connection to A is cut.
    let seen = read_messages(&mut on_a, 5, Duration::from_secs(10)).await;
    on_a.disconnect();
    for i in 10..20 {
        assert_eq!(post(&a, &format!("m{i}")).await, 204);
    }
    let last = seen.last().unwrap().0.clone();
    let mut on_b = open(&b, Some(&last)).await;
    // Live ones too, published on the other instance after the resume.
    for i in 20..25 {
        assert_eq!(post(&a, &format!("m{i}")).await, 204);
    }
    let expected_rest = 25 - seen.len();
    read_messages(&mut on_b, expected_rest, Duration::from_secs(10)).await;
    let resumed = settle(&mut on_b, Duration::from_millis(300)).await;
    let mut all = texts(&seen);
    all.extend(texts(&resumed));
    let expected: Vec<String> = (0..25).map(|i| format!("m{i}")).collect();
    assert_eq!(all, expected, "every message exactly once, in order");
    assert!(
        !on_b.events().iter().any(|e| e.event == "reset"),
        "a retained cursor must not reset"
    );
}

#[tokio::test]
async fn concurrent_publishers_on_both_instances_give_every_subscriber_the_same_order() {
    let Some(url) = redis_url() else { return };
    let prefix = unique_prefix("order");
    let (a, b) = (
        BroadcastInstance::start(&url, &prefix).await,
        BroadcastInstance::start(&url, &prefix).await,
    );
    let mut readers = Vec::new();
    for i in 0..6 {
        readers.push(open(if i % 2 == 0 { &a } else { &b }, None).await);
    }
    const EACH: usize = 150;
    let publish = |instance: &BroadcastInstance, name: &'static str| {
        let addr = instance.addr;
        tokio::spawn(async move {
            let client = client();
            for i in 0..EACH {
                let status = client
                    .post(format!("http://{addr}/publish"))
                    .form(&[("name", name), ("text", &format!("{name}{i}"))])
                    .send()
                    .await
                    .unwrap()
                    .status();
                assert_eq!(status, 204);
            }
        })
    };
    let (pa, pb) = (publish(&a, "a"), publish(&b, "b"));
    // Publishers through the hub API too, on both instances at once.
    let direct = |hub: RedisHub, name: &'static str| {
        tokio::spawn(async move {
            for i in 0..EACH {
                let data = serde_json::json!({ "name": name, "text": format!("{name}{i}") });
                let event = Event::default()
                    .event(sse_redis::EventType::from_static("message"))
                    .data(data.to_string());
                hub.publish(axum_broadcast::TOPIC, event).await.unwrap();
            }
        })
    };
    let (da, db) = (direct(a.hub.clone(), "x"), direct(b.hub.clone(), "y"));
    for task in [pa, pb, da, db] {
        task.await.unwrap();
    }
    let mut orders = Vec::new();
    for reader in &mut readers {
        orders.push(read_messages(reader, 4 * EACH, Duration::from_secs(20)).await);
    }
    for order in &orders {
        assert_eq!(order, &orders[0], "two subscribers saw different orders");
    }
    let mut sorted: Vec<&str> = texts(&orders[0]);
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), 4 * EACH, "lost or repeated messages");
    // Each publisher's own messages stay in its order.
    for name in ["a", "b", "x", "y"] {
        let own: Vec<&str> = texts(&orders[0])
            .into_iter()
            .filter(|t| t.starts_with(name))
            .collect();
        let expected: Vec<String> = (0..EACH).map(|i| format!("{name}{i}")).collect();
        assert_eq!(own, expected);
    }
}

/// A redis-server of this test's own, with an append-only file so entries survive a
/// restart.
fn start_redis(port: u16, dir: &std::path::Path) -> ChildGuard {
    let mut args = [
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--dir",
    ]
    .map(std::ffi::OsStr::new)
    .to_vec();
    args.push(dir.as_os_str());
    sse_tests::spawn_redis(port, &args).expect("redis-server")
}

#[tokio::test]
async fn redis_restarting_under_open_streams_loses_nothing_and_repeats_nothing() {
    if require_program("redis-server", "for the Redis restart test").is_none() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("sse-redis-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}/");
    let mut redis = start_redis(port, &dir);
    assert!(wait_for_port(port, Duration::from_secs(10)).await);
    let prefix = unique_prefix("restart");
    let (a, b) = (
        BroadcastInstance::start(&url, &prefix).await,
        BroadcastInstance::start(&url, &prefix).await,
    );
    let mut on_a = open(&a, None).await;
    for i in 0..5 {
        assert_eq!(post(&b, &format!("m{i}")).await, 204);
    }
    let before = read_messages(&mut on_a, 5, Duration::from_secs(10)).await;

    // Redis goes away: publishing says so, through the API and over HTTP. The first
    // publish on a connection that broke with it in flight cannot know whether Redis
    // ran it (`Unconfirmed`, 504); once the connection is known to be gone, nothing
    // can be sent (`Redis`, 503).
    drop(redis);
    let refused = b.hub.publish("chat", Event::default().data("lost")).await;
    assert!(
        matches!(refused, Err(Error::Redis(_) | Error::Unconfirmed(_))),
        "{refused:?}"
    );
    let status = post(&a, "lost too").await;
    assert!(status == 503 || status == 504, "{status}");
    // Resuming needs Redis (to replay): an error, which the page answers with a retry.
    let resume = sse_redis::LastEventId::from_bytes(before[0].0.as_bytes());
    assert!(matches!(
        b.hub.subscribe("chat", &resume).await,
        Err(Error::Redis(_))
    ));
    let mut retry = open(&b, Some(&before[0].0)).await;
    let said = String::from_utf8_lossy(&{
        let _ = retry.read_to_end(Duration::from_secs(5)).await;
        retry.raw.to_vec()
    })
    .into_owned();
    assert!(
        said.starts_with(": unavailable") && said.contains("retry: 2000"),
        "{said}"
    );

    // Back, with its data: the open stream goes on, publishing works again.
    redis = start_redis(port, &dir);
    assert!(wait_for_port(port, Duration::from_secs(10)).await);
    let mut published = 0;
    for _ in 0..100 {
        if post(&b, &format!("m{}", 5 + published)).await == 204 {
            published += 1;
            if published == 5 {
                break;
            }
        } else {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert_eq!(published, 5, "publishing did not recover");
    read_messages(&mut on_a, 10, Duration::from_secs(10)).await;
    let after = settle(&mut on_a, Duration::from_millis(300)).await;
    let expected: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
    assert_eq!(
        texts(&after),
        expected,
        "lost or repeated across the restart"
    );

    // A reader cut off while Redis is up (its connection killed) reconnects and reads
    // what was added meanwhile, once.
    let mut admin = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("normal")
        .arg("SKIPME")
        .arg("yes")
        .query_async(&mut admin)
        .await
        .unwrap();
    assert!(
        killed >= 2,
        "the readers' connections were not there to kill"
    );
    for i in 10..15 {
        let body = serde_json::json!({ "name": "cli", "text": format!("m{i}") }).to_string();
        let _: String = redis::cmd("XADD")
            .arg(format!("{prefix}{}", axum_broadcast::TOPIC))
            .arg("*")
            .arg("event")
            .arg("message")
            .arg("data")
            .arg(body)
            .query_async(&mut admin)
            .await
            .unwrap();
    }
    read_messages(&mut on_a, 15, Duration::from_secs(10)).await;
    let all = settle(&mut on_a, Duration::from_millis(300)).await;
    let expected: Vec<String> = (0..15).map(|i| format!("m{i}")).collect();
    assert_eq!(texts(&all), expected);

    // The entries survived the restart: a client resuming on the other instance with
    // an id from before it gets the rest, with no reset.
    let mut on_b = open(&b, Some(&before[2].0)).await;
    let resumed = read_messages(&mut on_b, 12, Duration::from_secs(10)).await;
    assert_eq!(texts(&resumed), expected[3..].to_vec());
    assert!(!on_b.events().iter().any(|e| e.event == "reset"));
    drop(redis);
    let _ = std::fs::remove_dir_all(&dir);
}
