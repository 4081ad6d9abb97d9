//! A subscription's settings: their ranges, their defaults, and the one parse that checks
//! them, for a new subscription ([`SubscriptionSpec::parse`]) and for a change to one
//! ([`SubscriptionChange::apply`]).

use jiff::Timestamp;
use serde_json::{Map, Value};

use super::SubscriptionUrl;
use crate::{
    AccountId, EventName, EventSource, InstallationId, Product, SubscriptionId, SubscriptionKind,
    WebhookSecret, WebhookSubscription,
};

/// Per attempt, unless the subscription says otherwise.
pub const DEFAULT_TIMEOUT_MS: u32 = 15_000;
pub const MIN_TIMEOUT_MS: u32 = 100;
pub const MAX_TIMEOUT_MS: u32 = 60_000;
/// Attempts a subscription has in flight unless it says otherwise.
pub const DEFAULT_MAX_IN_FLIGHT: u32 = 8;
pub const MAX_IN_FLIGHT: u32 = 64;
/// 1 sends each event alone, the default.
pub const MAX_BATCH_SIZE: u32 = 100;
/// Lingering is off (0) unless asked for.
pub const MAX_LINGER_MS: u32 = 60_000;
/// No limit unless one is asked for.
pub const MAX_RATE_PER_SECOND: u32 = 10_000;

/// A new subscription's settings, checked: where to deliver, which events (each once),
/// their filters, and how to deliver them.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionSpec {
    url: SubscriptionUrl,
    events: Vec<EventName>,
    filters: Map<String, Value>,
    timeout_ms: u32,
    max_in_flight: u32,
    rate_per_second: Option<u32>,
    fifo: bool,
    batch_size: u32,
    linger_ms: u32,
}

/// A new subscription as asked for, unchecked; a setting left `None` takes its default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubscriptionRequest {
    pub url: String,
    pub events: Vec<String>,
    /// Per event (`{"Ticket_Update": {"fields": [...]}}`): Zoho's filter object, or null.
    pub filters: Map<String, Value>,
    pub timeout_ms: Option<u32>,
    pub max_in_flight: Option<u32>,
    /// `None`: no limit.
    pub rate_per_second: Option<u32>,
    pub fifo: bool,
    pub batch_size: Option<u32>,
    pub linger_ms: Option<u32>,
}

/// A change to a stored subscription, unchecked: each setting given replaces the stored
/// one, each left `None` is kept.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubscriptionChange {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub filters: Option<Map<String, Value>>,
    pub timeout_ms: Option<u32>,
    pub max_in_flight: Option<u32>,
    /// `Some(None)` removes the limit.
    pub rate_per_second: Option<Option<u32>>,
    pub fifo: Option<bool>,
    pub batch_size: Option<u32>,
    pub linger_ms: Option<u32>,
}

/// A setting out of its range, or an event the product does not have: the field, and what
/// was wrong. Shown as `field: message`, e.g. `batch_size: must be 1 to 100`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SpecProblem {
    /// The setting's name as the API has it; `filters.<event>` for one event's filter.
    pub field: String,
    pub message: String,
}

impl SpecProblem {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        SpecProblem {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl SubscriptionSpec {
    /// Checks a new subscription to events of `product`, filling in the defaults. The
    /// first problem found is the answer, in this order: url, events, timeout, in-flight,
    /// rate, batch size, linger, filters.
    pub fn parse(product: &Product, request: SubscriptionRequest) -> Result<Self, SpecProblem> {
        Self::parse_for(&EventSource::Product(product.clone()), request)
    }

    /// As [`SubscriptionSpec::parse`], to the events of any source (Weir's operational
    /// events for an operational webhook).
    pub fn parse_for(
        source: &EventSource,
        request: SubscriptionRequest,
    ) -> Result<Self, SpecProblem> {
        let url = url(&request.url)?;
        let events = events(source, request.events)?;
        let timeout_ms = timeout(request.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS))?;
        let max_in_flight = in_flight(request.max_in_flight.unwrap_or(DEFAULT_MAX_IN_FLIGHT))?;
        let rate_per_second = request.rate_per_second.map(rate).transpose()?;
        let batch_size = batch_size(request.batch_size.unwrap_or(1))?;
        let linger_ms = linger(request.linger_ms.unwrap_or(0))?;
        let names: Vec<&str> = events.iter().map(|event| event.as_str()).collect();
        let filters = filters(&names, request.filters)?;
        Ok(SubscriptionSpec {
            url,
            events,
            filters,
            timeout_ms,
            max_in_flight,
            rate_per_second,
            fifo: request.fifo,
            batch_size,
            linger_ms,
        })
    }

