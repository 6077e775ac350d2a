//! The fan-out workload: `GET /fanout` subscribes to a process-wide broadcast,
//! `POST /publish?n=N&size=S&rate=R` publishes `N` events at `R` per second (0: as
//! fast as possible), each data starting with its send time in nanoseconds since the
//! UNIX epoch, and `GET /subscribers` says how many are subscribed.
//!
//! Ours publishes through the sse-rs-core [`Hub`] (encoded once, shared bytes); the
//! built-in variants use `tokio::sync::broadcast` and build their framework's event
//! per subscriber, which is how an app uses them.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::stream::{Stream, StreamExt};
use sse_rs::hub::Hub;
use sse_rs::{Event, EventType, LastEventId};
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;

/// The topic every fan-out subscriber follows.
pub const TOPIC: &str = "fanout";
const TICK: EventType = EventType::from_static("tick");

/// The query of `/publish`.
#[derive(Clone, Copy, Debug, serde::Deserialize)]
pub struct Publish {
    /// How many events.
    pub n: u64,
    /// Bytes of data per event (at least the 20 digits of the send time).
    pub size: usize,
    /// Events per second; 0 publishes as fast as possible.
    pub rate: u64,
}

impl Publish {
    pub(crate) fn parse(query: Option<&str>) -> Publish {
        let mut publish = Publish {
            n: 100,
            size: 64,
            rate: 0,
        };
        for pair in query.unwrap_or("").split('&') {
            match pair.split_once('=') {
                Some(("n", v)) => publish.n = v.parse().unwrap_or(publish.n),
                Some(("size", v)) => publish.size = v.parse().unwrap_or(publish.size),
                Some(("rate", v)) => publish.rate = v.parse().unwrap_or(publish.rate),
                _ => {}
            }
        }
        publish.size = publish.size.clamp(20, 1 << 20);
        publish
    }
}

/// Nanoseconds since the UNIX epoch.
#[must_use]
pub fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// The process-wide broadcast of one server.
#[derive(Clone, Debug)]
pub enum Broadcast {
    /// Ours: the sse-rs-core hub.
    Hub(Hub),
    /// The built-ins: a tokio broadcast of the data, encoded by each subscriber.
    Tokio(broadcast::Sender<Arc<str>>),
    /// Ours across instances: the sse-redis backplane.
    Redis(sse_redis::RedisHub),
}

impl Broadcast {
    /// The broadcast for a variant of ours (`true`) or a built-in one.
    #[must_use]
    pub fn new(ours: bool) -> Self {
        if ours {
            Broadcast::Hub(Hub::builder().queue_capacity(4096).replay_count(0).build())
        } else {
            Broadcast::Tokio(broadcast::channel(4096).0)
        }
    }

    /// How many subscribers are connected.
    #[must_use]
    pub fn subscribers(&self) -> usize {
        match self {
            Broadcast::Hub(hub) => hub.subscriber_count(),
            Broadcast::Tokio(tx) => tx.receiver_count(),
            Broadcast::Redis(hub) => hub.subscriber_count(),
        }
    }

    /// Our subscription, as a stream of encoded events.
    ///
    /// # Panics
    ///
    /// On a built-in broadcast (a bug in the caller).
    #[must_use]
    pub fn subscribe_hub(&self) -> sse_rs::hub::Subscription {
        match self {
            Broadcast::Hub(hub) => hub.subscribe(&[TOPIC], &LastEventId::none()),
            #[allow(clippy::panic)]
            Broadcast::Tokio(_) | Broadcast::Redis(_) => panic!("not an in-process hub"),
        }
    }

