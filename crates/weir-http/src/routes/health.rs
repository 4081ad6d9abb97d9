//! `/healthz` (the process answers), `/readyz` (and its database does, and its workers
//! run) and `/metrics` (Prometheus text). None needs a token: they show no tenant's data.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::ServerState;

pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn readyz(State(state): State<ServerState>) -> Result<Json<Value>, ApiError> {
    state.engine.readiness().await?;
    Ok(Json(json!({ "status": "ready" })))
}

/// Prometheus text: the queues (read from the store) and this node's counters.
pub async fn metrics(State(state): State<ServerState>) -> Result<impl IntoResponse, ApiError> {
    let text = state.engine.metrics().await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text))
}
