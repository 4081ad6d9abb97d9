//! Ingesting product events, written once for both backends: what to do about an event's
//! idempotency key. A backend runs the steps in one transaction.

use jiff::Timestamp;
use weir_core::{DeliveryStatus, EventId, ProductEvent};

use crate::IDEMPOTENCY_WINDOW;
use crate::params::{self, Param};
use crate::rows::{self, Columns};
use crate::{Result, sql};

/// The event that holds a key, and when it was received.
pub(crate) struct KeyHolder {
    pub id: EventId,
    pub received_at: Timestamp,
}

pub(crate) fn key_holder(row: &dyn Columns) -> Result<KeyHolder> {
    Ok(KeyHolder {
        id: rows::event_id(row)?,
        received_at: rows::at(row)?,
    })
}

/// What the key's current holder means for a new event.
pub(crate) enum KeyCheck {
    /// The key is free (or the event has none): store the event.
    Free,
    /// The holder is too old to count: release its key, then store the event.
    Release(EventId),
    /// The holder is recent: the event is a repeat of it.
    Duplicate(EventId),
}

impl KeyCheck {
    pub fn decide(event: &ProductEvent, holder: Option<KeyHolder>) -> Self {
        match holder {
            None => KeyCheck::Free,
            Some(holder) if event.received_at < holder.received_at + IDEMPOTENCY_WINDOW => {
                KeyCheck::Duplicate(holder.id)
            }
            Some(holder) => KeyCheck::Release(holder.id),
        }
    }
}

/// The statement that finds the holder of the event's key, if it has one.
pub(crate) fn holder_query(event: &ProductEvent) -> Option<(&'static str, Vec<Param>)> {
    let key = event.idempotency_key.as_ref()?;
    Some((
        sql::EVENT_BY_IDEMPOTENCY_KEY,
        vec![event.account_id.as_str().into(), key.as_str().into()],
    ))
}

/// The statements that store the event, its jobs and its deliveries, in order; the
/// second's and third's row counts are the numbers of jobs and deliveries.
pub(crate) fn store_statements(event: &ProductEvent) -> [(&'static str, Vec<Param>); 3] {
    [
        (sql::INSERT_EVENT, params::product_event(event)),
        (sql::INSERT_EVENT_JOBS, params::event_jobs(event)),
        (
            sql::INSERT_EVENT_DELIVERIES,
            params::event_deliveries(event),
        ),
    ]
}

/// A subscription whose filter for the event is decided in code.
pub(crate) struct Filtered {
    subscription: String,
    filter: serde_json::Value,
    fifo: i64,
    linger_ms: i64,
    /// A disabled subscription's delivery is stored skipped.
    enabled: bool,
}

pub(crate) fn filtered(row: &dyn Columns) -> Result<Filtered> {
    let filter = row.text("filter")?;
    Ok(Filtered {
        subscription: row.text("id")?,
        filter: serde_json::from_str(&filter)
            .map_err(|e| crate::StoreError::Corrupt(format!("filter: {e}")))?,
        fifo: row.int("fifo")?,
        linger_ms: row.int("linger_ms")?,
        enabled: row.int("enabled")? == 1,
    })
}

/// The statement that finds the subscriptions whose filters the event must pass.
pub(crate) fn filtered_query(event: &ProductEvent) -> (&'static str, Vec<Param>) {
    (
        sql::FILTERED_SUBSCRIPTIONS,
        vec![event.account_id.as_str().into(), event.name.as_str().into()],
    )
}

/// One delivery for each of `candidates` whose filter the event passes.
pub(crate) fn passing_deliveries(
    event: &ProductEvent,
    candidates: Vec<Filtered>,
) -> Vec<(&'static str, Vec<Param>)> {
    candidates
        .into_iter()
        .filter(|candidate| weir_core::delivery::passes(&candidate.filter, event))
        .map(|candidate| {
            let row = vec![
                event.id.as_str().into(),
                candidate.subscription.into(),
                event.account_id.as_str().into(),
                event.name.as_str().into(),
                crate::rows::millis(event.received_at).into(),
                candidate.fifo.into(),
                candidate.linger_ms.into(),
                match candidate.enabled {
                    true => DeliveryStatus::Pending.as_str().into(),
                    false => DeliveryStatus::Skipped.as_str().into(),
                },
            ];
            (sql::INSERT_DELIVERY, row)
        })
        .collect()
}
