//! [`AcceptEncoding`]: what a request's `Accept-Encoding` allows, parsed once.

use http::HeaderMap;

use super::Coding;

/// The weight of a coding the header names, in thousandths (`q=0.5` is 500).
type Weight = u16;

/// The full weight, `q=1`.
const FULL: Weight = 1000;

/// The content codings a request accepts, from its `Accept-Encoding` header
/// (RFC 9110, section 12.5.3): the weight (`q`) of each coding this crate knows
/// (`gzip` or `x-gzip`, `br`, `zstd`), of `identity` and of `*`.
///
/// Parsing never fails: an entry that cannot be read (an unknown coding, a bad
/// weight) is skipped, and a coding named twice keeps its lowest weight. A request
/// without the header accepts no compression here (RFC 9110 would allow any coding,
/// but the identity is what every client can read). Small and `Copy`: nothing is
/// allocated.
///
/// ```
/// use sse_rs_core::compress::AcceptEncoding;
///
/// let accept = AcceptEncoding::from_bytes(b"gzip;q=0.5, br, *;q=0");
/// assert_eq!(accept.weight("br"), Some(1000));
/// assert_eq!(accept.weight("gzip"), Some(500));
/// assert_eq!(accept.weight("zstd"), Some(0)); // refused by `*;q=0`
/// assert_eq!(AcceptEncoding::none().weight("gzip"), None);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AcceptEncoding {
    gzip: Option<Weight>,
    br: Option<Weight>,
    zstd: Option<Weight>,
    identity: Option<Weight>,
    any: Option<Weight>,
}

impl AcceptEncoding {
    /// The name of the request header, lowercase.
    pub const HEADER: &'static str = "accept-encoding";

    /// No `Accept-Encoding`: the response is not compressed.
    #[must_use]
    pub const fn none() -> Self {
        Self {
            gzip: None,
            br: None,
            zstd: None,
            identity: None,
            any: None,
        }
    }

    /// Parses one raw header value (a comma-separated list of codings, each with an
    /// optional `;q=` weight).
    #[must_use]
    pub fn from_bytes(raw: &[u8]) -> Self {
        let mut accept = Self::none();
        accept.add(raw);
        accept
    }

    /// Reads every `Accept-Encoding` header of a request (several count as one
    /// comma-separated list).
    #[must_use]
    pub fn from_headers(headers: &HeaderMap) -> Self {
        Self::from_values(
            headers
                .get_all(Self::HEADER)
                .iter()
                .map(http::HeaderValue::as_bytes),
        )
    }

    /// Reads raw header values, for servers that do not use `http` 1 types.
    #[must_use]
    pub fn from_values<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut accept = Self::none();
        for value in values {
            accept.add(value);
        }
        accept
    }

    /// The weight the request gives the coding `name` (`"gzip"`, `"br"`, `"zstd"`,
    /// `"identity"`), in thousandths: named explicitly, or else through `*`. `None`
    /// when neither is in the header (for `identity`: acceptable unless refused).
    #[must_use]
    pub fn weight(&self, name: &str) -> Option<u16> {
        let named = match name.as_bytes() {
            b"gzip" | b"x-gzip" => self.gzip,
            b"br" => self.br,
            b"zstd" => self.zstd,
            b"identity" => self.identity,
            b"*" => return self.any,
            _ => None,
        };
        named.or(self.any)
    }

    /// The weight of `coding`, named or through `*` (0 when the header has neither).
    pub(super) fn coding_weight(&self, coding: Coding) -> Weight {
        self.weight(coding.as_str()).unwrap_or(0)
    }

    /// The weight the request gives the identity (no compression): named, else
    /// through `*`, else 0. The identity is always acceptable (RFC 9110), but only a
    /// weight the client states can make it preferred to a coding it lists.
    pub(super) fn identity_weight(&self) -> Weight {
        self.identity.or(self.any).unwrap_or(0)
    }

    fn add(&mut self, raw: &[u8]) {
        for entry in raw.split(|&byte| byte == b',') {
            let mut parts = entry.split(|&byte| byte == b';');
            let name = parts.next().unwrap_or_default().trim_ascii();
            let mut weight = Some(FULL);
            for param in parts {
                let mut pair = param.splitn(2, |&byte| byte == b'=');
                let (key, value) = (pair.next().unwrap_or_default(), pair.next());
                if key.trim_ascii().eq_ignore_ascii_case(b"q") {
                    weight = value.and_then(|value| parse_weight(value.trim_ascii()));
                }
            }
            let Some(weight) = weight else { continue };
            let slot = if name.eq_ignore_ascii_case(b"gzip") || name.eq_ignore_ascii_case(b"x-gzip")
            {
                &mut self.gzip
            } else if name.eq_ignore_ascii_case(b"br") {
                &mut self.br
            } else if name.eq_ignore_ascii_case(b"zstd") {
                &mut self.zstd
            } else if name.eq_ignore_ascii_case(b"identity") {
                &mut self.identity
            } else if name == b"*" {
                &mut self.any
            } else {
                continue;
            };
            // Named twice: the lowest weight wins, so that a refusal is never lost.
            *slot = Some(slot.map_or(weight, |old| old.min(weight)));
        }
    }
}

