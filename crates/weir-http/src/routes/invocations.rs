//! Invocation records: what each run of a handler did, for operators and developers.
//! `GET /installations/{id}/invocations` lists them (filters: event, status, time
//! range); `GET /invocations/{id}` shows one. A refused install leaves no installation,
//! but the records of its handler runs: they are listed under its id all the same.

use axum::Json;
use axum::extract::State;
use jiff::Timestamp;
use serde::Deserialize;
use weir_core::{
    InstallationId, InvocationFilter, InvocationId, InvocationRecord, InvocationStatus,
};
use weir_store::PageRequest;

use super::installations::load_installation;
use crate::auth::Caller;
use crate::body::{PathParams, QueryParams};
use crate::error::ApiError;
use crate::pagination::{ListResponse, page_request};
use crate::state::ServerState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    event: Option<String>,
    status: Option<String>,
    /// Started at or after (RFC 3339).
    since: Option<String>,
    /// Started before (RFC 3339).
    until: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

pub async fn list(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<ListResponse<InvocationRecord>>, ApiError> {
    let installation_id = installation_with_records(&state, &caller, &id).await?;
    let filter = InvocationFilter {
        event: query.event,
        status: query
            .status
            .map(|s| InvocationStatus::parse(&s))
            .transpose()
            .map_err(|e| ApiError::bad_request(e.0))?,
        since: instant("since", query.since)?,
        until: instant("until", query.until)?,
    };
    let page = page_request(query.limit, query.cursor)?;
    let found = state
        .store()
        .invocations(&installation_id, &filter, &page)
        .await?;
    Ok(Json(ListResponse::from_page(found, |record| record)))
}

/// The installation whose records the caller asks for: one the caller may see, or one a
/// refused install removed, whose records stay (seen as their account's).
async fn installation_with_records(
    state: &ServerState,
    caller: &Caller,
    id: &str,
) -> Result<InstallationId, ApiError> {
    let not_found = || ApiError::not_found(format!("installation {id} not found"));
    let parsed = InstallationId::parse(id).map_err(|_| not_found())?;
    if state.store().installation(&parsed).await?.is_some() {
        return Ok(load_installation(state, caller, id).await?.id);
    }
    let any = InvocationFilter::default();
    let first = state
        .store()
        .invocations(&parsed, &any, &PageRequest::first(1))
        .await?;
    match first.items.first() {
        Some(record) if caller.may_see(&record.account_id, Some(&record.installation_id)) => {
            Ok(parsed)
        }
        _ => Err(not_found()),
    }
}

pub async fn show(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Json<InvocationRecord>, ApiError> {
    let not_found = || ApiError::not_found(format!("invocation {id} not found"));
    let parsed = InvocationId::parse(&id).map_err(|_| not_found())?;
    let record = state
        .store()
        .invocation(&parsed)
        .await?
        .ok_or_else(not_found)?;
    // Another account's record is "not found", as installations are.
    match caller.may_see(&record.account_id, Some(&record.installation_id)) {
        false => Err(not_found()),
        true => Ok(Json(record)),
    }
}

fn instant(name: &str, given: Option<String>) -> Result<Option<Timestamp>, ApiError> {
    given
        .map(|text| {
            text.parse::<Timestamp>().map_err(|_| {
                ApiError::bad_request(format!(
                    "{name} must be an RFC 3339 time such as 2026-11-25T10:00:00Z, got {text:?}"
                ))
            })
        })
        .transpose()
}
