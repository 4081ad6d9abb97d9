//! Weir's HTTP surface: the operator API under `/api/v1`, and `/healthz` / `/readyz`.
//!
//! Handlers parse and check the request, persist through the store, and answer; the work
//! that events cause belongs to the engine. Every error is `{"error": {"code", "message"}}`
//! with a 4xx that says what the client got wrong, or a 5xx that is logged.

mod auth;
mod body;
mod error;
pub mod inbound_body;
mod pagination;
mod routes;
mod state;
mod target_cache;

use std::future::Future;

use tokio::net::TcpListener;

pub use error::ApiError;
pub use routes::{health_router, router};
pub use state::{Limits, ServerState};
pub use target_cache::TargetCache;

/// Serves `app` (`router` for an API node, `health_router` for a worker-only one) until
/// `shutdown` completes, then finishes the requests in flight.
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
