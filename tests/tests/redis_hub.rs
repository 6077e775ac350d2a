//! The Redis backplane against a real redis-server, whose address is in
//! `SSE_REDIS_URL` (`.ci/run` starts one). Without it the tests say SKIPPED, except
//! under CI, where they fail. The tests that pause Redis run one of their own
//! (`OwnRedis`).

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::time::Duration;

use futures_util::StreamExt;
use sse_redis::{redis, EntryId, Error, Event, EventType, LastEventId, RedisHub, Subscription};
use sse_rs::decode::{Decoded, Decoder, MessageEvent};
use sse_tests::{redis_url, unique_prefix as prefix, OwnRedis};

/// A builder for a hub on the test server, with its streams under `prefix`.
fn builder(url: &str, prefix: &str) -> sse_redis::RedisHubBuilder {
    RedisHub::builder(redis::Client::open(url).unwrap()).key_prefix(prefix)
}

async fn hub(url: &str, prefix: &str) -> RedisHub {
    builder(url, prefix)
        .block(Duration::from_millis(200))
        .connect()
        .await
        .unwrap()
}

/// Publishes the events numbered `numbers` (their data) to `topic`; their ids.
async fn publish_numbered(
    hub: &RedisHub,
    topic: &str,
    numbers: std::ops::Range<usize>,
) -> Vec<EntryId> {
    let mut ids = Vec::new();
    for i in numbers {
        ids.push(
            hub.publish(topic, Event::default().data(i.to_string()))
                .await
                .unwrap(),
        );
    }
    ids
}

/// The next `n` events of `subscription` (failing after 5 s).
async fn next_events(subscription: &mut Subscription, n: usize) -> Vec<MessageEvent> {
    let mut decoder = Decoder::new();
    let mut out = Vec::new();
    while out.len() < n {
        let chunk = tokio::time::timeout(Duration::from_secs(5), subscription.next())
            .await
            .unwrap_or_else(|_| panic!("only {} of {n} events came: {out:?}", out.len()))
            .expect("subscription ended")
            .unwrap();
        for item in decoder.decode(chunk.as_bytes()).unwrap() {
            if let Decoded::Event(event) = item {
                out.push(event);
            }
        }
    }
    out
}

/// Whether `subscription` stays quiet for `wait`.
async fn quiet(subscription: &mut Subscription, wait: Duration) -> bool {
    tokio::time::timeout(wait, subscription.next())
        .await
        .is_err()
}

fn data(events: &[MessageEvent]) -> Vec<&str> {
    events.iter().map(|e| e.data.as_str()).collect()
}

