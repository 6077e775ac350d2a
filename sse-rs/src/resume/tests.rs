//! The answer store's tests: resume exactly after the last id, live and after the end,
//! the bounds, the TTL, and `abandoned`.

use std::time::Duration;

use futures_util::StreamExt;
use http_body_util::BodyExt;

use super::*;
use crate::SseBody;

fn token(text: &str) -> Event {
    Event::default().data(text)
}

async fn collect(stream: AnswerStream) -> String {
    let bytes = BodyExt::collect(SseBody::new(stream))
        .await
        .unwrap()
        .to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn last(id: &str) -> LastEventId {
    LastEventId::from_bytes(id.as_bytes())
}

#[tokio::test]
async fn a_reload_gets_exactly_the_rest_then_the_end() {
    let answers = Answers::new();
    let writer = answers.start("a").unwrap();
    let mut first = answers.resume("a", &LastEventId::none()).unwrap();
    assert_eq!(writer.send(token("Hel")).unwrap(), 1);
    assert_eq!(writer.send(token("lo")).unwrap(), 2);
    let one = first.next().await.unwrap().unwrap();
    assert_eq!(one.as_bytes(), &b"id: 1\ndata: Hel\n\n"[..]);
    // The page reloads after `id: 1`, while the answer goes on.
    drop(first);
    let rest = answers.resume("a", &last("1")).unwrap();
    let reading = tokio::spawn(collect(rest));
    writer.send(token(" world")).unwrap();
    writer.finish(Some(token("[DONE]")));
    assert_eq!(
        reading.await.unwrap(),
        "id: 2\ndata: lo\n\nid: 3\ndata:  world\n\nid: 4\ndata: [DONE]\n\n"
    );
    // After the end, within the TTL: the same rest, and the end.
    let again = answers.resume("a", &last("3")).unwrap();
    assert_eq!(collect(again).await, "id: 4\ndata: [DONE]\n\n");
}

#[tokio::test]
async fn unknown_ids_and_last_event_ids_are_refused() {
    let answers = Answers::new();
    assert_eq!(
        answers.resume("nope", &LastEventId::none()).unwrap_err(),
        ResumeError::NotFound
    );
    let writer = answers.start("a").unwrap();
    assert_eq!(answers.start("a").unwrap_err(), StartError::Exists);
    writer.send(token("x")).unwrap();
    for bad in ["2", "99", "x", "-1", "1.0"] {
        assert_eq!(
            answers.resume("a", &last(bad)).unwrap_err(),
            ResumeError::UnknownLastEventId,
            "{bad}"
        );
    }
    // Resuming after the last event sent waits for the next.
    let mut rest = answers.resume("a", &last("1")).unwrap();
    assert!(futures_util::future::poll_immediate(rest.next())
        .await
        .is_none());
    writer.send(token("y")).unwrap();
    assert_eq!(
        rest.next().await.unwrap().unwrap().as_bytes(),
        &b"id: 2\ndata: y\n\n"[..]
    );
}

#[tokio::test]
async fn an_answer_over_its_bound_drops_its_oldest_events() {
    let answers = Answers::builder().answer_bytes(64).build();
    let writer = answers.start("a").unwrap();
    let mut slow = answers.resume("a", &LastEventId::none()).unwrap();
    for n in 0..10 {
        writer.send(token(&format!("token {n}"))).unwrap();
    }
    assert!(answers.bytes() <= 64, "{}", answers.bytes());
    // The slow reader needed the first event: lost, and a resume from there is gone.
    assert_eq!(slow.next().await.unwrap().unwrap_err(), Lost);
    assert!(slow.next().await.is_none());
    assert_eq!(
        answers.resume("a", &last("1")).unwrap_err(),
        ResumeError::Gone
    );
    // The newest events are still there.
    assert!(answers.resume("a", &last("9")).is_ok());
}

#[tokio::test]
async fn the_store_stays_within_its_total_taking_from_ended_answers_first() {
    let answers = Answers::builder().total_bytes(200).build();
    let old = answers.start("old").unwrap();
    for n in 0..4 {
        old.send(token(&format!("old {n}"))).unwrap();
    }
    old.finish(None);
    let new = answers.start("new").unwrap();
    for n in 0..8 {
        new.send(token(&format!("new {n}"))).unwrap();
        assert!(answers.bytes() <= 200, "{}", answers.bytes());
    }
    assert_eq!(
        answers.resume("old", &LastEventId::none()).unwrap_err(),
        ResumeError::Gone
    );
    assert!(
        answers.resume("new", &LastEventId::none()).is_ok(),
        "the running answer kept whole"
    );
}

#[tokio::test]
async fn ended_answers_expire_after_the_ttl_and_the_count_is_bounded() {
    let answers = Answers::builder()
        .ttl(Duration::from_millis(50))
        .max_answers(2)
        .build();
    answers.start("a").unwrap().finish(Some(token("[DONE]")));
    let _running = answers.start("b").unwrap();
    assert_eq!(answers.start("c").unwrap_err(), StartError::Full);
    assert!(answers.resume("a", &LastEventId::none()).is_ok());
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(
        answers.resume("a", &LastEventId::none()).unwrap_err(),
        ResumeError::NotFound
    );
    assert!(answers.start("c").is_ok(), "the expired answer made room");
    assert_eq!(answers.len(), 2);
}

#[tokio::test]
async fn a_dropped_writer_ends_the_answer() {
    let answers = Answers::new();
    let writer = answers.start("a").unwrap();
    let reader = answers.resume("a", &LastEventId::none()).unwrap();
    writer.send(token("x")).unwrap();
    drop(writer);
    assert_eq!(collect(reader).await, "id: 1\ndata: x\n\n");
}

#[tokio::test(start_paused = true)]
async fn abandoned_waits_for_the_grace_and_a_returning_reader_keeps_it_going() {
    let answers = Answers::new();
    let writer = answers.start("a").unwrap();
    let reader = answers.resume("a", &LastEventId::none()).unwrap();
    assert_eq!(writer.readers(), 1);
    let grace = Duration::from_secs(2);
    let mut abandoned = Box::pin(writer.abandoned(grace));
    assert!(futures_util::future::poll_immediate(&mut abandoned)
        .await
        .is_none());
    // The client leaves; a reload comes back after 1 s: not abandoned.
    drop(reader);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(futures_util::future::poll_immediate(&mut abandoned)
        .await
        .is_none());
    let back = answers.resume("a", &LastEventId::none()).unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(futures_util::future::poll_immediate(&mut abandoned)
        .await
        .is_none());
    // It leaves for good: abandoned after the grace.
    drop(back);
    tokio::time::sleep(Duration::from_millis(1900)).await;
    assert!(futures_util::future::poll_immediate(&mut abandoned)
        .await
        .is_none());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(futures_util::future::poll_immediate(&mut abandoned)
        .await
        .is_some());
}

#[tokio::test]
async fn a_reader_never_reads_another_answer_under_its_old_id() {
    let answers = Answers::builder().ttl(Duration::from_millis(20)).build();
    let writer = answers.start("a").unwrap();
    writer.send(token("old")).unwrap();
    let mut stale = answers.resume("a", &last("1")).unwrap();
    writer.finish(None);
    tokio::time::sleep(Duration::from_millis(40)).await;
    // Swept, and the id started again.
    let again = answers.start("a").unwrap();
    again.send(token("new")).unwrap();
    assert_eq!(stale.next().await.unwrap().unwrap_err(), Lost);
    drop(stale);
    let reader = answers.resume("a", &LastEventId::none()).unwrap();
    assert_eq!(
        again.readers(),
        1,
        "the stale reader did not count off the new answer"
    );
    drop(reader);
}

#[tokio::test]
async fn readers_that_come_and_go_leave_no_waker_behind() {
    let answers = Answers::new();
    let writer = answers.start("a").unwrap();
    for _ in 0..100 {
        let mut reader = answers.resume("a", &LastEventId::none()).unwrap();
        assert!(futures_util::future::poll_immediate(reader.next())
            .await
            .is_none());
        assert!(futures_util::future::poll_immediate(reader.next())
            .await
            .is_none());
    }
    let wakers = answers.shared.state().answers["a"].wakers.len();
    assert_eq!(wakers, 0);
    drop(writer);
}
