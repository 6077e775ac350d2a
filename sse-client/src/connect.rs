//! One connection attempt: send the request, follow redirects, and judge the
//! response (WHATWG, "establish the connection"; fetch, "HTTP-redirect fetch").

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use tokio::time::Instant;

use crate::error::{retried_status, BadResponse};
use crate::redirect;
use crate::request::RequestSpec;
use crate::transport::{Received, ResponseBody};
use crate::{Client, Error, Open};

/// How an attempt ended.
pub(crate) enum Outcome {
    /// `200` with `text/event-stream`: read the body.
    Open(Response<ResponseBody>, Open),
    /// `204 No Content`: the server says stop.
    Stop,
    /// A failure the policy may retry, with the response's `Retry-After`.
    Retry(Error, Option<Duration>),
    /// A failure that ends the stream.
    Fail(Error),
}

/// What one attempt needs.
pub(crate) struct Attempt {
    pub(crate) client: Client,
    pub(crate) request: Arc<RequestSpec>,
    pub(crate) last_event_id: Option<HeaderValue>,
    pub(crate) connect_timeout: Duration,
    pub(crate) max_redirects: usize,
    /// 1 for the first attempt of the stream.
    pub(crate) connection: u64,
}

impl Attempt {
    pub(crate) async fn run(self) -> Outcome {
        let deadline = crate::reconnect::after(self.connect_timeout);
        let spec = &*self.request;
        let mut method = spec.method.clone();
        let mut url = spec.url.clone();
        let mut body = spec.body.clone();
        let mut headers = spec.headers.clone();
        if !headers.contains_key(header::ACCEPT) {
            headers.insert(
                header::ACCEPT,
                HeaderValue::from_static("text/event-stream"),
            );
        }
        if !headers.contains_key(header::CACHE_CONTROL) {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        if let Some(id) = &self.last_event_id {
            headers.insert("last-event-id", id.clone());
        }
        let mut redirects = 0;
        loop {
            let mut request = Request::new(body.clone());
            *request.method_mut() = method.clone();
            *request.uri_mut() = url.clone();
            *request.headers_mut() = headers.clone();
            let sent = self.client.inner.transport.send(request);
            let response = match tokio::time::timeout_at(deadline, sent).await {
                Err(_elapsed) => {
                    return Outcome::Retry(Error::ConnectTimeout(self.connect_timeout), None)
                }
                Ok(Err(error)) if error.is_retried() => return Outcome::Retry(error, None),
                Ok(Err(error)) => return Outcome::Fail(error),
                Ok(Ok(Received {
                    response,
                    url: answered,
                })) => {
                    // Where the transport's own redirect policy (reqwest's) led.
                    url = answered;
                    response
                }
            };
            let status = response.status();
            if redirect::is_redirect(status) {
                let location = response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|value| value.to_str().ok())
                    .and_then(|location| redirect::resolve(&url, location));
                let Some(next) = location else {
                    let bad = self.bad_response(url, response, deadline).await;
                    return Outcome::Fail(Error::InvalidRedirect(bad));
                };
                if redirects >= self.max_redirects {
                    let bad = self.bad_response(url, response, deadline).await;
                    return Outcome::Fail(Error::TooManyRedirects(bad));
                }
                redirects += 1;
                // The redirect's body is not read: dropping it lets the connection go.
                drop(response);
                if redirect::becomes_get(status, &method) {
                    method = http::Method::GET;
                    body = Bytes::new();
                    redirect::remove_body_headers(&mut headers);
                }
                if !redirect::same_origin(&url, &next) {
                    redirect::remove_credentials(&mut headers);
                }
                url = next;
                continue;
            }
            return match status {
                StatusCode::OK if is_event_stream(response.headers()) => {
                    let open = Open {
                        url,
                        status,
                        version: response.version(),
                        connection: self.connection,
                        last_event_id: self
                            .last_event_id
                            .as_ref()
                            .map(|id| String::from_utf8_lossy(id.as_bytes()).into_owned()),
                    };
                    Outcome::Open(response, open)
                }
                StatusCode::OK => Outcome::Fail(Error::ContentType(
                    self.bad_response(url, response, deadline).await,
                )),
                StatusCode::NO_CONTENT => Outcome::Stop,
                status if retried_status(status) => {
                    let retry_after = crate::reconnect::retry_after(response.headers());
                    let bad = self.bad_response(url, response, deadline).await;
                    Outcome::Retry(Error::Status(bad), retry_after)
                }
                _ => Outcome::Fail(Error::Status(
                    self.bad_response(url, response, deadline).await,
                )),
            };
        }
    }

    /// The response as an error: status, headers, and what arrives of the first
    /// [`BadResponse::MAX_BODY`] bytes of the body before the deadline (at least one
    /// second from now, so a slow connect still shows the server's message).
    async fn bad_response(
        &self,
        url: http::Uri,
        response: Response<ResponseBody>,
        deadline: Instant,
    ) -> BadResponse {
        let (parts, mut incoming) = response.into_parts();
        let mut body = BytesMut::new();
        let read = async {
            while body.len() < BadResponse::MAX_BODY {
                match incoming.frame().await {
                    Some(Ok(frame)) => {
                        if let Ok(data) = frame.into_data() {
                            let room = BadResponse::MAX_BODY - body.len();
                            body.extend_from_slice(&data[..data.len().min(room)]);
                        }
                    }
                    Some(Err(_)) | None => break,
                }
            }
        };
        let deadline = deadline.max(crate::reconnect::after(Duration::from_secs(1)));
        let _in_time: Result<(), _> = tokio::time::timeout_at(deadline, read).await;
        BadResponse {
            url,
            status: parts.status,
            headers: parts.headers,
            body: body.freeze(),
        }
    }
}

/// Whether the response's media type is `text/event-stream` (parameters allowed).
fn is_event_stream(headers: &http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("text/event-stream"))
}
