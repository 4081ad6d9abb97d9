//! Operational events: what Weir tells the operator about itself (a subscription
//! disabled, a delivery dead, an app whose handler keeps failing), delivered to the
//! operator's operational webhooks by the same path as any delivery (Svix calls these
//! "operational webhooks"; its `endpoint.disabled` and `message.attempt.exhausted` are our
//! `subscription.disabled` and `delivery.dead`).
//!
//! They are stored as events of one account that Weir keeps for itself and hides from
//! the API ([`INSTANCE_ACCOUNT`]), so that they are durable, retried, signed, listed
//! with their attempts and replayable exactly as an account's deliveries are.

use std::fmt;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Value, json};

use crate::{AccountId, EventId, EventSource, ProductEvent};

/// The account that owns operational webhooks and their events. An operator cannot make,
/// see or change it through the accounts API.
pub const INSTANCE_ACCOUNT: &str = "weir-operational";

/// [`INSTANCE_ACCOUNT`] as an id.
pub fn instance_account() -> AccountId {
    AccountId::parse(INSTANCE_ACCOUNT).expect("the instance account's id is a valid id")
}

/// A delivery whose attempts have failed this many times in a row (since it was stored or
/// last replayed) makes its subscription "failing" (Svix tells after four failures too).
pub const FAILING_AFTER_TRIES: u32 = 4;

/// An installation whose handler runs failed this many times in a row is "failing".
pub const HANDLER_FAILURES_IN_A_ROW: u32 = 5;

/// The kinds of operational event, each named as in the `type` of its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperationalEventType {
    /// Weir disabled a subscription: its receiver answered 410, or every attempt failed for
    /// too long.
    SubscriptionDisabled,
    /// A delivery of the subscription has failed [`FAILING_AFTER_TRIES`] times in a row.
    SubscriptionFailing,
    /// A delivery died after its last attempt failed (out of attempts, or its
    /// subscription disabled by that failure).
    DeliveryDead,
    /// An install or an update failed: the app refused it, or its handler errored.
    InstallationFailed,
    /// An installation's handler failed [`HANDLER_FAILURES_IN_A_ROW`] times in a row.
    AppHandlerFailing,
}

impl OperationalEventType {
    pub const ALL: [OperationalEventType; 5] = [
        OperationalEventType::SubscriptionDisabled,
        OperationalEventType::SubscriptionFailing,
        OperationalEventType::DeliveryDead,
        OperationalEventType::InstallationFailed,
        OperationalEventType::AppHandlerFailing,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            OperationalEventType::SubscriptionDisabled => "subscription.disabled",
            OperationalEventType::SubscriptionFailing => "subscription.failing",
            OperationalEventType::DeliveryDead => "delivery.dead",
            OperationalEventType::InstallationFailed => "installation.failed",
            OperationalEventType::AppHandlerFailing => "app.handler_failing",
        }
    }

    /// The names, as an operational webhook's `events` lists them.
    pub fn names() -> Vec<&'static str> {
        Self::ALL.into_iter().map(Self::as_str).collect()
    }
}

impl fmt::Display for OperationalEventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for OperationalEventType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// One thing that happened to Weir, to be told to the operator.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationalEvent {
    pub id: EventId,
    pub kind: OperationalEventType,
    pub at: Timestamp,
    /// What it is about: ids, the account, the reason.
    pub data: Value,
}

impl OperationalEvent {
    pub fn new(kind: OperationalEventType, data: Value) -> Self {
        OperationalEvent {
            id: EventId::generate(),
            kind,
            at: crate::now(),
            data,
        }
    }

    /// What the operator's endpoint receives: `{"type", "timestamp", "data"}`.
    pub fn payload(&self) -> Value {
        json!({
            "type": self.kind.as_str(),
            "timestamp": crate::delivery::event_time(self.at),
            "data": self.data,
        })
    }

    /// The event as stored: an event of the instance account whose body is the payload.
    pub fn as_stored_event(&self) -> ProductEvent {
        ProductEvent {
            id: self.id.clone(),
            account_id: instance_account(),
            source: EventSource::Operational,
            name: self.kind.as_str().to_owned(),
            body: self.payload(),
            idempotency_key: None,
            received_at: self.at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_carry_type_timestamp_and_data() {
        let event = OperationalEvent::new(
            OperationalEventType::SubscriptionDisabled,
            json!({"subscription_id": "sub_1", "reason": "the receiver answered 410 Gone"}),
        );
        let payload = event.payload();
        assert_eq!(payload["type"], "subscription.disabled");
        assert_eq!(payload["data"]["reason"], "the receiver answered 410 Gone");
        let at: Timestamp = payload["timestamp"].as_str().unwrap().parse().unwrap();
        assert_eq!(at.as_millisecond(), event.at.as_millisecond());
        let stored = event.as_stored_event();
        assert_eq!(stored.account_id.as_str(), INSTANCE_ACCOUNT);
        assert_eq!(stored.name, "subscription.disabled");
        assert_eq!(stored.body, payload);
    }

    #[test]
    fn every_type_has_its_own_name() {
        let names = OperationalEventType::names();
        let unique: std::collections::HashSet<_> = names.iter().collect();
        assert_eq!((names.len(), unique.len()), (5, 5));
        assert!(names.contains(&"app.handler_failing"));
    }
}
