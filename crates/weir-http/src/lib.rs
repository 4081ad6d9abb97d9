//! Weir's HTTP surface: the operator API under `/api/v1`, and `/healthz` / `/readyz`.
//!
//! Handlers parse and check the request, persist through the store, and answer; the work
//! that events cause belongs to the engine. Every error is `{"error": {"code", "message"}}`
//! with a 4xx that says what the client got wrong, or a 5xx that is logged.

mod auth;
mod body;
mod error;
mod pagination;
mod routes;
mod state;

use std::future::Future;

use tokio::net::TcpListener;

pub use error::ApiError;
pub use routes::router;
pub use state::{Limits, ServerState};

/// Serves until `shutdown` completes, then finishes the requests in flight.
pub async fn serve(
    listener: TcpListener,
    state: ServerState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
