//! `/healthz` (the process answers), `/readyz` (and its database does) and `/metrics`
//! (Prometheus text). None needs a token: they show no tenant's data.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::ServerState;

pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn readyz(State(state): State<ServerState>) -> Result<Json<Value>, ApiError> {
    state.store.ping().await.map_err(|error| {
        tracing::warn!(%error, "not ready: the database does not answer");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the database does not answer",
        )
    })?;
    Ok(Json(json!({ "status": "ready" })))
}

/// Prometheus text: the queues (read from the store) and this node's counters.
pub async fn metrics(State(state): State<ServerState>) -> Result<impl IntoResponse, ApiError> {
    let (pending, due, jobs_pending) = state.store.queue_depth(weir_core::now()).await?;
    let depth = weir_engine::metrics::QueueDepth {
        pending,
        due,
        jobs_pending,
    };
    let text = state.runner.platform().metrics.render(depth);
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text))
}
