//! The hub's tests: publishing, replay, lag, closing, and the seam between replay
//! and live events.

use std::time::Duration;

use futures_util::StreamExt;

use super::*;
use crate::decode::{Decoded, Decoder};
use crate::EventId;

fn last(id: u64) -> LastEventId {
    LastEventId::from_bytes(id.to_string().as_bytes())
}

/// (type, data, id) of everything ready on `subscription` now.
fn drain(subscription: &mut Subscription) -> Vec<(String, String, String)> {
    let mut decoder = Decoder::new();
    let mut out = Vec::new();
    while let Some(Some(Ok(event))) = futures_util::FutureExt::now_or_never(subscription.next()) {
        for item in decoder.decode(event.as_bytes()).unwrap() {
            if let Decoded::Event(e) = item {
                out.push((e.event, e.data, e.last_event_id));
            }
        }
    }
    out
}

fn ids(events: &[(String, String, String)]) -> Vec<u64> {
    events
        .iter()
        .filter(|e| e.0 == "message")
        .map(|e| e.2.parse().unwrap())
        .collect()
}

/// The ring's receiver lives in its waiting future, whose box is made at
/// subscribing and reused for every event: reading events, queued or not, allocates
/// no future of its own.
#[test]
fn a_ring_s_future_is_boxed_once() {
    let hub = Hub::new();
    let mut subscription = hub.subscribe(&["t"], &LastEventId::none());
    let boxed = |subscription: &mut Subscription| {
        let ring = subscription
            .ring
            .as_mut()
            .expect("one topic, one ring inline");
        std::ptr::from_ref(&*ring.wait.get_pin()).cast::<u8>() as usize
    };
    let first = boxed(&mut subscription);
    // Queued events (the future is ready at its first poll), then one at a time
    // (the future waits on an empty ring first).
    for n in 1..=3 {
        hub.publish("t", Event::default().data(n.to_string()));
    }
    assert_eq!(ids(&drain(&mut subscription)), [1, 2, 3]);
    assert_eq!(boxed(&mut subscription), first, "the future was boxed anew");
    for n in 4..=6 {
        hub.publish("t", Event::default().data(n.to_string()));
        assert_eq!(ids(&drain(&mut subscription)), [n]);
        assert_eq!(boxed(&mut subscription), first, "the future was boxed anew");
    }
    assert!(
        subscription.more.is_none(),
        "nothing beyond the ring was made"
    );
}

fn ended(subscription: &mut Subscription) -> bool {
    matches!(
        futures_util::FutureExt::now_or_never(subscription.next()),
        Some(None)
    )
}

#[test]
fn publish_reaches_only_the_topic_s_subscribers_and_shares_the_bytes() {
    let hub = Hub::new();
    let mut a = hub.subscribe(&["a"], &LastEventId::none());
    let mut a2 = hub.subscribe(&["a"], &LastEventId::none());
    let mut b = hub.subscribe(&["b"], &LastEventId::none());
    let mut both = hub.subscribe(&["a", "b"], &LastEventId::none());
    hub.publish("a", Event::default().data("for a"));
    hub.publish("b", Event::default().data("for b"));
    hub.publish("c", Event::default().data("for nobody"));

    let x = futures_util::FutureExt::now_or_never(a.next())
        .unwrap()
        .unwrap()
        .unwrap();
    let y = futures_util::FutureExt::now_or_never(a2.next())
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        x.as_bytes().as_ptr(),
        y.as_bytes().as_ptr(),
        "encoded per subscriber"
    );
    assert_eq!(x.as_bytes(), &b"id: 1\ndata: for a\n\n"[..]);
    assert!(drain(&mut a).is_empty());
    assert_eq!(ids(&drain(&mut b)), [2]);
    assert_eq!(ids(&drain(&mut both)), [1, 2]);
}

#[test]
fn ids_replace_the_event_s_own_and_grow_across_topics() {
    let hub = Hub::new();
    assert_eq!(hub.publish("a", Event::default().id(99_u8).data("x")), 1);
    assert_eq!(hub.publish("b", Event::default().data("y")), 2);
    assert_eq!(hub.last_id(), 2);
}

