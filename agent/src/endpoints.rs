//! `/healthz`, `/readyz` and `/metrics` over plain HTTP, for the kubelet's
//! probes and Prometheus.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use crate::metrics::Metrics;

/// A request's headers must arrive within this (a client that never sends them
/// would hold its connection for ever).
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// No connection, kept alive or not, lives longer than this.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(60);
/// Connections served at once; more are closed as they come.
const MAX_CONNECTIONS: usize = 1024;

/// What the endpoints report.
pub struct Health {
    pub metrics: Arc<Metrics>,
    /// Set once the agent reached the API server and read its config.
    pub ready: AtomicBool,
}

fn respond(health: &Health, path: &str) -> Response<Full<Bytes>> {
    let (status, body) = match path {
        "/healthz" | "/livez" => (StatusCode::OK, "ok".to_owned()),
        "/readyz" if health.ready.load(Ordering::Relaxed) => (StatusCode::OK, "ok".to_owned()),
        "/readyz" => (StatusCode::SERVICE_UNAVAILABLE, "not ready".to_owned()),
        "/metrics" => (StatusCode::OK, health.metrics.encode()),
        _ => (
            StatusCode::NOT_FOUND,
            "not found: try /healthz, /readyz or /metrics".to_owned(),
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if path == "/metrics" {
        response.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        );
    }
    response
}

/// Binds `address` (an error names it) and serves until the process ends; the
/// address it listens on (port 0 picks one).
pub async fn serve(address: SocketAddr, health: Arc<Health>) -> anyhow::Result<SocketAddr> {
    use anyhow::Context as _;
    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("binding the health and metrics endpoint to {address}"))?;
    let address = listener.local_addr().unwrap_or(address);
    tracing::info!(%address, "serving /healthz, /readyz and /metrics");
    let open = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            // Past the limit a connection is closed at once: the endpoint's
            // memory stays bounded whoever connects.
            let Ok(permit) = open.clone().try_acquire_owned() else {
                continue;
            };
            let health = health.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                    let response = respond(&health, request.uri().path());
                    async move { Ok::<_, std::convert::Infallible>(response) }
                });
                let connection = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEADER_TIMEOUT)
                    .serve_connection(TokioIo::new(stream), service);
                match tokio::time::timeout(CONNECTION_TIMEOUT, connection).await {
                    Ok(Err(error)) => tracing::debug!(%error, "health endpoint connection failed"),
                    Err(_) => tracing::debug!("health endpoint connection open too long; closed"),
                    Ok(Ok(())) => {}
                }
                drop(permit);
            });
        }
    });
    Ok(address)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_follows_the_flag_and_metrics_are_text() {
        let health = Health {
            metrics: Arc::new(Metrics::default()),
            ready: AtomicBool::new(false),
        };
        assert_eq!(respond(&health, "/healthz").status(), StatusCode::OK);
        assert_eq!(
            respond(&health, "/readyz").status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        health.ready.store(true, Ordering::Relaxed);
        assert_eq!(respond(&health, "/readyz").status(), StatusCode::OK);
        let metrics = respond(&health, "/metrics");
        assert!(
            metrics.headers()[hyper::header::CONTENT_TYPE]
                .to_str()
                .is_ok_and(|t| t.starts_with("text/plain"))
        );
        assert_eq!(respond(&health, "/other").status(), StatusCode::NOT_FOUND);
    }
}
