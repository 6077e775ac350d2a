//! Compressed event streams (features `gzip`, `brotli`, `zstd`): one compressor per
//! stream, flushed at the end of every frame, negotiated from `Accept-Encoding`.
//!
//! - [`Coding`]: a content coding this build can write;
//! - [`Compression`]: which codings an app allows, in its order of preference, and
//!   how hard and with how much memory each compresses;
//! - [`AcceptEncoding`]: what a request accepts, parsed once.
//!
//! [`SseBody::compress`](crate::SseBody::compress) turns it on for one response:
//!
//! ```
//! use std::convert::Infallible;
//! use futures_util::stream;
//! use sse_rs_core::compress::{AcceptEncoding, Compression};
//! use sse_rs_core::{Event, SseBody};
//!
//! let mut request = http::Request::new(());
//! request.headers_mut().insert("accept-encoding", "gzip, br, zstd".parse()?);
//!
//! let accept = AcceptEncoding::from_headers(request.headers());
//! let events = stream::iter([Ok::<_, Infallible>(Event::default().data("hello"))]);
//! let response = SseBody::new(events)
//!     .compress(Compression::default(), &accept)
//!     .into_response();
//! # #[cfg(any(feature = "gzip", feature = "brotli", feature = "zstd"))]
//! assert!(response.headers().contains_key("content-encoding"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Why per stream, flushed per frame
//!
//! The events of a stream repeat the same field names and JSON keys: a compressor
//! that lives as long as the stream learns them once, and an OpenAI-style token
//! stream shrinks many times over. Compressing each event alone gains next to
//! nothing. The body flushes the compressor (a zlib sync flush, a brotli flush, a
//! zstd flush) at the end of every frame it yields, keep-alive comments included,
//! so the client can decode every event the moment it arrives: compression never
//! holds an event back. The end of the stream (also after a shutdown's last event)
//! finishes it properly (the gzip trailer, brotli's last block, zstd's frame end).
//!
//! # When not to compress: secrets next to attacker-controlled text
//!
//! Compression leaks how well the plain text compresses. When one stream carries a
//! secret (a token, a session id, private data) and text an attacker can influence
//! (a chat message, a search term, a reflected parameter), the attacker can guess the
//! secret byte by byte from the sizes of the compressed frames, which are visible on
//! the network even over TLS (the BREACH and CRIME attacks). A long-lived stream that
//! flushes per event makes this easier, not harder. So compression is off unless a
//! route asks for it: turn it on for streams of public or per-user data that no third
//! party can inject into, and keep secrets out of compressed streams.
//!
//! # Memory
//!
//! A compressed stream holds its compressor for its whole life, idle or not: with
//! the defaults, measured, 221 KiB (gzip), 249 KiB (brotli) or 315 KiB (zstd) per
//! stream, against 317 KiB for zlib with its own default 32 KiB window and 1 MiB for
//! zstd with a 256 KiB window. See [`Compression`] for the figures and the knobs, and
//! count them before compressing thousands of mostly idle streams.
//!
//! # Other compression middleware
//!
//! A compressed response carries `Content-Encoding`, which tower-http's
//! `CompressionLayer` and actix-web's `Compress` both leave alone: the stream is
//! never compressed twice.

mod accept;
mod codec;

pub use accept::AcceptEncoding;
pub(crate) use codec::Compressor;

use std::fmt;

/// A content coding this build can write: each variant is behind the cargo feature
/// of the same name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Coding {
    /// `gzip` (zlib's deflate with a gzip header), feature `gzip`; every HTTP client
    /// reads it.
    #[cfg(feature = "gzip")]
    #[cfg_attr(docsrs, doc(cfg(feature = "gzip")))]
    Gzip,
    /// `br`, feature `brotli`; browsers offer it over HTTPS only.
    #[cfg(feature = "brotli")]
    #[cfg_attr(docsrs, doc(cfg(feature = "brotli")))]
    Brotli,
    /// `zstd`, feature `zstd`; recent browsers offer it over HTTPS only.
    #[cfg(feature = "zstd")]
    #[cfg_attr(docsrs, doc(cfg(feature = "zstd")))]
    Zstd,
}

