//! [`RelayError`]: why a relay ended early.

use std::fmt;

use crate::{BoxError, InvalidField};

/// Why a [`Relay`](super::Relay) ended early. After it, the relay ends.
#[derive(Debug)]
#[non_exhaustive]
pub enum RelayError {
    /// The upstream failed (its error is the [`source`](std::error::Error::source)):
    /// a reset connection, a timeout, or the error of the client that reads it.
    Upstream(BoxError),
    /// An upstream line, event or (verbatim) event block was larger than
    /// [`max_event_size`](super::Relay::max_event_size).
    TooLarge {
        /// The bound, in bytes.
        limit: usize,
    },
    /// An event [`filter_map`](super::Relay::filter_map) returned cannot be sent: its type
    /// holds a line break (the [`source`](std::error::Error::source) says where).
    InvalidField(InvalidField),
}

impl fmt::Display for RelayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Upstream(_) => f.write_str("the upstream event stream failed"),
            Self::TooLarge { limit } => {
                write!(f, "an upstream event is larger than {limit} bytes")
            }
            Self::InvalidField(_) => f.write_str("an event from the relay's filter cannot be sent"),
        }
    }
}

impl std::error::Error for RelayError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Upstream(error) => Some(&**error),
            Self::InvalidField(error) => Some(error),
            Self::TooLarge { .. } => None,
        }
    }
}

impl From<InvalidField> for RelayError {
    fn from(error: InvalidField) -> Self {
        Self::InvalidField(error)
    }
}
