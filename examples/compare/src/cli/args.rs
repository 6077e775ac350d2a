//! The arguments several subcommands share, each a `#[derive(clap::Args)]` struct
//! that the subcommands take in with `#[command(flatten)]`.

use std::net::{Ipv4Addr, SocketAddr};

use compare::Variant;

use crate::cli::racer::Racer;

/// `--only`: which variants to run (`bench`, `fanout`, `memory`).
#[derive(Clone, clap::Args)]
pub(crate) struct Only {
    /// Only these variants (default: all; `go-net-http` only when named).
    #[arg(long, value_enum)]
    pub(crate) only: Vec<Racer>,
}

impl Only {
    /// The variants named with `--only` (those that serve the whole workload), or
    /// every such variant.
    pub(crate) fn or_all(self) -> Vec<Variant> {
        if self.only.is_empty() {
            Variant::ALL.to_vec()
        } else {
            self.only
                .into_iter()
                .filter_map(Racer::variant)
                .filter(|v| v.serves_fanout())
                .collect()
        }
    }

    /// The variants named with `--only`, or every variant that serves bursts: not
    /// Go's net/http, which the page's race (this default) does not show.
    pub(crate) fn or_every_burst(self) -> Vec<Racer> {
        if self.only.is_empty() {
            Variant::BURST.map(Racer::Variant).to_vec()
        } else {
            self.only
        }
    }
}

/// `--port`: where a server that another subcommand starts listens (`serve`,
/// `serve-redis`, `serve-broadcast`; see `process::start_with`).
#[derive(clap::Args)]
pub(crate) struct Port {
    /// Port on 127.0.0.1.
    #[arg(long)]
    pub(crate) port: u16,
}

impl Port {
    /// The address to listen on: the port on 127.0.0.1.
    pub(crate) fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }
}
