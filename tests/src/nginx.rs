//! A real nginx in front of the servers under test, with nginx's own defaults for
//! buffering: what most deployments put between a browser and an event stream.

use std::net::SocketAddr;
use std::time::Duration;

use crate::programs::{free_port, require_program, wait_for_port, ChildGuard};

/// A real nginx on a free loopback port, proxying to `upstreams` (one `upstream` block,
/// round robin; a server that refuses connections is skipped for the next), with
/// nginx's defaults for buffering. Stops when dropped.
#[derive(Debug)]
pub struct Nginx {
    /// The port nginx listens on, on 127.0.0.1.
    pub port: u16,
    _process: ChildGuard,
}

impl Nginx {
    /// Starts nginx with `http_extra` in its `http` block and `location_extra` in its
    /// one `location /`. `None` (skipped) when nginx is missing outside CI.
    ///
    /// # Panics
    ///
    /// When nginx cannot be started, or under CI when it is missing.
    pub async fn start(
        upstreams: &[SocketAddr],
        http_extra: &str,
        location_extra: &str,
    ) -> Option<Self> {
        Self::start_with(upstreams, None, http_extra, location_extra).await
    }

    /// [`start`](Self::start) serving HTTPS with HTTP/2 (`ssl` and `http2`, as most
    /// deployments have it) with the PEM `cert` and `key`, in front of the same plain
    /// HTTP/1.1 upstreams (nginx cannot proxy to an h2c upstream but for gRPC).
    ///
    /// # Panics
    ///
    /// As [`start`](Self::start).
    pub async fn start_tls(
        upstreams: &[SocketAddr],
        (cert, key): (&std::path::Path, &std::path::Path),
        http_extra: &str,
        location_extra: &str,
    ) -> Option<Self> {
        Self::start_with(upstreams, Some((cert, key)), http_extra, location_extra).await
    }

    async fn start_with(
        upstreams: &[SocketAddr],
        tls: Option<(&std::path::Path, &std::path::Path)>,
        http_extra: &str,
        location_extra: &str,
    ) -> Option<Self> {
        let nginx = require_program("nginx", "for the reverse-proxy tests")?;
        let port = free_port();
        let listen = match tls {
            None => format!("listen 127.0.0.1:{port};"),
            Some((cert, key)) => {
                // `http2 on;` since nginx 1.25.1; `listen ... http2` before.
                let version = std::process::Command::new(&nginx)
                    .arg("-v")
                    .output()
                    .map(|out| String::from_utf8_lossy(&out.stderr).into_owned())
                    .unwrap_or_default();
                let numbers: Vec<u32> = version
                    .rsplit('/')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .split('.')
                    .filter_map(|n| n.parse().ok())
                    .collect();
                let http2 = if numbers.as_slice() >= [1, 25, 1].as_slice() {
                    format!("listen 127.0.0.1:{port} ssl;\n        http2 on;")
                } else {
                    format!("listen 127.0.0.1:{port} ssl http2;")
                };
                format!(
                    "{http2}\n        ssl_certificate {};\n        ssl_certificate_key {};",
                    cert.display(),
                    key.display()
                )
            }
        };
        let dir = std::env::temp_dir().join(format!("sse-tests-nginx-{port}"));
        std::fs::create_dir_all(&dir).expect("nginx's directory");
        let d = dir.display();
        let servers: String = upstreams
            .iter()
            .map(|addr| format!("server {addr};\n        "))
            .collect();
        let config = format!(
            "daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    {http_extra}
    upstream app {{
        {servers}
    }}
    server {{
        {listen}
        location / {{
            # proxy_buffering is on by default; X-Accel-Buffering turns it off.
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            {location_extra}
        }}
    }}
}}
"
        );
        let conf = dir.join("nginx.conf");
        std::fs::write(&conf, config).expect("nginx.conf");
        let process = ChildGuard(
            std::process::Command::new(nginx)
                .arg("-p")
                .arg(&dir)
                .arg("-e")
                .arg(dir.join("error.log"))
                .arg("-c")
                .arg(&conf)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::inherit())
                .spawn()
                .expect("start nginx"),
        );
        assert!(
            wait_for_port(port, Duration::from_secs(10)).await,
            "nginx did not start"
        );
        Some(Self {
            port,
            _process: process,
        })
    }
}