#[test]
fn resume_replays_the_missed_events_of_the_topics_then_goes_live() {
    let hub = Hub::new();
    for n in 1..=5 {
        hub.publish(
            if n % 2 == 0 { "even" } else { "odd" },
            Event::default().data(n.to_string()),
        );
    }
    let mut odd = hub.subscribe(&["odd"], &last(1));
    hub.publish("odd", Event::default().data("7"));
    assert_eq!(ids(&drain(&mut odd)), [3, 5, 6]);

    // No Last-Event-ID, or one that is not a number: live only.
    let mut fresh = hub.subscribe(&["odd"], &LastEventId::none());
    let mut garbage = hub.subscribe(&["odd"], &LastEventId::from_bytes(b"abc"));
    assert!(drain(&mut fresh).is_empty());
    assert!(drain(&mut garbage).is_empty());
    // Up to date: nothing to replay.
    let mut current = hub.subscribe(&["odd"], &last(hub.last_id()));
    assert!(drain(&mut current).is_empty());
}

#[test]
fn an_id_older_than_the_buffer_gets_a_reset_first() {
    let hub = Hub::builder().replay_count(3).build();
    for n in 1..=10 {
        hub.publish("t", Event::default().data(n.to_string()));
    }
    let mut late = hub.subscribe(&["t"], &last(2));
    let events = drain(&mut late);
    assert_eq!(
        events[0],
        ("reset".to_owned(), String::new(), String::new())
    );
    assert_eq!(ids(&events), [8, 9, 10]);

    // Just inside the window: no reset.
    let mut inside = hub.subscribe(&["t"], &last(7));
    let events = drain(&mut inside);
    assert_eq!(ids(&events), [8, 9, 10]);
    assert_eq!(events.len(), 3);

    // An id this hub never gave (for example from before a restart): reset.
    let mut future = hub.subscribe(&["t"], &last(1000));
    assert_eq!(drain(&mut future)[0].0, "reset");
}

#[test]
fn replay_is_bounded_by_bytes_too() {
    let hub = Hub::builder().replay_bytes(100).build();
    for _ in 0..10 {
        hub.publish("t", Event::default().data("x".repeat(30)));
    }
    let state = hub.state();
    let retention = &state.replay["t"];
    assert_eq!(
        retention.events.len(),
        2,
        "two events of about 45 bytes fit in 100"
    );
    assert!(retention.bytes <= 100);
}

#[test]
fn a_busy_topic_never_pushes_a_quiet_one_out_of_replay() {
    let hub = Hub::builder().replay_count(3).build();
    let chat = hub.publish("chat", Event::default().data("hello"));
    let mut ticks = Vec::new();
    for n in 0..100 {
        ticks.push(hub.publish("ticks", Event::default().data(n.to_string())));
    }
    // Resuming the chat from before its message: the message, no reset.
    let mut resumed = hub.subscribe(&["chat"], &last(chat - 1));
    let events = drain(&mut resumed);
    assert_eq!(ids(&events), [chat]);
    assert_eq!(events.len(), 1, "{events:?}");
    // Following both, with the id of the last tick seen: nothing missed, no reset,
    // whatever the ticks did to their own buffer.
    let mut both = hub.subscribe(&["chat", "ticks"], &last(ticks[98]));
    let events = drain(&mut both);
    assert_eq!(ids(&events), [ticks[99]]);
    assert_eq!(events.len(), 1, "{events:?}");
    // Following both from an id older than the ticks retained: a reset, then
    // what is retained of both topics, in id order.
    let mut old = hub.subscribe(&["chat", "ticks"], &last(chat));
    let events = drain(&mut old);
    assert_eq!(events[0].0, "reset");
    assert_eq!(ids(&events[1..]), ticks[97..]);
    let mut with_chat = hub.subscribe(&["ticks", "chat"], &last(chat - 1));
    let events = drain(&mut with_chat);
    assert_eq!(events[0].0, "reset");
    assert_eq!(ids(&events[1..]), [chat, ticks[97], ticks[98], ticks[99]]);
}

#[test]
fn a_slow_subscriber_is_closed_and_the_others_get_everything() {
    let hub = Hub::builder().queue_capacity(4).build();
    let mut slow = hub.subscribe(&["t"], &LastEventId::none());
    let mut fast = hub.subscribe(&["t"], &LastEventId::none());
    let mut got = Vec::new();
    for n in 1..=50 {
        hub.publish("t", Event::default().data(n.to_string()));
        got.extend(ids(&drain(&mut fast)));
    }
    assert_eq!(got, (1..=50).collect::<Vec<_>>());
    // Memory is bounded by the ring: only the last 4 events are held.
    assert!(hub.state().channels["t"].len() <= 4);
    // The slow one fell out of the ring: its stream ends (its client resumes by
    // id from the replay buffer), and it leaves the hub when the server drops it.
    assert!(drain(&mut slow).is_empty());
    assert!(ended(&mut slow));
    assert_eq!(hub.subscriber_count(), 2);
    drop(slow);
    assert_eq!(hub.subscriber_count(), 1);
    let mut resumed = hub.subscribe(&["t"], &last(10));
    assert_eq!(ids(&drain(&mut resumed)), (11..=50).collect::<Vec<_>>());
}