    /// A built-in subscription: the data of each event, for the framework to encode.
    ///
    /// # Panics
    ///
    /// On a hub (a bug in the caller).
    pub fn subscribe_data(&self) -> impl Stream<Item = Arc<str>> + Send + 'static {
        let rx = match self {
            Broadcast::Tokio(tx) => tx.subscribe(),
            #[allow(clippy::panic)]
            Broadcast::Hub(_) | Broadcast::Redis(_) => panic!("not a tokio broadcast"),
        };
        BroadcastStream::new(rx).filter_map(|item| std::future::ready(item.ok()))
    }

    /// Publishes as `publish` says; completes when the last event is published.
    pub async fn run(&self, publish: Publish) {
        if let Broadcast::Redis(hub) = self {
            // Through Redis, keep a window of appends in flight on the one connection
            // rather than waiting out each round trip before the next event is due.
            let due: std::pin::Pin<Box<dyn Stream<Item = ()> + Send>> = if publish.rate > 0 {
                let pace = Duration::from_secs_f64(1.0 / publish.rate as f64);
                Box::pin(
                    tokio_stream::wrappers::IntervalStream::new(tokio::time::interval(pace))
                        .map(drop),
                )
            } else {
                Box::pin(futures_util::stream::repeat(()))
            };
            due.take(usize::try_from(publish.n).unwrap_or(usize::MAX))
                .map(|()| {
                    let data = payload(publish.size);
                    hub.publish(TOPIC, Event::default().event(TICK).data(data))
                })
                .buffer_unordered(PUBLISH_WINDOW)
                .for_each(|_| std::future::ready(()))
                .await;
            return;
        }
        let pace = (publish.rate > 0).then(|| Duration::from_secs_f64(1.0 / publish.rate as f64));
        let mut ticker = pace.map(tokio::time::interval);
        for _ in 0..publish.n {
            if let Some(ticker) = &mut ticker {
                ticker.tick().await;
            }
            let data = payload(publish.size);
            match self {
                Broadcast::Hub(hub) => {
                    hub.publish(TOPIC, Event::default().event(TICK).data(data));
                }
                Broadcast::Tokio(tx) => {
                    let _ = tx.send(Arc::from(data));
                }
                Broadcast::Redis(hub) => {
                    // A lost event shows as a subscriber that never gets them all.
                    let _ = hub
                        .publish(TOPIC, Event::default().event(TICK).data(data))
                        .await;
                }
            }
        }
    }
}

/// Built-in events for axum.
pub fn axum_events(
    data: impl Stream<Item = Arc<str>> + Send + 'static,
) -> impl Stream<Item = Result<axum::response::sse::Event, Infallible>> + Send + 'static {
    data.map(|data| {
        Ok(axum::response::sse::Event::default()
            .event("tick")
            .data(&*data))
    })
}

/// Built-in events for warp.
pub fn warp_events(
    data: impl Stream<Item = Arc<str>> + Send + 'static,
) -> impl Stream<Item = Result<warp::sse::Event, Infallible>> + Send + 'static {
    data.map(|data| Ok(warp::sse::Event::default().event("tick").data(&*data)))
}

/// Built-in events for actix-web-lab.
pub fn actix_events(
    data: impl Stream<Item = Arc<str>> + 'static,
) -> impl Stream<Item = Result<actix_web_lab::sse::Event, Infallible>> + 'static {
    data.map(|data| {
        Ok(actix_web_lab::sse::Event::Data(
            actix_web_lab::sse::Data::new(data.to_string()).event("tick"),
        ))
    })
}

/// How many appends to Redis one publisher keeps in flight at full speed.
const PUBLISH_WINDOW: usize = 32;

/// The data of one event: its send time (20 digits of nanoseconds), padded to `size`.
fn payload(size: usize) -> String {
    let mut data = format!("{:020}", now_nanos());
    data.extend(std::iter::repeat_n('x', size.saturating_sub(data.len())));
    data
}

/// What one fan-out run measured.
#[derive(Clone, Debug, Default)]
pub struct FanoutResult {
    /// Events delivered, summed over subscribers.
    pub deliveries: u64,
    /// From the publish request to the last delivery.
    pub seconds: f64,
    /// Send-to-receive latency of every delivery, in nanoseconds, sorted.
    pub latency_ns: Vec<u64>,
    /// The CPU time the server used from the publish request to the last delivery,
    /// when its process was given (see [`crate::cpu_ns`]).
    pub server_cpu_ns: Option<u64>,
}

