//! Product events: the host product posts what happened in an account, one event or a
//! batch. The answer (202) comes once the events and the handler runs they owe are
//! durable (`Engine::post_events`); the dispatcher runs the handlers after.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use weir_core::{AccountId, EventId, EventSource, Job};
use weir_engine::commands::events::PostedEvents;
use weir_store::Ingested;

use super::account_to_post_to;
use crate::auth::Caller;
use crate::body::{JsonBody, PathParams, QueryParams};
use crate::error::ApiError;
use crate::pagination::{ListResponse, page_request};
use crate::state::ServerState;

/// What became of one posted event.
#[derive(Serialize)]
pub struct Accepted {
    id: EventId,
    /// True when its idempotency key named an earlier event (whose id this is): nothing
    /// new was stored and no handler runs again.
    duplicate: bool,
    /// The handler runs it caused: one per listening installation.
    jobs: u64,
    /// The deliveries it caused: one per subscription to it.
    deliveries: u64,
}

pub async fn post(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(account_id): PathParams<String>,
    JsonBody(posted): JsonBody<PostedEvents>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let account = account_to_post_to(&state, &caller, &account_id).await?;
    let batch = matches!(posted, PostedEvents::Batch(_));
    let ingested = state.engine.post_events(&account, posted).await?;
    let mut accepted: Vec<Accepted> = ingested.into_iter().map(Accepted::from).collect();
    let body = match batch {
        true => json!({ "events": accepted }),
        false => json!(accepted.remove(0)),
    };
    Ok((StatusCode::ACCEPTED, Json(body)))
}

impl From<Ingested> for Accepted {
    fn from(ingested: Ingested) -> Self {
        match ingested {
            Ingested::Created {
                id,
                jobs,
                deliveries,
            } => Accepted {
                id,
                duplicate: false,
                jobs,
                deliveries,
            },
            Ingested::Duplicate { id } => Accepted {
                id,
                duplicate: true,
                jobs: 0,
                deliveries: 0,
            },
        }
    }
}

/// An event as the API shows it, with the handler runs it caused.
#[derive(Serialize)]
pub struct EventView {
    id: EventId,
    account_id: AccountId,
    product: EventSource,
    event: String,
    #[serde(flatten)]
    body: Map<String, Value>,
    idempotency_key: Option<String>,
    received_at: Timestamp,
    jobs: Vec<Job>,
}

pub async fn show(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Json<EventView>, ApiError> {
    let not_found = || ApiError::not_found(format!("event {id} not found"));
    let event_id = EventId::parse(&id).map_err(|_| not_found())?;
    let event = state
        .store()
        .product_event(&event_id)
        .await?
        .ok_or_else(not_found)?;
    // Another account's event is "not found", as its installations are.
    if !caller.may_see(&event.account_id, None) {
        return Err(not_found());
    }
    let jobs = state.store().jobs_of_event(&event.id).await?;
    Ok(Json(EventView {
        id: event.id,
        account_id: event.account_id,
        product: event.source,
        event: event.name,
        body: match event.body {
            Value::Object(body) => body,
            _ => Map::new(),
        },
        idempotency_key: event.idempotency_key,
        received_at: event.received_at,
        jobs,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    account: Option<String>,
    event: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// An event in a list: what it was and when; its body and jobs are on `GET /events/{id}`.
#[derive(Serialize)]
pub struct EventSummary {
    id: EventId,
    account_id: AccountId,
    product: EventSource,
    event: String,
    idempotency_key: Option<String>,
    received_at: Timestamp,
}

/// Events newest first: an account key's own account's; the admin's of the account named,
/// or of every account.
pub async fn list(
    State(state): State<ServerState>,
    caller: Caller,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<ListResponse<EventSummary>>, ApiError> {
    let named = query
        .account
        .as_deref()
        .map(|id| {
            AccountId::parse(id).map_err(|e| ApiError::bad_request(format!("account: {}", e.0)))
        })
        .transpose()?;
    let account = match (&caller, named) {
        (Caller::Admin, named) => named,
        (Caller::Account(own), None) => Some(own.clone()),
        (_, Some(named)) => {
            caller.require_account(&named)?;
            Some(named)
        }
        // Refused: an installation's or a portal's token lists no events.
        (_, None) => {
            caller.require_admin()?;
            None
        }
    };
    let page = page_request(query.limit, query.cursor)?;
    let page = state
        .store()
        .recent_events(account.as_ref(), query.event.as_deref(), &page)
        .await?;
    Ok(Json(ListResponse::from_page(page, |event| EventSummary {
        id: event.id,
        account_id: event.account_id,
        product: event.source,
        event: event.name,
        idempotency_key: event.idempotency_key,
        received_at: event.received_at,
    })))
}
