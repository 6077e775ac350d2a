//! What a client does when a connection is cut, ends, fails, redirects or goes
//! silent. Each scenario scripts each connection by its index; the checks count the
//! connections and time them from the server's side.
//!
//! Unless a scenario says otherwise the client is set up with a reconnection delay of
//! 200 ms, `GET`, no idle timeout, and reconnection at the end of a response.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;

use super::{same_events, Check, Group, Outcome, Scenario, Until};
use crate::clients::{Ev, Setup};
use crate::server::Conn;

/// How long a connection that should stay open is held.
const HOLD: Duration = Duration::from_secs(5);

fn scenario(
    name: &'static str,
    pass: &str,
    setup: Setup,
    until: Until,
    script: fn(Conn) -> BoxFuture<'static, ()>,
    check: impl Fn(&Outcome) -> Result<(), String> + Send + Sync + 'static,
) -> Scenario {
    let check: Check = Arc::new(check);
    Scenario {
        group: Group::Reconnect,
        name,
        pass: pass.to_owned(),
        setup,
        until,
        script: Arc::new(script),
        check,
    }
}

fn events(n: usize, window_ms: u64) -> Until {
    Until {
        events: Some(n),
        window: Duration::from_millis(window_ms),
    }
}

fn to_end(window_ms: u64) -> Until {
    Until {
        events: None,
        window: Duration::from_millis(window_ms),
    }
}

fn msg(data: &str, id: &str) -> Ev {
    Ev::new("message", data, id)
}

/// Fails unless there were exactly `n` connections.
fn connections(outcome: &Outcome, n: usize) -> Result<(), String> {
    if outcome.requests.len() == n {
        Ok(())
    } else {
        Err(format!(
            "{} connections instead of {n}; {}",
            outcome.requests.len(),
            outcome.summary()
        ))
    }
}

/// Fails unless there was at least a second connection.
fn reconnected(outcome: &Outcome) -> Result<(), String> {
    if outcome.requests.len() >= 2 {
        Ok(())
    } else {
        Err(format!("no reconnection; {}", outcome.summary()))
    }
}

/// Fails if any error item was yielded.
fn no_error(outcome: &Outcome) -> Result<(), String> {
    match outcome.errors().first() {
        None => Ok(()),
        Some(error) => Err(format!("error item: {}", super::short(error, 70))),
    }
}

/// Sends `id: i` / `data: <letter>` for every i in `from..=to`.
async fn send_range(conn: &mut Conn, from: u32, to: u32) {
    for i in from..=to {
        let letter = char::from(b'a' + u8::try_from(i - 1).unwrap_or(0));
        conn.chunk(format!("id: {i}\ndata: {letter}\n\n")).await;
    }
}

