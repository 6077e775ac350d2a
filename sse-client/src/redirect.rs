//! Redirects: which statuses are followed, how the request changes (the fetch
//! standard's rules), and resolving a `Location` against the URL that answered
//! (RFC 3986, section 5.2).

use http::{header, HeaderMap, Method, StatusCode, Uri};

/// Whether `status` is a redirect that is followed: 301, 302, 303, 307 and 308.
pub(crate) fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// Whether a redirect with `status` turns a request with `method` into a `GET`
/// without a body (fetch, "HTTP-redirect fetch", step 12): a 303 for anything but
/// `GET` and `HEAD`, a 301 or 302 for `POST`. 307 and 308 keep method and body.
pub(crate) fn becomes_get(status: StatusCode, method: &Method) -> bool {
    match status.as_u16() {
        303 => *method != Method::GET && *method != Method::HEAD,
        301 | 302 => *method == Method::POST,
        _ => false,
    }
}

/// The headers that describe a request body, removed when the body is dropped.
pub(crate) fn remove_body_headers(headers: &mut HeaderMap) {
    for name in [
        header::CONTENT_TYPE,
        header::CONTENT_LENGTH,
        header::CONTENT_ENCODING,
        header::CONTENT_LANGUAGE,
        header::CONTENT_LOCATION,
    ] {
        headers.remove(name);
    }
}

/// Whether `a` and `b` have the same origin (scheme, host and port).
pub(crate) fn same_origin(a: &Uri, b: &Uri) -> bool {
    a.scheme() == b.scheme()
        && a.host().map(str::to_ascii_lowercase) == b.host().map(str::to_ascii_lowercase)
        && port(a) == port(b)
}

fn port(uri: &Uri) -> Option<u16> {
    uri.port_u16().or(match uri.scheme_str() {
        Some("http") => Some(80),
        Some("https") => Some(443),
        _ => None,
    })
}

/// Credentials not sent to another origin after a redirect (as fetch drops
/// `Authorization`).
pub(crate) fn remove_credentials(headers: &mut HeaderMap) {
    for name in [
        header::AUTHORIZATION,
        header::COOKIE,
        header::PROXY_AUTHORIZATION,
    ] {
        headers.remove(name);
    }
}

/// `location` resolved against `base`, if the result is an absolute `http` or
/// `https` URL. A fragment is dropped (it is not sent).
pub(crate) fn resolve(base: &Uri, location: &str) -> Option<Uri> {
    let location = location.split('#').next().unwrap_or_default();
    let reference = Reference::parse(location);
    let base_scheme = base.scheme_str()?;
    let base_authority = base.authority()?.as_str();
    let (scheme, authority, path, query);
    if let Some(ref_scheme) = reference.scheme {
        scheme = ref_scheme.to_ascii_lowercase();
        authority = reference.authority?.to_owned();
        path = remove_dot_segments(reference.path);
        query = reference.query;
    } else {
        scheme = base_scheme.to_owned();
        if let Some(ref_authority) = reference.authority {
            authority = ref_authority.to_owned();
            path = remove_dot_segments(reference.path);
            query = reference.query;
        } else {
            authority = base_authority.to_owned();
            if reference.path.is_empty() {
                path = base.path().to_owned();
                query = reference.query.or(base.query());
            } else {
                if reference.path.starts_with('/') {
                    path = remove_dot_segments(reference.path);
                } else {
                    let base_path = base.path();
                    let merged = match base_path.rfind('/') {
                        Some(slash) => format!("{}{}", &base_path[..=slash], reference.path),
                        None => format!("/{}", reference.path),
                    };
                    path = remove_dot_segments(&merged);
                }
                query = reference.query;
            }
        }
    }
    if scheme != "http" && scheme != "https" || authority.is_empty() {
        return None;
    }
    let path = if path.is_empty() { "/" } else { &path };
    let text = match query {
        Some(query) => format!("{scheme}://{authority}{path}?{query}"),
        None => format!("{scheme}://{authority}{path}"),
    };
    text.parse().ok()
}

/// A URI reference split into its parts (RFC 3986, appendix B), fragment removed.
struct Reference<'a> {
    scheme: Option<&'a str>,
    authority: Option<&'a str>,
    path: &'a str,
    query: Option<&'a str>,
}

