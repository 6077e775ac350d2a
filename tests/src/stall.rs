//! A client that stops reading, and a stream that would fill its buffers: what a
//! server must let go of rather than hold forever.

use std::net::SocketAddr;

/// An endless event stream of 16 KiB events, as fast as it is polled, that sets its
/// flag when dropped: a server let go of the stream.
#[derive(Debug)]
pub struct Firehose(pub std::sync::Arc<std::sync::atomic::AtomicBool>);

impl futures_core::Stream for Firehose {
    type Item = Result<sse_rs::Event, std::convert::Infallible>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        std::task::Poll::Ready(Some(Ok(
            sse_rs::Event::default().data("x".repeat(16 * 1024))
        )))
    }
}

impl Drop for Firehose {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Opens a connection to `addr` that asks for `/events` and then never reads, with a
/// receive buffer as small as the kernel allows: once the server has filled it and its
/// own send buffer, the server cannot write to it any more (a stalled client).
///
/// # Panics
///
/// When the connection fails.
pub async fn stalled_client(addr: SocketAddr) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt as _;
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket.set_recv_buffer_size(1024).expect("SO_RCVBUF");
    let mut stream = socket.connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /events HTTP/1.1\r\nhost: test\r\naccept: text/event-stream\r\n\r\n")
        .await
        .expect("send the request");
    stream
}
