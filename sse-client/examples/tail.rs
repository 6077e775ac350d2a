//! `tail`: follow an event stream from the command line.
//!
//! ```text
//! cargo run -p sse-rs-client --example tail -- URL [--header 'K: V']... [--last-event-id ID]
//!     [--method POST --data BODY] [--max-events N] [--timeout-ms T] [--end-marker S]
//!     [--end-on-eof] [--insecure]
//! ```
//!
//! Prints one JSON object per dispatched event on stdout,
//! `{"type":..,"data":..,"lastEventId":..}`, and one line per connection and its
//! outcome on stderr. Exits 0 when the server stops the stream (a `204`, the end
//! marker, or a clean end with `--end-on-eof`) or after `--max-events`; 1 on an error
//! that ends the stream; 2 on bad arguments.
//!
//! `--timeout-ms` is both the connect timeout and the idle timeout (a connection
//! silent that long, keep-alives included, is reconnected). `--insecure` accepts any
//! server certificate: for a test server with a self-signed one, never in production.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use futures_util::StreamExt;
use sse_rs_client::{Client, Event};

struct Args {
    url: String,
    headers: Vec<(String, String)>,
    last_event_id: Option<String>,
    method: String,
    data: Option<String>,
    max_events: Option<u64>,
    timeout: Option<Duration>,
    end_marker: Option<String>,
    end_on_eof: bool,
    insecure: bool,
}

const USAGE: &str = "usage: tail URL [--header 'K: V']... [--last-event-id ID] \
[--method M] [--data BODY] [--max-events N] [--timeout-ms T] [--end-marker S] [--end-on-eof] [--insecure]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        url: String::new(),
        headers: Vec::new(),
        last_event_id: None,
        method: String::from("GET"),
        data: None,
        max_events: None,
        timeout: None,
        end_marker: None,
        end_on_eof: false,
        insecure: false,
    };
    let mut url = None;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--header" | "-H" => {
                let header = value("--header")?;
                let (name, value) = header
                    .split_once(':')
                    .ok_or(format!("--header {header:?}: expected 'Name: value'"))?;
                args.headers
                    .push((name.trim().to_owned(), value.trim().to_owned()));
            }
            "--last-event-id" => args.last_event_id = Some(value("--last-event-id")?),
            "--method" | "-X" => args.method = value("--method")?,
            "--data" | "-d" => args.data = Some(value("--data")?),
            "--max-events" => {
                let n = value("--max-events")?;
                args.max_events = Some(n.parse().map_err(|_| format!("--max-events {n:?}"))?);
            }
            "--timeout-ms" => {
                let t = value("--timeout-ms")?;
                let ms: u64 = t.parse().map_err(|_| format!("--timeout-ms {t:?}"))?;
                args.timeout = Some(Duration::from_millis(ms));
            }
            "--end-marker" => args.end_marker = Some(value("--end-marker")?),
            "--end-on-eof" => args.end_on_eof = true,
            "--insecure" | "-k" => args.insecure = true,
            "--help" | "-h" => return Err(String::new()),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            _ if url.is_none() => url = Some(arg),
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    args.url = url.ok_or("a URL is needed")?;
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(error) => {
            if !error.is_empty() {
                eprintln!("tail: {error}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let client = if args.insecure {
        Client::builder().tls_config(insecure::config()).build()
    } else {
        Client::new()
    };
    let Ok(method) = args.method.parse::<http::Method>() else {
        eprintln!("tail: invalid method {:?}", args.method);
        return ExitCode::from(2);
    };
    let mut request = client
        .request(method, args.url.as_str())
        .connection_events(true)
        .end_on_eof(args.end_on_eof);
    for (name, value) in &args.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    if let Some(data) = args.data {
        request = request.body(data);
    }
    if let Some(id) = args.last_event_id {
        request = request.last_event_id(id);
    }
    if let Some(timeout) = args.timeout {
        request = request.connect_timeout(timeout).idle_timeout(timeout);
    }
    if let Some(marker) = args.end_marker {
        request = request.end_marker(marker);
    }
    let mut source = request.stream();
    let mut events = 0_u64;
    let mut stdout = std::io::stdout().lock();
    while let Some(item) = source.next().await {
        match item {
            Ok(Event::Message(message)) => {
                // In this key order (serde_json's `json!` would sort the keys).
                let json = |text: &str| serde_json::Value::from(text).to_string();
                let line = format!(
                    "{{\"type\":{},\"data\":{},\"lastEventId\":{}}}",
                    json(&message.event),
                    json(&message.data),
                    json(&message.last_event_id),
                );
                if writeln!(stdout, "{line}")
                    .and_then(|()| stdout.flush())
                    .is_err()
                {
                    return ExitCode::SUCCESS; // stdout closed (a pipe into `head`)
                }
                events += 1;
                if args.max_events.is_some_and(|max| events >= max) {
                    eprintln!("tail: {events} events, done");
                    return ExitCode::SUCCESS;
                }
            }
            Ok(Event::Open(open)) => eprintln!(
                "tail: connection {} open: {} {:?} {}{}",
                open.connection(),
                open.status(),
                open.version(),
                open.url(),
                open.last_event_id()
                    .map(|id| format!(" (Last-Event-ID: {id})"))
                    .unwrap_or_default(),
            ),
            Ok(Event::Reconnecting(reconnecting)) => {
                let why = reconnecting
                    .error()
                    .map_or_else(|| String::from("closed by the server"), |e| chain(e));
                eprintln!(
                    "tail: connection ended: {why}; reconnecting in {:?}",
                    reconnecting.delay()
                );
            }
            Ok(_) => {}
            Err(error) => {
                eprintln!("tail: failed: {}", chain(&error));
                if let Some(response) = error.response() {
                    eprintln!("tail: response body: {}", response.body_text());
                }
                return ExitCode::FAILURE;
            }
        }
    }
    eprintln!("tail: the server ended the stream ({events} events)");
    ExitCode::SUCCESS
}

/// An error and its causes on one line.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `--insecure`: a TLS config that accepts any certificate (signatures of the
/// handshake are still checked, so the peer holds the key of the certificate it
/// shows, whoever that is).
mod insecure {
    use std::sync::Arc;

    use sse_rs_client::rustls;
    use sse_rs_client::rustls::client::danger::{
        HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
    };
    use sse_rs_client::rustls::crypto::{
        verify_tls12_signature, verify_tls13_signature, CryptoProvider,
    };
    use sse_rs_client::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use sse_rs_client::rustls::{DigitallySignedStruct, SignatureScheme};

    #[derive(Debug)]
    struct AcceptAnyCertificate(Arc<CryptoProvider>);

    impl ServerCertVerifier for AcceptAnyCertificate {
        fn verify_server_cert(
            &self,
            _end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp_response: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls12_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls13_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }

    pub(super) fn config() -> Arc<rustls::ClientConfig> {
        let provider = CryptoProvider::get_default().cloned().unwrap_or_else(|| {
            #[allow(deprecated)]
            let ring = rustls::crypto::ring::default_provider();
            Arc::new(ring)
        });
        let verifier = Arc::new(AcceptAnyCertificate(provider.clone()));
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map(|builder| {
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(verifier)
                    .with_no_client_auth()
            });
        match config {
            Ok(config) => Arc::new(config),
            Err(error) => {
                eprintln!("tail: TLS setup failed: {error}");
                std::process::exit(1);
            }
        }
    }
}
