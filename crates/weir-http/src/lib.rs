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
/// `shutdown` completes, then finishes the requests in flight. A request whose handler
/// panics is answered 500 in the API's error shape, never with a dropped connection.
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = app.layer(tower_http::catch_panic::CatchPanicLayer::custom(
        error::answer_panic,
    ));
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