impl FanoutResult {
    /// The latency at quantile `q` (0..=1), in milliseconds.
    #[must_use]
    pub fn latency_ms(&self, q: f64) -> f64 {
        if self.latency_ns.is_empty() {
            return f64::NAN;
        }
        let at = ((self.latency_ns.len() - 1) as f64 * q).round() as usize;
        self.latency_ns[at] as f64 / 1e6
    }
}

/// One small request on a connection of its own (`connection: close`): the body of
/// its `200` answer.
///
/// # Errors
///
/// On a socket error, or when the answer is not `200`.
pub async fn request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
) -> std::io::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(addr).await?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: bench\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).await?;
    let mut response = Vec::new();
    socket.read_to_end(&mut response).await?;
    let text = String::from_utf8_lossy(&response).into_owned();
    if !text.starts_with("HTTP/1.1 200") {
        return Err(std::io::Error::other(format!(
            "{method} {path}: {}",
            text.lines().next().unwrap_or("")
        )));
    }
    Ok(text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default())
}

/// The latencies of a fan-out run's deliveries so far, for a live view of the run
/// (`compare fanout --json-lines`, which feeds the comparison page): a histogram of
/// atomic counters, so that recording takes no lock and a snapshot copies no
/// latencies. Buckets grow by 2% from 1 µs (up to about 6 minutes), so quantiles are
/// within 2%; the final figures come from the exact latencies.
#[derive(Debug)]
pub struct Watch {
    buckets: Box<[std::sync::atomic::AtomicU64]>,
}

/// The ratio between two buckets' bounds.
const WATCH_GROWTH: f64 = 1.02;
const WATCH_BUCKETS: usize = 1000;

impl Default for Watch {
    fn default() -> Self {
        Self {
            buckets: (0..WATCH_BUCKETS)
                .map(|_| std::sync::atomic::AtomicU64::new(0))
                .collect(),
        }
    }
}

impl Watch {
    fn bucket(latency_ns: u64) -> usize {
        let micros = latency_ns as f64 / 1e3;
        if micros <= 1.0 {
            return 0;
        }
        ((micros.ln() / WATCH_GROWTH.ln()).ceil() as usize).min(WATCH_BUCKETS - 1)
    }

