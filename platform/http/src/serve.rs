//! The accept loop both public services run: `axum::serve` without its blind spots.
//!
//! `axum::serve` sets no timer on hyper's connections, so a client that opens a
//! connection and never finishes its request headers (slowloris) holds it forever,
//! before any authentication can refuse it. Here every connection gets a header read
//! timeout (hyper answers `408 Request Timeout` and closes), and shutdown stops
//! accepting, lets requests in progress finish for a bounded time, then returns.

use crate::client::{ClientAddr, TrustedProxies};
use axum::Router;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// The connection-level bounds of a service, and whose forwarding headers it believes.
#[derive(Debug, Clone)]
pub struct ServeLimits {
    /// Time a client has to send a request's complete headers (per request on a
    /// kept-alive connection, from its first byte or the connection's idle start).
    pub header_read_timeout: Duration,
    /// Time requests in progress get to finish after the shutdown signal.
    pub shutdown_grace: Duration,
    /// Proxies whose `X-Forwarded-For` names the client ([`ClientAddr`]).
    pub trusted_proxies: TrustedProxies,
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            header_read_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(30),
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then waits up to
/// `limits.shutdown_grace` for the connections in progress.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        // Each request carries the address it is recorded under.
        let trusted = limits.trusted_proxies.clone();
        let service =
            TowerToHyperService::new(router.clone().map_request(move |mut request: Request<Incoming>| {
                let client = trusted.client(remote.ip(), request.headers());
                request.extensions_mut().insert(ClientAddr(client));
                request
            }));
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%remote, %error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown()).await.is_err() {
        tracing::warn!(
            grace_ms = limits.shutdown_grace.as_millis() as u64,
            "connections still open at shutdown"
        );
    }
    Ok(())
}
