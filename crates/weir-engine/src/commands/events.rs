//! Product events: what the host product posts, one event or a batch, each checked against
//! the catalogue of its product, then stored with the handler runs and the deliveries it
//! owes and handed to the workers.

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Map, Value};
use weir_core::{Account, EventId, EventName, EventSource, ProductEvent};
use weir_store::{Ingested, StoreError, WorkQueue};

use crate::engine::Engine;
use crate::error::Error;

/// The most events one request may carry.
pub const MAX_BATCH: usize = 100;
/// The longest idempotency key.
const MAX_KEY_CHARS: usize = 255;

/// One event, or a batch of them, as posted (each still unchecked JSON, so that a problem
/// is told with where it is in the batch).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum PostedEvents {
    Batch(Vec<Value>),
    One(Value),
}

/// One event as posted.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PostedEvent {
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

impl Engine {
    /// Checks every event (a batch is refused whole, naming the first event at fault as
    /// `[index].field`), stores them with the jobs and deliveries they cause, and wakes the
    /// workers that have new work. An event whose idempotency key names an earlier one is
    /// a duplicate: nothing new is stored for it.
    pub async fn post_events(
        &self,
        account: &Account,
        posted: PostedEvents,
    ) -> Result<Vec<Ingested>, Error> {
        let received_at = weir_core::now();
        let (values, batch) = match posted {
            PostedEvents::Batch(values) => (values, true),
            PostedEvents::One(value) => (vec![value], false),
        };
        if values.is_empty() || values.len() > MAX_BATCH {
            return Err(Error::invalid(format!(
                "a batch holds 1 to {MAX_BATCH} events; this one has {}",
                values.len()
            )));
        }
        let events = values
            .into_iter()
            .enumerate()
            .map(|(index, value)| {
                product_event(account, value, received_at).map_err(|problem| match batch {
                    true => format!("[{index}].{problem}"),
                    false => problem,
                })
            })
            .collect::<Result<Vec<_>, String>>()
            .map_err(Error::invalid)?;
        let ingested = match self.store().ingest_events(&events).await {
            // A row the events refer to went away as they were stored (nothing was): the
            // account, deleted on another node since it was read, or a subscription.
            Err(StoreError::NotFound) => {
                self.accounts().forget(account.id.as_str());
                if self.store().account(&account.id).await?.is_none() {
                    return Err(super::accounts::not_found(&account.id));
                }
                self.store().ingest_events(&events).await?
            }
            other => other?,
        };
        let created = |has: fn(u64, u64) -> bool| {
            ingested.iter().any(|i| {
                matches!(i, Ingested::Created { jobs, deliveries, .. } if has(*jobs, *deliveries))
            })
        };
        if created(|jobs, _| jobs > 0) {
            self.platform().wake(WorkQueue::Jobs);
        }
        if created(|_, deliveries| deliveries > 0) {
            self.platform().wake(WorkQueue::Deliveries);
        }
        Ok(ingested)
    }
}

/// One posted event as it would be kept, or the problem `post_events` would refuse it
/// for (`field: message`): `weir dev` shows what an event would do without storing it.
pub fn product_event(
    account: &Account,
    value: Value,
    received_at: Timestamp,
) -> Result<ProductEvent, String> {
    let posted: PostedEvent = serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        match path.as_str() {
            "." => error.into_inner().to_string(),
            _ => format!("{path}: {}", error.into_inner()),
        }
    })?;
    let product = posted
        .product
        .unwrap_or_else(|| account.product.as_str().to_owned());
    let source =
        EventSource::known_product(&product).map_err(|unknown| format!("product: {unknown}"))?;
    let name =
        EventName::parse(&source, &posted.event).map_err(|unknown| format!("event: {unknown}"))?;
    if let Some(key) = &posted.idempotency_key
        && (key.is_empty() || key.chars().count() > MAX_KEY_CHARS)
    {
        return Err(format!(
            "idempotency_key: must be 1 to {MAX_KEY_CHARS} characters"
        ));
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