    /// The subscription these settings make, enabled, with a new id. An extension
    /// webhook's names the installation whose app made it.
    pub fn into_subscription(
        self,
        account_id: AccountId,
        installation_id: Option<InstallationId>,
        kind: SubscriptionKind,
        secret: WebhookSecret,
        now: Timestamp,
    ) -> WebhookSubscription {
        WebhookSubscription {
            id: SubscriptionId::generate(),
            account_id,
            installation_id,
            kind,
            url: self.url.into(),
            events: self.events.into_iter().map(String::from).collect(),
            filters: self.filters,
            secret,
            previous_secrets: Vec::new(),
            enabled: true,
            disabled_reason: None,
            timeout_ms: self.timeout_ms,
            max_in_flight: self.max_in_flight,
            rate_per_second: self.rate_per_second,
            fifo: self.fifo,
            batch_size: self.batch_size,
            linger_ms: self.linger_ms,
            failing_since: None,
            created_at: now,
            updated_at: now,
        }
    }
}

impl SubscriptionChange {
    /// `subscription` with this change made; the rest of it (enabled or not, secrets,
    /// times) is left as it is. What is given is checked as a new subscription's is, and
    /// the ranges are checked again on the settings kept. The URL, events and rate kept
    /// are taken as stored: they were checked when given, the events against the
    /// account's product of then. The first problem found is the answer, in this order:
    /// events, filters, url, timeout, in-flight, rate, batch size, linger.
    pub fn apply(
        self,
        product: &Product,
        subscription: &WebhookSubscription,
    ) -> Result<WebhookSubscription, SpecProblem> {
        self.apply_for(&EventSource::Product(product.clone()), subscription)
    }

