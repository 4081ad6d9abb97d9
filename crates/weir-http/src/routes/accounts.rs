//! `/api/v1/accounts`: the tenants of the host product.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use weir_core::Account;
use weir_engine::commands::accounts::{AccountChange, NewAccount};

use super::load_account;
use crate::auth::Caller;
use crate::body::{JsonBody, PathParams};
use crate::error::ApiError;
use crate::pagination::{ListResponse, PageParams};
use crate::state::ServerState;

pub async fn create(
    State(state): State<ServerState>,
    caller: Caller,
    JsonBody(body): JsonBody<NewAccount>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require_admin()?;
    let account = state.engine.create_account(body).await?;
    Ok((StatusCode::CREATED, Json(account)))
}

pub async fn list(
    State(state): State<ServerState>,
    caller: Caller,
    PageParams(page): PageParams,
) -> Result<Json<ListResponse<Account>>, ApiError> {
    caller.require_admin()?;
    let page = state.store().accounts(&page).await?;
    Ok(Json(ListResponse::from_page(page, |account| account)))
}

pub async fn show(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Json<Account>, ApiError> {
    let account = load_account(&state, &caller, &id).await?;
    Ok(Json(account))
}

pub async fn update(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    JsonBody(body): JsonBody<AccountChange>,
) -> Result<Json<Account>, ApiError> {
    caller.require_admin()?;
    let account = load_account(&state, &caller, &id).await?;
    Ok(Json(state.engine.change_account(&account.id, body).await?))
}

pub async fn delete(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    let account = load_account(&state, &caller, &id).await?;
    state.engine.delete_account(&account.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
