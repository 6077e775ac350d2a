//! The headers of every SSE response, as `http` types and as plain strings.

use http::header::{
    HeaderMap, HeaderName, HeaderValue, CACHE_CONTROL, CONNECTION, CONTENT_ENCODING,
    CONTENT_LENGTH, CONTENT_TYPE, VARY,
};

use crate::compress::Coding;

/// The media type of an event stream.
pub const TEXT_EVENT_STREAM: &str = "text/event-stream";

/// The headers of every SSE response, lowercase `(name, value)` pairs, for servers
/// that do not use `http` 1 types (actix-web uses `http` 0.2):
///
/// - `content-type: text/event-stream`;
/// - `cache-control: no-cache`, so that no cache stores or replays the stream;
/// - `x-accel-buffering: no`, so that nginx passes events on as they come instead of
///   buffering the response (its default `proxy_buffering on`).
///
/// A response must also have no `Content-Length` (it is streamed) and no `Connection`
/// header (illegal in HTTP/2).
///
/// Response compression buffers a stream unless it is told not to: tower-http's
/// `CompressionLayer` skips `text/event-stream` with its default predicate only (keep
/// it if you set your own), and actix-web's `Compress` skips a response with
/// `Content-Encoding: identity`, which the actix adapter sets.
pub const RESPONSE_HEADERS: [(&str, &str); 3] = [
    ("content-type", TEXT_EVENT_STREAM),
    ("cache-control", "no-cache"),
    ("x-accel-buffering", "no"),
];

/// Sets the [`RESPONSE_HEADERS`] on `headers`, replacing any earlier values, and
/// removes `Content-Length` and `Connection`.
pub fn set_response_headers(headers: &mut HeaderMap) {
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(TEXT_EVENT_STREAM));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        HeaderName::from_static("x-accel-buffering"),
        HeaderValue::from_static("no"),
    );
    headers.remove(CONTENT_LENGTH);
    headers.remove(CONNECTION);
}

/// The headers of a compressed response, lowercase `(name, value)` pairs, for
/// servers that do not use `http` 1 types: `content-encoding: <coding>` and
/// `vary: accept-encoding` (append the `vary`, do not replace one the app set).
/// Such a response must not also say `Content-Encoding: identity`, nor have a
/// `Content-Length`.
#[must_use]
pub fn content_encoding_headers(coding: Coding) -> [(&'static str, &'static str); 2] {
    [
        ("content-encoding", coding.as_str()),
        ("vary", "accept-encoding"),
    ]
}

/// Sets the headers of a body compressed with `coding` (see
/// [`SseBody::content_encoding`](crate::SseBody::content_encoding)):
/// `Content-Encoding: <coding>`, replacing any earlier value, and `Vary:
/// Accept-Encoding`, added to the `Vary` values already there; removes
/// `Content-Length`. Does nothing when `coding` is `None`.
pub fn set_content_encoding(headers: &mut HeaderMap, coding: Option<Coding>) {
    let Some(coding) = coding else { return };
    headers.insert(CONTENT_ENCODING, HeaderValue::from_static(coding.as_str()));
    headers.remove(CONTENT_LENGTH);
    let varies = headers.get_all(VARY).iter().any(|value| {
        value
            .as_bytes()
            .split(|&byte| byte == b',')
            .map(|name| name.trim_ascii())
            .any(|name| name == b"*" || name.eq_ignore_ascii_case(b"accept-encoding"))
    });
    if !varies {
        headers.append(VARY, HeaderValue::from_static("accept-encoding"));
    }
}

/// Whether a request with these `Accept` header values asks for an event stream
/// (`EventSource` always sends `Accept: text/event-stream`).
pub fn accepts_event_stream<'a>(accept: impl IntoIterator<Item = &'a [u8]>) -> bool {
    let wanted = TEXT_EVENT_STREAM.as_bytes();
    accept.into_iter().any(|value| {
        value
            .windows(wanted.len())
            .any(|window| window.eq_ignore_ascii_case(wanted))
    })
}

/// Whether a response with this `Content-Type` is an event stream.
#[must_use]
pub fn is_event_stream(content_type: Option<&[u8]>) -> bool {
    content_type.is_some_and(|value| {
        value.len() >= TEXT_EVENT_STREAM.len()
            && value[..TEXT_EVENT_STREAM.len()].eq_ignore_ascii_case(TEXT_EVENT_STREAM.as_bytes())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_types_and_plain_strings_agree() {
        let mut headers = HeaderMap::new();
        set_response_headers(&mut headers);
        assert_eq!(headers.len(), RESPONSE_HEADERS.len());
        for (name, value) in RESPONSE_HEADERS {
            assert_eq!(headers[name], value, "{name}");
        }
    }

    #[test]
    fn replaces_and_removes() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        headers.append(CACHE_CONTROL, HeaderValue::from_static("max-age=60"));
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("10"));
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
        set_response_headers(&mut headers);
        assert_eq!(headers[CONTENT_TYPE], TEXT_EVENT_STREAM);
        assert_eq!(headers.get_all(CACHE_CONTROL).iter().count(), 1);
        assert!(!headers.contains_key(CONTENT_LENGTH));
        assert!(!headers.contains_key(CONNECTION));
    }

    #[test]
    fn no_coding_no_headers() {
        let mut headers = HeaderMap::new();
        set_content_encoding(&mut headers, None);
        assert!(headers.is_empty());
    }

    #[cfg(feature = "gzip")]
    #[test]
    fn content_encoding_and_vary() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("identity"));
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("10"));
        headers.insert(VARY, HeaderValue::from_static("origin"));
        set_content_encoding(&mut headers, Some(Coding::Gzip));
        assert_eq!(headers.get_all(CONTENT_ENCODING).iter().count(), 1);
        assert_eq!(headers[CONTENT_ENCODING], "gzip");
        assert!(!headers.contains_key(CONTENT_LENGTH));
        let vary: Vec<_> = headers.get_all(VARY).iter().collect();
        assert_eq!(vary, ["origin", "accept-encoding"]);
        // Set twice: still one `accept-encoding`.
        set_content_encoding(&mut headers, Some(Coding::Gzip));
        assert_eq!(headers.get_all(VARY).iter().count(), 2);
        for (name, value) in content_encoding_headers(Coding::Gzip) {
            assert!(headers.get_all(name).iter().any(|v| v == value), "{name}");
        }
    }

    #[test]
    fn content_negotiation() {
        assert!(accepts_event_stream([&b"text/event-stream"[..]]));
        assert!(accepts_event_stream([
            &b"text/html"[..],
            b"Text/Event-Stream;q=0.9"
        ]));
        assert!(!accepts_event_stream([&b"*/*"[..]]));
        assert!(!accepts_event_stream(std::iter::empty()));
        assert!(is_event_stream(Some(b"text/event-stream; charset=utf-8")));
        assert!(!is_event_stream(Some(b"text/html")));
        assert!(!is_event_stream(None));
    }
}
