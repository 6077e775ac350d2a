//! The reconnection rules, each against a scripted server over real TCP: resume with
//! `Last-Event-ID`, `retry:`, 204, retried and failing statuses, `Retry-After`,
//! redirects, timeouts, the request re-sent, and drop closing the connection.
//!
//! Every case runs once per transport (`transports!` at the end): hyper-util's client,
//! and with the feature `reqwest` a reqwest client as an app hands it in (its default
//! redirect policy) and one with `Policy::none()` (this crate follows redirects).

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use sse_rs_client::{Error, Event, Reconnect};
use support::{collect, ev, messages, next, next_message, Server, Transport};

/// A policy for tests: short delays, no jitter.
fn quick() -> Reconnect {
    Reconnect::new()
        .initial_delay(Duration::from_millis(10))
        .jitter(0.0)
}

async fn a_cut_stream_resumes_after_its_last_id_with_nothing_lost_or_repeated(
    transport: Transport,
) {
    // Each connection sends the next three ids after the client's Last-Event-ID,
    // then is cut (no end of the chunked body); after id 9 the server answers 204.
    let server = Server::start(|mut conn| async move {
        let after: u32 = conn
            .request
            .header("last-event-id")
            .map_or(0, |id| id.parse().unwrap());
        if after >= 9 {
            conn.respond("204 No Content", &[], "").await;
            return;
        }
        conn.sse_head().await;
        for id in after + 1..=after + 3 {
            conn.chunk(format!("id: {id}\ndata: event {id}\n\n")).await;
        }
        // A partial event before the cut is dropped, not delivered twice.
        conn.chunk("id: 99\ndata: partial\n").await;
    })
    .await;
    let source = transport
        .client()
        .get(server.url("/events"))
        .reconnect(quick())
        .stream();
    let items = collect(source).await;
    let expected: Vec<_> = (1..=9)
        .map(|id| ev("message", &format!("event {id}"), &id.to_string()))
        .collect();
    assert_eq!(messages(&items), expected);
    let sent: Vec<Option<String>> = server
        .requests()
        .iter()
        .map(|request| request.header("last-event-id").map(str::to_owned))
        .collect();
    assert_eq!(
        sent,
        [None, Some("3".into()), Some("6".into()), Some("9".into())]
    );
}

async fn last_event_id_is_sent_only_once_an_id_is_known_and_not_when_reset(transport: Transport) {
    let server = Server::start(|mut conn| async move {
        match conn.n() {
            // No id yet: the reconnection sends none.
            0 => {
                conn.sse_head().await;
                conn.chunk("data: a\n\n").await;
            }
            // An id, then an empty id: none again (WHATWG: empty means no header).
            1 => {
                conn.sse_head().await;
                conn.chunk("id: 5\ndata: b\n\nid\ndata: c\n\n").await;
            }
            _ => conn.respond("204 No Content", &[], "").await,
        }
    })
    .await;
    let items = collect(
        transport
            .client()
            .get(server.url("/"))
            .reconnect(quick())
            .stream(),
    )
    .await;
    assert_eq!(
        messages(&items),
        vec![
            ev("message", "a", ""),
            ev("message", "b", "5"),
            ev("message", "c", "")
        ]
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert_eq!(request.header("last-event-id"), None, "{request:?}");
        assert_eq!(request.header("accept"), Some("text/event-stream"));
        assert_eq!(request.header("cache-control"), Some("no-store"));
    }
}

async fn a_given_last_event_id_is_sent_at_once_and_reported_until_the_server_sends_one(
    transport: Transport,
) {
    let server = Server::start(|mut conn| async move {
        conn.sse_head().await;
        conn.chunk("data: a\n\nid: 8\ndata: b\n\n").await;
        conn.end().await;
    })
    .await;
    let source = transport
        .client()
        .get(server.url("/"))
        .last_event_id("7")
        .end_on_eof(true)
        .stream();
    let items = collect(source).await;
    assert_eq!(
        messages(&items),
        vec![ev("message", "a", "7"), ev("message", "b", "8")]
    );
    assert_eq!(server.requests()[0].header("last-event-id"), Some("7"));
}

