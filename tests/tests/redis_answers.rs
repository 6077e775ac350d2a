//! Resumable answers on Redis (`sse_redis::RedisAnswers`) against a real
//! redis-server (`SSE_REDIS_URL`, started by `.ci/run`): an answer written on one
//! instance is resumed on another with the `Last-Event-ID` the client saw, exactly
//! the rest and the end, also after it finished; it expires after its TTL; bad ids are
//! typed errors; the markers that open and end an answer never reach a client.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::time::Duration;

use futures_util::StreamExt;
use sse_redis::{redis, Error, Event, LastEventId, RedisAnswerStream, RedisAnswers, RedisHub};
use sse_rs::decode::{Decoded, Decoder, MessageEvent};
use sse_tests::{redis_url, unique_prefix as prefix};

async fn answers(url: &str, prefix: &str) -> RedisAnswers {
    let hub = RedisHub::builder(redis::Client::open(url).unwrap())
        .key_prefix(prefix)
        .block(Duration::from_millis(200))
        .connect()
        .await
        .unwrap();
    RedisAnswers::new(hub)
}

/// Everything `stream` sends until it ends (failing after 5 s), decoded.
async fn to_end(mut stream: RedisAnswerStream) -> Vec<MessageEvent> {
    let mut decoder = Decoder::new();
    let mut out = Vec::new();
    loop {
        let next = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .unwrap_or_else(|_| panic!("the answer did not end: {out:?}"));
        let Some(chunk) = next else { return out };
        for item in decoder.decode(chunk.unwrap().as_bytes()).unwrap() {
            if let Decoded::Event(event) = item {
                out.push(event);
            }
        }
    }
}

/// The next `n` events of `stream`.
async fn next(stream: &mut RedisAnswerStream, n: usize) -> Vec<MessageEvent> {
    let mut decoder = Decoder::new();
    let mut out = Vec::new();
    while out.len() < n {
        let chunk = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("an event within 5 s")
            .expect("not the end")
            .unwrap();
        for item in decoder.decode(chunk.as_bytes()).unwrap() {
            if let Decoded::Event(event) = item {
                out.push(event);
            }
        }
    }
    out
}

fn data(events: &[MessageEvent]) -> Vec<&str> {
    events.iter().map(|event| event.data.as_str()).collect()
}

#[tokio::test]
async fn a_reload_on_another_instance_gets_exactly_the_rest_then_the_end() {
    let Some(url) = redis_url() else { return };
    let prefix = prefix("answers");
    let (a, b) = (answers(&url, &prefix).await, answers(&url, &prefix).await);
    let mut writer = a.start("q1").await.unwrap();
    // The page asks on A and reads two tokens.
    let mut first = a.resume("q1", &LastEventId::none()).await.unwrap();
    for token in ["Hel", "lo", " wor"] {
        writer.send(Event::default().data(token)).await.unwrap();
    }
    let seen = next(&mut first, 2).await;
    assert_eq!(data(&seen), ["Hel", "lo"], "the start marker is never sent");
    drop(first);
    // It reloads; the load balancer sends it to B, with the id of "lo".
    let last = LastEventId::from_bytes(seen[1].last_event_id.as_bytes());
    let rest = b.resume("q1", &last).await.unwrap();
    let reading = tokio::spawn(to_end(rest));
    writer.send(Event::default().data("ld")).await.unwrap();
    writer
        .finish(Some(Event::default().data("[DONE]")))
        .await
        .unwrap();
    let rest = reading.await.unwrap();
    assert_eq!(
        data(&rest),
        [" wor", "ld", "[DONE]"],
        "nothing lost or twice"
    );

    // After the end, within the TTL, on either instance: the whole answer, and the end.
    let again = to_end(b.resume("q1", &LastEventId::none()).await.unwrap()).await;
    assert_eq!(data(&again), ["Hel", "lo", " wor", "ld", "[DONE]"]);
    let tail = LastEventId::from_bytes(again[3].last_event_id.as_bytes());
    let tail = to_end(a.resume("q1", &tail).await.unwrap()).await;
    assert_eq!(data(&tail), ["[DONE]"]);
}

