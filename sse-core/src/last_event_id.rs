//! [`LastEventId`]: the id a reconnecting client says it saw last.

use std::str::FromStr;

use http::HeaderMap;

/// The `Last-Event-ID` of a request: the id of the last event the client received
/// before it reconnected, or nothing.
///
/// Parsing never fails, because an error here would tempt a handler to answer 4xx,
/// and a browser's `EventSource` stops reconnecting for good on any status but 200.
/// Instead, a header that is absent, empty, longer than [`LastEventId::MAX_LEN`]
/// bytes or not valid UTF-8 counts as absent: the client starts from the beginning.
///
/// The value is read from the raw header bytes and decoded as UTF-8, which is what
/// browsers send for a non-ASCII id (`HeaderValue::to_str` would refuse it).
///
/// ```
/// use http::HeaderMap;
/// use sse_rs_core::LastEventId;
///
/// let mut headers = HeaderMap::new();
/// headers.insert("last-event-id", "42".parse()?);
/// let last = LastEventId::from_headers(&headers);
/// assert_eq!(last.as_str(), Some("42"));
/// assert_eq!(last.parse::<u64>(), Some(42));
///
/// assert!(LastEventId::from_bytes(b"").is_none());
/// assert!(LastEventId::from_bytes(b"\xff\xfe").is_none());
/// assert_eq!(LastEventId::from_bytes("é".as_bytes()).as_str(), Some("é"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct LastEventId(Option<String>);

impl LastEventId {
    /// The name of the request header a reconnecting `EventSource` sends, lowercase.
    pub const HEADER: &'static str = "last-event-id";

    /// The longest value taken, in bytes (1 KiB). Longer values count as absent.
    pub const MAX_LEN: usize = 1024;

    /// No `Last-Event-ID`: the client connects for the first time.
    pub const fn none() -> Self {
        Self(None)
    }

    /// Parses a raw header value.
    pub fn from_bytes(raw: &[u8]) -> Self {
        if raw.is_empty() || raw.len() > Self::MAX_LEN {
            return Self(None);
        }
        Self(std::str::from_utf8(raw).ok().map(str::to_owned))
    }

    /// Reads the `Last-Event-ID` header (the first one, if a client sent several).
    pub fn from_headers(headers: &HeaderMap) -> Self {
        headers
            .get(Self::HEADER)
            .map_or_else(Self::none, |value| Self::from_bytes(value.as_bytes()))
    }

    /// The id, if the client sent a usable one.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// The id, by value.
    #[must_use]
    pub fn into_string(self) -> Option<String> {
        self.0
    }

    /// Whether the client sent a usable id.
    #[must_use]
    pub fn is_some(&self) -> bool {
        self.0.is_some()
    }

    /// Whether the client sent no usable id.
    #[must_use]
    pub fn is_none(&self) -> bool {
        self.0.is_none()
    }

    /// The id parsed as `T` (for example a sequence number), or `None` when it is
    /// absent or does not parse.
    #[must_use]
    pub fn parse<T: FromStr>(&self) -> Option<T> {
        self.0.as_deref().and_then(|id| id.parse().ok())
    }
}

impl From<LastEventId> for Option<String> {
    fn from(id: LastEventId) -> Self {
        id.0
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn with(value: &[u8]) -> LastEventId {
        let mut headers = HeaderMap::new();
        headers.insert(LastEventId::HEADER, HeaderValue::from_bytes(value).unwrap());
        LastEventId::from_headers(&headers)
    }

    #[test]
    fn absent_header_is_none() {
        assert!(LastEventId::from_headers(&HeaderMap::new()).is_none());
        assert_eq!(LastEventId::default(), LastEventId::none());
    }

    #[test]
    fn plain_value_is_taken() {
        assert_eq!(with(b"17").as_str(), Some("17"));
        assert_eq!(with(b"17").parse::<u32>(), Some(17));
        assert_eq!(with(b"abc").parse::<u32>(), None);
        assert_eq!(with(b"abc").into_string(), Some("abc".to_owned()));
    }

    #[test]
    fn non_ascii_utf8_is_decoded_from_raw_bytes() {
        let raw = "ид-🎉".as_bytes();
        // The reason to read raw bytes: `to_str` refuses anything but visible ASCII.
        assert!(HeaderValue::from_bytes(raw).unwrap().to_str().is_err());
        assert_eq!(with(raw).as_str(), Some("ид-🎉"));
    }

    #[test]
    fn empty_invalid_and_over_long_values_are_absent() {
        assert!(with(b"").is_none());
        assert!(with(b"\xc3\x28").is_none());
        assert!(with(&vec![b'1'; LastEventId::MAX_LEN + 1]).is_none());
        assert!(with(&vec![b'1'; 64 * 1024]).is_none());
        assert_eq!(
            with(&vec![b'1'; LastEventId::MAX_LEN])
                .as_str()
                .map(str::len),
            Some(LastEventId::MAX_LEN)
        );
    }

    #[test]
    fn first_of_several_headers_wins() {
        let mut headers = HeaderMap::new();
        headers.append(LastEventId::HEADER, HeaderValue::from_static("1"));
        headers.append(LastEventId::HEADER, HeaderValue::from_static("2"));
        assert_eq!(LastEventId::from_headers(&headers).as_str(), Some("1"));
    }
}
