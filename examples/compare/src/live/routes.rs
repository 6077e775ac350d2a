//! The page server's own routes: the event stream, the reports, and the check that
//! only the page itself asks.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use sse_axum::{KeepAlive, LastEventId, Sse};

use super::state::App;

/// The topics of `/updates`: the servers' figures, the race's and the fan-out's lines.
const TOPICS: [&str; 3] = ["servers", "race", "fanout"];

/// A request the page may not make, with why.
pub(super) fn refuse(status: StatusCode, why: impl Into<String>) -> Response {
    (status, why.into()).into_response()
}

/// The event stream of the page: the servers' figures and the jobs' lines.
pub(super) async fn updates(State(app): State<App>, last: LastEventId) -> Response {
    Sse::new(app.hub.subscribe(&TOPICS, &last))
        .keep_alive(KeepAlive::default())
        .shutdown(app.stop.clone(), None)
        .into_response()
}

/// Whether a request is the page's own: its `Host` is a loopback name with the
/// page's port, and its `Origin`, when it has one (a browser sends one with every
/// `POST`), is the page's too. So another site a browser visits can neither start a
/// job (a cross-site `POST` needs no preflight) nor read the page's figures through a
/// DNS name rebound to 127.0.0.1.
fn from_the_page(headers: &axum::http::HeaderMap, port: u16) -> bool {
    let local = |authority: &str| {
        authority.rsplit_once(':').is_some_and(|(host, p)| {
            ["127.0.0.1", "localhost"].contains(&host) && p.parse() == Ok(port)
        })
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    if !host.is_some_and(local) {
        return false;
    }
    match headers.get(header::ORIGIN) {
        None => true,
        Some(origin) => origin
            .to_str()
            .ok()
            .and_then(|origin| origin.strip_prefix("http://"))
            .is_some_and(local),
    }
}

/// Refuses, with `403`, what [`from_the_page`] does not accept.
pub(super) async fn only_the_page(
    State(app): State<App>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if from_the_page(request.headers(), app.port) {
        next.run(request).await
    } else {
        refuse(
            StatusCode::FORBIDDEN,
            "only the comparison page, opened at 127.0.0.1 or localhost, may ask this",
        )
    }
}

/// The last report of a job, or `404` before the first.
pub(super) fn report(value: Option<serde_json::Value>) -> Response {
    match value {
        Some(value) => (
            [(header::CONTENT_TYPE, "application/json")],
            value.to_string(),
        )
            .into_response(),
        None => refuse(StatusCode::NOT_FOUND, "none yet"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_page_itself_may_ask() {
        let headers = |pairs: &[(&str, &str)]| {
            let mut map = axum::http::HeaderMap::new();
            for (name, value) in pairs {
                map.insert(
                    axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                    value.parse().unwrap(),
                );
            }
            map
        };
        for good in [
            &[("host", "127.0.0.1:8083")][..],
            &[("host", "localhost:8083")],
            &[
                ("host", "127.0.0.1:8083"),
                ("origin", "http://127.0.0.1:8083"),
            ],
            &[
                ("host", "localhost:8083"),
                ("origin", "http://localhost:8083"),
            ],
        ] {
            assert!(from_the_page(&headers(good), 8083), "{good:?}");
        }
        for bad in [
            &[][..],
            &[("host", "127.0.0.1:8084")],
            &[("host", "evil.example:8083")],
            &[("host", "127.0.0.1")],
            &[
                ("host", "127.0.0.1:8083"),
                ("origin", "http://evil.example"),
            ],
            &[
                ("host", "127.0.0.1:8083"),
                ("origin", "http://127.0.0.1:8084"),
            ],
            &[("host", "127.0.0.1:8083"), ("origin", "null")],
            &[
                ("host", "127.0.0.1:8083"),
                ("origin", "https://127.0.0.1:8083"),
            ],
        ] {
            assert!(!from_the_page(&headers(bad), 8083), "{bad:?}");
        }
    }
}