#[tokio::test]
async fn ids_that_are_not_answers_or_events_of_them_are_typed_errors() {
    let Some(url) = redis_url() else { return };
    let prefix = prefix("answer-errors");
    let store = answers(&url, &prefix).await;
    let mut writer = store.start("q").await.unwrap();
    assert!(matches!(store.start("q").await, Err(Error::AnswerExists)));
    assert!(matches!(store.start("").await, Err(Error::InvalidKey)));
    assert!(matches!(
        store.start(&"x".repeat(129)).await,
        Err(Error::InvalidKey)
    ));
    assert!(matches!(
        store.resume("other", &LastEventId::none()).await,
        Err(Error::AnswerNotFound)
    ));
    let id = writer.send(Event::default().data("a")).await.unwrap();
    for bad in ["nonsense", "1-0", "99999999999999-0"] {
        assert!(
            matches!(
                store
                    .resume("q", &LastEventId::from_bytes(bad.as_bytes()))
                    .await,
                Err(Error::UnknownLastEventId)
            ),
            "{bad}"
        );
    }
    let known = LastEventId::from_bytes(id.to_string().as_bytes());
    assert!(store.resume("q", &known).await.is_ok());
    // A resume before the first event finds the answer (its start marker).
    store.start("empty").await.unwrap();
    assert!(store.resume("empty", &LastEventId::none()).await.is_ok());
}

#[tokio::test]
async fn an_answer_expires_after_its_ttl_and_a_dropped_writer_ends_it() {
    let Some(url) = redis_url() else { return };
    let prefix = prefix("answer-ttl");
    let store = answers(&url, &prefix).await.ttl(Duration::from_secs(1));
    let mut conn = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let key = format!("{prefix}answer:q");

    let mut writer = store.start("q").await.unwrap();
    writer.send(Event::default().data("a")).await.unwrap();
    let running: i64 = redis::cmd("TTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        running > 3000,
        "a running answer is kept for the running TTL: {running}"
    );
    let reader = store.resume("q", &LastEventId::none()).await.unwrap();
    // Dropped unfinished (a panicking producer): the answer still ends.
    drop(writer);
    assert_eq!(data(&to_end(reader).await), ["a"]);
    let ended: i64 = redis::cmd("TTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!((0..=1).contains(&ended), "{ended}");
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert!(matches!(
        store.resume("q", &LastEventId::none()).await,
        Err(Error::AnswerNotFound)
    ));
}

/// Never a silent gap: an answer whose start was trimmed (the hub's `max_len`) cannot
/// be read from its start, and a read whose replay would not fit the hub's
/// `replay_bytes` (the hub says `reset`) ends with `AnswerLost`.
#[tokio::test]
async fn a_trimmed_start_or_a_reset_is_an_error_not_a_gap() {
    let Some(url) = redis_url() else { return };
    let prefix = prefix("answer-gaps");
    let hub = |max_len: usize, replay_bytes: usize| {
        RedisHub::builder(redis::Client::open(url.as_str()).unwrap())
            .key_prefix(&prefix)
            .block(Duration::from_millis(200))
            .max_len(max_len)
            .replay_bytes(replay_bytes)
            .connect()
    };
    let trimming = RedisAnswers::new(hub(5, 1 << 20).await.unwrap());
    let mut writer = trimming.start("long").await.unwrap();
    // `MAXLEN ~` trims whole nodes of 100 entries: well past one.
    for n in 0..250 {
        writer
            .send(Event::default().data(format!("token {n}")))
            .await
            .unwrap();
    }
    assert!(matches!(
        trimming.resume("long", &LastEventId::none()).await,
        Err(Error::AnswerGone)
    ));

    let small_replay = RedisAnswers::new(hub(10_000, 64).await.unwrap());
    let mut writer = small_replay.start("wide").await.unwrap();
    for n in 0..20 {
        writer
            .send(Event::default().data(format!("token {n}")))
            .await
            .unwrap();
    }
    let mut stream = small_replay
        .resume("wide", &LastEventId::none())
        .await
        .unwrap();
    let first = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(first, Err(Error::AnswerLost)), "{first:?}");
    assert!(stream.next().await.is_none());
}
