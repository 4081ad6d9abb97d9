//! `/api/v1/accounts/{id}/api-keys`: bearer tokens that act for one account only. A key is
//! shown once, in the answer that creates it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use weir_core::{ApiKey, ApiKeyId, ApiToken};

use super::load_account;
use crate::auth::Caller;
use crate::body::{JsonBody, PathParams};
use crate::error::ApiError;
use crate::state::ServerState;

/// Account keys start with this, so a leaked one is recognisable in logs and scanners.
const KEY_PREFIX: &str = "weir_ak_";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    name: Option<String>,
}

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
    JsonBody(body): JsonBody<CreateKey>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require_admin()?;
    let account = load_account(&state, &caller, &account_id).await?;
    let name = body.name.map(checked_name).transpose()?;
    let token = ApiToken::generate(KEY_PREFIX);
    let key = ApiKey {
        id: ApiKeyId::generate(),
        account_id: account.id,
        name,
        token_hash: token.hash(),
        created_at: weir_core::now(),
    };
    state.store.insert_api_key(&key).await?;
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
    let keys = state.store.api_keys(&account.id).await?;
    Ok(Json(serde_json::json!({ "data": keys })))
}

pub async fn delete(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams((account_id, key_id)): PathParams<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let account = load_account(&state, &caller, &account_id).await?;
    let not_found = || {
        ApiError::not_found(format!(
            "API key {key_id} not found in account {}",
            account.id
        ))
    };
    let key_id = ApiKeyId::parse(&key_id).map_err(|_| not_found())?;
    match state.store.delete_api_key(&account.id, &key_id).await {
        Err(weir_store::StoreError::NotFound) => Err(not_found()),
        other => other
            .map(|()| StatusCode::NO_CONTENT)
            .map_err(ApiError::from),
    }
}

/// A key's name is a label for people: up to 100 printable characters.
fn checked_name(name: String) -> Result<String, ApiError> {
    let printable = !name.trim().is_empty() && !name.chars().any(char::is_control);
    if !printable || name.chars().count() > 100 {
        return Err(ApiError::unprocessable(
            "name: must be 1 to 100 printable characters",
        ));
    }
    Ok(name)
}