    /// As [`SubscriptionChange::apply`], to the events of any source.
    pub fn apply_for(
        self,
        source: &EventSource,
        subscription: &WebhookSubscription,
    ) -> Result<WebhookSubscription, SpecProblem> {
        let events: Vec<String> = match self.events {
            Some(given) => events(source, given)?
                .into_iter()
                .map(String::from)
                .collect(),
            None => subscription.events.clone(),
        };
        let names: Vec<&str> = events.iter().map(String::as_str).collect();
        let filters = filters(
            &names,
            self.filters.unwrap_or_else(|| subscription.filters.clone()),
        )?;
        let url = match self.url {
            Some(given) => url(&given)?.into(),
            None => subscription.url.clone(),
        };
        let timeout_ms = timeout(self.timeout_ms.unwrap_or(subscription.timeout_ms))?;
        let max_in_flight = in_flight(self.max_in_flight.unwrap_or(subscription.max_in_flight))?;
        let rate_per_second = match self.rate_per_second {
            None => subscription.rate_per_second,
            Some(given) => given.map(rate).transpose()?,
        };
        let batch_size = batch_size(self.batch_size.unwrap_or(subscription.batch_size))?;
        let linger_ms = linger(self.linger_ms.unwrap_or(subscription.linger_ms))?;
        Ok(WebhookSubscription {
            url,
            events,
            filters,
            timeout_ms,
            max_in_flight,
            rate_per_second,
            fifo: self.fifo.unwrap_or(subscription.fifo),
            batch_size,
            linger_ms,
            ..subscription.clone()
        })
    }
}

fn url(url: &str) -> Result<SubscriptionUrl, SpecProblem> {
    SubscriptionUrl::parse(url).map_err(|invalid| SpecProblem::new("url", invalid.0))
}

/// At least one event, each one of the source's, each kept once (in the order first
/// given).
fn events(source: &EventSource, events: Vec<String>) -> Result<Vec<EventName>, SpecProblem> {
    if events.is_empty() {
        return Err(SpecProblem::new("events", "name at least one event"));
    }
    let mut kept: Vec<EventName> = Vec::new();
    for event in events {
        let name = EventName::parse(source, &event)
            .map_err(|unknown| SpecProblem::new("events", unknown.to_string()))?;
        if !kept.contains(&name) {
            kept.push(name);
        }
    }
    Ok(kept)
}

/// Filters are per event: each key one of the subscription's events, each value an
/// object (or null).
fn filters(
    events: &[&str],
    filters: Map<String, Value>,
) -> Result<Map<String, Value>, SpecProblem> {
    for (event, filter) in &filters {
        if !events.contains(&event.as_str()) {
            return Err(SpecProblem::new(
                "filters",
                format!("{event:?} is not one of the subscription's events"),
            ));
        }
        if !(filter.is_object() || filter.is_null()) {
            return Err(SpecProblem::new(
                format!("filters.{event}"),
                format!("must be an object or null, not {filter}"),
            ));
        }
    }
    Ok(filters)
}

fn timeout(timeout_ms: u32) -> Result<u32, SpecProblem> {
    within(
        "timeout_ms",
        timeout_ms,
        MIN_TIMEOUT_MS..=MAX_TIMEOUT_MS,
        format!("must be {MIN_TIMEOUT_MS} to {MAX_TIMEOUT_MS}"),
    )
}

fn in_flight(max: u32) -> Result<u32, SpecProblem> {
    within(
        "max_in_flight",
        max,
        1..=MAX_IN_FLIGHT,
        format!("must be 1 to {MAX_IN_FLIGHT}"),
    )
}

fn rate(rate: u32) -> Result<u32, SpecProblem> {
    within(
        "rate_per_second",
        rate,
        1..=MAX_RATE_PER_SECOND,
        format!("must be 1 to {MAX_RATE_PER_SECOND}, or null for no limit"),
    )
}

fn batch_size(size: u32) -> Result<u32, SpecProblem> {
    within(
        "batch_size",
        size,
        1..=MAX_BATCH_SIZE,
        format!("must be 1 to {MAX_BATCH_SIZE}"),
    )
}

fn linger(linger_ms: u32) -> Result<u32, SpecProblem> {
    within(
        "linger_ms",
        linger_ms,
        0..=MAX_LINGER_MS,
        format!("must be 0 to {MAX_LINGER_MS}"),
    )
}

fn within(
    field: &str,
    value: u32,
    range: std::ops::RangeInclusive<u32>,
    message: String,
) -> Result<u32, SpecProblem> {
    match range.contains(&value) {
        true => Ok(value),
        false => Err(SpecProblem::new(field, message)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn freshsales() -> Product {
        Product::parse("freshsales").unwrap()
    }

    fn request() -> SubscriptionRequest {
        SubscriptionRequest {
            url: "https://hooks.example.com/weir".into(),
            events: vec!["onContactCreate".into()],
            ..SubscriptionRequest::default()
        }
    }

    fn problem(request: SubscriptionRequest) -> String {
        SubscriptionSpec::parse(&freshsales(), request)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn defaults_fill_what_is_not_asked_for() {
        let spec = SubscriptionSpec::parse(&freshsales(), request()).unwrap();
        assert_eq!(spec.url.as_str(), "https://hooks.example.com/weir");
        assert_eq!(spec.timeout_ms, 15_000);
        assert_eq!(spec.max_in_flight, 8);
        assert_eq!(spec.rate_per_second, None);
        assert!(!spec.fifo);
        assert_eq!(spec.batch_size, 1);
        assert_eq!(spec.linger_ms, 0);
        assert!(spec.filters.is_empty());
    }

    #[test]
    fn every_range_holds_its_edges_and_refuses_past_them() {
        type Set = fn(&mut SubscriptionRequest, u32);
        let settings: [(Set, u32, u32, &str); 5] = [
            (
                |r, v| r.timeout_ms = Some(v),
                100,
                60_000,
                "timeout_ms: must be 100 to 60000",
            ),
            (
                |r, v| r.max_in_flight = Some(v),
                1,
                64,
                "max_in_flight: must be 1 to 64",
            ),
            (
                |r, v| r.rate_per_second = Some(v),
                1,
                10_000,
                "rate_per_second: must be 1 to 10000, or null for no limit",
            ),
            (
                |r, v| r.batch_size = Some(v),
                1,
                100,
                "batch_size: must be 1 to 100",
            ),
            (
                |r, v| r.linger_ms = Some(v),
                0,
                60_000,
                "linger_ms: must be 0 to 60000",
            ),
        ];
        for (set, low, high, message) in settings {
            for edge in [low, high] {
                let mut asked = request();
                set(&mut asked, edge);
                assert!(
                    SubscriptionSpec::parse(&freshsales(), asked).is_ok(),
                    "{message}: {edge}"
                );
            }
            let past: Vec<u32> = match low {
                0 => vec![high + 1, u32::MAX],
                _ => vec![low - 1, high + 1],
            };
            for value in past {
                let mut asked = request();
                set(&mut asked, value);
                assert_eq!(problem(asked), message, "{value}");
            }
        }
    }

    #[test]
    fn events_are_the_products_each_kept_once() {
        let asked = SubscriptionRequest {
            events: vec![
                "onDealCreate".into(),
                "onContactCreate".into(),
                "onDealCreate".into(),
            ],
            ..request()
        };
        let spec = SubscriptionSpec::parse(&freshsales(), asked).unwrap();
        let names: Vec<&str> = spec.events.iter().map(|e| e.as_str()).collect();
        assert_eq!(names, ["onDealCreate", "onContactCreate"]);

        let none = SubscriptionRequest {
            events: vec![],
            ..request()
        };
        assert_eq!(problem(none), "events: name at least one event");
        let zoho = SubscriptionRequest {
            events: vec!["onContactCreate".into(), "Ticket_Add".into()],
            ..request()
        };
        assert!(
            problem(zoho)
                .starts_with("events: \"Ticket_Add\" is not an event of freshsales; its events are: onContactCreate, "),
        );
        let unknown_product = Product::parse("acme").unwrap();
        let refused = SubscriptionSpec::parse(&unknown_product, request()).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "events: \"onContactCreate\" is not an event of acme; its events are: "
        );
    }

    #[test]
    fn filters_are_keyed_by_the_subscribed_events() {
        let keyed = |filters: Value| SubscriptionRequest {
            filters: filters.as_object().cloned().unwrap_or_default(),
            ..request()
        };
        let spec = SubscriptionSpec::parse(
            &freshsales(),
            keyed(json!({"onContactCreate": {"fields": ["x"]}})),
        )
        .unwrap();
        assert_eq!(spec.filters["onContactCreate"], json!({"fields": ["x"]}));
        assert!(
            SubscriptionSpec::parse(&freshsales(), keyed(json!({"onContactCreate": null}))).is_ok()
        );
        assert_eq!(
            problem(keyed(json!({"onDealCreate": {}}))),
            "filters: \"onDealCreate\" is not one of the subscription's events"
        );
        assert_eq!(
            problem(keyed(json!({"onContactCreate": [1]}))),
            "filters.onContactCreate: must be an object or null, not [1]"
        );
    }

    #[test]
    fn the_url_is_checked_first() {
        let asked = SubscriptionRequest {
            url: "ftp://x.io/hook".into(),
            events: vec![],
            batch_size: Some(0),
            ..request()
        };
        assert_eq!(
            problem(asked),
            "url: \"ftp://x.io/hook\" must be an http or https URL with a host"
        );
        let asked = SubscriptionRequest {
            linger_ms: Some(60_001),
            filters: json!({"onDealCreate": {}}).as_object().cloned().unwrap(),
            ..request()
        };
        assert_eq!(
            problem(asked),
            "linger_ms: must be 0 to 60000",
            "filters last"
        );
    }

    fn stored() -> WebhookSubscription {
        let spec = SubscriptionRequest {
            filters: json!({"onContactCreate": {}}).as_object().cloned().unwrap(),
            rate_per_second: Some(5),
            ..request()
        };
        SubscriptionSpec::parse(&freshsales(), spec)
            .unwrap()
            .into_subscription(
                AccountId::parse("acme").unwrap(),
                None,
                SubscriptionKind::CustomerWebhook,
                WebhookSecret::generate(),
                crate::now(),
            )
    }

    #[test]
    fn a_change_keeps_what_it_does_not_give() {
        let before = stored();
        let kept = SubscriptionChange::default()
            .apply(&freshsales(), &before)
            .unwrap();
        assert_eq!(kept, before);
        let change = SubscriptionChange {
            events: Some(vec!["onDealCreate".into(), "onDealCreate".into()]),
            filters: Some(Map::new()),
            rate_per_second: Some(None),
            batch_size: Some(100),
            ..SubscriptionChange::default()
        };
        let changed = change.apply(&freshsales(), &before).unwrap();
        assert_eq!(changed.events, ["onDealCreate"]);
        assert_eq!(changed.rate_per_second, None, "null removes the limit");
        assert_eq!(changed.batch_size, 100);
        assert_eq!(changed.url, before.url);
        assert_eq!(changed.id, before.id);
    }

    #[test]
    fn a_change_is_checked_as_a_new_subscription_is() {
        let before = stored();
        let refused = |change: SubscriptionChange| {
            change
                .apply(&freshsales(), &before)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            refused(SubscriptionChange {
                events: Some(vec!["onDealCreate".into()]),
                ..SubscriptionChange::default()
            }),
            "filters: \"onContactCreate\" is not one of the subscription's events",
            "the kept filter names an event no longer subscribed to"
        );
        assert_eq!(
            refused(SubscriptionChange {
                events: Some(vec![]),
                url: Some("nope".into()),
                ..SubscriptionChange::default()
            }),
            "events: name at least one event",
            "a change checks events first"
        );
        assert_eq!(
            refused(SubscriptionChange {
                timeout_ms: Some(99),
                ..SubscriptionChange::default()
            }),
            "timeout_ms: must be 100 to 60000"
        );
        assert_eq!(
            refused(SubscriptionChange {
                rate_per_second: Some(Some(0)),
                ..SubscriptionChange::default()
            }),
            "rate_per_second: must be 1 to 10000, or null for no limit"
        );
        let account_moved = Product::parse("freshdesk").unwrap();
        assert!(
            SubscriptionChange::default()
                .apply(&account_moved, &before)
                .is_ok(),
            "kept events are not checked again"
        );
    }
}
