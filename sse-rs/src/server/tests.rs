//! The server's guards: the request body's read timeout and the write stall timeout.

use std::collections::VecDeque;

use http_body_util::BodyExt;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame};
use tokio::time::{Instant, Sleep};

use super::*;

/// A body that yields its chunks with the given pauses before each.
struct Paced {
    chunks: VecDeque<(Duration, &'static [u8])>,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl Body for Paced {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let Some(&(pause, chunk)) = self.chunks.front() else {
            return Poll::Ready(None);
        };
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(pause)));
        if sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.sleep = None;
        self.chunks.pop_front();
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(chunk)))))
    }
}

fn paced(chunks: &[(u64, &'static [u8])]) -> Paced {
    Paced {
        chunks: chunks
            .iter()
            .map(|&(ms, chunk)| (Duration::from_millis(ms), chunk))
            .collect(),
        sleep: None,
    }
}

#[tokio::test(start_paused = true)]
async fn a_body_with_short_pauses_is_read_whole() {
    let body = ReadTimeoutBody::new(
        paced(&[(900, b"a"), (900, b"b"), (900, b"c")]),
        Duration::from_secs(1),
    );
    let bytes = body.collect().await.unwrap().to_bytes();
    assert_eq!(bytes, &b"abc"[..]);
}

#[tokio::test(start_paused = true)]
async fn a_pause_longer_than_the_timeout_fails_the_body() {
    let start = Instant::now();
    let body = ReadTimeoutBody::new(paced(&[(100, b"a"), (5_000, b"b")]), Duration::from_secs(1));
    let error = body.collect().await.unwrap_err();
    assert!(error.is::<BodyReadTimeout>(), "{error}");
    assert_eq!(start.elapsed(), Duration::from_millis(1100));
}

#[tokio::test(start_paused = true)]
async fn a_write_that_cannot_go_on_fails_after_the_stall_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A pipe of 64 bytes whose far end reads nothing.
    let (near, mut far) = tokio::io::duplex(64);
    let mut guarded = StallGuard::new(near, Duration::from_secs(2));
    let start = Instant::now();
    // Slow but moving: the far end takes 32 bytes a second; never a stall.
    let reader = tokio::spawn(async move {
        let mut buf = [0; 32];
        for _ in 0..8 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            far.read_exact(&mut buf).await.unwrap();
        }
        far
    });
    guarded.write_all(&[7; 64 + 6 * 32]).await.unwrap();
    let far = reader.await.unwrap();
    assert!(start.elapsed() >= Duration::from_secs(6));
    // Now the far end stops reading: the next writes fill the pipe, then wait,
    // then fail once nothing has moved for 2 s.
    let stalled_at = Instant::now();
    let error = guarded.write_all(&[7; 1024]).await.unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    assert_eq!(stalled_at.elapsed(), Duration::from_secs(2));
    drop(far);
}

#[tokio::test(start_paused = true)]
async fn an_idle_connection_is_not_stalled() {
    use tokio::io::AsyncWriteExt;
    let (near, _far) = tokio::io::duplex(64);
    let mut guarded = StallGuard::new(near, Duration::from_secs(1));
    guarded.write_all(b"a").await.unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
    guarded.write_all(b"b").await.unwrap();
    guarded.flush().await.unwrap();
}
