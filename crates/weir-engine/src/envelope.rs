//! The payloads handlers receive (REFERENCE §1 "Payload envelopes", seed 001): what every
//! event carries about the account and the installation, plus what the event adds.

use serde_json::{Map, Value, json};
use weir_core::event::record_key;
use weir_core::{Account, AppDefinition, AppEvent, Installation, ProductEvent};

/// `{account_id, domain, event, region, timestamp, iparams}`: the fields every envelope
/// has. `iparams` holds the secure values too: server code gets them all.
pub fn base(account: &Account, installation: &Installation, event: &str) -> Value {
    let iparams = &installation.iparams;
    let mut all = iparams.public.clone();
    all.extend(iparams.secure.clone());
    json!({
        "account_id": account.id.as_str(),
        "domain": account.domain.as_str(),
        "event": event,
        "region": account.region.as_str(),
        "timestamp": weir_core::now().as_millisecond(),
        "iparams": all,
    })
}

/// `onScheduledEvent`: the base plus the schedule's `data`.
pub fn scheduled(account: &Account, installation: &Installation, data: Value) -> Value {
    let mut envelope = base(account, installation, weir_core::catalogue::SCHEDULED_EVENT);
    envelope["data"] = data;
    envelope
}

/// A product event as the app's platform delivers it:
/// - `data` with the posted `actor` in it, and the posted `changes` where the product
///   puts them: in `data` for Freshsales, in the record (`data.ticket.changes`) for the
///   others when the record is there;
/// - `productContext {url, name}` and `version`; Freshsales' `timestamp` is in seconds
///   (with a fraction), as its payloads show, the others' in milliseconds;
/// - platform 3.x apps also get `currentHost`;
/// - Weir's own fields, when posted: `source_id`, `department_id`, `occurred_at`.
pub fn product(
    account: &Account,
    installation: &Installation,
    app: &AppDefinition,
    event: &ProductEvent,
) -> Value {
    let mut envelope = base(account, installation, &event.name);
    // A product event's source is its product.
    let product = event.source.as_str();
    let mut data = match &event.body["data"] {
        Value::Object(data) => data.clone(),
        Value::Null => Map::new(),
        other => Map::from_iter([("value".to_owned(), other.clone())]),
    };
    if let Some(actor) = event.body.get("actor").filter(|a| !a.is_null()) {
        data.insert("actor".into(), actor.clone());
    }
    if let Some(changes) = event.body.get("changes").filter(|c| !c.is_null()) {
        place_changes(&mut data, product, &event.name, changes.clone());
    }
    envelope["data"] = Value::Object(data);
    let is_crm = matches!(product, "freshsales" | "freshworks_crm");
    let url = match is_crm {
        true => format!("https://{}/crm", account.domain.as_str()),
        false => format!("https://{}", account.domain.as_str()),
    };
    envelope["productContext"] = json!({"url": url, "name": product});
    envelope["version"] = json!("2.0");
    // When the event happened, as far as Weir knows: when it was received.
    let millis = event.received_at.as_millisecond();
    envelope["timestamp"] = match is_crm {
        true => json!(millis as f64 / 1000.0),
        false => json!(millis),
    };
    if app.platform_version.is_some_and(|v| v.is_global()) {
        let modules: Vec<&str> = app.scopes.iter().map(|s| s.name.as_str()).collect();
        envelope["currentHost"] = json!({
            "endpoint_urls": {product: format!("https://{}", account.domain.as_str())},
            "subscribed_modules": modules,
        });
    }
    for field in ["source_id", "department_id", "occurred_at"] {
        if let Some(value) = event.body.get(field).filter(|v| !v.is_null()) {
            envelope[field] = value.clone();
        }
    }
    envelope
}

/// `onExternalEvent` (REFERENCE §1): the base plus the request's `data` (its body, parsed
/// by content type) and `headers`, the `options` of the target URL when it had some, and,
/// for XML, the body as sent in `raw_body`. The time is the request's arrival.
pub fn external(account: &Account, installation: &Installation, event: &ProductEvent) -> Value {
    let mut envelope = base(account, installation, AppEvent::External.name());
    envelope["timestamp"] = json!(event.received_at.as_millisecond());
    for field in ["data", "headers", "options", "raw_body"] {
        if let Some(value) = event.body.get(field) {
            envelope[field] = value.clone();
        }
    }
    envelope
}

/// An event a connector's global webhook routed to the installation: the base, with the
/// connector event's key as `event`, the payload `handle` gave as `data`, and the route
/// it took (`globalWebhookKey`, `selector`).
pub fn connector(account: &Account, installation: &Installation, event: &ProductEvent) -> Value {
    let mut envelope = base(account, installation, &event.name);
    envelope["timestamp"] = json!(event.received_at.as_millisecond());
    for field in ["data", "globalWebhookKey", "selector"] {
        if let Some(value) = event.body.get(field) {
            envelope[field] = value.clone();
        }
    }
    envelope
}

/// Freshsales keeps `changes` in `data`; Freshdesk and Freshservice in the record the
/// event is about (`onTicketUpdate` → `data.ticket.changes`) when the record is there.
fn place_changes(data: &mut Map<String, Value>, product: &str, event: &str, changes: Value) {
    if !matches!(product, "freshsales" | "freshworks_crm")
        && let Some(Value::Object(record)) = data.get_mut(&record_key(event))
    {
        record.insert("changes".into(), changes);
        return;
    }
    data.insert("changes".into(), changes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_go_where_each_product_puts_them() {
        let mut crm = Map::new();
        crm.insert("contact".into(), json!({"id": 1}));
        place_changes(
            &mut crm,
            "freshsales",
            "onContactUpdate",
            json!({"model_changes": {}}),
        );
        assert_eq!(
            Value::Object(crm),
            json!({"contact": {"id": 1}, "changes": {"model_changes": {}}})
        );

        let mut desk = Map::new();
        desk.insert("ticket".into(), json!({"id": 2}));
        place_changes(
            &mut desk,
            "freshdesk",
            "onTicketUpdate",
            json!({"status": [2, 4]}),
        );
        assert_eq!(
            Value::Object(desk),
            json!({"ticket": {"id": 2, "changes": {"status": [2, 4]}}})
        );
    }
}
