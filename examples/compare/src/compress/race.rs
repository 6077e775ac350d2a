//! The servers of the compressed race (`compare bench --compress`): `GET /burst`
//! only, the same events as [`serve`](crate::serve) sends, each variant compressing
//! the way its framework does it:
//!
//! - ours with `Sse::compress(Compression::new().codings([c]), &accept)` (hyper with
//!   `SseBody::compress`): the library's defaults for one coding, flushed per frame;
//! - axum's built-in behind tower-http's `CompressionLayer` (default levels), with a
//!   predicate that lets `text/event-stream` through, as `compare compress` serves it;
//! - warp's built-in behind `warp::compression::gzip()` or `brotli()` (warp has no
//!   zstd; those filters compress whatever the request accepts);
//! - actix-web-lab's behind actix-web's `Compress` middleware.
//!
//! A separate server, not an option of the uncompressed one: the uncompressed race
//! runs exactly the code it ran before. The raw writer has no compressed version.

use std::io;

use futures_util::StreamExt;
use sse_rs::compress::Coding;

use super::{only, Encoding};
use crate::{Burst, Variant};

impl Variant {
    /// How the variant compresses a burst with `coding` (for the tables), or why it
    /// cannot.
    ///
    /// # Errors
    ///
    /// When the variant has no way to compress with `coding`: warp's built-in and
    /// zstd, the raw writer and any coding.
    pub fn compression(self, coding: Encoding) -> Result<&'static str, &'static str> {
        match (self, coding) {
            (_, Encoding::Identity) => Ok("not compressed"),
            (Variant::RawWriter, _) => Err("no framework: nothing compresses"),
            (Variant::SseAxum | Variant::SseWarp | Variant::SseActix, _) => Ok("`Sse::compress`"),
            (Variant::HyperSseCore, _) => Ok("`SseBody::compress`"),
            (Variant::AxumBuiltin, _) => Ok("tower-http `CompressionLayer`"),
            (Variant::WarpBuiltin, Encoding::Gzip) => Ok("`warp::compression::gzip`"),
            (Variant::WarpBuiltin, Encoding::Brotli) => Ok("`warp::compression::brotli`"),
            (Variant::WarpBuiltin, Encoding::Zstd) => Err("warp has no zstd"),
            (Variant::ActixWebLab, _) => Ok("actix-web `Compress`"),
        }
    }
}

/// Serves `variant`'s compressed `/burst` on `listener` until the process ends
/// (identity: [`serve_on`](crate::serve_on), plain HTTP).
///
/// # Errors
///
/// When the listener cannot be configured, or the variant cannot compress with
/// `coding` (see [`Variant::compression`]).
pub fn serve_race_on(
    variant: Variant,
    listener: std::net::TcpListener,
    coding: Encoding,
) -> io::Result<()> {
    let Some(compress) = coding.coding() else {
        return crate::serve_on(variant, listener, None);
    };
    variant.compression(coding).map_err(io::Error::other)?;
    let listener = crate::configure(listener)?;
    match variant {
        Variant::SseActix | Variant::ActixWebLab => serve_actix(variant, listener, compress),
        _ => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(async {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                match variant {
                    Variant::SseAxum | Variant::AxumBuiltin => {
                        serve_axum(variant, listener, compress).await
                    }
                    Variant::SseWarp | Variant::WarpBuiltin => {
                        serve_warp(variant, listener, coding, compress).await
                    }
                    _ => serve_hyper(listener, compress).await,
                }
            }),
    }
}

/// [`serve_race_on`] a listener bound to `addr`.
///
/// # Errors
///
/// As [`serve_race_on`]; when the address cannot be bound.
pub fn serve_race(
    variant: Variant,
    addr: std::net::SocketAddr,
    coding: Encoding,
) -> io::Result<()> {
    serve_race_on(variant, std::net::TcpListener::bind(addr)?, coding)
}

