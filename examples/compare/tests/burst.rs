//! Every variant of the comparison serves the same workloads, and the benchmark's
//! readers count them exactly: the numbers compare like with like.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use compare::{read_burst, Burst, Variant};

/// Starts `variant` on a free port of 127.0.0.1, in a thread of its own.
async fn start(variant: Variant) -> SocketAddr {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    std::thread::spawn(move || compare::serve(variant, addr));
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
