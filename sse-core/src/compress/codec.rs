//! [`Compressor`]: one stream's compressor, flushed at every frame.

use std::fmt;
use std::io;

use bytes::Bytes;

use super::{Coding, Compression};

/// The compressor of one stream: created with the first frame, fed every frame,
/// flushed after each, finished once at the end.
pub(crate) struct Compressor {
    coding: Coding,
    config: Compression,
    state: State,
}

enum State {
    /// Not created yet: a body is built before its first poll, maybe outside a
    /// runtime, and may never be polled.
    Idle,
    Running(Codec),
    /// Finished (the trailer was written) or failed: nothing more to write.
    Done,
}

enum Codec {
    #[cfg(feature = "gzip")]
    Gzip(flate2::Compress),
    #[cfg(feature = "brotli")]
    Brotli(Box<brotli::CompressorWriter<Vec<u8>>>),
    #[cfg(feature = "zstd")]
    Zstd(zstd::stream::raw::Encoder<'static>),
}

impl fmt::Debug for Compressor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Idle => "idle",
            State::Running(_) => "running",
            State::Done => "done",
        };
        f.debug_struct("Compressor")
            .field("coding", &self.coding)
            .field("state", &state)
            .finish()
    }
}

impl Compressor {
    pub(crate) fn new(coding: Coding, config: Compression) -> Self {
        Self {
            coding,
            config,
            state: State::Idle,
        }
    }

    pub(crate) fn coding(&self) -> Coding {
        self.coding
    }

    /// Whether the stream's end was written (or the compressor failed).
    pub(crate) fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Compresses `input` and flushes, so that the bytes returned decode to every
    /// byte given so far; with `last`, also ends the compressed stream. An error
    /// leaves the compressor done: the body ends with the error.
    pub(crate) fn frame(&mut self, input: &[u8], last: bool) -> io::Result<Bytes> {
        let result = self.run(input, last);
        if last || result.is_err() {
            self.state = State::Done;
        }
        result.map(Bytes::from)
    }

    /// Writes nothing more: the body ended with an error, and the response is cut
    /// off without the compressed stream's end.
    pub(crate) fn abandon(&mut self) {
        self.state = State::Done;
    }

    /// The end of the compressed stream alone (the gzip trailer and the like), when
    /// the stream ends without a frame to carry it. Empty when already done.
    pub(crate) fn finish(&mut self) -> io::Result<Bytes> {
        if self.is_done() {
            return Ok(Bytes::new());
        }
        self.frame(&[], true)
    }

    fn run(&mut self, input: &[u8], last: bool) -> io::Result<Vec<u8>> {
        if matches!(self.state, State::Idle) {
            self.state = State::Running(Codec::new(self.coding, &self.config)?);
        }
        if last {
            match std::mem::replace(&mut self.state, State::Done) {
                State::Running(codec) => codec.finish(input),
                State::Idle | State::Done => Err(ended()),
            }
        } else {
            match &mut self.state {
                State::Running(codec) => codec.flush(input),
                State::Idle | State::Done => Err(ended()),
            }
        }
    }
}

fn ended() -> io::Error {
    io::Error::other("the compressed stream has ended")
}

impl Codec {
    fn new(coding: Coding, config: &Compression) -> io::Result<Self> {
        let _ = config;
        match coding {
            #[cfg(feature = "gzip")]
            Coding::Gzip => Ok(Self::Gzip(flate2::Compress::new_gzip(
                flate2::Compression::new(u32::from(config.gzip_level.min(9))),
                config.gzip_window_bits.clamp(9, 15),
            ))),
            #[cfg(feature = "brotli")]
            Coding::Brotli => Ok(Self::Brotli(Box::new(brotli::CompressorWriter::new(
                Vec::new(),
                BROTLI_BUFFER,
                u32::from(config.brotli_quality.min(11)),
                u32::from(config.brotli_window_bits.clamp(10, 24)),
            )))),
            #[cfg(feature = "zstd")]
            Coding::Zstd => {
                use zstd::stream::raw::CParameter;
                let mut encoder =
                    zstd::stream::raw::Encoder::new(i32::from(config.zstd_level.clamp(1, 19)))?;
                let log = u32::from(config.zstd_window_log.clamp(10, 22));
                encoder.set_parameter(CParameter::WindowLog(log))?;
                // The tables zstd sizes by default for a large input (hash 2^17,
                // chain 2^16 entries at level 3) would dwarf a small window.
                encoder.set_parameter(CParameter::HashLog(log - 1))?;
                encoder.set_parameter(CParameter::ChainLog(log - 1))?;
                Ok(Self::Zstd(encoder))
            }
        }
    }

