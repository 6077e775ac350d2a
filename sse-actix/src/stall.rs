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
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if let Some(stream) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() {
            // A socket that refuses the option keeps working, without the timeout.
            let _ = socket2::SockRef::from(stream).set_tcp_user_timeout(Some(timeout));
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let _ = (connection, timeout);
    }
}
