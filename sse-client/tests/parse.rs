//! WHATWG's parsing rules, through the client over real TCP: the server writes the
//! exact bytes in the given chunks, then ends the response cleanly.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

mod support;

use std::time::Duration;

use sse_rs_client::{Client, Error, Event, Reconnect, RequestBuilder};
use support::{collect, ev, messages, Server};

/// Serves `chunks` as one response, then reads the client's stream to its end (a
/// clean end of the response ends it).
async fn run(
    chunks: &[&[u8]],
    configure: impl FnOnce(RequestBuilder) -> RequestBuilder,
) -> Vec<Result<Event, Error>> {
    let chunks: Vec<Vec<u8>> = chunks.iter().map(|chunk| chunk.to_vec()).collect();
    let server = Server::start(move |mut conn| {
        let chunks = chunks.clone();
        async move {
            conn.sse_head().await;
            for chunk in &chunks {
                conn.chunk(chunk).await;
            }
            conn.end().await;
        }
    })
    .await;
    let request = Client::new()
        .get(server.url("/"))
        .end_on_eof(true)
        .reconnect(Reconnect::never());
    collect(configure(request).stream()).await
}

async fn run_messages(chunks: &[&[u8]]) -> Vec<(String, String, String)> {
    messages(&run(chunks, |request| request).await)
}

#[tokio::test]
async fn one_bom_is_stripped_also_when_split() {
    let expected = vec![ev("message", "a", "")];
    assert_eq!(run_messages(&[b"\xEF\xBB\xBFdata: a\n\n"]).await, expected);
    assert_eq!(
        run_messages(&[b"\xEF", b"\xBB\xBFdata: a\n\n"]).await,
        expected
    );
    // Only one: a second BOM makes the first line a field named "\u{FEFF}data".
    assert_eq!(
        run_messages(&[b"\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\ndata: b\n\n"]).await,
        vec![ev("message", "b", "")]
    );
}

#[tokio::test]
async fn cr_lf_and_crlf_are_each_one_line_break_also_split_across_chunks() {
    assert_eq!(
        run_messages(&[b"data: a\rdata: b\ndata: c\r\n\r\n"]).await,
        vec![ev("message", "a\nb\nc", "")]
    );
    // A CRLF whose LF comes in the next chunk is one break, not two (two would
    // dispatch "x" alone).
    assert_eq!(
        run_messages(&[b"data: x\r", b"\ndata: y\r", b"\n\r", b"\n"]).await,
        vec![ev("message", "x\ny", "")]
    );
    // A CR at the end of a chunk followed by another CR: two breaks, so a dispatch.
    assert_eq!(
        run_messages(&[b"data: x\r", b"\rdata: y\n\n"]).await,
        vec![ev("message", "x", ""), ev("message", "y", "")]
    );
}

#[tokio::test]
async fn an_id_with_nul_is_ignored_and_an_empty_id_resets() {
    assert_eq!(
        run_messages(&[b"id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\nid\ndata: c\n\n"]).await,
        vec![
            ev("message", "a", "1"),
            ev("message", "b", "1"),
            ev("message", "c", "")
        ]
    );
}

#[tokio::test]
async fn retry_needs_only_digits() {
    let items = run(
        &[b"retry: 12a\nretry: 150\nretry: -1\nretry:\nretry: 1.5\ndata: x\n\n"],
        |request| request.retry_fields(true),
    )
    .await;
    let retries: Vec<Duration> = items
        .iter()
        .filter_map(|item| match item {
            Ok(Event::Retry(delay)) => Some(*delay),
            _ => None,
        })
        .collect();
    assert_eq!(retries, vec![Duration::from_millis(150)]);
    assert_eq!(messages(&items), vec![ev("message", "x", "")]);
    // Off by default.
    let items = run(&[b"retry: 150\ndata: x\n\n"], |request| request).await;
    assert_eq!(items.len(), 1, "{items:?}");
}

#[tokio::test]
async fn empty_data_is_dispatched_and_no_data_is_not() {
    assert_eq!(
        run_messages(&[b"data\n\ndata:\n\nevent: x\n\nid: 3\n\n: c\n\n"]).await,
        vec![ev("message", "", ""), ev("message", "", "")]
    );
}

#[tokio::test]
async fn an_unfinished_event_at_the_end_is_dropped() {
    assert_eq!(
        run_messages(&[b"data: a\n\ndata: b\n"]).await,
        vec![ev("message", "a", "")]
    );
    assert_eq!(
        run_messages(&[b"data: a\n\ndata: b"]).await,
        vec![ev("message", "a", "")]
    );
}