async fn raw(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

#[tokio::test]
async fn events_carry_their_entry_id_and_reach_subscribers_of_every_hub() {
    let Some(url) = redis_url() else { return };
    let prefix = prefix("ids");
    let (a, b) = (hub(&url, &prefix).await, hub(&url, &prefix).await);
    let mut on_a = a.subscribe("news", &LastEventId::none()).await.unwrap();
    let mut on_b = b.subscribe("news", &LastEventId::none()).await.unwrap();
    let mut other = a.subscribe("sport", &LastEventId::none()).await.unwrap();

    let tick = EventType::from_static("tick");
    let first = b
        .publish(
            "news",
            Event::default()
                .id(7_u8)
                .event(tick.clone())
                .retry(Duration::from_millis(1500))
                .comment("c")
                .data("line 1\nline 2"),
        )
        .await
        .unwrap();
    let second = a
        .publish("news", Event::default().data("two"))
        .await
        .unwrap();
    assert!(first < second, "{first} then {second}");

    for subscription in [&mut on_a, &mut on_b] {
        let chunk = tokio::time::timeout(Duration::from_secs(5), subscription.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(
            chunk.as_bytes(),
            format!(": c\nevent: tick\nid: {first}\nretry: 1500\ndata: line 1\ndata: line 2\n\n")
                .as_bytes(),
            "the event's own id must be replaced by the entry id"
        );
        let events = next_events(subscription, 1).await;
        assert_eq!(events[0].last_event_id, second.to_string());
    }
    assert!(
        quiet(&mut other, Duration::from_millis(300)).await,
        "topic leak"
    );

    // The stream holds the fields, readable by any Redis client.
    let mut conn = raw(&url).await;
    let fields: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(format!("{prefix}news"))
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(fields.len(), 2);
    assert_eq!(fields[0].0, first.to_string());
    assert!(fields[0].1.contains(&("event".into(), "tick".into())));
    assert!(fields[0]
        .1
        .contains(&("data".into(), "line 1\nline 2".into())));
}

#[tokio::test]
async fn entries_added_by_any_redis_client_are_delivered_and_malformed_ones_skipped() {
    let Some(url) = redis_url() else { return };
    let prefix = prefix("foreign");
    let hub = hub(&url, &prefix).await;
    let mut sub = hub.subscribe("t", &LastEventId::none()).await.unwrap();
    let mut conn = raw(&url).await;
    let key = format!("{prefix}t");
    let add = |fields: Vec<(&'static str, Vec<u8>)>| {
        let mut cmd = redis::cmd("XADD");
        cmd.arg(&key).arg("*");
        for (name, value) in fields {
            cmd.arg(name).arg(value);
        }
        cmd
    };
    let good: String = add(vec![
        ("event", b"note".to_vec()),
        ("data", b"from redis-cli".to_vec()),
    ])
    .query_async(&mut conn)
    .await
    .unwrap();
    for bad in [
        vec![("data", vec![0xff, 0xfe])],
        vec![("event", b"two\nlines".to_vec()), ("data", b"x".to_vec())],
        vec![("retry", b"soon".to_vec())],
    ] {
        let _: String = add(bad).query_async(&mut conn).await.unwrap();
    }
    // A field name that is not UTF-8 spoils only its own field, not the reply.
    let odd_name: String = add(vec![("data", b"odd name beside".to_vec())])
        .arg(b"\xff\xfe".as_slice())
        .arg("ignored")
        .query_async(&mut conn)
        .await
        .unwrap();
    let last: String = add(vec![("data", b"injected?\n\nid: 1\ndata: no".to_vec())])
        .query_async(&mut conn)
        .await
        .unwrap();

    let events = next_events(&mut sub, 3).await;
    assert_eq!(
        (events[0].event.as_str(), events[0].data.as_str()),
        ("note", "from redis-cli")
    );
    assert_eq!(events[0].last_event_id, good);
    assert_eq!(
        (events[1].data.as_str(), events[1].last_event_id.as_str()),
        ("odd name beside", odd_name.as_str())
    );
    // A line break in data stays data: no field is smuggled through.
    assert_eq!(events[2].data, "injected?\n\nid: 1\ndata: no");
    assert_eq!(events[2].last_event_id, last);
    assert_eq!(hub.malformed_entries(), 3);
}

#[tokio::test]
async fn resuming_on_another_hub_replays_exactly_what_was_missed() {
    let Some(url) = redis_url() else { return };
    let prefix = prefix("resume");
    let (a, b) = (hub(&url, &prefix).await, hub(&url, &prefix).await);
    let ids = publish_numbered(&a, "chat", 0..10).await;
    // Saw 0..=3 on A; resumes on B, which has never read the topic.
    let last = LastEventId::from_bytes(ids[3].to_string().as_bytes());
    let mut on_b = b.subscribe("chat", &last).await.unwrap();
    let replayed = next_events(&mut on_b, 6).await;
    assert_eq!(data(&replayed), ["4", "5", "6", "7", "8", "9"]);
    assert_eq!(replayed[5].last_event_id, ids[9].to_string());
    // Then live, with nothing twice.
    a.publish("chat", Event::default().data("live"))
        .await
        .unwrap();
    assert_eq!(data(&next_events(&mut on_b, 1).await), ["live"]);
    assert!(quiet(&mut on_b, Duration::from_millis(300)).await);

    // Resuming at the newest entry: nothing to replay.
    let newest = LastEventId::from_bytes(ids[9].to_string().as_bytes());
    let mut caught_up = a.subscribe("chat", &newest).await.unwrap();
    let events = next_events(&mut caught_up, 1).await;
    assert_eq!(data(&events), ["live"]);
}

#[tokio::test]
async fn a_trimmed_or_unknown_cursor_gets_reset_and_a_foreign_id_starts_live() {
    let Some(url) = redis_url() else { return };
    let prefix = prefix("window");
    let hub = builder(&url, &prefix).max_len(1).connect().await.unwrap();
    let first = publish_numbered(&hub, "t", 0..300).await[0];
    // Make trimming exact, whatever `~` leaves, so the test knows the window.
    let mut conn = raw(&url).await;
    let _: u64 = redis::cmd("XTRIM")
        .arg(format!("{prefix}t"))
        .arg("MAXLEN")
        .arg(5)
        .query_async(&mut conn)
        .await
        .unwrap();

    let trimmed = LastEventId::from_bytes(first.to_string().as_bytes());
    let mut sub = hub.subscribe("t", &trimmed).await.unwrap();
    let events = next_events(&mut sub, 6).await;
    assert_eq!(events[0].event, "reset");
    assert_eq!(data(&events[1..]), ["295", "296", "297", "298", "299"]);

    // An entry id this stream never had (from before a restart, say) but in range.
    let unknown = EntryId::new(first.ms(), first.seq() + 1_000_000);
    let mut sub = hub
        .subscribe(
            "t",
            &LastEventId::from_bytes(unknown.to_string().as_bytes()),
        )
        .await
        .unwrap();
    assert_eq!(next_events(&mut sub, 1).await[0].event, "reset");

    // An id from the future: reset, nothing to replay, then live.
    let future = LastEventId::from_bytes(b"99999999999999-0");
    let mut sub = hub.subscribe("t", &future).await.unwrap();
    assert_eq!(next_events(&mut sub, 1).await[0].event, "reset");
    assert!(quiet(&mut sub, Duration::from_millis(200)).await);

    // Not an entry id at all: live only, no reset.
    let mut sub = hub
        .subscribe("t", &LastEventId::from_bytes(b"42"))
        .await
        .unwrap();
    assert!(quiet(&mut sub, Duration::from_millis(300)).await);
    hub.publish("t", Event::default().data("live"))
        .await
        .unwrap();
    assert_eq!(data(&next_events(&mut sub, 1).await), ["live"]);
}

#[tokio::test]
async fn replay_longer_than_a_batch_is_read_in_pages() {
    let Some(url) = redis_url() else { return };
    let prefix = prefix("pages");
    let hub = builder(&url, &prefix).batch(7).connect().await.unwrap();
    let first = publish_numbered(&hub, "t", 0..100).await[0];
    let mut sub = hub
        .subscribe("t", &LastEventId::from_bytes(first.to_string().as_bytes()))
        .await
        .unwrap();
    let events = next_events(&mut sub, 99).await;
    let expected: Vec<String> = (1..100).map(|i| i.to_string()).collect();
    assert_eq!(data(&events), expected);
    assert!(quiet(&mut sub, Duration::from_millis(200)).await);
}

#[tokio::test]
async fn one_reader_per_topic_whatever_the_number_of_subscribers() {
    let Some(url) = redis_url() else { return };
    let prefix = prefix("readers");
    let hub = hub(&url, &prefix).await;
    let mut subs = Vec::new();
    for i in 0..200 {
        let topic = if i % 2 == 0 { "a" } else { "b" };
        subs.push(hub.subscribe(topic, &LastEventId::none()).await.unwrap());
    }
    assert_eq!(hub.reader_count(), 2);
    assert_eq!(hub.subscribers_of("a"), 100);
    hub.publish("a", Event::default().data("x")).await.unwrap();
    for sub in subs.iter_mut().step_by(2) {
        assert_eq!(data(&next_events(sub, 1).await), ["x"]);
    }
    // The readers stop after their topic's last subscriber leaves.
    subs.retain(|_| false);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while hub.reader_count() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(hub.reader_count(), 0, "readers outlive their subscribers");
    // And a new subscriber starts one again, from the stream's end.
    let mut again = hub.subscribe("a", &LastEventId::none()).await.unwrap();
    hub.publish("a", Event::default().data("y")).await.unwrap();
    assert_eq!(data(&next_events(&mut again, 1).await), ["y"]);
}

#[tokio::test]
async fn subscriber_churn_never_loses_a_live_event() {
    let Some(url) = redis_url() else { return };
    let prefix = prefix("churn");
    let hub = builder(&url, &prefix)
        .block(Duration::from_millis(5))
        .connect()
        .await
        .unwrap();
    // Readers stop and start all the time; each new subscription gets what is
    // published after it.
    for round in 0..40_u64 {
        let mut sub = hub.subscribe("t", &LastEventId::none()).await.unwrap();
        hub.publish("t", Event::default().data(round.to_string()))
            .await
            .unwrap();
        assert_eq!(data(&next_events(&mut sub, 1).await), [round.to_string()]);
        drop(sub);
        tokio::time::sleep(Duration::from_millis((round % 3) * 5)).await;
    }
}

#[tokio::test]
async fn close_ends_subscriptions_with_the_last_event_and_refuses_publishing() {
    let Some(url) = redis_url() else { return };
    let prefix = prefix("close");
    let hub = hub(&url, &prefix).await;
    let mut sub = hub.subscribe("t", &LastEventId::none()).await.unwrap();
    hub.publish("t", Event::default().data("before"))
        .await
        .unwrap();
    assert_eq!(data(&next_events(&mut sub, 1).await), ["before"]);
    hub.close(Some(
        Event::default()
            .event(EventType::from_static("bye"))
            .data(""),
    ));
    let events = next_events(&mut sub, 1).await;
    assert_eq!(events[0].event, "bye");
    assert!(tokio::time::timeout(Duration::from_secs(2), sub.next())
        .await
        .unwrap()
        .is_none());
    assert!(matches!(
        hub.publish("t", Event::default().data("late")).await,
        Err(Error::Closed)
    ));
    let mut late = hub.subscribe("t", &LastEventId::none()).await.unwrap();
    assert!(
        tokio::time::timeout(Duration::from_secs(2), late.next())
            .await
            .unwrap()
            .is_none(),
        "a closed hub must end new subscriptions at once"
    );
}

#[tokio::test]
async fn an_unreachable_redis_is_an_error_not_a_hang() {
    // A loopback port with nothing listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    let result = tokio::time::timeout(
        Duration::from_secs(10),
        RedisHub::builder(client)
            .timeout(Duration::from_millis(500))
            .connect(),
    )
    .await
    .expect("connect hangs");
    match result {
        Err(Error::Redis(e)) => assert!(e.is_connection_refusal() || e.is_io_error(), "{e}"),
        other => panic!("expected a redis error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_client_ahead_of_this_instance_s_reader_waits_for_it_and_gets_nothing_twice() {
    let Some(url) = redis_url() else { return };
    let prefix = prefix("ahead");
    // A's reader comes back slowly after losing its connection.
    let a = builder(&url, &prefix)
        .reconnect_backoff(Duration::from_millis(400), Duration::from_millis(400))
        .connect()
        .await
        .unwrap();
    let b = hub(&url, &prefix).await;
    let mut on_a = a.subscribe("t", &LastEventId::none()).await.unwrap();
    a.publish("t", Event::default().data("0")).await.unwrap();
    assert_eq!(data(&next_events(&mut on_a, 1).await), ["0"]);

    // Cut A's reader (the connection blocked in XREAD) off Redis.
    let mut admin = raw(&url).await;
    let clients: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(&mut admin)
        .await
        .unwrap();
    let readers: Vec<&str> = clients
        .lines()
        .filter(|line| line.contains("cmd=xread"))
        .filter_map(|line| line.split(' ').find_map(|f| f.strip_prefix("id=")))
        .collect();
    assert!(!readers.is_empty(), "no reader blocked in XREAD: {clients}");
    for id in &readers {
        let _: i64 = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("ID")
            .arg(*id)
            .query_async(&mut admin)
            .await
            .unwrap();
    }
    // Meanwhile B publishes; a client sees it on B, then moves to A, whose reader has
    // not read it yet.
    let mut seen = Vec::new();
    for i in 1..=3 {
        seen.push(
            b.publish("t", Event::default().data(i.to_string()))
                .await
                .unwrap(),
        );
    }
    let last = LastEventId::from_bytes(seen[1].to_string().as_bytes());
    let mut moved = a.subscribe("t", &last).await.unwrap();
    b.publish("t", Event::default().data("4")).await.unwrap();
    let events = next_events(&mut moved, 2).await;
    assert_eq!(data(&events), ["3", "4"], "{events:?}");
    assert!(quiet(&mut moved, Duration::from_millis(300)).await);
    // The subscriber that stayed on A gets everything once, too.
    assert_eq!(data(&next_events(&mut on_a, 4).await), ["1", "2", "3", "4"]);
}

#[tokio::test]
async fn dropping_the_last_handle_ends_the_subscriptions() {
    let Some(url) = redis_url() else { return };
    let prefix = prefix("drop");
    let hub = hub(&url, &prefix).await;
    let mut sub = hub.subscribe("t", &LastEventId::none()).await.unwrap();
    let clone = hub.clone();
    drop(hub);
    clone
        .publish("t", Event::default().data("still here"))
        .await
        .unwrap();
    assert_eq!(data(&next_events(&mut sub, 1).await), ["still here"]);
    drop(clone);
    assert!(tokio::time::timeout(Duration::from_secs(2), sub.next())
        .await
        .expect("the subscription outlives its hub")
        .is_none());
}

#[tokio::test]
async fn close_then_drop_still_sends_the_last_event() {
    let Some(url) = redis_url() else { return };
    let hub = hub(&url, &prefix("close-drop")).await;
    let mut sub = hub.subscribe("t", &LastEventId::none()).await.unwrap();
    hub.close(Some(
        Event::default()
            .event(EventType::from_static("bye"))
            .data(""),
    ));
    drop(hub);
    let events = next_events(&mut sub, 1).await;
    assert_eq!(
        events[0].event, "bye",
        "the drop replaced close's last event"
    );
}

#[tokio::test]
async fn a_burst_larger_than_the_local_queue_reaches_every_subscriber() {
    let Some(url) = redis_url() else { return };
    let prefix = prefix("burst");
    // The default queue (256): one unbounded read of 600 entries would overrun it and
    // close every subscriber.
    let hub = hub(&url, &prefix).await;
    let mut subs = Vec::new();
    for _ in 0..3 {
        subs.push(hub.subscribe("t", &LastEventId::none()).await.unwrap());
    }
    // Appended in one go, behind the reader's back.
    let mut pipe = redis::pipe();
    for i in 0..600 {
        pipe.cmd("XADD")
            .arg(format!("{prefix}t"))
            .arg("*")
            .arg("data")
            .arg(i.to_string())
            .ignore();
    }
    let _: () = pipe.query_async(&mut raw(&url).await).await.unwrap();
    let expected: Vec<String> = (0..600).map(|i| i.to_string()).collect();
    // Each subscriber reads in a task of its own, as the streams of a server do.
    let readers: Vec<_> = subs
        .into_iter()
        .map(|mut sub| tokio::spawn(async move { next_events(&mut sub, 600).await }))
        .collect();
    for reader in readers {
        assert_eq!(data(&reader.await.unwrap()), expected);
    }
}

#[tokio::test]
async fn resuming_anywhere_while_publishing_goes_on_never_loses_or_repeats() {
    let Some(url) = redis_url() else { return };
    let prefix = prefix("seam");
    let publisher = hub(&url, &prefix).await;
    let resumer = builder(&url, &prefix)
        .block(Duration::from_millis(5))
        .batch(16)
        .connect()
        .await
        .unwrap();
    let first = publisher
        .publish("t", Event::default().data("0"))
        .await
        .unwrap();
    let published = std::sync::Arc::new(std::sync::Mutex::new(vec![first]));
    const TOTAL: usize = 1500;
    let ids = std::sync::Arc::clone(&published);
    let task = tokio::spawn(async move {
        for i in 1..TOTAL {
            let id = publisher
                .publish("t", Event::default().data(i.to_string()))
                .await
                .unwrap();
            ids.lock().unwrap().push(id);
            if i % 50 == 0 {
                tokio::task::yield_now().await;
            }
        }
    });
    // Resume after ids seen so far, while the publisher goes on: each subscription must
    // continue with exactly the entries that follow, whether replayed or live.
    let mut resumed = 0;
    while !task.is_finished() || resumed == 0 {
        let (k, after) = {
            let ids = published.lock().unwrap();
            let k = ids.len() / 2 + resumed % 7;
            (k.min(ids.len() - 1), ids[k.min(ids.len() - 1)])
        };
        let take = 40.min(TOTAL - 1 - k);
        let mut sub = resumer
            .subscribe("t", &LastEventId::from_bytes(after.to_string().as_bytes()))
            .await
            .unwrap();
        let got = next_events(&mut sub, take).await;
        let expected: Vec<String> = (k + 1..=k + take).map(|i| i.to_string()).collect();
        assert_eq!(data(&got), expected, "resumed after entry {k}");
        resumed += 1;
        drop(sub);
    }
    task.await.unwrap();
    assert!(resumed > 3, "only {resumed} resumes raced the publisher");
}

/// The entries of `stream`: (id, fields).
async fn entries(url: &str, stream: &str) -> Vec<(String, Vec<(String, String)>)> {
    redis::cmd("XRANGE")
        .arg(stream)
        .arg("-")
        .arg("+")
        .query_async(&mut raw(url).await)
        .await
        .unwrap()
}

#[tokio::test]
async fn publish_once_publishes_a_key_once() {
    let Some(url) = redis_url() else { return };
    let prefix = prefix("once");
    let hub = hub(&url, &prefix).await;
    let first = hub
        .publish_once("chat", "m-1", Event::default().data("hello"))
        .await
        .unwrap();
    assert!(first.first);
    let again = hub
        .publish_once("chat", "m-1", Event::default().data("hello"))
        .await
        .unwrap();
    assert!(!again.first, "a retry with the same key published again");
    assert_eq!(again.id, first.id);
    let other = hub
        .publish_once("chat", "m-2", Event::default().data("hello"))
        .await
        .unwrap();
    assert!(other.first && other.id > first.id);
    let stored = entries(&url, &format!("{prefix}chat")).await;
    let ids: Vec<&str> = stored.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, [first.id.to_string(), other.id.to_string()]);

    for bad in [String::new(), "k".repeat(129)] {
        let refused = hub
            .publish_once("chat", &bad, Event::default().data("x"))
            .await;
        assert!(matches!(refused, Err(Error::InvalidKey)), "{refused:?}");
    }
}

/// The case that was reported as "not sent" and then delivered: Redis stops answering
/// (paused) with a publish in flight. The publish is `Unconfirmed`, not a failure; once
/// Redis runs again the event is in the stream; a retry with the same key adds
/// nothing, and returns the id the first attempt got.
#[tokio::test]
async fn a_publish_redis_did_not_answer_is_unconfirmed_and_its_retry_is_safe() {
    let Some(redis) = OwnRedis::start().await else {
        return;
    };
    let url = redis.url.clone();
    let prefix = prefix("pause");
    let hub = builder(&url, &prefix)
        .timeout(Duration::from_millis(300))
        .connect()
        .await
        .unwrap();

    redis.pause();
    let paused = hub
        .publish_once("chat", "m-1", Event::default().data("slow"))
        .await;
    assert!(matches!(paused, Err(Error::Unconfirmed(_))), "{paused:?}");
    let plain = hub.publish("chat", Event::default().data("slow too")).await;
    assert!(matches!(plain, Err(Error::Unconfirmed(_))), "{plain:?}");
    redis.resume();

    // The paused commands ran once Redis went on: both are in the stream.
    let stream = format!("{prefix}chat");
    let mut stored = Vec::new();
    for _ in 0..100 {
        stored = entries(&url, &stream).await;
        if stored.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(stored.len(), 2, "{stored:?}");

    // The retry the page makes: nothing new, the id of the entry that got through.
    let retried = loop {
        match hub
            .publish_once("chat", "m-1", Event::default().data("slow"))
            .await
        {
            Err(Error::Unconfirmed(_) | Error::Redis(_)) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => break other.unwrap(),
        }
    };
    assert!(
        !retried.first,
        "the retry published the message a second time"
    );
    assert_eq!(retried.id.to_string(), stored[0].0);
    assert_eq!(entries(&url, &stream).await.len(), 2);
}

/// Issue: every far-back resume read the whole window into memory, 10 000 entries
/// with no byte bound (20 unread resumes from the first id took 2.3 GB). A resume is
/// now bounded by `replay_bytes`: a client further back gets a reset, then the newest
/// events that fit, in order, then live ones.
#[tokio::test]
async fn a_far_back_resume_is_bounded_in_bytes_and_says_reset() {
    let Some(url) = redis_url() else { return };
    let prefix = prefix("replay-budget");
    let budget = 20 * 1024;
    let hub = builder(&url, &prefix)
        .replay_bytes(budget)
        .connect()
        .await
        .unwrap();
    let big = "x".repeat(1000);
    let mut ids = Vec::new();
    for i in 0..200 {
        let event = Event::default().data(format!("{i:03} {big}"));
        ids.push(hub.publish("log", event).await.unwrap());
    }
    let mut resumed = hub
        .subscribe(
            "log",
            &LastEventId::from_bytes(ids[0].to_string().as_bytes()),
        )
        .await
        .unwrap();
    let mut decoder = Decoder::new();
    let mut items = Vec::new();
    let mut bytes = 0;
    // Read what is ready: the replay, then nothing more (no live events yet).
    while let Ok(Some(chunk)) =
        tokio::time::timeout(Duration::from_millis(300), resumed.next()).await
    {
        let chunk = chunk.unwrap();
        bytes += chunk.len();
        items.extend(decoder.decode(chunk.as_bytes()).unwrap());
    }
    let events: Vec<&MessageEvent> = items
        .iter()
        .filter_map(|item| match item {
            Decoded::Event(event) => Some(event),
            _ => None,
        })
        .collect();
    assert_eq!(
        events[0].event, "reset",
        "no reset for a client further back than the budget"
    );
    let numbers: Vec<usize> = events[1..]
        .iter()
        .map(|e| e.data[..3].parse().unwrap())
        .collect();
    assert!(!numbers.is_empty());
    assert_eq!(*numbers.last().unwrap(), 199, "the newest event is missing");
    assert!(
        numbers.windows(2).all(|w| w[1] == w[0] + 1),
        "not the newest events in order: {numbers:?}"
    );
    assert!(
        bytes <= budget + 100,
        "replayed {bytes} bytes over a budget of {budget}"
    );
    // Well short of the 199 events after the client's id: the budget did cut.
    assert!(numbers.len() < 30, "{}", numbers.len());
}

/// Many clients resuming at once all get their replay: they take turns
/// (`max_replays` at a time) rather than fail.
#[tokio::test]
async fn resumes_at_once_take_turns() {
    let Some(url) = redis_url() else { return };
    let prefix = prefix("replay-turns");
    let hub = builder(&url, &prefix)
        .max_replays(2)
        .timeout(Duration::from_secs(5))
        .connect()
        .await
        .unwrap();
    let ids = publish_numbered(&hub, "t", 0..50).await;
    let last = LastEventId::from_bytes(ids[0].to_string().as_bytes());
    let resumes = (0..20).map(|_| hub.subscribe("t", &last));
    let results = futures_util::future::join_all(resumes).await;
    for result in results {
        let mut subscription = result.unwrap();
        let events = next_events(&mut subscription, 49).await;
        assert_eq!(events.last().unwrap().data, "49");
    }
}

/// A resume that waits too long for its turn (Redis is slow: the replays ahead of it
/// hold theirs) fails with `Busy` instead of queueing without bound.
#[tokio::test]
async fn a_resume_that_gets_no_turn_in_time_is_busy() {
    let Some(redis) = OwnRedis::start().await else {
        return;
    };
    let url = redis.url.clone();
    let hub = builder(&url, &prefix("busy"))
        .max_replays(1)
        .timeout(Duration::from_millis(300))
        .connect()
        .await
        .unwrap();
    let ids = publish_numbered(&hub, "t", 0..5).await;
    // The topic's reader runs before Redis pauses; only the replays need Redis then.
    let _live = hub.subscribe("t", &LastEventId::none()).await.unwrap();
    redis.pause();
    let last = LastEventId::from_bytes(ids[0].to_string().as_bytes());
    let mut resumes = Vec::new();
    for _ in 0..3 {
        let hub = hub.clone();
        let last = last.clone();
        resumes.push(tokio::spawn(async move { hub.subscribe("t", &last).await }));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut busy = 0;
    for resume in resumes {
        match resume.await.unwrap() {
            Err(Error::Busy) => busy += 1,
            Err(Error::Redis(_)) => {}
            other => panic!("a replay from a paused Redis: {other:?}"),
        }
    }
    redis.resume();
    assert!(
        busy >= 1,
        "no resume was turned away while the only turn was taken"
    );
}