impl Coding {
    /// Every coding of this build, in the default order of preference.
    pub const ALL: &'static [Coding] = &[
        #[cfg(feature = "brotli")]
        Coding::Brotli,
        #[cfg(feature = "zstd")]
        Coding::Zstd,
        #[cfg(feature = "gzip")]
        Coding::Gzip,
    ];

    /// The coding's name in `Content-Encoding` and `Accept-Encoding`: `gzip`, `br`
    /// or `zstd`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            #[cfg(feature = "gzip")]
            Coding::Gzip => "gzip",
            #[cfg(feature = "brotli")]
            Coding::Brotli => "br",
            #[cfg(feature = "zstd")]
            Coding::Zstd => "zstd",
        }
    }
}

impl fmt::Display for Coding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// At most this many codings in a preference list (each coding once).
const MAX_CODINGS: usize = 4;

/// How an app compresses its event streams: the codings it allows, in its order of
/// preference, and each coding's level and window.
///
/// A request gets the coding it weighs highest (`Accept-Encoding` `q` values) among
/// those allowed; between codings it weighs the same, the app's order decides. No
/// acceptable coding, or a request that weighs `identity` above all of them, means
/// no compression.
///
/// The default allows every coding of this build, preferring brotli (the best
/// ratio), then zstd, then gzip, with the levels and windows below.
///
/// # Memory per stream, and ratio
///
/// The compressor lives as long as the stream, idle or not. Measured on Linux
/// x86-64 as the resident memory 500 idle streams add, each after its first event,
/// divided by 500 (`tests/compress_memory.rs`, run with `--ignored --nocapture`), and
/// the bytes on the wire for 1,000 OpenAI `chat.completion.chunk` events of about
/// 240 bytes, one frame (one flush) each, whose tokens repeat from a set of 97 (a
/// best case; on tokens drawn from English text `compare compress` measures 16-17x,
/// see the workspace's BENCHMARKS.md):
///
/// | coding | default | memory per idle stream | token stream |
/// |---|---|---|---|
/// | gzip | level 6, window 2^13 (8 KiB) | 221 KiB (317 KiB with a 32 KiB window) | 19.6x fewer bytes |
/// | brotli | quality 3, window 2^16 (64 KiB) | 249 KiB (449 KiB at quality 4, same ratio) | 21.1x |
/// | zstd | level 3, window 2^16 (64 KiB) | 315 KiB (131 KiB with a 16 KiB window: 16.4x) | 20.9x |
///
/// For gzip, zlib-rs (flate2's backend) holds 128 KiB of hash heads and a 64 KiB
/// symbol buffer whatever the window (flate2 does not expose zlib's `memLevel`):
/// about 190 KiB is the floor. An uncompressed stream
/// holds none of this. A smaller window costs ratio only when events repeat text
/// from further back than the window reaches.
#[derive(Clone, PartialEq, Eq)]
#[must_use]
pub struct Compression {
    order: [Option<Coding>; MAX_CODINGS],
    pub(crate) gzip_level: u8,
    pub(crate) gzip_window_bits: u8,
    pub(crate) brotli_quality: u8,
    pub(crate) brotli_window_bits: u8,
    pub(crate) zstd_level: i8,
    pub(crate) zstd_window_log: u8,
}

impl Default for Compression {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Compression")
            .field("codings", &self.codings_iter().collect::<Vec<_>>())
            .field("gzip_level", &self.gzip_level)
            .field("gzip_window_bits", &self.gzip_window_bits)
            .field("brotli_quality", &self.brotli_quality)
            .field("brotli_window_bits", &self.brotli_window_bits)
            .field("zstd_level", &self.zstd_level)
            .field("zstd_window_log", &self.zstd_window_log)
            .finish()
    }
}

impl Compression {
    /// Every coding of this build ([`Coding::ALL`]), with the default levels and
    /// windows.
    pub fn new() -> Self {
        let mut order = [None; MAX_CODINGS];
        for (slot, coding) in order.iter_mut().zip(Coding::ALL) {
            *slot = Some(*coding);
        }
        Self {
            order,
            gzip_level: 6,
            gzip_window_bits: 13,
            brotli_quality: 3,
            brotli_window_bits: 16,
            zstd_level: 3,
            zstd_window_log: 16,
        }
    }

    /// Allows only `codings`, preferred in this order (a coding named twice counts
    /// once). An empty list turns compression off.
    pub fn codings(mut self, codings: impl IntoIterator<Item = Coding>) -> Self {
        self.order = [None; MAX_CODINGS];
        let mut len = 0;
        for coding in codings {
            if len == MAX_CODINGS || self.order.contains(&Some(coding)) {
                continue;
            }
            self.order[len] = Some(coding);
            len += 1;
        }
        self
    }

