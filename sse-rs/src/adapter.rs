//! What a framework adapter needs and an application does not: the wire crate's
//! response headers and negotiation, the gate that admits a stream under a
//! `limit::StreamLimit` and ends it on shutdown (feature
//! `limit`), and (hidden) the macros that give every adapter of this workspace the
//! same `Sse` builder, `LastEventId` extractor and re-exports.
//!
//! The tower `SseLayer` (feature `tower`) and sse-actix's middleware are
//! built on the gate; a third-party adapter can be too.

#[doc(inline)]
pub use sse_rs_core::adapter::{
    accepts_event_stream, content_encoding_headers, is_event_stream, set_content_encoding,
    set_response_headers, RESPONSE_HEADERS, TEXT_EVENT_STREAM,
};

#[cfg(feature = "limit")]
#[cfg_attr(docsrs, doc(cfg(feature = "limit")))]
pub use crate::limit::gate::{Admission, StreamGate, StreamGuard};

#[doc(hidden)]
pub use sse_rs_core::adapter::__private;

/// The re-exports every adapter makes, one list for all of them: the vocabulary of the
/// wire, `Shutdown` (which every `Sse::shutdown` takes), and the services as modules,
/// so that an app depends on its adapter alone. Not a public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __adapter_reexports {
    () => {
        #[doc(inline)]
        pub use $crate::shutdown::{Shutdown, ShutdownTrigger};
        #[doc(inline)]
        pub use $crate::{
            channel, compress, decode, hub, limit, metrics, relay, resume, shutdown, timer,
        };
        #[doc(inline)]
        pub use $crate::{
            BoxError, Data, EncodedEvent, End, Event, EventFields, EventId, EventType, EventWriter,
            FieldId, FieldKind, FieldWriter, InvalidField, KeepAlive, Outcome, SseBody, WriteEvent,
        };
    };
}

/// Defines an adapter's `Sse<S>` (the wire crate's macro) and, on top of it,
/// `Sse::channel`, which needs the services' [`channel`](crate::channel). Not a public
/// API.
#[doc(hidden)]
#[macro_export]
macro_rules! __adapter_sse {
    ($($doc:tt)*) => {
        $crate::__core::__adapter_sse! { $($doc)* }

        impl Sse<$crate::channel::EventReceiver> {
            /// A channel and the response it feeds, for a stream that answers one
            /// request: the producer's `EventSender` learns at once when the client is
            /// gone, and why ([`EventSender::cancelled`]); dropping every sender ends
            /// the stream. See [`channel::body`].
            ///
            /// [`EventSender::cancelled`]: crate::channel::EventSender::cancelled
            /// [`channel::body`]: crate::channel::body
            pub fn channel(capacity: usize) -> ($crate::channel::EventSender, Self) {
                let (sender, body) = $crate::channel::body(capacity);
                (sender, Self::from_body(body))
            }
        }
    };
}
