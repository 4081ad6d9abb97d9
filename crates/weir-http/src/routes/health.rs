//! `/healthz` (the process answers) and `/readyz` (and its database does).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
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