async fn serve_axum(
    variant: Variant,
    listener: tokio::net::TcpListener,
    coding: Coding,
) -> io::Result<()> {
    use axum::extract::Query;
    use axum::response::IntoResponse;
    use axum::routing::get;
    use tower_http::compression::predicate::SizeAbove;
    use tower_http::compression::CompressionLayer;
    let app = if variant == Variant::SseAxum {
        axum::Router::new().route(
            "/burst",
            get(
                move |Query(b): Query<Burst>, accept: sse_axum::AcceptEncoding| async move {
                    sse_axum::Sse::new(crate::ours(b))
                        .compress(only(coding), &accept)
                        .into_response()
                },
            ),
        )
    } else {
        // tower-http's default predicate skips `text/event-stream`: this one lets
        // every response through (see `compress::app`). Fused: tower-http polls the
        // body again after its end (this `stream::iter` would answer `None` again,
        // but a source that panics then, as `unfold` does, must not break the race).
        axum::Router::new()
            .route(
                "/burst",
                get(|Query(b): Query<Burst>| async move {
                    axum::response::sse::Sse::new(crate::axum_builtin_burst(b).fuse())
                        .into_response()
                }),
            )
            .layer(CompressionLayer::new().compress_when(SizeAbove::new(0)))
    };
    axum::serve(listener, app).await
}

async fn serve_warp(
    variant: Variant,
    listener: tokio::net::TcpListener,
    encoding: Encoding,
    coding: Coding,
) -> io::Result<()> {
    use warp::Filter;
    let burst = warp::path("burst")
        .and(warp::path::end())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .map(|query: String| Burst::parse(Some(&query)));
    if variant == Variant::SseWarp {
        let route = burst.and(sse_warp::accept_encoding()).map(
            move |b: Burst, accept: sse_warp::AcceptEncoding| {
                sse_warp::Sse::new(crate::ours(b)).compress(only(coding), &accept)
            },
        );
        warp::serve(route).incoming(listener).run().await;
        return Ok(());
    }
    let route = burst.map(|b: Burst| warp::sse::reply(crate::warp_builtin_burst(b)));
    match encoding {
        Encoding::Gzip => {
            warp::serve(route.with(warp::compression::gzip()))
                .incoming(listener)
                .run()
                .await;
        }
        Encoding::Brotli => {
            warp::serve(route.with(warp::compression::brotli()))
                .incoming(listener)
                .run()
                .await;
        }
        _ => return Err(io::Error::other("warp has no zstd")),
    }
    Ok(())
}

async fn serve_hyper(listener: tokio::net::TcpListener, coding: Coding) -> io::Result<()> {
    use std::convert::Infallible;
    loop {
        let (socket, _) = listener.accept().await?;
        let service = hyper::service::service_fn(
            move |request: hyper::Request<hyper::body::Incoming>| async move {
                let accept = sse_rs::compress::AcceptEncoding::from_headers(request.headers());
                let burst = Burst::parse(request.uri().query());
                Ok::<_, Infallible>(
                    sse_rs::SseBody::new(crate::ours(burst))
                        .compress(only(coding), &accept)
                        .into_response(),
                )
            },
        );
        tokio::spawn(
            hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(socket), service),
        );
    }
}

fn serve_actix(
    variant: Variant,
    listener: std::net::TcpListener,
    coding: Coding,
) -> io::Result<()> {
    use actix_web::{web, App, HttpServer};
    actix_web::rt::System::new().block_on(async move {
        if variant == Variant::SseActix {
            HttpServer::new(move || {
                App::new().route(
                    "/burst",
                    web::get().to(
                        move |b: web::Query<Burst>, accept: sse_actix::AcceptEncoding| async move {
                            sse_actix::Sse::new(crate::ours(b.into_inner()))
                                .compress(only(coding), &accept)
                        },
                    ),
                )
            })
            .workers(1)
            .disable_signals()
            .listen(listener)?
            .run()
            .await
        } else {
            HttpServer::new(|| {
                App::new()
                    .wrap(actix_web::middleware::Compress::default())
                    .route(
                        "/burst",
                        web::get().to(|b: web::Query<Burst>| async move {
                            crate::actix_web_lab_burst(b.into_inner())
                        }),
                    )
            })
            .workers(1)
            .disable_signals()
            .listen(listener)?
            .run()
            .await
        }
    })
}
