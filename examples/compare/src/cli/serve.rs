//! `compare serve`: one variant's server, as `bench`, `fanout`, `memory`, `h2` and
//! `report` start it (`process::start_variant`).

use std::path::PathBuf;

use compare::compress::Encoding;
use compare::Variant;

use crate::cli::args::Port;

/// The arguments of `compare serve`.
#[derive(clap::Args)]
pub(crate) struct ServeArgs {
    /// Which server and SSE implementation.
    #[arg(long, value_enum)]
    variant: Variant,
    #[command(flatten)]
    port: Port,
    /// Serve HTTPS (HTTP/2 or HTTP/1.1 by ALPN) with this PEM certificate chain.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of `--tls-cert`.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve only `/burst`, compressed with this coding the way the variant's
    /// framework does it (used by `bench --compress`; plain HTTP/1.1).
    #[arg(long, value_enum, default_value = "none", conflicts_with = "tls_cert")]
    compress: Encoding,
}

/// Serves `--variant` on the port, over HTTPS with a certificate and key, or its
/// compressed `/burst`.
pub(crate) fn run(args: ServeArgs) -> std::io::Result<()> {
    if args.compress != Encoding::Identity {
        return compare::compress::serve_race(args.variant, args.port.addr(), args.compress);
    }
    let tls = match (args.tls_cert, args.tls_key) {
        (Some(cert), Some(key)) => Some(sse_rs::server::tls_config(&cert, &key)?),
        _ => None,
    };
    compare::serve(args.variant, args.port.addr(), tls)
}
