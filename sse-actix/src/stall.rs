//! [`stall_timeout`]: close a connection whose client stopped reading.

use std::any::Any;
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
/// Plain TCP connections only: behind TLS, set it where the TLS acceptor is made.
pub fn stall_timeout(timeout: Duration) -> impl Fn(&dyn Any, &mut Extensions) + Send + Sync {
    move |connection, _extensions| {
        if let Some(stream) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() {
            let _ = stream.set_nodelay(true);
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
