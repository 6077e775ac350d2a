//! A scripted HTTP/1.1 server over real TCP on 127.0.0.1: each test writes the exact
//! bytes of each response (status, headers, chunks, cuts), and reads what the client
//! sent on each connection.

#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use sse_rs_client::{Client, Error, Event, EventSource, MessageEvent};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// The transport a suite runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// The default: hyper-util's client.
    Hyper,
    /// A reqwest client as an app hands it in: reqwest's default redirect policy.
    #[cfg(feature = "reqwest")]
    Reqwest,
    /// A reqwest client with `redirect::Policy::none()`: this crate follows them.
    #[cfg(feature = "reqwest")]
    ReqwestWithoutRedirects,
}

impl Transport {
    /// A new client on this transport.
    pub fn client(self) -> Client {
        match self {
            Self::Hyper => Client::new(),
            #[cfg(feature = "reqwest")]
            Self::Reqwest => Client::from_reqwest(reqwest_client(reqwest::Client::builder())),
            #[cfg(feature = "reqwest")]
            Self::ReqwestWithoutRedirects => Client::from_reqwest(reqwest_client(
                reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()),
            )),
        }
    }

    /// Whether the transport follows redirects itself before this crate sees them.
    pub fn follows_redirects(self) -> bool {
        match self {
            Self::Hyper => false,
            #[cfg(feature = "reqwest")]
            Self::Reqwest => true,
            #[cfg(feature = "reqwest")]
            Self::ReqwestWithoutRedirects => false,
        }
    }
}

/// `builder` without proxies from the environment. The tests' reqwest has no crypto
/// provider of its own (no aws-lc-rs to build): *ring* is installed as the process
/// default first, as an app with `rustls-no-provider` does.
#[cfg(feature = "reqwest")]
pub fn reqwest_client(builder: reqwest::ClientBuilder) -> reqwest::Client {
    #[allow(deprecated)]
    let ring = rustls::crypto::ring::default_provider();
    // Already installed by another test of this process: fine.
    let _ = ring.install_default();
    builder.no_proxy().build().unwrap()
}

/// A request as the server read it.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// 0 for the first connection.
    pub n: usize,
    pub method: String,
    pub target: String,
    /// Names in lower case, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One accepted connection, with its request read.
pub struct Conn {
    pub request: Recorded,
    stream: TcpStream,
}

impl Conn {
    pub fn n(&self) -> usize {
        self.request.n
    }

    /// Writes raw bytes and flushes.
    pub async fn write(&mut self, bytes: impl AsRef<[u8]>) {
        let _ = self.stream.write_all(bytes.as_ref()).await;
        let _ = self.stream.flush().await;
    }

    /// A response head: `status` is e.g. `"200 OK"`; `Connection: close` is added so
    /// that the client never reuses the connection.
    pub async fn head(&mut self, status: &str, headers: &[(&str, &str)]) {
        let mut text = format!("HTTP/1.1 {status}\r\nconnection: close\r\n");
        for (name, value) in headers {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        text.push_str("\r\n");
        self.write(text).await;
    }

    /// `200` with `text/event-stream`, chunked.
    pub async fn sse_head(&mut self) {
        self.head(
            "200 OK",
            &[
                ("content-type", "text/event-stream"),
                ("transfer-encoding", "chunked"),
            ],
        )
        .await;
    }

    /// One chunk of a chunked body, then a short pause so that the next one
    /// arrives in another read.
    pub async fn chunk(&mut self, data: impl AsRef<[u8]>) {
        let data = data.as_ref();
        if data.is_empty() {
            return;
        }
        let mut bytes = format!("{:x}\r\n", data.len()).into_bytes();
        bytes.extend_from_slice(data);
        bytes.extend_from_slice(b"\r\n");
        self.write(bytes).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    /// The end of a chunked body: a clean end of the response.
    pub async fn end(&mut self) {
        self.write("0\r\n\r\n").await;
    }

    /// A whole response with `Content-Length`.
    pub async fn respond(&mut self, status: &str, headers: &[(&str, &str)], body: &str) {
        let length = body.len().to_string();
        let mut all = headers.to_vec();
        all.push(("content-length", &length));
        self.head(status, &all).await;
        self.write(body).await;
    }

    /// Waits (at most `limit`) until the client closes the connection: true if it did.
    pub async fn closed_by_client(&mut self, limit: Duration) -> bool {
        let mut buf = [0_u8; 1024];
        let read = async {
            loop {
                match self.stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        };
        tokio::time::timeout(limit, read).await.is_ok()
    }
}

/// The server: every connection is handed to the script with its index.
pub struct Server {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl Server {
    pub async fn start<F, Fut>(script: F) -> Self
    where
        F: Fn(Conn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = requests.clone();
        let script = Arc::new(script);
        tokio::spawn(async move {
            let mut n = 0;
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let _ = stream.set_nodelay(true);
                let this = n;
                n += 1;
                let recorded = recorded.clone();
                let script = script.clone();
                tokio::spawn(async move {
                    let Some(request) = read_request(&mut stream, this).await else {
                        return;
                    };
                    recorded.lock().unwrap().push(request.clone());
                    script(Conn { request, stream }).await;
                });
            }
        });
        Self { addr, requests }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The requests read so far, in the order they arrived.
    pub fn requests(&self) -> Vec<Recorded> {
        let mut requests = self.requests.lock().unwrap().clone();
        requests.sort_by_key(|request| request.n);
        requests
    }
}

async fn read_request(stream: &mut TcpStream, n: usize) -> Option<Recorded> {
    let mut buf = Vec::new();
    let mut byte = [0_u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
    }
    let at = Instant::now();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let target = first.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter(|line| !line.is_empty())
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0_u8; length];
    stream.read_exact(&mut body).await.ok()?;
    Some(Recorded {
        n,
        method,
        target,
        headers,
        body,
        at,
    })
}

/// Every test is bounded by this.
pub const LIMIT: Duration = Duration::from_secs(10);

/// The next item, or a panic after [`LIMIT`].
pub async fn next(source: &mut EventSource) -> Option<Result<Event, Error>> {
    tokio::time::timeout(LIMIT, source.next())
        .await
        .expect("an item in time")
}

/// The next message event (other items skipped), or a panic on an error, the end, or
/// after [`LIMIT`].
pub async fn next_message(source: &mut EventSource) -> MessageEvent {
    loop {
        match next(source).await {
            Some(Ok(Event::Message(message))) => return message,
            Some(Ok(_)) => {}
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

/// All items until the end (bounded by [`LIMIT`]).
pub async fn collect(source: EventSource) -> Vec<Result<Event, Error>> {
    tokio::time::timeout(LIMIT, source.collect::<Vec<_>>())
        .await
        .expect("the stream ends in time")
}

/// (type, data, last event id) of each message; panics on an error item.
pub fn messages(items: &[Result<Event, Error>]) -> Vec<(String, String, String)> {
    items
        .iter()
        .filter_map(|item| match item {
            Ok(Event::Message(m)) => {
                Some((m.event.clone(), m.data.clone(), m.last_event_id.clone()))
            }
            Ok(_) => None,
            Err(error) => panic!("unexpected error {error:?}"),
        })
        .collect()
}

/// A (type, data, id) triple, for comparisons.
pub fn ev(event: &str, data: &str, id: &str) -> (String, String, String) {
    (event.to_owned(), data.to_owned(), id.to_owned())
}