/// Every reconnect scenario.
#[allow(clippy::too_many_lines)] // A list of scenarios, one after the other.
pub(super) fn all() -> Vec<Scenario> {
    let mut all = vec![
        scenario(
            "cut after 3 events, resume",
            "the server cuts the connection after ids 1-3 and resumes after the \
             `Last-Event-ID` it gets (from the start without one): the client sends \
             `Last-Event-ID: 3` and gets ids 1-6 once each, in order",
            Setup::default(),
            events(6, 4000),
            |mut conn| {
                async move {
                    conn.sse_head().await;
                    if conn.request.n == 0 {
                        send_range(&mut conn, 1, 3).await;
                        return conn.cut().await;
                    }
                    let after: u32 = conn
                        .request
                        .header("last-event-id")
                        .and_then(|id| id.parse().ok())
                        .unwrap_or(0);
                    send_range(&mut conn, after + 1, 6).await;
                    conn.hold(HOLD).await;
                }
                .boxed()
            },
            |outcome| {
                let want: Vec<Ev> = ["a", "b", "c", "d", "e", "f"]
                    .iter()
                    .zip(1..)
                    .map(|(data, id)| msg(data, &id.to_string()))
                    .collect();
                same_events(outcome, &want)?;
                match outcome.requests.get(1).map(|r| r.header("last-event-id")) {
                    Some(Some("3")) => Ok(()),
                    Some(other) => Err(format!("reconnected with Last-Event-ID {other:?}")),
                    None => Err(String::from("no reconnection")),
                }
            },
        ),
        scenario(
            "no Last-Event-ID before any id",
            "events without `id`, then a cut: neither the first request nor the \
             reconnection carries a `Last-Event-ID` header (not even an empty one)",
            Setup::default(),
            events(2, 3000),
            |mut conn| {
                async move {
                    conn.sse_head().await;
                    if conn.request.n == 0 {
                        conn.chunk("data: a\n\n").await;
                        conn.cut().await;
                    } else {
                        conn.chunk("data: b\n\n").await;
                        conn.hold(HOLD).await;
                    }
                }
                .boxed()
            },
            |outcome| {
                reconnected(outcome)?;
                for request in &outcome.requests {
                    if let Some(id) = request.header("last-event-id") {
                        return Err(format!(
                            "connection {} sent Last-Event-ID {id:?}",
                            request.n + 1
                        ));
                    }
                }
                Ok(())
            },
        ),
        scenario(
            "retry: 100 (own event block)",
            "with the client's delay at 3 s, the server sends `retry: 100` in a block \
             of its own, an event, then cuts: the client reconnects within 1 s and gets \
             the next event",
            Setup {
                initial_delay: Duration::from_secs(3),
                ..Setup::default()
            },
            events(2, 5000),
            |mut conn| {
                async move {
                    conn.sse_head().await;
                    if conn.request.n == 0 {
                        conn.chunk("retry: 100\n\n").await;
                        conn.chunk("data: a\n\n").await;
                        conn.cut().await;
                    } else {
                        conn.chunk("data: b\n\n").await;
                        conn.hold(HOLD).await;
                    }
                }
                .boxed()
            },
            |outcome| quick_reconnect(outcome, Duration::from_secs(1)),
        ),
        scenario(
            "retry: 100 (with an event)",
            "as above, with `retry: 100` in the same block as the event's data",
            Setup {
                initial_delay: Duration::from_secs(3),
                ..Setup::default()
            },
            events(2, 5000),
            |mut conn| {
                async move {
                    conn.sse_head().await;
                    if conn.request.n == 0 {
                        conn.chunk("retry: 100\ndata: a\n\n").await;
                        conn.cut().await;
                    } else {
                        conn.chunk("data: b\n\n").await;
                        conn.hold(HOLD).await;
                    }
                }
                .boxed()
            },
            |outcome| quick_reconnect(outcome, Duration::from_secs(1)),
        ),
        scenario(
            "204 stops for good",
            "every request gets `204 No Content`: one connection, then the stream \
             ends without an error item (within 2 s)",
            Setup::default(),
            to_end(2000),
            |conn| conn.no_content().boxed(),
            |outcome| {
                connections(outcome, 1)?;
                no_error(outcome)?;
                if outcome.ended() {
                    Ok(())
                } else {
                    Err(format!("no end; {}", outcome.summary()))
                }
            },
        ),
        scenario(
            "404 fails without retry",
            "every request gets `404`: an error item, no event, one connection \
             (within 2 s)",
            Setup::default(),
            to_end(2000),
            |conn| {
                conn.respond(
                    "404 Not Found",
                    &[("content-type", "text/plain")],
                    "no such stream",
                )
                .boxed()
            },
            fails_once,
        ),
        scenario(
            "500 then 200 recovers",
            "`500` to the first request, a stream to the second: the client \
             reconnects and gets the event",
            Setup::default(),
            events(1, 3000),
            |mut conn| {
                async move {
                    if conn.request.n == 0 {
                        return conn
                            .respond(
                                "500 Internal Server Error",
                                &[("content-type", "text/plain")],
                                "oops",
                            )
                            .await;
                    }
                    conn.sse_head().await;
                    conn.chunk("data: ok\n\n").await;
                    conn.hold(HOLD).await;
                }
                .boxed()
            },
            |outcome| {
                same_events(outcome, &[msg("ok", "")])?;
                reconnected(outcome)
            },
        ),
        scenario(
            "429 with Retry-After: 1",
            "`429` with `Retry-After: 1` to the first request (the client's delay is \
             200 ms), a stream to the second: the second request comes at least 1 s \
             after the first, and the event arrives",
            Setup::default(),
            events(1, 4000),
            |mut conn| {
                async move {
                    if conn.request.n == 0 {
                        return conn
                            .respond(
                                "429 Too Many Requests",
                                &[("retry-after", "1")],
                                "slow down",
                            )
                            .await;
                    }
                    conn.sse_head().await;
                    conn.chunk("data: ok\n\n").await;
                    conn.hold(HOLD).await;
                }
                .boxed()
            },
            |outcome| {
                let gap = outcome.gap(0, 1);
                same_events(outcome, &[msg("ok", "")])?;
                match gap {
                    Some(gap) if gap >= Duration::from_secs(1) => Ok(()),
                    Some(gap) => Err(format!("reconnected after {gap:.2?}")),
                    None => Err(String::from("no reconnection")),
                }
            },
        ),
        scenario(
            "wrong Content-Type fails without retry",
            "`200` with `Content-Type: text/html` and an SSE-looking body: an error \
             item, no event, one connection (within 2 s)",
            Setup::default(),
            to_end(2000),
            |conn| {
                conn.respond("200 OK", &[("content-type", "text/html")], "data: html\n\n")
                    .boxed()
            },
            fails_once,
        ),
    ];
    for (status, name) in [
        ("301 Moved Permanently", "redirect 301 followed"),
        ("302 Found", "redirect 302 followed"),
        ("303 See Other", "redirect 303 followed"),
        ("307 Temporary Redirect", "redirect 307 followed"),
        ("308 Permanent Redirect", "redirect 308 followed"),
    ] {
        all.push(redirect(status, name, true));
    }
    all.push(redirect(
        "307 Temporary Redirect",
        "redirect 307 to a relative Location",
        false,
    ));
    all.extend([
        scenario(
            "POST body re-sent on reconnect",
            "a `POST` with a JSON body, cut after one event: the reconnection is a \
             `POST` with the same body, and both events arrive",
            Setup {
                post_body: Some(r#"{"stream":true}"#),
                ..Setup::default()
            },
            events(2, 3000),
            |mut conn| {
                async move {
                    conn.sse_head().await;
                    if conn.request.n == 0 {
                        conn.chunk("id: 1\ndata: a\n\n").await;
                        conn.cut().await;
                    } else {
                        conn.chunk("id: 2\ndata: b\n\n").await;
                        conn.hold(HOLD).await;
                    }
                }
                .boxed()
            },
            |outcome| {
                same_events(outcome, &[msg("a", "1"), msg("b", "2")])?;
                reconnected(outcome)?;
                for request in &outcome.requests {
                    let body = String::from_utf8_lossy(&request.body);
                    if request.method != "POST" || body != r#"{"stream":true}"# {
                        return Err(format!(
                            "connection {} was {} with body {:?}",
                            request.n + 1,
                            request.method,
                            super::short(&body, 30)
                        ));
                    }
                }
                Ok(())
            },
        ),
        scenario(
            "clean end reported as end",
            "in the client's end-on-EOF mode (or closest), one event then a clean end \
             of the response: the event, then the end of the stream, no error item, \
             one connection",
            Setup {
                end_on_eof: true,
                ..Setup::default()
            },
            to_end(2000),
            |mut conn| {
                async move {
                    conn.sse_head().await;
                    conn.chunk("data: a\n\n").await;
                    conn.end().await;
                }
                .boxed()
            },
            |outcome| {
                same_events(outcome, &[msg("a", "")])?;
                no_error(outcome)?;
                connections(outcome, 1)?;
                if outcome.ended() {
                    Ok(())
                } else {
                    Err(format!("no end; {}", outcome.summary()))
                }
            },
        ),
        scenario(
            "idle timeout: silence reconnects",
            "idle timeout 500 ms; one event (`id: 1`), then silence on an open \
             connection: the client reconnects within 2 s with `Last-Event-ID: 1` and \
             gets the next event",
            Setup {
                idle_timeout: Some(Duration::from_millis(500)),
                ..Setup::default()
            },
            events(2, 4000),
            |mut conn| {
                async move {
                    conn.sse_head().await;
                    if conn.request.n == 0 {
                        conn.chunk("id: 1\ndata: a\n\n").await;
                    } else {
                        conn.chunk("id: 2\ndata: b\n\n").await;
                    }
                    conn.hold(HOLD).await;
                }
                .boxed()
            },
            |outcome| {
                same_events(outcome, &[msg("a", "1"), msg("b", "2")])?;
                match (outcome.gap(0, 1), outcome.requests.get(1)) {
                    (Some(gap), Some(request)) => {
                        if gap >= Duration::from_secs(2) {
                            return Err(format!("reconnected after {gap:.1?}"));
                        }
                        match request.header("last-event-id") {
                            Some("1") => Ok(()),
                            other => Err(format!("reconnected with Last-Event-ID {other:?}")),
                        }
                    }
                    _ => Err(String::from("no reconnection")),
                }
            },
        ),
        scenario(
            "idle timeout: comments keep alive",
            "idle timeout 500 ms; an event, then a `: keep-alive` comment every 100 ms \
             for 1.5 s, then an event: both events on one connection, no error item",
            Setup {
                idle_timeout: Some(Duration::from_millis(500)),
                ..Setup::default()
            },
            events(2, 4000),
            |mut conn| {
                async move {
                    conn.sse_head().await;
                    conn.chunk("data: a\n\n").await;
                    for _ in 0..15 {
                        conn.chunk_then_wait(": keep-alive\n\n", Duration::from_millis(100))
                            .await;
                    }
                    conn.chunk("data: b\n\n").await;
                    conn.hold(HOLD).await;
                }
                .boxed()
            },
            |outcome| {
                same_events(outcome, &[msg("a", ""), msg("b", "")])?;
                no_error(outcome)?;
                connections(outcome, 1)
            },
        ),
    ]);
    all
}

