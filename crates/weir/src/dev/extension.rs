//! A Zoho Desk extension has no handler in Weir: its code is whatever answers the URL of
//! each extension webhook in `resources.json`. So simulating one of its events shows what
//! that URL would receive, without sending it: the event checked as the API checks a
//! posted one, each webhook's filter applied, and Zoho's body and callback URL made by the
//! engine's own functions (those of an install and of the deliverer), so that what is
//! shown cannot drift from what `weir serve` sends.

use serde::Serialize;
use serde_json::{Map, Value, json};
use weir_core::app::{ExtensionWebhook, ZohoSubscription};
use weir_core::catalogue::ZOHO_DESK;
use weir_core::{AppDefinition, Installation, ProductEvent, WebhookSubscription};
use weir_engine::extension_webhooks::ExtensionError;
use weir_engine::{Engine, deliverer};

use super::simulate::SimulateError;
use super::workspace::Workspace;

#[derive(Debug, Serialize)]
pub struct Preview {
    /// True when at least one webhook would get the event.
    pub ok: bool,
    /// `extension`: this is a preview of deliveries, not a handler's run.
    pub kind: &'static str,
    pub event: String,
    /// Always false: `weir dev` shows the body and does not post it.
    pub sent: bool,
    pub deliveries: Vec<WouldDeliver>,
}

/// What one extension webhook would do with the event.
#[derive(Debug, Serialize)]
pub struct WouldDeliver {
    /// The webhook's `resourceName`.
    pub webhook: String,
    /// The callback URL, with `orgId` and a `securityContext` (valid for an hour).
    pub url: String,
    /// The webhook's filter for this event, as the install makes it.
    pub filter: Value,
    /// False when the filter keeps the event from the webhook.
    pub passes: bool,
    /// Zoho's JSON array, as the URL would receive it; `null` when the filter stops it.
    pub body: Option<Value>,
}

/// What the app's extension webhooks would receive for `event` posted with `payload`
/// (the API's event body: `data`, and `prev_state`, `changes`, `source_id`,
/// `department_id`, `occurred_at` when given).
pub async fn preview(
    workspace: &Workspace,
    app: &AppDefinition,
    event: &str,
    payload: Map<String, Value>,
) -> Result<Preview, SimulateError> {
    let installation = workspace.installation().await?;
    let posted = posted(event, payload);
    let stored =
        weir_engine::commands::events::product_event(&workspace.account, posted, weir_core::now())
            .map_err(|problem| SimulateError::BadRequest(format!("payload: {problem}")))?;
    let engine = &workspace.engine;
    let deliveries: Vec<WouldDeliver> = app
        .extension_webhooks
        .iter()
        .filter(|webhook| subscribed(webhook, event).is_some())
        .map(|webhook| would_deliver(engine, &installation, webhook, &stored))
        .collect::<Result<_, _>>()
        .map_err(|refused| SimulateError::Failed(refused.into()))?;
    Ok(Preview {
        ok: deliveries.iter().any(|d| d.passes),
        kind: "extension",
        event: event.to_owned(),
        sent: false,
        deliveries,
    })
}

/// The payload as the API takes it: the event and product are the ones chosen on the
/// page, whatever the payload says (as for Freshworks events).
fn posted(event: &str, mut payload: Map<String, Value>) -> Value {
    payload.insert("event".into(), event.into());
    payload.insert("product".into(), ZOHO_DESK.into());
    Value::Object(payload)
}

fn subscribed<'a>(webhook: &'a ExtensionWebhook, event: &str) -> Option<&'a ZohoSubscription> {
    webhook.subscriptions.iter().find(|s| s.event == event)
}

fn would_deliver(
    engine: &Engine,
    installation: &Installation,
    webhook: &ExtensionWebhook,
    event: &ProductEvent,
) -> Result<WouldDeliver, ExtensionError> {
    let subscription = engine.extension_subscription(installation, webhook)?;
    let filter = subscription.filters.get(&event.name).cloned();
    let filter = filter.unwrap_or(Value::Null);
    let passes = weir_core::delivery::passes(&filter, event);
    let body = passes.then(|| deliverer::body(&[event], &subscription));
    Ok(WouldDeliver {
        webhook: webhook.resource_name.clone(),
        url: callback_url(engine, &subscription),
        filter,
        passes,
        body,
    })
}

/// The URL as the deliverer calls it; the webhook's own URL, should it not parse (the
/// deliverer would then record the attempt as failed: `weir validate` checks it first).
fn callback_url(engine: &Engine, subscription: &WebhookSubscription) -> String {
    engine
        .delivery_url(subscription)
        .map_or_else(|_| subscription.url.clone(), |url| url.to_string())
}

/// A payload to start from, made to pass the first subscription's filter: a record with
/// an id, the `direction` it asks for, and a `prev_state` that differs in the first of
/// its `fields` (or in `status`) when it asks for fields or the previous state.
pub fn default_payload(app: &AppDefinition, event: &str) -> Value {
    let subscription = app
        .extension_webhooks
        .iter()
        .find_map(|webhook| subscribed(webhook, event));
    let mut data = json!({"id": "1000000000001"});
    let mut before = None;
    if let Some(subscription) = subscription {
        if let Some(direction) = &subscription.direction {
            data["direction"] = json!(direction);
        }
        if subscription.include_prev_state || !subscription.fields.is_empty() {
            let field = subscription.fields.first().map_or("status", String::as_str);
            let mut previous = data.clone();
            previous[field] = json!("old value");
            data[field] = json!("new value");
            before = Some(previous);
        }
    }
    let mut payload = json!({"data": data});
    if let Some(before) = before {
        payload["prev_state"] = before;
    }
    payload
}