    /// Compresses `input` and flushes.
    fn flush(&mut self, input: &[u8]) -> io::Result<Vec<u8>> {
        let _ = input;
        match *self {
            #[cfg(feature = "gzip")]
            Self::Gzip(ref mut deflate) => gzip(deflate, input, false),
            #[cfg(feature = "brotli")]
            Self::Brotli(ref mut writer) => {
                use std::io::Write;
                writer.write_all(input)?;
                writer.flush()?;
                Ok(std::mem::take(writer.get_mut()))
            }
            #[cfg(feature = "zstd")]
            Self::Zstd(ref mut encoder) => zstd(encoder, input, false),
        }
    }

    /// Compresses `input` and ends the compressed stream.
    fn finish(self, input: &[u8]) -> io::Result<Vec<u8>> {
        let _ = input;
        match self {
            #[cfg(feature = "gzip")]
            Self::Gzip(mut deflate) => gzip(&mut deflate, input, true),
            #[cfg(feature = "brotli")]
            Self::Brotli(mut writer) => {
                use std::io::Write;
                writer.write_all(input)?;
                // Writes brotli's last block into the vector.
                Ok(writer.into_inner())
            }
            #[cfg(feature = "zstd")]
            Self::Zstd(mut encoder) => zstd(&mut encoder, input, true),
        }
    }
}

/// The buffer between brotli's encoder and the vector a frame is written into.
#[cfg(feature = "brotli")]
const BROTLI_BUFFER: usize = 4096;

/// Room left at the end of an output buffer before it grows.
#[cfg(any(feature = "gzip", feature = "zstd"))]
const SLACK: usize = 64;

#[cfg(feature = "gzip")]
fn gzip(deflate: &mut flate2::Compress, input: &[u8], last: bool) -> io::Result<Vec<u8>> {
    use flate2::{FlushCompress, Status};
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(input.len() / 2 + SLACK);
    let mut read = 0;
    loop {
        if out.capacity() - out.len() < SLACK {
            out.reserve(out.capacity().max(SLACK));
        }
        let (before_in, before_out) = (deflate.total_in(), deflate.total_out());
        let status = deflate
            .compress_vec(&input[read..], &mut out, flush)
            .map_err(io::Error::other)?;
        let consumed = deflate.total_in() - before_in;
        let progress = consumed > 0 || deflate.total_out() > before_out;
        read += usize::try_from(consumed).map_err(io::Error::other)?;
        let room_left = out.len() < out.capacity();
        match status {
            Status::StreamEnd => return Ok(out),
            // zlib stops short of the buffer's end only when it has written all it
            // has: with a sync flush, that is everything given so far.
            Status::Ok | Status::BufError if !last && read == input.len() && room_left => {
                return Ok(out)
            }
            Status::Ok | Status::BufError if !progress && room_left => {
                return Err(io::Error::other("deflate made no progress"))
            }
            Status::Ok | Status::BufError => {}
        }
    }
}

#[cfg(feature = "zstd")]
fn zstd(
    encoder: &mut zstd::stream::raw::Encoder<'static>,
    input: &[u8],
    last: bool,
) -> io::Result<Vec<u8>> {
    use zstd::stream::raw::{InBuffer, Operation, OutBuffer};
    let mut out = vec![0; input.len() / 2 + 128];
    let mut written = 0;
    let mut input = InBuffer::around(input);
    // Every byte of input in, then flush (or end) until zstd has nothing left.
    loop {
        if out.len() - written < SLACK {
            out.resize(out.len() * 2, 0);
        }
        let mut output = OutBuffer::around_pos(&mut out[..], written);
        let remaining = if input.pos < input.src.len() {
            encoder.run(&mut input, &mut output)?;
            1
        } else if last {
            encoder.finish(&mut output, true)?
        } else {
            encoder.flush(&mut output)?
        };
        written = output.pos();
        if remaining == 0 {
            out.truncate(written);
            return Ok(out);
        }
    }
}
