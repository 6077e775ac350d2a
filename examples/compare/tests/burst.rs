//! Every variant of the comparison serves the same workloads, and the benchmark's
//! readers count them exactly: the numbers compare like with like.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use compare::{read_burst, Burst, Variant};

/// Starts `variant` on a free port of 127.0.0.1, in a thread of its own.
async fn start(variant: Variant) -> SocketAddr {
    start_serving(variant, None).await
}

/// [`start`], over HTTPS with `tls` if given.
async fn start_serving(variant: Variant, tls: compare::Tls) -> SocketAddr {
    start_with(variant, move |listener| {
        compare::serve_on(variant, listener, tls)
    })
    .await
}

/// `serve` on a free port of 127.0.0.1, in a thread of its own.
async fn start_with(
    variant: Variant,
    serve: impl FnOnce(std::net::TcpListener) -> std::io::Result<()> + Send + 'static,
) -> SocketAddr {
    // Bound here and handed over: the tests run in parallel, and a port chosen free
    // and bound later could be another test's server by then.
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || serve(listener));
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return addr;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{} did not start", variant.name());
}

#[tokio::test]
async fn every_variant_serves_the_same_burst() {
    for variant in Variant::BURST {
        let addr = start(variant).await;
        for burst in [
            Burst { n: 1, size: 1 },
            Burst { n: 5000, size: 64 },
            Burst {
                n: 50,
                size: 70_000,
            },
        ] {
            let (events, _) = read_burst(addr, burst).await.unwrap();
            assert_eq!(events, burst.n, "{} with {burst:?}", variant.name());
        }
    }
}

/// Compressed, every variant that can serves the same burst, in its framework's
/// way: the reader checks `Content-Encoding`, decodes, and counts every event.
/// actix-web-lab's `Sse` answers `Content-Encoding: identity`, which actix-web's
/// `Compress` leaves alone: the reader says it is not compressed. Those that cannot
/// compress refuse to serve.
#[tokio::test]
async fn every_variant_compresses_the_same_burst_its_own_way() {
    use compare::compress::{read_burst_compressed, serve_race_on, Encoding, NotCompressed};
    for coding in [Encoding::Gzip, Encoding::Brotli, Encoding::Zstd] {
        for variant in Variant::BURST {
            if variant.compression(coding).is_err() {
                let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
                assert!(serve_race_on(variant, listener, coding).is_err());
                continue;
            }
            let addr = start_with(variant, move |listener| {
                serve_race_on(variant, listener, coding)
            })
            .await;
            for burst in [
                Burst { n: 1, size: 1 },
                Burst { n: 5000, size: 64 },
                Burst {
                    n: 50,
                    size: 70_000,
                },
            ] {
                let counter = std::sync::atomic::AtomicU64::new(0);
                let read = read_burst_compressed(addr, burst, coding, &counter).await;
                let what = format!("{} {} {burst:?}", variant.name(), coding.name());
                if variant == Variant::ActixWebLab {
                    let error = read.expect_err(&what);
                    let not = NotCompressed::of(&error).expect(&what);
                    assert_eq!(not.got.as_deref(), Some("identity"), "{what}");
                    continue;
                }
                let read = read.expect(&what);
                assert_eq!(read.events, burst.n, "{what}");
                assert_eq!(
                    counter.load(std::sync::atomic::Ordering::Relaxed),
                    burst.n,
                    "{what}"
                );
                // 50 events of 70 000 bytes of one letter: far less on the wire.
                if burst.size == 70_000 {
                    assert!(read.wire_bytes < 50 * 70_000 / 20, "{what}: {read:?}");
                }
            }
        }
    }
}

#[tokio::test]
async fn every_variant_fans_out_every_event_to_every_subscriber() {
    for variant in Variant::ALL {
        let addr = start(variant).await;
        let publish = compare::fanout::Publish {
            n: 50,
            size: 64,
            rate: 0,
        };
        // The servers run in this process: its CPU time is theirs (and the client's;
        // threads of other tests that end meanwhile take theirs away, so only its
        // presence is checked here: `cpu_time_counts_every_thread` checks the sum).
        let result = compare::fanout::run_fanout(addr, 20, publish, Some(std::process::id()))
            .await
            .unwrap();
        assert_eq!(result.deliveries, 20 * 50, "{}", variant.name());
        assert!(result.server_cpu_ns.is_some());
        assert_eq!(result.latency_ns.len(), 1000);
        assert!(result.latency_ms(0.5) >= 0.0);
    }
}

/// Over HTTPS and HTTP/2, every variant serves the same burst to h2load (nghttp2's
/// client): streams on one connection, each with exactly the burst's bytes; and fans
/// every event out to every subscriber.
#[tokio::test]
async fn every_variant_serves_bursts_over_http2_to_h2load() {
    if std::process::Command::new("h2load")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "h2load is missing under CI"
        );
        eprintln!("h2load not found: skipped (Debian: nghttp2-client)");
        return;
    }
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("compare-h2");
    let (cert, key) = compare::self_signed(&dir).unwrap();
    let config = sse_rs::server::tls_config(&cert, &key).unwrap();
    let client = compare::fanout_h2::client_config(&cert).unwrap();
    for variant in Variant::ALL {
        let addr = start_serving(variant, Some(config.clone())).await;
        let output = tokio::process::Command::new("h2load")
            .args(["-n", "4", "-c", "1", "-m", "4"])
            .arg(format!("https://{addr}/burst?n=500&size=64"))
            .output()
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(text.contains("4 succeeded"), "{}: {text}", variant.name());
        // "id: N\nevent: tick\ndata: <64>\n\n" is 89 bytes and N's digits; warp's
        // built-in writes no space after its three colons.
        let fixed: u64 = if variant == Variant::WarpBuiltin {
            86
        } else {
            89
        };
        let digits: u64 = (1..=500_u64).map(|id| id.to_string().len() as u64).sum();
        let expected = 4 * (500 * fixed + digits);
        assert!(
            text.contains(&format!("({expected}) data")),
            "{}: expected {expected} data bytes: {text}",
            variant.name()
        );

        // Fan-out over HTTP/2, each subscriber on a TLS connection of its own.
        let publish = compare::fanout::Publish {
            n: 20,
            size: 64,
            rate: 0,
        };
        let result = compare::fanout_h2::run_fanout_h2(addr, &client, 10, publish, None)
            .await
            .unwrap();
        assert_eq!(result.deliveries, 200, "{}", variant.name());
    }
}
