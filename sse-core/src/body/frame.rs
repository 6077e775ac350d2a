//! [`FrameBuilder`]: the events that are ready together, made into one frame.

use bytes::{BufMut, Bytes, BytesMut};

/// An event at least this large is never copied into a frame: it ends the frame it
/// would join and goes as a frame of its own, as it was encoded. Copying it would cost
/// more than the frame it saves (a server writes frames with vectored I/O).
pub(crate) const PASS_THROUGH: usize = 1024;

/// The same, where the server copies every frame into a write buffer of its own
/// (actix-web): coalescing then costs a second copy, which pays up to this size
/// (fewer, larger chunks) and no further (measured with `compare bench`).
pub(crate) const PASS_THROUGH_WHERE_COPIED: usize = 8 * 1024;

/// Collects the events of one frame. A frame of one event is that event's bytes, not
/// copied. Small events ready together are copied into one buffer: sized for a full
/// frame at once while a burst goes on (the previous frame was full), so it never
/// grows and moves; small at first otherwise, for the usual few events.
pub(super) struct FrameBuilder {
    first: Option<Bytes>,
    pub(super) buf: Option<BytesMut>,
    max: usize,
    pass_through: usize,
    bursting: bool,
    full: bool,
}

impl FrameBuilder {
    pub(super) fn new(
        first: Option<Bytes>,
        max: usize,
        pass_through: usize,
        bursting: bool,
    ) -> Self {
        Self {
            first,
            buf: None,
            max,
            pass_through,
            bursting,
            full: false,
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    /// Adds `bytes`, or hands them back when they must start the next frame: the frame
    /// has no room for them, or they or the frame's first event go alone.
    pub(super) fn push(&mut self, bytes: Bytes) -> Result<(), Bytes> {
        let Some(first) = &self.first else {
            self.first = Some(bytes);
            return Ok(());
        };
        if first.len() >= self.pass_through || bytes.len() >= self.pass_through {
            return Err(bytes);
        }
        let len = self.buf.as_ref().map_or(first.len(), BytesMut::len);
        if len + bytes.len() > self.max {
            self.full = true;
            return Err(bytes);
        }
        let (max, bursting) = (self.max, self.bursting);
        let buf = self.buf.get_or_insert_with(|| {
            let capacity = if bursting {
                max
            } else {
                (4 * (len + bytes.len())).max(1024).min(max)
            };
            let mut buf = BytesMut::with_capacity(capacity);
            buf.put_slice(first);
            buf
        });
        buf.put_slice(&bytes);
        Ok(())
    }

    /// The frame, and whether it ended because it was full.
    pub(super) fn finish(self) -> (Option<Bytes>, bool) {
        let frame = match self.buf {
            Some(buf) => Some(buf.freeze()),
            None => self.first,
        };
        (frame, self.full)
    }
}
