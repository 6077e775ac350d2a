//! [`stall_timeout`]: close a connection whose client stopped reading, and let its
//! streams see at once a client that closed it.

use std::any::Any;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::dev::Extensions;

/// An `on_connect` hook that closes a connection once bytes sent to it have waited
/// `timeout` unacknowledged: a client that stops reading (its receive window closed)
/// then loses its connection, and with it its stream, its slot under a `StreamLimit`,
/// its hub subscription and its socket buffers. actix-web owns its sockets, so this
/// is the kernel's `TCP_USER_TIMEOUT` (Linux and Android; elsewhere it does nothing),
/// the counterpart of the core's `server::StallGuard`. An idle connection is never
/// closed by it: only bytes the client does not take count.
///
/// It also turns `TCP_NODELAY` on (actix-web leaves it off unless asked): an event
/// written right after another is not held back until the client acknowledges the
/// first (Nagle's algorithm, which can wait for a delayed ACK, about 40 ms).
///
/// ```
/// use std::time::Duration;
/// use actix_web::{App, HttpServer};
///
/// let server = HttpServer::new(|| App::new())
///     .on_connect(sse_actix::stall_timeout(Duration::from_secs(30)));
/// # drop(server);
/// ```
///
/// And it lets event streams notice a client that closed its connection the moment
/// it does, over HTTP/1.1: actix-web itself notices only when it next writes to it
/// (actix-web#1313), so a producer tied to the stream (`Sse::channel`) would go on
/// working for a client long gone until the next event or keep-alive. With the hook,
/// the stream watches the socket for the client's end of it and ends at once.
///
/// Plain TCP connections only: behind TLS, set it where the TLS acceptor is made.
pub fn stall_timeout(timeout: Duration) -> impl Fn(&dyn Any, &mut Extensions) + Send + Sync {
    move |connection, extensions| {
        if let Some(stream) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() {
            let _ = stream.set_nodelay(true);
            if let Some(watch) = ClientEnd::watch(stream) {
                extensions.insert(watch);
            }
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if let Some(stream) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() {
            // A socket that refuses the option keeps working, without the timeout.
            let _ = socket2::SockRef::from(stream).set_tcp_user_timeout(Some(timeout));
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let _ = (connection, timeout);
    }
}

/// A second handle on a connection's socket (a duplicate of its descriptor), that a
/// stream polls to see the client's end of the connection (a read that finds the end
/// of the stream, or an error) without taking any byte actix-web would read.
#[derive(Clone, Debug)]
pub(crate) struct ClientEnd(Arc<tokio::net::TcpStream>);

impl ClientEnd {
    /// A watch on `stream`, if its descriptor can be duplicated and registered with
    /// the runtime (in an actix-web worker, it can).
    fn watch(stream: &actix_web::rt::net::TcpStream) -> Option<Self> {
        #[cfg(unix)]
        {
            use std::os::fd::AsFd;
            let owned = stream.as_fd().try_clone_to_owned().ok()?;
            let std_stream = std::net::TcpStream::from(owned);
            std_stream.set_nonblocking(true).ok()?;
            let watched = tokio::net::TcpStream::from_std(std_stream).ok()?;
            Some(Self(Arc::new(watched)))
        }
        #[cfg(not(unix))]
        {
            let _ = stream;
            None
        }
    }

    /// `Ready(true)`: the client closed its end (or the connection failed);
    /// `Ready(false)`: bytes wait to be read (a pipelined request, HTTP/2 frames), so
    /// the watch can tell nothing more and should stop; `Pending`: nothing yet (the
    /// task is woken when something comes).
    pub(crate) fn poll_closed(&self, cx: &mut Context<'_>) -> Poll<bool> {
        let mut byte = [0_u8; 1];
        let mut buf = tokio::io::ReadBuf::new(&mut byte);
        match self.0.poll_peek(cx, &mut buf) {
            Poll::Ready(Ok(0) | Err(_)) => Poll::Ready(true),
            Poll::Ready(Ok(_)) => Poll::Ready(false),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hook turns `TCP_NODELAY` on (and the user timeout, on Linux) for a plain
    /// TCP connection, and leaves anything else alone.
    #[actix_web::test]
    async fn the_hook_sets_nodelay_and_the_user_timeout() {
        let listener = actix_web::rt::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (stream, _) = listener.accept().await.unwrap();
        assert!(!stream.nodelay().unwrap());
        let hook = stall_timeout(Duration::from_secs(7));
        hook(&stream, &mut Extensions::new());
        assert!(stream.nodelay().unwrap(), "TCP_NODELAY is off");
        #[cfg(any(target_os = "linux", target_os = "android"))]
        assert_eq!(
            socket2::SockRef::from(&stream).tcp_user_timeout().unwrap(),
            Some(Duration::from_secs(7))
        );
        hook(&"not a socket", &mut Extensions::new());
        drop(client);
    }
}