#[tokio::test]
async fn a_field_without_colon_has_an_empty_value() {
    assert_eq!(
        run_messages(&[b"data\ndata: x\n\nevent: t\nevent\ndata: y\n\n"]).await,
        vec![ev("message", "\nx", ""), ev("message", "y", "")]
    );
}

#[tokio::test]
async fn exactly_one_leading_space_is_removed() {
    assert_eq!(
        run_messages(&[b"data:  two\ndata:none\ndata: one \nevent:  t\n\n"]).await,
        vec![ev(" t", " two\nnone\none ", "")]
    );
}

#[tokio::test]
async fn unknown_fields_are_ignored() {
    assert_eq!(
        run_messages(&[b"foo: bar\nDATA: x\ndata : y\n data: z\nevent-x: q\ndata: ok\n\n"]).await,
        vec![ev("message", "ok", "")]
    );
}

#[tokio::test]
async fn the_type_is_reset_after_each_dispatch() {
    assert_eq!(
        run_messages(&[b"event: a\ndata: 1\n\ndata: 2\n\nevent: b\n\ndata: 3\n\n"]).await,
        vec![
            ev("a", "1", ""),
            ev("message", "2", ""),
            ev("message", "3", "")
        ]
    );
}

#[tokio::test]
async fn invalid_utf8_becomes_replacement_characters() {
    assert_eq!(
        run_messages(&[
            b"event: \xff\ndata: a\xc3\n\n",
            b"data: \xe2\x82",
            b"\xac\n\n"
        ])
        .await,
        vec![
            ev("\u{fffd}", "a\u{fffd}", ""),
            ev("message", "\u{20ac}", "")
        ]
    );
}

#[tokio::test]
async fn comments_are_items_only_when_asked() {
    let items = run(&[b": one\n:\n:  two\ndata: x\n\n"], |request| {
        request.comments(true)
    })
    .await;
    let comments: Vec<String> = items
        .iter()
        .filter_map(|item| match item {
            Ok(Event::Comment(text)) => Some(text.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(comments, ["one", "", " two"]);
    let items = run(&[b": one\ndata: x\n\n"], |request| request).await;
    assert_eq!(messages(&items), vec![ev("message", "x", "")]);
    assert_eq!(items.len(), 1);
}

#[tokio::test]
async fn a_line_over_the_bound_is_an_error_and_not_retried() {
    let long = format!("data: {}\n\n", "x".repeat(100));
    let chunks: Vec<Vec<u8>> = vec![b"data: ok\n\n".to_vec(), long.into_bytes()];
    let server = Server::start(move |mut conn| {
        let chunks = chunks.clone();
        async move {
            conn.sse_head().await;
            for chunk in &chunks {
                conn.chunk(chunk).await;
            }
            conn.end().await;
        }
    })
    .await;
    let source = Client::new()
        .get(server.url("/"))
        .max_event_size(64)
        .reconnect(Reconnect::new().initial_delay(Duration::from_millis(10)))
        .stream();
    let items = collect(source).await;
    assert_eq!(items.len(), 2, "{items:?}");
    assert!(matches!(&items[0], Ok(Event::Message(m)) if m.data == "ok"));
    match &items[1] {
        Err(Error::EventTooLarge(error)) => assert_eq!(error.limit(), 64),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.requests().len(), 1);
}

/// Every split of a stream into two chunks gives the events of the stream in one
/// chunk.
#[tokio::test]
async fn every_split_in_two_chunks_gives_the_same_events() {
    const BODY: &[u8] =
        b"\xEF\xBB\xBFid: 1\r\nevent: a\rdata: x\ndata:  y\r\n\r\n: c\r\ndata:z\r\r\
        retry: 7\nid\ndata\n\nevent: \xc3\xa9\ndata: \xe2\x82\xac\r\n\r\ndata: cut";
    let server = Server::start(|mut conn| async move {
        let split: usize = conn
            .request
            .target
            .trim_start_matches("/split/")
            .parse()
            .unwrap();
        conn.sse_head().await;
        conn.chunk(&BODY[..split]).await;
        conn.chunk(&BODY[split..]).await;
        conn.end().await;
    })
    .await;
    let client = Client::new();
    let expected = vec![
        ev("a", "x\n y", "1"),
        ev("message", "z", "1"),
        ev("message", "", ""),
        ev("\u{e9}", "\u{20ac}", ""),
    ];
    for split in 0..=BODY.len() {
        let source = client
            .get(server.url(&format!("/split/{split}")))
            .end_on_eof(true)
            .reconnect(Reconnect::never())
            .stream();
        assert_eq!(
            messages(&collect(source).await),
            expected,
            "split at {split}"
        );
    }
    assert_eq!(server.requests().len(), BODY.len() + 1);
}
