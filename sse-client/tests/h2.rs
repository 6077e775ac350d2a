//! HTTPS against the workspace's own server (`sse_rs::server::Server` with TLS): the
//! client negotiates HTTP/2 by ALPN, reads events, resumes with `Last-Event-ID`, and
//! a dropped stream ends on the server while the client (and its pooled connection)
//! lives on. Each case runs against hyper-util's client and a reqwest client.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream;
use http::Version;
use sse_rs::server::Server;
use sse_rs::shutdown::Shutdown;
use sse_rs::{Event as ServerEvent, LastEventId, SseBody};
use sse_rs_client::{rustls, Client, Event, Reconnect};
use support::{collect, ev, messages, Transport};

/// A TLS server on 127.0.0.1 whose `/events` sends ids after the request's
/// `Last-Event-ID` up to 6, three per response, then answers 204. Returns its address,
/// a client that trusts its certificate, and how many requests it served.
async fn start(transport: Transport) -> (SocketAddr, Client, Arc<AtomicUsize>, Arc<AtomicBool>) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "client-h2-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let config = sse_rs::server::tls_config(&cert, &key).unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = requests.clone();
    let dropped_flag = Arc::new(AtomicBool::new(false));
    let dropped_seen = dropped_flag.clone();
    let service = tower::service_fn(move |request: http::Request<_>| {
        counted.fetch_add(1, Ordering::SeqCst);
        let after: u64 = LastEventId::from_headers(request.headers())
            .parse()
            .unwrap_or(0);
        let dropped = dropped_flag.clone();
        async move {
            if request.uri().path() == "/forever" {
                // One event, then nothing, for ever; the guard tells when hyper drops
                // the body (the client reset the stream).
                let guard = Guard(dropped);
                let events = stream::once(async { Ok(ServerEvent::default().data("hi")) })
                    .chain(stream::pending())
                    .map(move |event: Result<ServerEvent, Infallible>| {
                        let _keep = &guard;
                        event
                    });
                return Ok::<_, Infallible>(SseBody::new(events.boxed()).into_response());
            }
            let done = after >= 6;
            let ids = after + 1..=if done { after } else { after + 3 };
            let events = stream::iter(ids).map(|n| {
                Ok::<_, Infallible>(ServerEvent::default().id(n).data(format!("event {n}")))
            });
            let mut response = SseBody::new(events.boxed()).into_response();
            if done {
                *response.status_mut() = http::StatusCode::NO_CONTENT;
            }
            Ok::<_, Infallible>(response)
        }
    });
    let (trigger, _streams_stop) = Shutdown::new();
    tokio::spawn(
        Server::new(listener)
            .tls(config)
            .serve(service, std::future::pending(), trigger),
    );

    let mut roots = rustls::RootCertStore::empty();
    roots.add(certified.cert.der().clone()).unwrap();
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    #[allow(unused_mut)] // Changed for reqwest only.
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let client = match transport {
        Transport::Hyper => Client::builder().tls_config(Arc::new(tls)).build(),
        #[cfg(feature = "reqwest")]
        _ => {
            // reqwest uses a preconfigured config as it is: ALPN included.
            tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            Client::from_reqwest(support::reqwest_client(
                ::reqwest::Client::builder().tls_backend_preconfigured(tls),
            ))
        }
    };
    (addr, client, requests, dropped_seen)
}

/// Sets its flag when dropped.
struct Guard(Arc<AtomicBool>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

use futures_util::StreamExt as _;

async fn https_negotiates_http2_and_resumes_across_responses(transport: Transport) {
    let (addr, client, requests, _) = start(transport).await;
    let source = client
        .get(format!("https://localhost:{}/events", addr.port()))
        .connection_events(true)
        .reconnect(
            Reconnect::new()
                .initial_delay(Duration::from_millis(10))
                .max_attempts(3),
        )
        .stream();
    let items = collect(source).await;
    let versions: Vec<Version> = items
        .iter()
        .filter_map(|item| match item {
            Ok(Event::Open(open)) => Some(open.version()),
            _ => None,
        })
        .collect();
    assert_eq!(versions, [Version::HTTP_2, Version::HTTP_2]);
    let expected: Vec<_> = (1..=6)
        .map(|n| ev("message", &format!("event {n}"), &n.to_string()))
        .collect();
    assert_eq!(messages(&items), expected);
    assert_eq!(requests.load(Ordering::SeqCst), 3);
}

async fn a_certificate_that_is_not_trusted_fails_the_connection(transport: Transport) {
    let (addr, _trusting, _, _) = start(transport).await;
    // Trusts the default roots only: the self-signed certificate is refused.
    let source = transport
        .client()
        .get(format!("https://localhost:{}/events", addr.port()))
        .reconnect(Reconnect::never())
        .stream();
    let items = collect(source).await;
    assert!(
        matches!(&items[..], [Err(sse_rs_client::Error::Connect(_))]),
        "{items:?}"
    );
}

async fn dropping_a_stream_over_http2_ends_it_on_the_server(transport: Transport) {
    let (addr, client, _, dropped) = start(transport).await;
    let mut source = client
        .get(format!("https://localhost:{}/forever", addr.port()))
        .connection_events(true)
        .stream();
    let open = support::next(&mut source).await;
    assert!(
        matches!(&open, Some(Ok(Event::Open(open))) if open.version() == Version::HTTP_2),
        "{open:?}"
    );
    assert_eq!(support::next_message(&mut source).await.data, "hi");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!dropped.load(Ordering::SeqCst), "still streaming");
    drop(source);
    tokio::time::timeout(Duration::from_secs(5), async {
        while !dropped.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the server drops the stream's body");
    drop(client);
}

/// Each case against hyper-util's client and, with the feature `reqwest`, a reqwest
/// client.
macro_rules! transports {
    ($($case:ident),* $(,)?) => {
        mod hyper {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::Transport::Hyper).await;
                }
            )*
        }

        #[cfg(feature = "reqwest")]
        mod reqwest {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::Transport::Reqwest).await;
                }
            )*
        }
    };
}

transports!(
    https_negotiates_http2_and_resumes_across_responses,
    a_certificate_that_is_not_trusted_fails_the_connection,
    dropping_a_stream_over_http2_ends_it_on_the_server,
);
