//! `/healthz` (the process answers), `/readyz` (and its database does, and its workers
//! run) and `/metrics` (Prometheus text). None needs a token: they show no tenant's data.

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
        tracing::warn!(%error, "not ready: the database does not take writes");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: the database does not take writes: {error}"),
        )
    })?;
    let unready = state.runner.platform().workers.unready();
    if !unready.is_empty() {
        let why = unready.join("; ");
        tracing::warn!(why, "not ready: a worker does not run");
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}"),
        ));
    }
    Ok(Json(json!({ "status": "ready" })))
}

/// Prometheus text: the queues (read from the store) and this node's counters.
pub async fn metrics(State(state): State<ServerState>) -> Result<impl IntoResponse, ApiError> {
    let (pending, due, jobs_pending) = state.store.queue_depth(weir_core::now()).await?;
    let depth = weir_engine::metrics::QueueDepth {
        pending,
        due,
        jobs_pending,
        writable: state.store.ping().await.is_ok(),
    };
    let platform = state.runner.platform();
    let mut text = platform.metrics.render(depth);
    platform.workers.render(&mut text);
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text))
}