/// The events `a` then `b`, and a reconnection sooner than `within` after the first
/// request.
fn quick_reconnect(outcome: &Outcome, within: Duration) -> Result<(), String> {
    match outcome.gap(0, 1) {
        Some(gap) if gap < within => same_events(outcome, &[msg("a", ""), msg("b", "")]),
        Some(gap) => Err(format!("reconnected after {gap:.1?}")),
        None => Err(format!("no reconnection; {}", outcome.summary())),
    }
}

/// An error item, no event, one connection.
fn fails_once(outcome: &Outcome) -> Result<(), String> {
    if let Some(event) = outcome.events().first() {
        return Err(format!(
            "dispatched {:?}; {}",
            event.data,
            outcome.summary()
        ));
    }
    if outcome.errors().is_empty() {
        return Err(format!("no error item; {}", outcome.summary()));
    }
    connections(outcome, 1)
}

/// `status` with a `Location` to `/moved` for `/events` (an absolute URL, or the
/// relative `/moved`); the stream at `/moved`.
fn redirect(status: &'static str, name: &'static str, absolute: bool) -> Scenario {
    let code = &status[..3];
    let location = if absolute {
        "http://127.0.0.1:PORT/moved"
    } else {
        "/moved"
    };
    Scenario {
        group: Group::Reconnect,
        name,
        pass: format!(
            "`{code}` with `Location: {location}`: the client requests `/moved` and gets \
             its event"
        ),
        setup: Setup::default(),
        until: events(1, 3000),
        script: Arc::new(move |mut conn: Conn| {
            async move {
                if conn.request.target == "/moved" {
                    conn.sse_head().await;
                    conn.chunk("data: ok\n\n").await;
                    conn.hold(HOLD).await;
                } else {
                    let location = if absolute {
                        let host = conn.request.header("host").unwrap_or("127.0.0.1");
                        format!("http://{host}/moved")
                    } else {
                        String::from("/moved")
                    };
                    conn.respond(status, &[("location", &location)], "").await;
                }
            }
            .boxed()
        }),
        check: Arc::new(|outcome: &Outcome| {
            same_events(outcome, &[msg("ok", "")])?;
            if outcome
                .requests
                .iter()
                .any(|request| request.target == "/moved")
            {
                Ok(())
            } else {
                Err(format!("not followed; {}", outcome.summary()))
            }
        }),
    }
}
