//! A compressed HTTP/1.1 response read as it arrives: the head's checks, the chunked
//! framing taken off, and the body decompressed incrementally (flate2, brotli and
//! zstd streaming decoders fed every chunk as it comes). What the compressed-stream
//! client and the compressed race's reader share.

use std::fmt;
use std::io::{self, Write};

use super::Encoding;

/// A response that is not compressed with the coding the request asked for: the
/// server (or its middleware) left it alone, or chose another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotCompressed {
    /// The coding asked for.
    pub asked: Encoding,
    /// The response's `Content-Encoding`, lowercase, if it had one.
    pub got: Option<String>,
}

impl fmt::Display for NotCompressed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let expected = (self.asked != Encoding::Identity).then(|| self.asked.name());
        write!(
            f,
            "content-encoding {:?}, expected {expected:?}",
            self.got.as_deref()
        )
    }
}

impl std::error::Error for NotCompressed {}

impl NotCompressed {
    /// The `NotCompressed` inside `error`, if that is what it is.
    #[must_use]
    pub fn of(error: &io::Error) -> Option<&NotCompressed> {
        error.get_ref()?.downcast_ref()
    }
}

/// Checks that the head says `200` and `Content-Encoding: coding` (none for identity);
/// the latter fails with a [`NotCompressed`] inside the `io::Error`.
pub(crate) fn check_head(head: &str, coding: Encoding) -> io::Result<()> {
    if !head.starts_with("HTTP/1.1 200") {
        return Err(io::Error::other(format!(
            "not 200: {}",
            head.lines().next().unwrap_or("")
        )));
    }
    let encoding = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-encoding")
            .then(|| value.trim().to_ascii_lowercase())
    });
    let expected = (coding != Encoding::Identity).then(|| coding.name().to_owned());
    if encoding != expected {
        return Err(io::Error::other(NotCompressed {
            asked: coding,
            got: encoding,
        }));
    }
    Ok(())
}

/// The request head for `path`, accepting `coding` only.
pub(crate) fn request(path: &str, coding: Encoding, close: bool) -> String {
    let accept = match coding {
        Encoding::Identity => String::new(),
        coding => format!("accept-encoding: {}\r\n", coding.name()),
    };
    let close = if close { "connection: close\r\n" } else { "" };
    format!(
        "GET {path} HTTP/1.1\r\nhost: bench\r\naccept: text/event-stream\r\n{accept}{close}\r\n"
    )
}

/// A decoder fed compressed bytes as they arrive.
pub(crate) enum Inflate {
    Identity,
    Gzip(Box<flate2::write::GzDecoder<Vec<u8>>>),
    Brotli(Box<brotli::DecompressorWriter<Vec<u8>>>),
    Zstd(Box<zstd::stream::write::Decoder<'static, Vec<u8>>>),
}

impl Inflate {
    pub(crate) fn new(coding: Encoding) -> io::Result<Self> {
        Ok(match coding {
            Encoding::Identity => Self::Identity,
            Encoding::Gzip => Self::Gzip(Box::new(flate2::write::GzDecoder::new(Vec::new()))),
            Encoding::Brotli => {
                Self::Brotli(Box::new(brotli::DecompressorWriter::new(Vec::new(), 4096)))
            }
            Encoding::Zstd => Self::Zstd(Box::new(zstd::stream::write::Decoder::new(Vec::new())?)),
        })
    }

    /// Feeds `bytes`; returns what they decode to (in a buffer the next call reuses).
    pub(crate) fn feed<'a>(&'a mut self, bytes: &'a [u8]) -> io::Result<&'a [u8]> {
        match self {
            Self::Identity => Ok(bytes),
            Self::Gzip(decoder) => {
                decoder.get_mut().clear();
                decoder.write_all(bytes)?;
                decoder.flush()?;
                Ok(decoder.get_ref())
            }
            Self::Brotli(decoder) => {
                decoder.get_mut().clear();
                decoder.write_all(bytes)?;
                decoder.flush()?;
                Ok(decoder.get_ref())
            }
            Self::Zstd(decoder) => {
                decoder.get_mut().clear();
                decoder.write_all(bytes)?;
                decoder.flush()?;
                Ok(decoder.get_ref())
            }
        }
    }
}

/// HTTP/1.1 chunked framing taken off as the bytes arrive.
#[derive(Default)]
pub(crate) struct Dechunk {
    /// Bytes read and not yet taken: a part of a chunk, or of its size line.
    buf: Vec<u8>,
}

impl Dechunk {
    /// Takes the bytes after the response head (`rest`, already read with it).
    pub(crate) fn new(rest: &[u8]) -> Self {
        let mut buf = Vec::with_capacity(64 * 1024);
        buf.extend_from_slice(rest);
        Self { buf }
    }

    /// Adds bytes read from the socket.
    pub(crate) fn extend(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Calls `each` with the data of every whole chunk buffered, in order, and drops
    /// them: returns the bytes they took with their framing (size lines and CRLFs),
    /// and whether the last (empty) chunk came.
    ///
    /// # Errors
    ///
    /// When a size line is not one, or when `each` fails.
    pub(crate) fn chunks(
        &mut self,
        mut each: impl FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<(u64, bool)> {
        let buf = &self.buf;
        let mut at = 0;
        let mut ended = false;
        while let Some(line) = memchr::memmem::find(&buf[at..], b"\r\n") {
            let size = std::str::from_utf8(&buf[at..at + line])
                .ok()
                .and_then(|size| usize::from_str_radix(size.split(';').next()?.trim(), 16).ok())
                .ok_or_else(|| io::Error::other("not a chunk size"))?;
            let frame = line + 2 + size + 2;
            if buf.len() - at < frame {
                break;
            }
            let data = &buf[at + line + 2..at + line + 2 + size];
            at += frame;
            if size == 0 {
                ended = true;
                break;
            }
            each(data)?;
        }
        self.buf.drain(..at);
        Ok((at as u64, ended))
    }
}
