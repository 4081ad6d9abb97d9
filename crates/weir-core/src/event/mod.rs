//! Events: where they come from ([`EventSource`]), what they are called ([`EventName`],
//! [`AppEvent`]), and as kept: what the host product posts or a third party sends; the
//! jobs each one owes to the installations that handle it (the transactional outbox); and
//! the subscriptions that decide which installations those are.

mod app_event;
mod name;
mod source;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

pub use app_event::AppEvent;
pub use name::{EventName, UnknownEvent};
pub use source::{EventSource, UnknownProduct};

use crate::{AccountId, EventId, InstallationId, InvocationId};

/// The record a product event is about, as its payload names it: `onTicketUpdate` →
/// `ticket`, `onTimeEntryCreate` → `time_entry`, `onSalesAccountUpdate` → `sales_account`.
pub fn record_key(event: &str) -> String {
    let noun = event.strip_prefix("on").unwrap_or(event);
    let noun = ["Create", "Update", "Delete"]
        .iter()
        .find_map(|suffix| noun.strip_suffix(suffix))
        .unwrap_or(noun);
    let mut key = String::new();
    for (i, c) in noun.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            key.push('_');
        }
        key.push(c.to_ascii_lowercase());
    }
    key
}

/// One event, as kept.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProductEvent {
    pub id: EventId,
    pub account_id: AccountId,
    /// Where it came from: for a posted event, the product whose apps it goes to (the
    /// posted `product`, else the account's); a target URL; a connector's webhook. Kept
    /// in the `product` column, under that name.
    #[serde(rename = "product")]
    pub source: EventSource,
    /// e.g. `onContactCreate`: an [`EventName`] of the source when it came in (a product's,
    /// or `onExternalEvent`), or a connector event's key. Kept as text: a name read back
    /// is not checked again against a catalogue that may have changed since.
    pub name: String,
    /// What was posted besides the routing fields: `data`, and when given `actor`,
    /// `changes`, `source_id`, `department_id`, `occurred_at`.
    pub body: Value,
    pub idempotency_key: Option<String>,
    pub received_at: Timestamp,
}

/// An app version's product events: the handler that runs for `event` in `product`, as
/// [`crate::AppDefinition::handler_for`] finds it; kept at upload, so that fan-out is a
/// join. Platform 3.x module scopes are expanded to their products.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subscription {
    pub product: String,
    pub event: String,
    pub handler: String,
    /// Runs of a failed handler (1: no retries, as on Freshworks; apps opt in).
    pub max_attempts: u32,
}

/// One handler run an event owes one installation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    pub event_id: EventId,
    pub installation_id: InstallationId,
    /// The event's name, e.g. `onContactCreate`.
    pub event: String,
    pub handler: String,
    pub status: JobStatus,
    /// Runs so far.
    pub attempts: u32,
    pub max_attempts: u32,
    /// When it may run (next).
    pub run_at: Timestamp,
    /// The record of the latest run.
    pub last_invocation: Option<InvocationId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Pending,
    Done,
    Failed,
    /// The installation was uninstalled before the job ran.
    Cancelled,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            JobStatus::Pending,
            JobStatus::Done,
            JobStatus::Failed,
            JobStatus::Cancelled,
        ]
        .into_iter()
        .find(|status| status.as_str() == value)
    }
}

#[cfg(test)]
mod tests {
    use super::record_key;

    #[test]
    fn records_are_named_after_their_event() {
        assert_eq!(record_key("onTicketUpdate"), "ticket");
        assert_eq!(record_key("onTimeEntryCreate"), "time_entry");
        assert_eq!(record_key("onSalesAccountUpdate"), "sales_account");
        assert_eq!(record_key("onCpqDocumentDelete"), "cpq_document");
        assert_eq!(
            record_key("onAgentAvailabilityUpdate"),
            "agent_availability"
        );
    }
}