impl<'a> Reference<'a> {
    fn parse(mut text: &'a str) -> Self {
        let mut scheme = None;
        if let Some(colon) = text.find(':') {
            let candidate = &text[..colon];
            let mut chars = candidate.chars();
            let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
            if valid {
                scheme = Some(candidate);
                text = &text[colon + 1..];
            }
        }
        let mut authority = None;
        if let Some(rest) = text.strip_prefix("//") {
            let end = rest.find(['/', '?']).unwrap_or(rest.len());
            authority = Some(&rest[..end]);
            text = &rest[end..];
        }
        let (path, query) = match text.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (text, None),
        };
        Self {
            scheme,
            authority,
            path,
            query,
        }
    }
}

/// RFC 3986, section 5.2.4.
fn remove_dot_segments(path: &str) -> String {
    let mut output: Vec<&str> = Vec::new();
    let mut input = path;
    while !input.is_empty() {
        if let Some(rest) = input.strip_prefix("../") {
            input = rest;
        } else if let Some(rest) = input.strip_prefix("./") {
            input = rest;
        } else if input.starts_with("/./") {
            input = &input[2..];
        } else if input == "/." {
            input = "/";
        } else if input.starts_with("/../") || input == "/.." {
            input = if input == "/.." { "/" } else { &input[3..] };
            output.pop();
        } else if input == "." || input == ".." {
            input = "";
        } else {
            // Move the first segment (with its leading slash, if any) to the output.
            let start = usize::from(input.starts_with('/'));
            let end = input[start..]
                .find('/')
                .map_or(input.len(), |at| at + start);
            output.push(&input[..end]);
            input = &input[end..];
        }
    }
    output.concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_3986_examples() {
        let base: Uri = "http://a/b/c/d;p?q".parse().unwrap();
        for (reference, expected) in [
            ("g", "http://a/b/c/g"),
            ("./g", "http://a/b/c/g"),
            ("g/", "http://a/b/c/g/"),
            ("/g", "http://a/g"),
            ("//g", "http://g/"),
            ("?y", "http://a/b/c/d;p?y"),
            ("g?y", "http://a/b/c/g?y"),
            ("#s", "http://a/b/c/d;p?q"),
            ("g#s", "http://a/b/c/g"),
            (";x", "http://a/b/c/;x"),
            ("", "http://a/b/c/d;p?q"),
            (".", "http://a/b/c/"),
            ("./", "http://a/b/c/"),
            ("..", "http://a/b/"),
            ("../", "http://a/b/"),
            ("../g", "http://a/b/g"),
            ("../..", "http://a/"),
            ("../../g", "http://a/g"),
            ("../../../g", "http://a/g"),
            ("/./g", "http://a/g"),
            ("/../g", "http://a/g"),
            ("g.", "http://a/b/c/g."),
            ("..g", "http://a/b/c/..g"),
            ("./../g", "http://a/b/g"),
            ("g/./h", "http://a/b/c/g/h"),
            ("g/../h", "http://a/b/c/h"),
            ("https://other:8443/x?y", "https://other:8443/x?y"),
            ("HTTP://Other/x", "http://Other/x"),
        ] {
            let resolved = resolve(&base, reference).map(|uri| uri.to_string());
            assert_eq!(resolved.as_deref(), Some(expected), "{reference:?}");
        }
    }

    #[test]
    fn other_schemes_and_garbage_are_refused() {
        let base: Uri = "http://a/b".parse().unwrap();
        for reference in ["ftp://a/b", "mailto:x@y", "http://", "http://a b/", "g:h"] {
            assert_eq!(resolve(&base, reference), None, "{reference:?}");
        }
    }

    #[test]
    fn method_changes_follow_fetch() {
        let see_other = StatusCode::SEE_OTHER;
        assert!(becomes_get(see_other, &Method::POST));
        assert!(becomes_get(see_other, &Method::PUT));
        assert!(!becomes_get(see_other, &Method::GET));
        assert!(becomes_get(StatusCode::MOVED_PERMANENTLY, &Method::POST));
        assert!(becomes_get(StatusCode::FOUND, &Method::POST));
        assert!(!becomes_get(StatusCode::FOUND, &Method::PUT));
        assert!(!becomes_get(StatusCode::TEMPORARY_REDIRECT, &Method::POST));
        assert!(!becomes_get(StatusCode::PERMANENT_REDIRECT, &Method::POST));
    }

    #[test]
    fn origins() {
        let a: Uri = "http://Example.com/x".parse().unwrap();
        assert!(same_origin(&a, &"http://example.com:80/y".parse().unwrap()));
        assert!(!same_origin(&a, &"https://example.com/x".parse().unwrap()));
        assert!(!same_origin(
            &a,
            &"http://example.com:8080/x".parse().unwrap()
        ));
        assert!(!same_origin(&a, &"http://other.com/x".parse().unwrap()));
    }
}