async fn retry_sets_the_reconnection_delay(transport: Transport) {
    let server = Server::start(|mut conn| async move {
        if conn.n() == 0 {
            conn.sse_head().await;
            conn.chunk("retry: 100\ndata: a\n\n").await;
            conn.end().await;
        } else {
            conn.respond("204 No Content", &[], "").await;
        }
    })
    .await;
    // The initial delay (5 s) would make the test far slower: `retry: 100` replaces it.
    let policy = quick().initial_delay(Duration::from_secs(5));
    let source = transport
        .client()
        .get(server.url("/"))
        .reconnect(policy)
        .stream();
    let items = collect(source).await;
    assert_eq!(messages(&items), vec![ev("message", "a", "")]);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let gap = requests[1].at - requests[0].at;
    assert!(
        gap >= Duration::from_millis(100) && gap < Duration::from_millis(1000),
        "{gap:?}"
    );
}

async fn retry_is_capped_by_max_delay(transport: Transport) {
    let server = Server::start(|mut conn| async move {
        if conn.n() == 0 {
            conn.sse_head().await;
            conn.chunk("retry: 3600000\ndata: a\n\n").await;
            conn.end().await;
        } else {
            conn.respond("204 No Content", &[], "").await;
        }
    })
    .await;
    let policy = quick().max_delay(Duration::from_millis(200));
    let mut source = transport
        .client()
        .get(server.url("/"))
        .reconnect(policy)
        .stream();
    next_message(&mut source).await;
    assert!(next(&mut source).await.is_none());
    assert_eq!(source.reconnection_time(), Duration::from_millis(200));
    let requests = server.requests();
    let gap = requests[1].at - requests[0].at;
    assert!(gap < Duration::from_secs(2), "{gap:?}");
}

async fn no_content_stops_for_good_with_none(transport: Transport) {
    let server = Server::start(|mut conn| async move {
        conn.respond("204 No Content", &[], "").await;
    })
    .await;
    let items = collect(
        transport
            .client()
            .get(server.url("/"))
            .reconnect(quick())
            .stream(),
    )
    .await;
    assert!(items.is_empty(), "{items:?}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.requests().len(), 1);
}

async fn a_clean_end_reconnects_by_default_and_ends_with_end_on_eof(transport: Transport) {
    let script = |mut conn: support::Conn| async move {
        if conn.n() == 0 {
            conn.sse_head().await;
            conn.chunk("data: a\n\n").await;
            conn.end().await;
        } else {
            conn.respond("204 No Content", &[], "").await;
        }
    };
    let server = Server::start(script).await;
    let items = collect(
        transport
            .client()
            .get(server.url("/"))
            .reconnect(quick())
            .stream(),
    )
    .await;
    assert_eq!(messages(&items), vec![ev("message", "a", "")]);
    assert_eq!(server.requests().len(), 2);

    let server = Server::start(script).await;
    let source = transport
        .client()
        .get(server.url("/"))
        .reconnect(quick())
        .end_on_eof(true)
        .stream();
    assert_eq!(
        messages(&collect(source).await),
        vec![ev("message", "a", "")]
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.requests().len(), 1);
}

async fn a_server_error_is_retried_then_the_stream_opens(transport: Transport) {
    let server = Server::start(|mut conn| async move {
        if conn.n() == 0 {
            conn.respond("500 Internal Server Error", &[], "oops").await;
        } else {
            conn.sse_head().await;
            conn.chunk("data: ok\n\n").await;
            conn.end().await;
        }
    })
    .await;
    let source = transport
        .client()
        .get(server.url("/"))
        .reconnect(quick())
        .end_on_eof(true)
        .connection_events(true)
        .stream();
    let items = collect(source).await;
    assert_eq!(messages(&items), vec![ev("message", "ok", "")]);
    match &items[0] {
        Ok(Event::Reconnecting(reconnecting)) => {
            let error = reconnecting.error().unwrap();
            assert_eq!(error.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));
            assert_eq!(error.response().unwrap().body_text(), "oops");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(&items[1], Ok(Event::Open(open)) if open.connection() == 2));
    assert_eq!(server.requests().len(), 2);
}

async fn too_many_requests_waits_for_retry_after(transport: Transport) {
    let server = Server::start(|mut conn| async move {
        if conn.n() == 0 {
            conn.respond("429 Too Many Requests", &[("retry-after", "1")], "")
                .await;
        } else {
            conn.respond("204 No Content", &[], "").await;
        }
    })
    .await;
    let items = collect(
        transport
            .client()
            .get(server.url("/"))
            .reconnect(quick())
            .stream(),
    )
    .await;
    assert!(items.is_empty(), "{items:?}");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let gap = requests[1].at - requests[0].at;
    assert!(
        gap >= Duration::from_millis(950) && gap < Duration::from_secs(3),
        "{gap:?}"
    );
}

async fn retry_after_is_capped_by_max_delay(transport: Transport) {
    let server = Server::start(|mut conn| async move {
        if conn.n() == 0 {
            let date =
                httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(3600));
            conn.respond("503 Service Unavailable", &[("retry-after", &date)], "")
                .await;
        } else {
            conn.respond("204 No Content", &[], "").await;
        }
    })
    .await;
    let policy = quick().max_delay(Duration::from_millis(300));
    let items = collect(
        transport
            .client()
            .get(server.url("/"))
            .reconnect(policy)
            .stream(),
    )
    .await;
    assert!(items.is_empty(), "{items:?}");
    let requests = server.requests();
    let gap = requests[1].at - requests[0].at;
    assert!(
        gap >= Duration::from_millis(250) && gap < Duration::from_secs(2),
        "{gap:?}"
    );
}

