//! The upstream of a [`Relay`](super::Relay), its type erased (so that `Relay` has
//! no type parameter): a stream of bytes, a body, or decoded events.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use futures_core::Stream;
use sse_rs_core::decode::Decoded;

use crate::BoxError;

pub(super) enum Upstream {
    Bytes {
        source: Box<dyn ByteSource>,
        // What is left of the last chunk, decoded `PIECE` bytes at a time.
        rest: Bytes,
    },
    Events(Box<dyn DecodedSource>),
}

/// An upstream of bytes.
pub(super) trait ByteSource: Send {
    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, BoxError>>>;
}

/// An upstream of decoded events, its type erased.
pub(super) trait DecodedSource: Send {
    fn poll_item(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Option<Decoded>, BoxError>>>;
}

pub(super) struct StreamSource<S>(pub(super) Pin<Box<S>>);

impl<S, B, E> ByteSource for StreamSource<S>
where
    S: Stream<Item = Result<B, E>> + Send,
    B: Buf,
    E: Into<BoxError>,
{
    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, BoxError>>> {
        self.0.as_mut().poll_next(cx).map(|item| {
            item.map(|chunk| {
                chunk
                    .map(|mut chunk| chunk.copy_to_bytes(chunk.remaining()))
                    .map_err(Into::into)
            })
        })
    }
}

impl<S, T, E> DecodedSource for StreamSource<S>
where
    S: Stream<Item = Result<T, E>> + Send,
    T: Into<Option<Decoded>>,
    E: Into<BoxError>,
{
    fn poll_item(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Option<Decoded>, BoxError>>> {
        self.0
            .as_mut()
            .poll_next(cx)
            .map(|item| item.map(|item| item.map(Into::into).map_err(Into::into)))
    }
}

pub(super) struct BodySource<B>(pub(super) Pin<Box<B>>);

impl<B> ByteSource for BodySource<B>
where
    B: http_body::Body + Send,
    B::Error: Into<BoxError>,
{
    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, BoxError>>> {
        loop {
            match std::task::ready!(self.0.as_mut().poll_frame(cx)) {
                None => return Poll::Ready(None),
                Some(Err(error)) => return Poll::Ready(Some(Err(error.into()))),
                Some(Ok(frame)) => {
                    if let Ok(mut data) = frame.into_data() {
                        return Poll::Ready(Some(Ok(data.copy_to_bytes(data.remaining()))));
                    }
                    // Trailers: nothing to relay.
                }
            }
        }
    }
}

/// The upstream after an error: dropped at once (the connection closes), never polled.
pub(super) struct Ended;

impl DecodedSource for Ended {
    fn poll_item(
        &mut self,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Option<Decoded>, BoxError>>> {
        Poll::Ready(None)
    }
}