    pub(crate) fn extend(&self, latencies: &[u64]) {
        for &latency in latencies {
            self.buckets[Self::bucket(latency)].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// The deliveries so far and their latency at quantiles `qs` (0..=1), in
    /// milliseconds, each the upper bound of its bucket (NaN before the first
    /// delivery).
    #[must_use]
    pub fn snapshot<const N: usize>(&self, qs: [f64; N]) -> (u64, [f64; N]) {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(std::sync::atomic::Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        let quantile = |q: f64| {
            if total == 0 {
                return f64::NAN;
            }
            // The rank of the quantile among the sorted latencies, as in
            // `FanoutResult::latency_ms`.
            let rank = ((total - 1) as f64 * q).round() as u64;
            let mut seen = 0;
            for (i, &count) in counts.iter().enumerate() {
                seen += count;
                if seen > rank {
                    return WATCH_GROWTH.powi(i as i32) / 1e3;
                }
            }
            f64::NAN
        };
        (total, qs.map(quantile))
    }
}

/// Reads one subscriber's stream until `n` events arrived: their latencies and the
/// time of the last one (also added to `watch` as they come, if given).
async fn subscriber(
    mut socket: tokio::net::TcpStream,
    n: u64,
    watch: Option<Arc<Watch>>,
) -> std::io::Result<(Vec<u64>, u128)> {
    use tokio::io::AsyncReadExt;
    let mut decoder = sse_rs::decode::Decoder::new();
    let mut latencies = Vec::with_capacity(n as usize);
    let mut buf = vec![0_u8; 64 * 1024];
    let mut head = Vec::new();
    let mut in_body = false;
    let mut last = 0;
    while (latencies.len() as u64) < n {
        let read = socket.read(&mut buf).await?;
        if read == 0 {
            return Err(std::io::Error::other("the stream ended early"));
        }
        let now = now_nanos();
        let before = latencies.len();
        let mut chunk = &buf[..read];
        if !in_body {
            head.extend_from_slice(chunk);
            let Some(end) = memchr::memmem::find(&head, b"\r\n\r\n") else {
                continue;
            };
            let body = head.split_off(end + 4);
            in_body = true;
            chunk = &[];
            for item in decoder.decode(&body).map_err(std::io::Error::other)? {
                record(&item, now, &mut latencies);
            }
        }
        for item in decoder.decode(chunk).map_err(std::io::Error::other)? {
            record(&item, now, &mut latencies);
        }
        if let Some(watch) = &watch {
            watch.extend(&latencies[before..]);
        }
        last = now;
    }
    Ok((latencies, last))
}

pub(crate) fn record(item: &sse_rs::decode::Decoded, now: u128, latencies: &mut Vec<u64>) {
    if let sse_rs::decode::Decoded::Event(event) = item {
        if let Some(sent) = event
            .data
            .get(..20)
            .and_then(|digits| digits.parse::<u128>().ok())
        {
            latencies.push(u64::try_from(now.saturating_sub(sent)).unwrap_or(u64::MAX));
        }
    }
}

/// Opens `count` idle event streams (`GET /fanout`) and returns them once the server
/// counts them all as subscribers.
///
/// # Errors
///
/// On a socket error, or when the server does not count them within a minute.
pub async fn open_idle(
    addr: std::net::SocketAddr,
    count: usize,
) -> std::io::Result<Vec<tokio::net::TcpStream>> {
    use tokio::io::AsyncWriteExt;
    let mut sockets = Vec::with_capacity(count);
    for _ in 0..count {
        let mut socket = tokio::net::TcpStream::connect(addr).await?;
        socket
            .write_all(b"GET /fanout HTTP/1.1\r\nhost: bench\r\naccept: text/event-stream\r\n\r\n")
            .await?;
        sockets.push(socket);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let now: usize = request(addr, "GET", "/subscribers")
            .await?
            .trim()
            .parse()
            .unwrap_or(0);
        if now >= count {
            return Ok(sockets);
        }
        if tokio::time::Instant::now() > deadline {
            return Err(std::io::Error::other(format!(
                "only {now} of {count} subscribed"
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Subscribes `subscribers` clients to `/fanout`, publishes, and measures delivery.
///
/// # Errors
///
/// On a socket error, or when the subscribers do not all connect or receive every
/// event within a minute.
pub async fn run_fanout(
    addr: std::net::SocketAddr,
    subscribers: usize,
    publish: Publish,
    server: Option<u32>,
) -> std::io::Result<FanoutResult> {
    run_fanout_spread(&[addr], subscribers, publish, server).await
}

/// [`run_fanout`] that adds every delivery's latency to `watch`, if given, as it
/// arrives.
///
/// # Errors
///
/// As [`run_fanout`].
pub async fn run_fanout_watched(
    addr: std::net::SocketAddr,
    subscribers: usize,
    publish: Publish,
    server: Option<u32>,
    watch: Option<Arc<Watch>>,
) -> std::io::Result<FanoutResult> {
    spread(&[addr], subscribers, publish, server, watch).await
}

/// [`run_fanout`] with the subscribers spread evenly over several instances of one
/// app (sharing a backplane); the events are published through the first. With
/// `server`, the process id of the (single) server, the result has its CPU time.
///
/// # Errors
///
/// As [`run_fanout`]; also when `addrs` is empty.
pub async fn run_fanout_spread(
    addrs: &[std::net::SocketAddr],
    subscribers: usize,
    publish: Publish,
    server: Option<u32>,
) -> std::io::Result<FanoutResult> {
    spread(addrs, subscribers, publish, server, None).await
}

async fn spread(
    addrs: &[std::net::SocketAddr],
    subscribers: usize,
    publish: Publish,
    server: Option<u32>,
    watch: Option<Arc<Watch>>,
) -> std::io::Result<FanoutResult> {
    let Some(&addr) = addrs.first() else {
        return Err(std::io::Error::other("no server to measure"));
    };
    let mut sockets = Vec::with_capacity(subscribers);
    for (i, &at) in addrs.iter().enumerate() {
        // The first instances take one more when it does not divide evenly.
        let share = subscribers / addrs.len() + usize::from(i < subscribers % addrs.len());
        sockets.extend(open_idle(at, share).await?);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|socket| tokio::spawn(subscriber(socket, publish.n, watch.clone())))
        .collect();
    measure(readers, publish, deadline, server, move |path| async move {
        request(addr, "POST", &path).await
    })
    .await
}

/// A subscriber's task: the latency of every event it got, and when the last came.
pub(crate) type Reader = tokio::task::JoinHandle<std::io::Result<(Vec<u64>, u128)>>;

/// Publishes (`send` makes the request for the `/publish` path it is given), waits
/// until every reader has every event or `deadline` passes, and measures: deliveries,
/// latencies, time, and the CPU time of the server process, if given.
pub(crate) async fn measure<F, P>(
    readers: Vec<Reader>,
    publish: Publish,
    deadline: tokio::time::Instant,
    server: Option<u32>,
    send: F,
) -> std::io::Result<FanoutResult>
where
    F: FnOnce(String) -> P,
    P: std::future::Future<Output = std::io::Result<String>> + Send + 'static,
{
    let cpu_before = server.map(crate::cpu_ns).transpose()?;
    let start = now_nanos();
    let path = format!(
        "/publish?n={}&size={}&rate={}",
        publish.n, publish.size, publish.rate
    );
    let publisher = tokio::spawn(send(path));
    let mut result = FanoutResult::default();
    let mut end = start;
    for reader in readers {
        let (latencies, last) = tokio::time::timeout_at(deadline, reader)
            .await
            .map_err(|_| std::io::Error::other("a subscriber did not get every event in time"))?
            .map_err(std::io::Error::other)??;
        result.deliveries += latencies.len() as u64;
        result.latency_ns.extend(latencies);
        end = end.max(last);
    }
    if let (Some(pid), Some(before)) = (server, cpu_before) {
        result.server_cpu_ns = Some(crate::cpu_ns(pid)?.saturating_sub(before));
    }
    publisher.await.map_err(std::io::Error::other)??;
    result.seconds = (end - start) as f64 / 1e9;
    result.latency_ns.sort_unstable();
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watch_gives_quantiles_within_two_percent() {
        let watch = Watch::default();
        assert!(watch.snapshot([0.5]).1[0].is_nan(), "nothing yet");
        // 0.1 ms to 1 s, in two batches as two reads would add them.
        let latencies: Vec<u64> = (1..=10_000).map(|i| i * 100_000).collect();
        watch.extend(&latencies[..4000]);
        watch.extend(&latencies[4000..]);
        let (deliveries, [p50, p99, max]) = watch.snapshot([0.5, 0.99, 1.0]);
        assert_eq!(deliveries, 10_000);
        let exact = FanoutResult {
            latency_ns: latencies,
            ..FanoutResult::default()
        };
        for (got, q) in [(p50, 0.5), (p99, 0.99), (max, 1.0)] {
            let want = exact.latency_ms(q);
            assert!(
                got >= want && got <= want * 1.02,
                "q {q}: {got} ms for {want} ms"
            );
        }
        // Below 1 µs and beyond the last bucket still count.
        watch.extend(&[10, u64::MAX]);
        assert_eq!(watch.snapshot([0.5]).0, 10_002);
    }
}
