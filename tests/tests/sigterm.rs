//! SIGTERM, what systemd, Docker and Kubernetes send, is a graceful stop: the
//! broadcast example, stopping on the core's `shutdown::os_signal`, ends its open
//! streams with their last event and exits. The test sends SIGTERM to its own process
//! (this file holds one test, so no other test sees it); without a handler the process
//! would die and the test with it.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::time::Duration;

use sse_rs::hub::Hub;
use sse_tests::{client, EventReader};

#[cfg(unix)]
#[tokio::test]
async fn sigterm_stops_the_server_gracefully() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(axum_broadcast::serve(
        listener,
        Hub::new(),
        Duration::from_millis(50),
        sse_rs::shutdown::os_signal(),
        Duration::from_secs(2),
    ));
    let mut readers = Vec::new();
    for _ in 0..5 {
        let response = client()
            .get(format!("http://{addr}/events"))
            .send()
            .await
            .unwrap();
        let mut reader = EventReader::new(response);
        // A tick: the server runs, and its signal handler is in place.
        assert!(!reader.events_until(1).await.is_empty());
        readers.push(reader);
    }

    sse_tests::send_signal(std::process::id(), "-TERM");

    let stopped = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server did not stop on SIGTERM");
    stopped.unwrap().unwrap();
    for mut reader in readers {
        let events = reader.read_to_end(Duration::from_secs(5)).await;
        assert_eq!(events.last().unwrap().event, "bye", "{events:?}");
    }
}
