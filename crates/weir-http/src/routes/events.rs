//! Product events: the host product posts what happened in an account, one event or a
//! batch. The answer (202) comes once the events and the handler runs they owe are
//! durable; the dispatcher runs the handlers after.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use weir_core::{Account, AccountId, EventId, EventName, EventSource, Job, ProductEvent};
use weir_store::Ingested;

use super::load_account;
use crate::auth::Caller;
use crate::body::{JsonBody, PathParams};
use crate::error::ApiError;
use crate::state::ServerState;

/// The most events one request may carry.
pub const MAX_BATCH: usize = 100;
/// The longest idempotency key.
const MAX_KEY_CHARS: usize = 255;

/// One event as posted.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostedEvent {
    event: String,
    /// The product whose apps hear it; the account's product when absent.
    product: Option<String>,
    data: Map<String, Value>,
    actor: Option<Value>,
    /// `{model_changes, system_changes, misc_changes}` of an update.
    changes: Option<Map<String, Value>>,
    /// The record before an update (Zoho's `prevState`, for subscriptions that ask).
    prev_state: Option<Value>,
    source_id: Option<Value>,
    department_id: Option<Value>,
    occurred_at: Option<Timestamp>,
    idempotency_key: Option<String>,
}

/// One event, or a batch of them.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum Posted {
    Batch(Vec<Value>),
    One(Value),
}

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
    JsonBody(posted): JsonBody<Posted>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let account = load_account(&state, &caller, &account_id).await?;
    let received_at = weir_core::now();
    let (values, batch) = match posted {
        Posted::Batch(values) => (values, true),
        Posted::One(value) => (vec![value], false),
    };
    if values.is_empty() || values.len() > MAX_BATCH {
        return Err(ApiError::unprocessable(format!(
            "a batch holds 1 to {MAX_BATCH} events; this one has {}",
            values.len()
        )));
    }
    let events = values
        .into_iter()
        .enumerate()
        .map(|(index, value)| {
            let at = if batch {
                format!("[{index}].")
            } else {
                String::new()
            };
            let posted = parse_event(value).map_err(|e| e.at(&at))?;
            product_event(&account, posted, received_at).map_err(|e| e.at(&at))
        })
        .collect::<Result<Vec<_>, Problem>>()
        .map_err(|problem| ApiError::unprocessable(problem.0))?;
    let ingested = state.engine.post_events(&events).await?;
    let mut accepted: Vec<Value> = ingested
        .into_iter()
        .map(|ingested| {
            let accepted = match ingested {
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
            };
            serde_json::to_value(accepted).expect("plain data")
        })
        .collect();
    let body = match batch {
        true => serde_json::json!({ "events": accepted }),
        false => accepted.remove(0),
    };
    Ok((StatusCode::ACCEPTED, Json(body)))
}

/// A problem with one posted event, to be prefixed with where it is in a batch.
struct Problem(String);

impl Problem {
    fn at(self, prefix: &str) -> Problem {
        Problem(format!("{prefix}{}", self.0))
    }
}

/// One event as the API would keep it, or what the API would answer 422 with: for
/// `weir dev`, which shows what a posted event would do without storing it.
pub fn stored_event(
    account: &Account,
    value: Value,
    received_at: Timestamp,
) -> Result<ProductEvent, String> {
    let posted = parse_event(value).map_err(|problem| problem.0)?;
    product_event(account, posted, received_at).map_err(|problem| problem.0)
}

fn parse_event(value: Value) -> Result<PostedEvent, Problem> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        match path.as_str() {
            "." => Problem(error.into_inner().to_string()),
            _ => Problem(format!("{path}: {}", error.into_inner())),
        }
    })
}

/// Parses the event against the catalogue of its product and keeps it in stored form.
fn product_event(
    account: &Account,
    posted: PostedEvent,
    received_at: Timestamp,
) -> Result<ProductEvent, Problem> {
    let product = posted
        .product
        .unwrap_or_else(|| account.product.as_str().to_owned());
    let source = EventSource::known_product(&product)
        .map_err(|unknown| Problem(format!("product: {unknown}")))?;
    let name = EventName::parse(&source, &posted.event)
        .map_err(|unknown| Problem(format!("event: {unknown}")))?;
    if let Some(key) = &posted.idempotency_key
        && (key.is_empty() || key.chars().count() > MAX_KEY_CHARS)
    {
        return Err(Problem(format!(
            "idempotency_key: must be 1 to {MAX_KEY_CHARS} characters"
        )));
    }
    let mut body = Map::new();
    body.insert("data".into(), Value::Object(posted.data));
    let optional = [
        ("actor", posted.actor),
        ("changes", posted.changes.map(Value::Object)),
        ("prev_state", posted.prev_state),
        ("source_id", posted.source_id),
        ("department_id", posted.department_id),
        (
            "occurred_at",
            posted.occurred_at.map(|at| Value::String(at.to_string())),
        ),
    ];
    for (name, value) in optional {
        if let Some(value) = value.filter(|v| !v.is_null()) {
            body.insert(name.into(), value);
        }
    }
    Ok(ProductEvent {
        id: EventId::generate(),
        account_id: account.id.clone(),
        source,
        name: name.into(),
        body: Value::Object(body),
        idempotency_key: posted.idempotency_key,
        received_at,
    })
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
