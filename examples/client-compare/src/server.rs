//! A scripted HTTP/1.1 server on 127.0.0.1: a scenario writes the exact bytes of each
//! response (head, chunks, cuts) and the server records every request it read.
//!
//! Every response carries `Connection: close`, so each (re)connection of a client is
//! a new TCP connection and one request: counting requests counts connections.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What a scenario does with each connection: called with every accepted connection
/// (its request already read), in the order they arrive.
pub type Script = Arc<dyn Fn(Conn) -> BoxFuture<'static, ()> + Send + Sync>;

/// A request as the server read it.
#[derive(Clone, Debug)]
pub struct Request {
    /// The index of the connection: 0 for the first.
    pub n: usize,
    /// The method, e.g. `GET`.
    pub method: String,
    /// The request target, e.g. `/events`.
    pub target: String,
    /// The header fields in order, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body (read by `Content-Length`).
    pub body: Vec<u8>,
    /// When the request head was complete, since the server started.
    pub at: Duration,
}

impl Request {
    /// The first value of the header `name` (lower case), if present.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
    }
}

/// One accepted connection with its request read: the script writes the response.
#[derive(Debug)]
pub struct Conn {
    /// The request of this connection.
    pub request: Request,
    stream: TcpStream,
}

impl Conn {
    /// Writes `bytes` as they are (errors are ignored: a client that left is not the
    /// script's concern).
    pub async fn write(&mut self, bytes: impl AsRef<[u8]>) {
        let _ = self.stream.write_all(bytes.as_ref()).await;
        let _ = self.stream.flush().await;
    }

    /// A response head with `status` (e.g. `"200 OK"`), `Connection: close` and
    /// `headers`.
    pub async fn head(&mut self, status: &str, headers: &[(&str, &str)]) {
        let mut head = format!("HTTP/1.1 {status}\r\nconnection: close\r\n");
        for (name, value) in headers {
            head.push_str(name);
            head.push_str(": ");
            head.push_str(value);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        self.write(head).await;
    }

    /// `200 OK` with `Content-Type: text/event-stream` and a chunked body.
    pub async fn sse_head(&mut self) {
        self.head(
            "200 OK",
            &[
                ("content-type", "text/event-stream"),
                ("cache-control", "no-cache"),
                ("transfer-encoding", "chunked"),
            ],
        )
        .await;
    }

    /// One chunk of a chunked body in one write, then a pause of 5 ms so that the next
    /// chunk arrives in another read.
    pub async fn chunk(&mut self, data: impl AsRef<[u8]>) {
        self.chunk_then_wait(data, Duration::from_millis(5)).await;
    }

    /// One chunk of a chunked body in one write, then a pause of `pause`.
    pub async fn chunk_then_wait(&mut self, data: impl AsRef<[u8]>, pause: Duration) {
        let data = data.as_ref();
        if data.is_empty() {
            return;
        }
        let mut bytes = format!("{:x}\r\n", data.len()).into_bytes();
        bytes.extend_from_slice(data);
        bytes.extend_from_slice(b"\r\n");
        self.write(bytes).await;
        tokio::time::sleep(pause).await;
    }

    /// The last chunk: a clean end of the response, then the connection is closed.
    pub async fn end(mut self) {
        self.write("0\r\n\r\n").await;
        self.close().await;
    }

    /// Closes the connection without ending the chunked body: a cut.
    pub async fn cut(self) {
        self.close().await;
    }

    /// A whole response with `Content-Length`, then the connection is closed.
    pub async fn respond(mut self, status: &str, headers: &[(&str, &str)], body: &str) {
        let length = body.len().to_string();
        let mut all = headers.to_vec();
        all.push(("content-length", &length));
        self.head(status, &all).await;
        self.write(body).await;
        self.close().await;
    }

    /// `204 No Content` (no body, no `Content-Length`), then the connection is
    /// closed: how a server tells an `EventSource` to stop.
    pub async fn no_content(mut self) {
        self.head("204 No Content", &[]).await;
        self.close().await;
    }

    /// Keeps the connection open without writing for `duration`, then closes it.
    pub async fn hold(self, duration: Duration) {
        tokio::time::sleep(duration).await;
        self.close().await;
    }

    async fn close(mut self) {
        let _ = self.stream.shutdown().await;
    }
}

/// The server: accepts on 127.0.0.1 (a free port) until dropped, hands each connection
/// to the script, and records the requests.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    started: Instant,
    requests: Arc<Mutex<Vec<Request>>>,
    accept: JoinHandle<()>,
}

impl Server {
    /// Binds and starts accepting.
    ///
    /// # Errors
    ///
    /// When no port on 127.0.0.1 can be bound.
    pub async fn start(script: Script) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let started = Instant::now();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = requests.clone();
        let accept = tokio::spawn(async move {
            // Dropping the set (when the accept task is aborted) aborts every
            // connection's task: a held connection does not outlive the server.
            let mut connections = tokio::task::JoinSet::new();
            for n in 0.. {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let _ = stream.set_nodelay(true);
                let recorded = recorded.clone();
                let script = script.clone();
                connections.spawn(async move {
                    let Some(request) = read_request(&mut stream, n, started).await else {
                        return;
                    };
                    recorded
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(request.clone());
                    script(Conn { request, stream }).await;
                });
                // Reap finished connections so the set stays small.
                while connections.try_join_next().is_some() {}
            }
        });
        Ok(Self {
            addr,
            started,
            requests,
            accept,
        })
    }

    /// `http://127.0.0.1:PORT{path}`.
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// When the server started: the zero of [`Request::at`].
    #[must_use]
    pub fn started(&self) -> Instant {
        self.started
    }

    /// The requests read so far, in connection order.
    #[must_use]
    pub fn requests(&self) -> Vec<Request> {
        let mut requests = self
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        requests.sort_by_key(|request| request.n);
        requests
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// The most bytes of a request head the server reads.
const MAX_HEAD: usize = 64 * 1024;

async fn read_request(stream: &mut TcpStream, n: usize, started: Instant) -> Option<Request> {
    let mut head = Vec::new();
    let mut byte = [0_u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > MAX_HEAD || stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let at = started.elapsed();
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let target = request_line.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0_u8; length.min(MAX_HEAD)];
    stream.read_exact(&mut body).await.ok()?;
    Some(Request {
        n,
        method,
        target,
        headers,
        body,
        at,
    })
}
