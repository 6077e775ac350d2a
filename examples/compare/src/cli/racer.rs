//! What races in `compare bench`: one of the crate's [`Variant`]s, or Go's net/http
//! server, a reference that is no part of the crate (a Go program, see `cli::go`).

use std::net::SocketAddr;
use std::sync::LazyLock;

use clap::builder::PossibleValue;
use clap::ValueEnum;
use compare::compress::Encoding;
use compare::Variant;

use crate::cli::go;
use crate::cli::process::{start_compressed, Server};

/// A server of the race.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Racer {
    /// One of the crate's servers (`compare serve`).
    Variant(Variant),
    /// Go's net/http, one write and one flush per event: a reference, like the raw
    /// writer (`bench --only go-net-http` and `report`, not the page's race).
    GoNetHttp,
}

impl Racer {
    /// A short name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Racer::Variant(v) => v.name(),
            Racer::GoNetHttp => "Go net/http",
        }
    }

    /// The variant, if it is one of the crate's.
    pub(crate) fn variant(self) -> Option<Variant> {
        match self {
            Racer::Variant(v) => Some(v),
            Racer::GoNetHttp => None,
        }
    }

    /// The built-in reference this variant of ours is compared with.
    pub(crate) fn reference(self) -> Option<Variant> {
        self.variant().and_then(Variant::reference)
    }

    /// How the server compresses a burst with `coding`, or why it cannot (see
    /// [`Variant::compression`]).
    pub(crate) fn compression(self, coding: Encoding) -> Result<&'static str, &'static str> {
        match self {
            Racer::Variant(v) => v.compression(coding),
            Racer::GoNetHttp if coding == Encoding::Identity => Ok("not compressed"),
            Racer::GoNetHttp => Err("net/http does not compress"),
        }
    }

    /// Starts the server on a free port, compressing with `coding`; pinned to core 0
    /// when `pinned`.
    pub(crate) fn start(
        self,
        coding: Encoding,
        pinned: bool,
    ) -> std::io::Result<(Server, SocketAddr)> {
        match self {
            Racer::Variant(v) => start_compressed(v, coding, pinned),
            Racer::GoNetHttp => go::start(pinned),
        }
    }
}

impl From<Variant> for Racer {
    fn from(variant: Variant) -> Self {
        Racer::Variant(variant)
    }
}

/// `--only` takes the variants' names and `go-net-http`.
impl ValueEnum for Racer {
    fn value_variants<'a>() -> &'a [Self] {
        static ALL: LazyLock<Vec<Racer>> = LazyLock::new(|| {
            Variant::value_variants()
                .iter()
                .map(|&v| Racer::Variant(v))
                .chain([Racer::GoNetHttp])
                .collect()
        });
        &ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        match self {
            Racer::Variant(v) => v.to_possible_value(),
            Racer::GoNetHttp => Some(
                PossibleValue::new("go-net-http")
                    .help("Go's net/http, one write and one flush per event (`bench` only)"),
            ),
        }
    }
}