#[test]
fn skip_ahead_sends_a_gap_marker_and_continues() {
    let hub = Hub::builder()
        .queue_capacity(4)
        .lag_policy(LagPolicy::SkipAhead)
        .build();
    let mut slow = hub.subscribe(&["t"], &LastEventId::none());
    for n in 1..=10 {
        hub.publish("t", Event::default().data(n.to_string()));
    }
    let events = drain(&mut slow);
    assert_eq!(events[0].0, "gap");
    assert_eq!(ids(&events), [7, 8, 9, 10]);
    hub.publish("t", Event::default().data("11"));
    assert_eq!(ids(&drain(&mut slow)), [11]);
    assert_eq!(hub.subscriber_count(), 1);
}

#[test]
fn a_subscriber_of_several_topics_gets_them_in_id_order() {
    let hub = Hub::new();
    let mut both = hub.subscribe(&["a", "b", "a"], &LastEventId::none());
    for n in 1..=20 {
        hub.publish(
            if n % 3 == 0 { "a" } else { "b" },
            Event::default().data(n.to_string()),
        );
    }
    assert_eq!(ids(&drain(&mut both)), (1..=20).collect::<Vec<_>>());
}

#[test]
fn relayed_events_keep_their_id_and_leave_numbering_and_replay_alone() {
    let hub = Hub::new();
    let mut a = hub.subscribe(&["a"], &LastEventId::none());
    let mut both = hub.subscribe(&["a", "b"], &LastEventId::none());
    assert_eq!((hub.subscribers_of("a"), hub.subscribers_of("b")), (2, 1));
    assert_eq!(hub.subscribers_of("c"), 0);
    hub.relay(
        "b",
        Event::default()
            .id(EventId::from_static("9-0"))
            .data("b first")
            .encode(),
    );
    hub.publish("a", Event::default().data("numbered"));
    hub.relay(
        "a",
        Event::default()
            .id(EventId::from_static("7-3"))
            .data("relayed")
            .encode(),
    );
    assert_eq!(hub.last_id(), 1, "relay moved the numbering");

    let got = drain(&mut a);
    assert_eq!(
        got.iter().map(|e| &*e.2).collect::<Vec<_>>(),
        ["1", "7-3"],
        "relayed id replaced"
    );
    let got = drain(&mut both);
    assert_eq!(
        got.iter().map(|e| &*e.1).collect::<Vec<_>>(),
        ["b first", "numbered", "relayed"],
        "not in relay order"
    );
    // Only the numbered event is retained.
    let mut late = hub.subscribe(&["a"], &last(0));
    assert_eq!(ids(&drain(&mut late)), [1]);
    drop((a, both, late));
    assert_eq!(hub.subscribers_of("a"), 0);
    hub.close(None);
    hub.relay("a", Event::default().data("after close").encode());
}

#[test]
fn only_the_first_close_counts() {
    let hub = Hub::new();
    let mut sub = hub.subscribe(&["a"], &LastEventId::none());
    hub.close(Some(
        Event::default()
            .event(EventType::from_static("bye"))
            .data(""),
    ));
    hub.close(None);
    hub.close(Some(Event::default().data("second")));
    let got = drain(&mut sub);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "bye");
    assert!(ended(&mut sub));
}

#[test]
fn prepended_events_go_before_everything_not_yet_yielded() {
    let hub = Hub::new();
    let mut sub = hub.subscribe(&["a"], &LastEventId::none());
    hub.relay(
        "a",
        Event::default()
            .id(EventId::from_static("3"))
            .data("live")
            .encode(),
    );
    sub.prepend([
        Event::default()
            .id(EventId::from_static("1"))
            .data("old")
            .encode(),
        Event::default()
            .id(EventId::from_static("2"))
            .data("missed too")
            .encode(),
    ]);
    sub.prepend([Event::default().event(Hub::RESET).data("").encode()]);
    let got = drain(&mut sub);
    assert_eq!(
        got.iter().map(|e| &*e.0).collect::<Vec<_>>(),
        ["reset", "message", "message", "message"]
    );
    assert_eq!(
        got.iter().skip(1).map(|e| &*e.2).collect::<Vec<_>>(),
        ["1", "2", "3"]
    );
}