/// A `qvalue` (RFC 9110, section 12.4.2): `0` to `1` with at most three decimals, in
/// thousandths; `None` when it is not one.
fn parse_weight(value: &[u8]) -> Option<Weight> {
    let (whole, fraction) = match value.iter().position(|&byte| byte == b'.') {
        Some(dot) => (&value[..dot], &value[dot + 1..]),
        None => (value, &b""[..]),
    };
    if fraction.len() > 3 || !fraction.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut thousandths: Weight = 0;
    for (i, digit) in fraction.iter().enumerate() {
        thousandths += Weight::from(digit - b'0') * [100, 10, 1][i];
    }
    match whole {
        b"0" => Some(thousandths),
        b"1" if thousandths == 0 => Some(FULL),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights() {
        for (value, expected) in [
            ("0", Some(0)),
            ("0.", Some(0)),
            ("0.5", Some(500)),
            ("0.05", Some(50)),
            ("0.123", Some(123)),
            ("1", Some(1000)),
            ("1.", Some(1000)),
            ("1.000", Some(1000)),
            ("1.001", None),
            ("0.1234", None),
            ("2", None),
            ("", None),
            (".5", None),
            ("-0", None),
            ("0.x", None),
            ("1e0", None),
        ] {
            assert_eq!(parse_weight(value.as_bytes()), expected, "{value:?}");
        }
    }

    #[test]
    fn parses_names_weights_and_wildcards() {
        let accept = AcceptEncoding::from_bytes(b" GZIP ; Q = 0.8 ,br;q=0.9,identity;q=0, *;q=0.1");
        assert_eq!(accept.weight("gzip"), Some(800));
        assert_eq!(accept.weight("br"), Some(900));
        assert_eq!(accept.weight("zstd"), Some(100));
        assert_eq!(accept.weight("identity"), Some(0));
        assert_eq!(accept.identity_weight(), 0);
        assert_eq!(
            AcceptEncoding::from_bytes(b"x-gzip").weight("gzip"),
            Some(1000)
        );
    }

    #[test]
    fn a_coding_named_twice_keeps_its_lowest_weight() {
        let accept = AcceptEncoding::from_bytes(b"gzip, gzip;q=0");
        assert_eq!(accept.weight("gzip"), Some(0));
        let accept = AcceptEncoding::from_values([&b"br;q=0.2"[..], b"br"]);
        assert_eq!(accept.weight("br"), Some(200));
    }

    #[test]
    fn bad_entries_are_skipped() {
        let accept = AcceptEncoding::from_bytes(b"gzip;q=2, br;q=, zstd;q=0.5;q=x, deflate, ;;,,");
        assert_eq!(accept, AcceptEncoding::none());
        let accept = AcceptEncoding::from_bytes(b"gzip;level=9;q=0.5");
        assert_eq!(accept.weight("gzip"), Some(500));
    }

    #[test]
    fn identity_weighs_what_the_client_says() {
        assert_eq!(AcceptEncoding::none().identity_weight(), 0);
        assert_eq!(
            AcceptEncoding::from_bytes(b"*;q=0.3").identity_weight(),
            300
        );
        assert_eq!(AcceptEncoding::from_bytes(b"*;q=0").identity_weight(), 0);
        assert_eq!(
            AcceptEncoding::from_bytes(b"*;q=0, identity").identity_weight(),
            FULL
        );
    }

    #[test]
    fn from_headers_reads_every_field() {
        let mut headers = HeaderMap::new();
        headers.append("accept-encoding", http::HeaderValue::from_static("gzip"));
        headers.append(
            "accept-encoding",
            http::HeaderValue::from_static("br;q=0.5"),
        );
        let accept = AcceptEncoding::from_headers(&headers);
        assert_eq!(accept.weight("gzip"), Some(1000));
        assert_eq!(accept.weight("br"), Some(500));
        assert_eq!(
            AcceptEncoding::from_headers(&HeaderMap::new()),
            AcceptEncoding::none()
        );
    }
}
