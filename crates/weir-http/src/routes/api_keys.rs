//! `/api/v1/accounts/{id}/api-keys`: bearer tokens that act for one account only. A key is
//! shown once, in the answer that creates it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Serialize;
use weir_core::ApiKey;
use weir_engine::commands::accounts::NewApiKey;

use super::load_account;
use crate::auth::Caller;
use crate::body::{JsonBody, PathParams};
use crate::error::ApiError;
use crate::state::ServerState;

#[derive(Serialize)]
struct CreatedKey {
    #[serde(flatten)]
    key: ApiKey,
    /// The token itself: shown this once, stored only as a hash.
    token: String,
}

pub async fn create(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(account_id): PathParams<String>,
    JsonBody(body): JsonBody<NewApiKey>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require_admin()?;
    let account = load_account(&state, &caller, &account_id).await?;
    let (key, token) = state.engine.create_api_key(&account.id, body).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKey {
            key,
            token: token.expose().to_owned(),
        }),
    ))
}

pub async fn list(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(account_id): PathParams<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let account = load_account(&state, &caller, &account_id).await?;
    let keys = state.store().api_keys(&account.id).await?;
    Ok(Json(serde_json::json!({ "data": keys })))
}

pub async fn delete(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams((account_id, key_id)): PathParams<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let account = load_account(&state, &caller, &account_id).await?;
    state.engine.delete_api_key(&account.id, &key_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
