//! `/api/v1/accounts`: the tenants of the host product.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use weir_core::{Account, AccountId, Departments, Domain, Product, Region};
use weir_store::AccountChanges;

use super::load_account;
use crate::auth::Caller;
use crate::body::{JsonBody, PathParams};
use crate::error::ApiError;
use crate::pagination::{ListResponse, PageParams};
use crate::state::ServerState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateAccount {
    id: Option<AccountId>,
    domain: Domain,
    region: Region,
    product: Product,
    #[serde(default)]
    departments: Departments,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateAccount {
    domain: Option<Domain>,
    region: Option<Region>,
    product: Option<Product>,
    departments: Option<Departments>,
}

pub async fn create(
    State(state): State<ServerState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateAccount>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require_admin()?;
    let now = weir_core::now();
    let account = Account {
        id: body.id.unwrap_or_else(AccountId::generate),
        domain: body.domain,
        region: body.region,
        product: body.product,
        departments: body.departments,
        created_at: now,
        updated_at: now,
    };
    state.store.insert_account(&account).await?;
    Ok((StatusCode::CREATED, Json(account)))
}

pub async fn list(
    State(state): State<ServerState>,
    caller: Caller,
    PageParams(page): PageParams,
) -> Result<Json<ListResponse<Account>>, ApiError> {
    caller.require_admin()?;
    let page = state.store.accounts(&page).await?;
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
    JsonBody(body): JsonBody<UpdateAccount>,
) -> Result<Json<Account>, ApiError> {
    caller.require_admin()?;
    let account = load_account(&state, &caller, &id).await?;
    let changes = AccountChanges {
        domain: body.domain,
        region: body.region,
        product: body.product,
        departments: body.departments,
        updated_at: weir_core::now(),
    };
    // Only the given fields are written, so concurrent changes to others are kept.
    state.store.update_account(&account.id, &changes).await?;
    let not_found = || ApiError::not_found(format!("account {id} not found"));
    state
        .store
        .account(&account.id)
        .await?
        .map(Json)
        .ok_or_else(not_found)
}

pub async fn delete(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    let account = load_account(&state, &caller, &id).await?;
    state.store.delete_account(&account.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
