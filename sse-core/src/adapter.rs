//! What a framework adapter needs and an application does not: the headers of every
//! event-stream response (as `http` types and as plain strings, for servers that do not
//! use `http` 1), content negotiation, and (hidden) the macros that give every adapter
//! of this workspace the same `Sse` builder and `LastEventId` extractor.

pub use crate::response::{
    accepts_event_stream, content_encoding_headers, is_event_stream, set_content_encoding,
    set_response_headers, RESPONSE_HEADERS, TEXT_EVENT_STREAM,
};

/// Paths the macros below expand to, so that an adapter needs no dependency of its own
/// for them. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use futures_core::Stream;
}

/// Defines an adapter's `Sse<S>`: a newtype around [`SseBody<S>`](crate::SseBody)
/// with the builder methods forwarded to the core and a `Debug` impl; the adapter adds
/// its framework's response trait. Not a public API: adapters of this workspace use it
/// so that moving an app between frameworks changes an import, not code.
#[doc(hidden)]
#[macro_export]
macro_rules! __adapter_sse {
    ($(#[$doc:meta])*) => {
        $(#[$doc])*
        #[must_use]
        pub struct Sse<S>($crate::SseBody<S>);

        impl<S> ::std::fmt::Debug for Sse<S> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_tuple("Sse").field(&self.0).finish()
            }
        }

        impl<S> Sse<S> {
            $crate::__adapter_sse_methods!();
        }
    };
}