async fn a_wrong_content_type_fails_without_retry(transport: Transport) {
    for content_type in [
        Some("text/html; charset=utf-8"),
        Some("text/event-streams"),
        None,
    ] {
        let server = Server::start(move |mut conn| async move {
            let headers: Vec<(&str, &str)> = content_type
                .map(|value| ("content-type", value))
                .into_iter()
                .collect();
            conn.respond("200 OK", &headers, "<h1>not events</h1>")
                .await;
        })
        .await;
        let items = collect(
            transport
                .client()
                .get(server.url("/"))
                .reconnect(quick())
                .stream(),
        )
        .await;
        assert_eq!(items.len(), 1, "{items:?}");
        match &items[0] {
            Err(Error::ContentType(response)) => {
                assert_eq!(response.status(), StatusCode::OK);
                assert_eq!(response.content_type(), content_type);
                assert_eq!(response.body_text(), "<h1>not events</h1>");
            }
            other => panic!("{other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(server.requests().len(), 1, "{content_type:?}");
    }
    // Parameters and case do not matter.
    let server = Server::start(|mut conn| async move {
        conn.head(
            "200 OK",
            &[
                ("content-type", "Text/Event-Stream; charset=utf-8"),
                ("transfer-encoding", "chunked"),
            ],
        )
        .await;
        conn.chunk("data: a\n\n").await;
        conn.end().await;
    })
    .await;
    let source = transport
        .client()
        .get(server.url("/"))
        .end_on_eof(true)
        .stream();
    assert_eq!(
        messages(&collect(source).await),
        vec![ev("message", "a", "")]
    );
}

async fn a_client_error_fails_without_retry_with_the_start_of_the_body(transport: Transport) {
    let server = Server::start(|mut conn| async move {
        let big = format!("{{\"error\":\"{}\"}}", "x".repeat(10_000));
        conn.respond(
            "401 Unauthorized",
            &[("content-type", "application/json")],
            &big,
        )
        .await;
    })
    .await;
    let items = collect(
        transport
            .client()
            .get(server.url("/"))
            .reconnect(quick())
            .stream(),
    )
    .await;
    assert_eq!(items.len(), 1);
    let Err(error @ Error::Status(response)) = &items[0] else {
        panic!("{items:?}");
    };
    assert_eq!(error.status(), Some(StatusCode::UNAUTHORIZED));
    assert!(!error.is_retried());
    assert_eq!(response.body().len(), sse_rs_client::BadResponse::MAX_BODY);
    assert!(response.body_text().starts_with("{\"error\":\"xxx"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.requests().len(), 1);
}

async fn the_policy_gives_up_after_max_attempts_with_the_last_error(transport: Transport) {
    let server = Server::start(|mut conn| async move {
        conn.respond("503 Service Unavailable", &[], "busy").await;
    })
    .await;
    let source = transport
        .client()
        .get(server.url("/"))
        .reconnect(quick().max_attempts(2))
        .stream();
    let items = collect(source).await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert!(matches!(&items[0], Err(Error::Status(r)) if r.status() == 503));
    assert_eq!(server.requests().len(), 3);
}

async fn the_policy_gives_up_after_max_elapsed(transport: Transport) {
    let server = Server::start(|mut conn| async move {
        conn.respond("503 Service Unavailable", &[], "busy").await;
    })
    .await;
    let policy = quick()
        .initial_delay(Duration::from_millis(100))
        .max_elapsed(Duration::from_millis(500));
    let items = collect(
        transport
            .client()
            .get(server.url("/"))
            .reconnect(policy)
            .stream(),
    )
    .await;
    assert!(matches!(&items[..], [Err(Error::Status(_))]), "{items:?}");
    // Delays 100, 200, then 400 would pass 500 ms: three requests.
    assert_eq!(server.requests().len(), 3);
}

async fn network_errors_are_retried(transport: Transport) {
    let server = Server::start(|mut conn| async move {
        match conn.n() {
            // Closed before any response.
            0 => {}
            // Garbage instead of HTTP.
            1 => conn.write("\0\u{ff}garbage\r\n\r\n").await,
            _ => {
                conn.sse_head().await;
                conn.chunk("data: ok\n\n").await;
                conn.end().await;
            }
        }
    })
    .await;
    let source = transport
        .client()
        .get(server.url("/"))
        .reconnect(quick())
        .end_on_eof(true)
        .connection_events(true)
        .stream();
    let items = collect(source).await;
    assert_eq!(messages(&items), vec![ev("message", "ok", "")]);
    let errors: Vec<bool> = items
        .iter()
        .filter_map(|item| match item {
            Ok(Event::Reconnecting(r)) => Some(matches!(r.error(), Some(Error::Connect(_)))),
            _ => None,
        })
        .collect();
    assert_eq!(errors, [true, true]);
}

async fn each_redirect_is_followed_as_fetch_says(transport: Transport) {
    // (status, method after the redirect, body kept)
    for (status, method, keeps_body) in [
        ("301 Moved Permanently", "GET", false),
        ("302 Found", "GET", false),
        ("303 See Other", "GET", false),
        ("307 Temporary Redirect", "POST", true),
        ("308 Permanent Redirect", "POST", true),
    ] {
        let server = Server::start(move |mut conn| async move {
            if conn.request.target == "/api/start" {
                conn.respond(status, &[("location", "events?x=1")], "")
                    .await;
            } else {
                conn.sse_head().await;
                conn.chunk("data: here\n\n").await;
                conn.end().await;
            }
        })
        .await;
        let source = transport
            .client()
            .post(server.url("/api/start"))
            .header("content-type", "application/json")
            .header("authorization", "Bearer same-origin")
            .body("{\"q\":1}")
            .end_on_eof(true)
            .connection_events(true)
            .stream();
        let items = collect(source).await;
        assert_eq!(
            messages(&items),
            vec![ev("message", "here", "")],
            "{status}"
        );
        // The URL that answered, whoever followed the redirect.
        let opened: Vec<String> = items
            .iter()
            .filter_map(|item| match item {
                Ok(Event::Open(open)) => Some(open.url().to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(opened, [server.url("/api/events?x=1")], "{status}");
        let requests = server.requests();
        assert_eq!(requests.len(), 2, "{status}");
        let second = &requests[1];
        assert_eq!(second.target, "/api/events?x=1", "{status}");
        assert_eq!(second.method, method, "{status}");
        assert_eq!(second.body.is_empty(), !keeps_body, "{status}");
        assert_eq!(
            second.header("content-type").is_some(),
            keeps_body,
            "{status}"
        );
        assert_eq!(second.header("authorization"), Some("Bearer same-origin"));
    }
}

async fn redirects_have_a_limit_and_need_a_location(transport: Transport) {
    let server = Server::start(|mut conn| async move {
        let next = format!("/hop/{}", conn.n() + 1);
        conn.respond("302 Found", &[("location", &next)], "").await;
    })
    .await;
    let source = transport
        .client()
        .get(server.url("/hop/0"))
        .max_redirects(3)
        .reconnect(quick())
        .stream();
    let items = collect(source).await;
    if transport.follows_redirects() {
        // reqwest's default policy acts first, with its own limit of 10: our limit
        // never sees a redirect. Its stop is an error that is not retried.
        assert!(
            matches!(&items[..], [Err(error @ Error::RedirectPolicy(_))] if !error.is_retried()),
            "{items:?}"
        );
        assert_eq!(server.requests().len(), 11);
    } else {
        assert!(
            matches!(&items[..], [Err(Error::TooManyRedirects(r))] if r.url().path() == "/hop/3"),
            "{items:?}"
        );
        assert_eq!(server.requests().len(), 4);
    }

    let server = Server::start(|mut conn| async move {
        conn.respond("307 Temporary Redirect", &[("location", "ftp://x/")], "")
            .await;
    })
    .await;
    let items = collect(
        transport
            .client()
            .get(server.url("/"))
            .reconnect(quick())
            .stream(),
    )
    .await;
    if transport.follows_redirects() {
        // reqwest refuses to build the request to `ftp://`.
        assert!(
            matches!(&items[..], [Err(error @ Error::InvalidRequest(_))] if !error.is_retried()),
            "{items:?}"
        );
    } else {
        assert!(
            matches!(&items[..], [Err(Error::InvalidRedirect(_))]),
            "{items:?}"
        );
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.requests().len(), 1, "not retried");
}

async fn credentials_are_not_sent_to_another_origin(transport: Transport) {
    let target = Server::start(|mut conn| async move {
        conn.sse_head().await;
        conn.chunk("data: there\n\n").await;
        conn.end().await;
    })
    .await;
    // Another port is another origin.
    let location = target.url("/events");
    let first = Server::start(move |mut conn| {
        let location = location.clone();
        async move {
            conn.respond("307 Temporary Redirect", &[("location", &location)], "")
                .await;
        }
    })
    .await;
    let source = transport
        .client()
        .get(first.url("/"))
        .header("authorization", "Bearer secret")
        .header("x-custom", "kept")
        .end_on_eof(true)
        .stream();
    assert_eq!(
        messages(&collect(source).await),
        vec![ev("message", "there", "")]
    );
    let request = &target.requests()[0];
    assert_eq!(request.header("authorization"), None);
    assert_eq!(request.header("x-custom"), Some("kept"));
}

async fn silence_past_the_idle_timeout_reconnects(transport: Transport) {
    let server = Server::start(|mut conn| async move {
        if conn.n() == 0 {
            conn.sse_head().await;
            conn.chunk("id: 1\ndata: a\n\n").await;
            // Silence: the client must give up on this connection and close it.
            let closed = conn.closed_by_client(Duration::from_secs(5)).await;
            assert!(closed, "the client closed the silent connection");
        } else {
            conn.respond("204 No Content", &[], "").await;
        }
    })
    .await;
    let source = transport
        .client()
        .get(server.url("/"))
        .idle_timeout(Duration::from_millis(300))
        .reconnect(quick())
        .connection_events(true)
        .stream();
    let items = collect(source).await;
    assert_eq!(messages(&items), vec![ev("message", "a", "1")]);
    assert!(
        items.iter().any(|item| matches!(item,
            Ok(Event::Reconnecting(r)) if matches!(r.error(), Some(Error::IdleTimeout(_))))),
        "{items:?}"
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].header("last-event-id"), Some("1"));
    let gap = requests[1].at - requests[0].at;
    assert!(gap >= Duration::from_millis(300), "{gap:?}");
}

async fn comment_keep_alives_keep_an_idle_stream_open(transport: Transport) {
    let server = Server::start(|mut conn| async move {
        conn.sse_head().await;
        // 1 s of keep-alives only, every 100 ms, with an idle timeout of 300 ms.
        for _ in 0..10 {
            conn.chunk(":\n").await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        conn.chunk("data: after the wait\n\n").await;
        conn.end().await;
    })
    .await;
    let source = transport
        .client()
        .get(server.url("/"))
        .idle_timeout(Duration::from_millis(300))
        .reconnect(quick())
        .end_on_eof(true)
        .stream();
    let items = collect(source).await;
    assert_eq!(messages(&items), vec![ev("message", "after the wait", "")]);
    assert_eq!(server.requests().len(), 1);
}

async fn a_silent_server_hits_the_connect_timeout(transport: Transport) {
    let server = Server::start(|mut conn| async move {
        // Reads the request and never answers.
        let _ = conn.closed_by_client(Duration::from_secs(5)).await;
    })
    .await;
    let source = transport
        .client()
        .get(server.url("/"))
        .connect_timeout(Duration::from_millis(200))
        .reconnect(quick().max_attempts(1))
        .stream();
    let items = collect(source).await;
    assert!(
        matches!(&items[..], [Err(Error::ConnectTimeout(_))]),
        "{items:?}"
    );
    assert_eq!(server.requests().len(), 2);
}

async fn a_post_is_sent_again_with_its_body_and_headers_on_reconnect(transport: Transport) {
    let server = Server::start(|mut conn| async move {
        if conn.n() == 0 {
            conn.sse_head().await;
            conn.chunk("id: 1\ndata: first\n\n").await;
            // Cut.
        } else {
            conn.respond("204 No Content", &[], "").await;
        }
    })
    .await;
    let source = transport
        .client()
        .post(server.url("/v1/chat"))
        .header("content-type", "application/json")
        .header("x-api-key", "k")
        .body(r#"{"stream":true}"#)
        .reconnect(quick())
        .stream();
    assert_eq!(
        messages(&collect(source).await),
        vec![ev("message", "first", "1")]
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(request.method, "POST");
        assert_eq!(request.target, "/v1/chat");
        assert_eq!(request.body, br#"{"stream":true}"#);
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert_eq!(request.header("x-api-key"), Some("k"));
    }
    assert_eq!(requests[0].header("last-event-id"), None);
    assert_eq!(requests[1].header("last-event-id"), Some("1"));
}

async fn the_end_marker_ends_the_stream_and_is_not_yielded(transport: Transport) {
    let closed = Arc::new(AtomicBool::new(false));
    let seen = closed.clone();
    let server = Server::start(move |mut conn| {
        let seen = seen.clone();
        async move {
            conn.sse_head().await;
            conn.chunk("data: a\n\ndata: [DONE]\n\ndata: after\n\n")
                .await;
            // The connection stays open: the client must close it.
            seen.store(
                conn.closed_by_client(Duration::from_secs(5)).await,
                Ordering::SeqCst,
            );
        }
    })
    .await;
    let client = transport.client();
    let source = client.get(server.url("/")).end_marker("[DONE]").stream();
    assert_eq!(
        messages(&collect(source).await),
        vec![ev("message", "a", "")]
    );
    tokio::time::timeout(Duration::from_secs(5), async {
        while !closed.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the server sees the connection closed");
    assert_eq!(server.requests().len(), 1);
}

async fn dropping_the_stream_closes_the_connection(transport: Transport) {
    // While streaming, and while waiting for the response head.
    for answer in [true, false] {
        let closed = Arc::new(AtomicBool::new(false));
        let seen = closed.clone();
        let server = Server::start(move |mut conn| {
            let seen = seen.clone();
            async move {
                if answer {
                    conn.sse_head().await;
                    conn.chunk("data: a\n\n").await;
                }
                seen.store(
                    conn.closed_by_client(Duration::from_secs(5)).await,
                    Ordering::SeqCst,
                );
            }
        })
        .await;
        // The client lives on: its pool must not keep the connection.
        let client = transport.client();
        let mut source = client.get(server.url("/")).stream();
        if answer {
            next_message(&mut source).await;
        } else {
            let pending = tokio::time::timeout(Duration::from_millis(200), next(&mut source)).await;
            assert!(pending.is_err(), "no answer yet");
            assert_eq!(server.requests().len(), 1);
        }
        drop(source);
        tokio::time::timeout(Duration::from_secs(5), async {
            while !closed.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("the server sees the connection closed (answer: {answer})"));
        drop(client);
    }
}

async fn an_invalid_request_is_the_first_item(transport: Transport) {
    let client = transport.client();
    for source in [
        client.get("not a url").stream(),
        client.get("ftp://127.0.0.1/").stream(),
        client.get("/relative").stream(),
        client
            .get("http://127.0.0.1:1/")
            .header("bad name", "v")
            .stream(),
        client
            .get("http://127.0.0.1:1/")
            .last_event_id("a\nb")
            .stream(),
    ] {
        let items = collect(source).await;
        assert!(
            matches!(&items[..], [Err(Error::InvalidRequest(_))]),
            "{items:?}"
        );
    }
}

/// The reqwest client handed in is the one that sends: its default headers and user
/// agent arrive on every connection, and this crate's headers come with them.
#[cfg(feature = "reqwest")]
#[tokio::test]
async fn the_apps_reqwest_client_sends_the_requests() {
    let server = Server::start(|mut conn| async move {
        if conn.n() == 0 {
            conn.sse_head().await;
            conn.chunk("id: 1\ndata: a\n\n").await;
        } else {
            conn.respond("204 No Content", &[], "").await;
        }
    })
    .await;
    let mut defaults = http::HeaderMap::new();
    defaults.insert("x-app", http::HeaderValue::from_static("mine"));
    let http = support::reqwest_client(
        ::reqwest::Client::builder()
            .user_agent("app/1.0")
            .default_headers(defaults),
    );
    let source = sse_rs_client::Client::from_reqwest(http)
        .get(server.url("/"))
        .reconnect(quick())
        .stream();
    assert_eq!(
        messages(&collect(source).await),
        vec![ev("message", "a", "1")]
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(request.header("x-app"), Some("mine"));
        assert_eq!(request.header("user-agent"), Some("app/1.0"));
        assert_eq!(request.header("accept"), Some("text/event-stream"));
    }
    assert_eq!(requests[1].header("last-event-id"), Some("1"));
}

/// Runs each case against every transport: a module per transport, a test per case.
/// A case left out of the list is an unused function, which the lints refuse.
macro_rules! transports {
    ($($case:ident),* $(,)?) => {
        mod hyper {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::Transport::Hyper).await;
                }
            )*
        }

        #[cfg(feature = "reqwest")]
        mod reqwest {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::Transport::Reqwest).await;
                }
            )*
        }

        #[cfg(feature = "reqwest")]
        mod reqwest_without_redirects {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::Transport::ReqwestWithoutRedirects).await;
                }
            )*
        }
    };
}

transports!(
    a_cut_stream_resumes_after_its_last_id_with_nothing_lost_or_repeated,
    last_event_id_is_sent_only_once_an_id_is_known_and_not_when_reset,
    a_given_last_event_id_is_sent_at_once_and_reported_until_the_server_sends_one,
    retry_sets_the_reconnection_delay,
    retry_is_capped_by_max_delay,
    no_content_stops_for_good_with_none,
    a_clean_end_reconnects_by_default_and_ends_with_end_on_eof,
    a_server_error_is_retried_then_the_stream_opens,
    too_many_requests_waits_for_retry_after,
    retry_after_is_capped_by_max_delay,
    a_wrong_content_type_fails_without_retry,
    a_client_error_fails_without_retry_with_the_start_of_the_body,
    the_policy_gives_up_after_max_attempts_with_the_last_error,
    the_policy_gives_up_after_max_elapsed,
    network_errors_are_retried,
    each_redirect_is_followed_as_fetch_says,
    redirects_have_a_limit_and_need_a_location,
    credentials_are_not_sent_to_another_origin,
    silence_past_the_idle_timeout_reconnects,
    comment_keep_alives_keep_an_idle_stream_open,
    a_silent_server_hits_the_connect_timeout,
    a_post_is_sent_again_with_its_body_and_headers_on_reconnect,
    the_end_marker_ends_the_stream_and_is_not_yielded,
    dropping_the_stream_closes_the_connection,
    an_invalid_request_is_the_first_item,
);
