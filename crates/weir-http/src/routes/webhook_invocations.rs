//! The audit trail of registered webhook calls (seed 003): one record per call, by its
//! `referenceId`, and each installation's list. Records hold the target's host, never the
//! URL or the headers.

use axum::Json;
use axum::extract::State;
use weir_core::{ReferenceId, WebhookInvocation};

use super::installations::load_installation;
use crate::auth::Caller;
use crate::body::PathParams;
use crate::error::ApiError;
use crate::pagination::{ListResponse, PageParams};
use crate::state::ServerState;

pub async fn show(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Json<WebhookInvocation>, ApiError> {
    let not_found = || ApiError::not_found(format!("webhook invocation {id} not found"));
    let reference = ReferenceId::parse(&id).map_err(|_| not_found())?;
    let record = state
        .store()
        .webhook_invocation(&reference)
        .await?
        .ok_or_else(not_found)?;
    match caller.may_see(&record.account_id, Some(&record.installation_id)) {
        true => Ok(Json(record)),
        false => Err(not_found()),
    }
}

pub async fn list(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    PageParams(page): PageParams,
) -> Result<Json<ListResponse<WebhookInvocation>>, ApiError> {
    let installation = load_installation(&state, &caller, &id).await?;
    let page = state
        .store()
        .webhook_invocations(&installation.id, &page)
        .await?;
    Ok(Json(ListResponse::from_page(page, |record| record)))
}