/// Defines an adapter's `LastEventId` extractor: a newtype around
/// [`LastEventId`](crate::LastEventId) that dereferences to it (the orphan rule keeps
/// an adapter from implementing its framework's extractor trait on the core type).
#[doc(hidden)]
#[macro_export]
macro_rules! __adapter_last_event_id {
    ($(#[$doc:meta])*) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct LastEventId(pub $crate::LastEventId);

        impl ::std::ops::Deref for LastEventId {
            type Target = $crate::LastEventId;

            fn deref(&self) -> &Self::Target {
                &self.0
            }
        }

        impl LastEventId {
            /// No `Last-Event-ID`: the client connects for the first time.
            pub const fn none() -> Self {
                Self($crate::LastEventId::none())
            }

            /// Parses a raw header value, the way the extractor does: empty, over-long
            /// or invalid UTF-8 values are "none".
            pub fn from_bytes(raw: &[u8]) -> Self {
                Self($crate::LastEventId::from_bytes(raw))
            }

            /// The core's `LastEventId`, which a hub's `subscribe` takes.
            pub fn into_inner(self) -> $crate::LastEventId {
                self.0
            }
        }

        impl From<LastEventId> for $crate::LastEventId {
            fn from(id: LastEventId) -> Self {
                id.0
            }
        }

        impl From<$crate::LastEventId> for LastEventId {
            fn from(id: $crate::LastEventId) -> Self {
                Self(id)
            }
        }
    };
}

/// Defines an adapter's `AcceptEncoding` extractor: a newtype around
/// [`compress::AcceptEncoding`](crate::compress::AcceptEncoding) that dereferences to
/// it, for `Sse::compress`.
#[doc(hidden)]
#[macro_export]
macro_rules! __adapter_accept_encoding {
    ($(#[$doc:meta])*) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct AcceptEncoding(pub $crate::compress::AcceptEncoding);

        impl ::std::ops::Deref for AcceptEncoding {
            type Target = $crate::compress::AcceptEncoding;

            fn deref(&self) -> &Self::Target {
                &self.0
            }
        }

        impl AcceptEncoding {
            /// Parses raw header values, the way the extractor does.
            pub fn from_values<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> Self {
                Self($crate::compress::AcceptEncoding::from_values(values))
            }

            /// The core's `AcceptEncoding`.
            pub fn into_inner(self) -> $crate::compress::AcceptEncoding {
                self.0
            }
        }

        impl From<AcceptEncoding> for $crate::compress::AcceptEncoding {
            fn from(accept: AcceptEncoding) -> Self {
                accept.0
            }
        }

        impl From<$crate::compress::AcceptEncoding> for AcceptEncoding {
            fn from(accept: $crate::compress::AcceptEncoding) -> Self {
                Self(accept)
            }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __adapter_sse_methods {
    () => {
        /// Sends the events of `stream`: any `Stream<Item = Result<T, E>>` where `T`
        /// writes events ([`WriteEvent`]: an `Event`, an event encoded once and
        /// shared, or a type of the app's own) and `E` converts into a boxed error.
        ///
        /// See [`SseBody`] for how events are framed and what the
        /// client sees when the stream fails.
        pub fn new<T, E>(stream: S) -> Self
        where
            S: $crate::adapter::__private::Stream<Item = ::std::result::Result<T, E>>,
            T: $crate::WriteEvent,
            E: ::std::convert::Into<$crate::BoxError>,
        {
            Self($crate::SseBody::new(stream))
        }

        /// Sends a keep-alive comment whenever the stream has been idle for its
        /// interval (off by default).
        pub fn keep_alive(self, keep_alive: $crate::KeepAlive) -> Self {
            Self(self.0.keep_alive(keep_alive))
        }

        /// Sends `event` at once, before anything from the stream (for example a
        /// `retry:` or a comment: some proxies hold the headers until the first byte).
        pub fn initial_event(self, event: impl Into<$crate::EncodedEvent>) -> Self {
            Self(self.0.initial_event(event))
        }

        /// Turns an error from the stream into a last event, then ends cleanly.
        pub fn on_error<F>(self, handler: F) -> Self
        where
            F: FnOnce($crate::BoxError) -> $crate::Event + Send + 'static,
        {
            Self(self.0.on_error(handler))
        }

        /// Ends the stream when `signal` fires, after `last` (if any): for graceful
        /// shutdown with streams open (see [`Shutdown`]).
        pub fn shutdown(
            self,
            signal: $crate::shutdown::Shutdown,
            last: Option<$crate::Event>,
        ) -> Self {
            Self(self.0.shutdown(signal, last))
        }

        /// Compresses the stream with the coding `compression` and the request's
        /// `Accept-Encoding` agree on, if any (off by default; features `gzip`,
        /// `brotli`, `zstd`). See [`SseBody::compress`], and
        /// [when not to compress](crate::compress#when-not-to-compress-secrets-next-to-attacker-controlled-text).
        pub fn compress(
            self,
            compression: $crate::compress::Compression,
            accept: &$crate::compress::AcceptEncoding,
        ) -> Self {
            Self(self.0.compress(compression, accept))
        }

        /// The coding the stream is compressed with, if any.
        #[must_use]
        pub fn content_encoding(&self) -> Option<$crate::compress::Coding> {
            self.0.content_encoding()
        }

        /// Sends `event` after the stream's last one when the stream ends by itself
        /// (for example OpenAI's `data: [DONE]`); see [`SseBody::end_event`].
        pub fn end_event(self, event: impl Into<$crate::EncodedEvent>) -> Self {
            Self(self.0.end_event(event))
        }

        /// Calls `callback` once with the stream's [`Outcome`](crate::Outcome) when it
        /// is over (why it ended, events and bytes sent, time to the first event);
        /// see [`SseBody::on_end`].
        pub fn on_end(self, callback: impl FnOnce($crate::Outcome) + Send + 'static) -> Self {
            Self(self.0.on_end(callback))
        }

        /// Caps the size of a frame made of several ready events (default 64 KiB).
        pub fn max_frame_size(self, bytes: usize) -> Self {
            Self(self.0.max_frame_size(bytes))
        }

        /// Wraps a core body, for example one from `channel::body`.
        pub fn from_body(body: $crate::SseBody<S>) -> Self {
            Self(body)
        }

        /// The core body, for use outside the framework.
        pub fn into_body(self) -> $crate::SseBody<S> {
            self.0
        }
    };
}