#[test]
fn dropping_subscriptions_leaves_no_subscriber() {
    let hub = Hub::new();
    for i in 0..10_000_u32 {
        let topics: &[&str] = if i % 2 == 0 { &["a"] } else { &["a", "b"] };
        let subscription = hub.subscribe(topics, &LastEventId::none());
        if i % 3 == 0 {
            hub.publish("a", Event::default().data("x"));
        }
        drop(subscription);
    }
    assert_eq!(hub.subscriber_count(), 0);
    assert!(hub.state().channels.is_empty(), "topic rings leak");
}

#[test]
fn close_sends_the_last_event_ends_every_stream_and_refuses_new_ones() {
    let hub = Hub::new();
    let mut a = hub.subscribe(&["a"], &LastEventId::none());
    hub.publish("a", Event::default().data("before"));
    hub.close(Some(
        Event::default()
            .event(EventType::from_static("bye"))
            .data(""),
    ));
    let events = drain(&mut a);
    assert_eq!(
        events.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
        ["message", "bye"]
    );
    assert!(ended(&mut a));
    assert_eq!(hub.subscriber_count(), 0);
    let mut late = hub.subscribe(&["a"], &LastEventId::none());
    assert!(ended(&mut late));
}

/// Publishing while subscribing with a Last-Event-ID must never lose or repeat an
/// event at the seam between replay and live delivery.
#[test]
fn no_gap_and_no_duplicate_at_the_seam_under_concurrent_publishing() {
    for round in 0..20 {
        let hub = Hub::builder()
            .replay_count(10_000)
            .queue_capacity(10_000)
            .build();
        let publisher = {
            let hub = hub.clone();
            std::thread::spawn(move || {
                for n in 0..1_000 {
                    hub.publish("t", Event::default().data(n.to_string()));
                }
            })
        };
        let mut subscriptions = Vec::new();
        while !publisher.is_finished() || subscriptions.len() < 5 {
            let after = hub.last_id().saturating_sub(round % 7);
            subscriptions.push((after, hub.subscribe(&["t"], &last(after))));
            std::thread::yield_now();
            if subscriptions.len() > 100 {
                break;
            }
        }
        publisher.join().unwrap();
        hub.close(None);
        for (after, mut subscription) in subscriptions {
            let got = ids(&drain(&mut subscription));
            let expected: Vec<u64> = if after == 0 {
                // `Last-Event-ID: 0` asks for everything from the start.
                (1..=1_000).collect()
            } else {
                (after + 1..=1_000).collect()
            };
            assert_eq!(got, expected, "round {round}, resumed after {after}");
        }
    }
}

#[tokio::test]
async fn a_subscription_feeds_an_sse_body() {
    use http_body_util::BodyExt;
    let hub = Hub::new();
    let body = crate::SseBody::new(hub.subscribe(&["t"], &LastEventId::none()));
    hub.publish("t", Event::default().data("1"));
    hub.publish("t", Event::default().data("2"));
    hub.close(None);
    let bytes = tokio::time::timeout(Duration::from_secs(5), BodyExt::collect(body))
        .await
        .unwrap()
        .unwrap()
        .to_bytes();
    assert_eq!(bytes, &b"id: 1\ndata: 1\n\nid: 2\ndata: 2\n\n"[..]);
}

/// An idle stream's body is held for as long as the client stays: thousands of them
/// per server. What is rarely set (keep-alive, shutdown, an error handler) lives behind
/// a box in the body; a one-topic subscription holds the hub, its topic's name (one
/// pointer) and its ring's waiting future (which holds the receiver), and boxes the
/// rest (replay, the rings of more topics) only when there is one. `tests/idle_heap.rs`
/// counts the heap of the same body as axum serves it.
#[test]
fn an_idle_hub_stream_s_body_stays_small() {
    let subscription = std::mem::size_of::<Subscription>();
    assert!(subscription <= 40, "Subscription is {subscription} bytes");
    let body = std::mem::size_of::<crate::SseBody<Subscription>>();
    assert!(body <= 40 + 64, "SseBody<Subscription> is {body} bytes");
}