    /// The allowed codings, in the order of preference.
    pub fn codings_iter(&self) -> impl Iterator<Item = Coding> + '_ {
        self.order.iter().flatten().copied()
    }

    /// The coding to send to a request that accepts `accept`, or `None` for none
    /// (the identity).
    ///
    /// ```
    /// use sse_rs_core::compress::{AcceptEncoding, Coding, Compression};
    ///
    /// # #[cfg(all(feature = "gzip", feature = "brotli"))] {
    /// let app = Compression::new().codings([Coding::Brotli, Coding::Gzip]);
    /// let chrome = AcceptEncoding::from_bytes(b"gzip, deflate, br, zstd");
    /// assert_eq!(app.negotiate(&chrome), Some(Coding::Brotli)); // a tie: the app's order
    /// let picky = AcceptEncoding::from_bytes(b"br;q=0.5, gzip");
    /// assert_eq!(app.negotiate(&picky), Some(Coding::Gzip));
    /// assert_eq!(app.negotiate(&AcceptEncoding::from_bytes(b"zstd")), None);
    /// # }
    /// ```
    #[must_use]
    pub fn negotiate(&self, accept: &AcceptEncoding) -> Option<Coding> {
        let mut best: Option<(Coding, u16)> = None;
        for coding in self.codings_iter() {
            let weight = accept.coding_weight(coding);
            if weight > 0 && best.is_none_or(|(_, top)| weight > top) {
                best = Some((coding, weight));
            }
        }
        // The client may prefer no compression at all; a tie goes to compression,
        // which the app asked for.
        best.filter(|&(_, weight)| weight >= accept.identity_weight())
            .map(|(coding, _)| coding)
    }

    /// The gzip (zlib) level, 0 (no compression) to 9 (default 6; higher values
    /// are lowered to 9).
    #[cfg(feature = "gzip")]
    #[cfg_attr(docsrs, doc(cfg(feature = "gzip")))]
    pub fn gzip_level(mut self, level: u8) -> Self {
        self.gzip_level = level.min(9);
        self
    }

    /// The base-2 logarithm of gzip's window, 9 (512 bytes) to 15 (32 KiB),
    /// clamped (default 13, 8 KiB). zlib keeps four bytes per window byte (history
    /// and chain): 32 KiB of state at 13, 128 KiB at 15, on top of a fixed 192 KiB.
    #[cfg(feature = "gzip")]
    #[cfg_attr(docsrs, doc(cfg(feature = "gzip")))]
    pub fn gzip_window_bits(mut self, bits: u8) -> Self {
        self.gzip_window_bits = bits.clamp(9, 15);
        self
    }

    /// Brotli's quality, 0 to 11 (default 3; higher values are lowered to 11).
    /// From 4 on brotli's state grows (449 KiB at 4) and its CPU per frame with it,
    /// for no better ratio on small events; below 3 the ratio drops by half.
    #[cfg(feature = "brotli")]
    #[cfg_attr(docsrs, doc(cfg(feature = "brotli")))]
    pub fn brotli_quality(mut self, quality: u8) -> Self {
        self.brotli_quality = quality.min(11);
        self
    }

    /// The base-2 logarithm of brotli's window, 10 to 24, clamped (default 16,
    /// 64 KiB).
    #[cfg(feature = "brotli")]
    #[cfg_attr(docsrs, doc(cfg(feature = "brotli")))]
    pub fn brotli_window_bits(mut self, bits: u8) -> Self {
        self.brotli_window_bits = bits.clamp(10, 24);
        self
    }

    /// zstd's level, 1 to 19, clamped (default 3).
    #[cfg(feature = "zstd")]
    #[cfg_attr(docsrs, doc(cfg(feature = "zstd")))]
    pub fn zstd_level(mut self, level: i8) -> Self {
        self.zstd_level = level.clamp(1, 19);
        self
    }

    /// The base-2 logarithm of zstd's window, 10 to 22, clamped (default 16,
    /// 64 KiB). zstd's hash and chain tables are sized to half the window's entries,
    /// so memory grows about four times per two steps: 131 KiB at 14, 315 KiB at
    /// 16, 1 MiB at 18.
    #[cfg(feature = "zstd")]
    #[cfg_attr(docsrs, doc(cfg(feature = "zstd")))]
    pub fn zstd_window_log(mut self, log: u8) -> Self {
        self.zstd_window_log = log.clamp(10, 22);
        self
    }
}

#[cfg(test)]
mod tests;
