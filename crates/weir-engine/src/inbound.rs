//! Third parties' webhooks, taken in (seeds 000 and 002):
//!
//! - a request to an installation's target URL becomes a durable `onExternalEvent` for
//!   that installation ([`accept_external`]);
//! - a request to a connector's global webhook runs its `handle` at once, and each event
//!   it returns becomes a durable event for every installation whose selector matches
//!   ([`global_webhook`]); the selectors come from each installation's
//!   `getEventSelector` ([`refresh_selectors`]).
//!
//! Either way the sender is answered only after the events are committed, and the
//! handlers run later, through the dispatcher.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};
use weir_core::{
    AppEvent, AppId, ConnectorEventKind, EventId, EventSource, Installation, InstallationStatus,
    InvocationStatus, Method, ProductEvent,
};
use weir_store::{DirectedEvent, EventSelector, GlobalWebhookCount, NewJob, StoreError};

use crate::apps::{LoadError, LoadedApp};
use crate::mapping;
use crate::runner::{RunError, Runner};

#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    #[error("installation {0} is uninstalled; its target URL is gone")]
    Gone(weir_core::InstallationId),
    #[error(
        "the app of installation {0} takes no external events (it has no onExternalEvent handler)"
    )]
    NoHandler(weir_core::InstallationId),
    #[error("more than {per_minute} requests a minute for this installation")]
    RateLimited {
        per_minute: u32,
        retry_after: Duration,
    },
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A request to a target URL, as the handler will see it.
#[derive(Debug, Clone)]
pub struct ExternalRequest {
    /// The body, parsed by its content type.
    pub data: Value,
    pub headers: Map<String, Value>,
    /// `?options=` of the URL (`generateTargetUrl(options)`).
    pub options: Option<String>,
    /// The body as sent, kept where parsing changed its form (XML).
    pub raw_body: Option<String>,
}

/// Stores the request as an `onExternalEvent` for the installation, durably; its handler
/// runs through the dispatcher.
pub async fn accept_external(
    runner: &Runner,
    installation: &Installation,
    request: ExternalRequest,
) -> Result<EventId, InboundError> {
    if installation.status == InstallationStatus::Uninstalled {
        return Err(InboundError::Gone(installation.id.clone()));
    }
    let app = runner.app(&installation.app_id).await?;
    let handler = app
        .definition
        .handler_for(&EventSource::External, AppEvent::External.name())
        .ok_or_else(|| InboundError::NoHandler(installation.id.clone()))?;
    let platform = runner.platform();
    if let Err(retry_after) = platform.external_events.check(&installation.id) {
        return Err(InboundError::RateLimited {
            per_minute: platform.settings.external_events_per_minute,
            retry_after,
        });
    }
    let mut body = json!({"data": request.data, "headers": request.headers});
    if let Some(options) = request.options {
        body["options"] = json!(options);
    }
    if let Some(raw) = request.raw_body {
        body["raw_body"] = json!(raw);
    }
    let event = ProductEvent {
        id: EventId::generate(),
        account_id: installation.account_id.clone(),
        source: EventSource::External,
        name: AppEvent::External.name().into(),
        body,
        idempotency_key: None,
        received_at: weir_core::now(),
    };
    let id = event.id.clone();
    let job = NewJob {
        installation_id: installation.id.clone(),
        handler,
        max_attempts: app.definition.max_attempts,
    };
    platform
        .store
        .ingest_directed(&[DirectedEvent {
            event,
            jobs: vec![job],
        }])
        .await?;
    platform.wake(weir_store::WorkQueue::Jobs);
    Ok(id)
}

#[derive(Debug, thiserror::Error)]
pub enum GlobalError {
    #[error("app {app} has no global webhook {key:?}")]
    Unknown { app: AppId, key: String },
    #[error("the global webhook's handle failed: {0}")]
    HandleFailed(String),
    #[error("the global webhook's handle returned {0}")]
    BadResult(String),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A request to a global webhook: what `handle` gets.
#[derive(Debug, Clone)]
pub struct GlobalRequest {
    pub query: Map<String, Value>,
    pub data: Value,
    pub headers: Map<String, Value>,
    /// The exact bytes, as text, for signature checks.
    pub raw_body: String,
}

/// What `handle` answers the sender (200 with no body when it gives no `response`).
#[derive(Debug, Clone, PartialEq)]
pub struct GlobalResponse {
    pub status: u16,
    pub headers: Map<String, Value>,
    pub data: Option<Value>,
}

/// The app version a global webhook URL names: a version's id (the URL of that version),
/// or the app's name, which stays put across versions and stands for the newest.
pub async fn global_webhook_app(runner: &Runner, named: &str) -> Result<Option<AppId>, StoreError> {
    let store = &runner.platform().store;
    // Ids and names look alike (`chat` could be either): a version's id is looked for
    // first.
    if let Ok(id) = AppId::parse(named)
        && store.app(&id).await?.is_some()
    {
        return Ok(Some(id));
    }
    let Ok(name) = weir_core::AppName::parse(named) else {
        return Ok(None);
    };
    let latest = store.latest_app(&name).await?;
    Ok(latest.map(|app| app.id))
}

/// Runs the global webhook `key` of app version `app_id` and routes the events it
/// returns to the installations of that app (any version) whose selectors match, as
/// durable events, before answering.
pub async fn global_webhook(
    runner: &Runner,
    app_id: &AppId,
    key: &str,
    request: GlobalRequest,
) -> Result<GlobalResponse, GlobalError> {
    let unknown = || GlobalError::Unknown {
        app: app_id.clone(),
        key: key.to_owned(),
    };
    let app = match runner.app(app_id).await {
        Err(LoadError::Missing(_)) => return Err(unknown()),
        other => other?,
    };
    let webhook = app
        .definition
        .global_webhooks
        .iter()
        .find(|webhook| webhook.key == key)
        .ok_or_else(unknown)?;
    let name = app_name(runner, app_id).await?;
    let parameters = connector_parameters(runner.platform().store.as_ref(), &name).await?;
    let args = json!({
        "query": request.query,
        "data": request.data,
        // The docs' examples destructure `body`; the argument list says `data`.
        "body": request.data,
        "headers": request.headers,
        "parameters": parameters,
        "rawBody": request.raw_body,
    });
    let result = run_method(runner, &app, &webhook.handle, args).await?;
    let (events, response) = handle_result(result)?;
    let received_at = weir_core::now();
    let mut directed = Vec::new();
    let (mut unmatched, mut last_unmatched) = (0, None);
    for (selector, payload) in events {
        let routes = runner
            .platform()
            .store
            .selected(&name, key, &selector)
            .await?;
        let mut routed = false;
        for route in routes {
            if let Some(event) = routed_event(runner, &route, key, &payload, received_at).await? {
                directed.push(event);
                routed = true;
            }
        }
        if !routed {
            unmatched += 1;
            last_unmatched = Some(selector);
        }
    }
    let store = &runner.platform().store;
    store.ingest_directed(&directed).await?;
    if !directed.is_empty() {
        runner.platform().wake(weir_store::WorkQueue::Jobs);
    }
    store
        .count_global_webhook(&GlobalWebhookCount {
            app: app_id,
            webhook_key: key,
            events_routed: directed.len() as u64,
            events_unmatched: unmatched,
            last_unmatched: last_unmatched.as_deref(),
            at: received_at,
        })
        .await?;
    Ok(response)
}

/// Runs a connector method that needs no installation: JavaScript in the sandbox (with
/// the global `handle` time limit), or a mapping over `args`.
async fn run_method(
    runner: &Runner,
    app: &LoadedApp,
    method: &Method,
    args: Value,
) -> Result<Value, GlobalError> {
    match method {
        Method::Mapping { mapping, .. } => {
            mapping::evaluate(mapping, &args).map_err(|e| GlobalError::HandleFailed(e.0))
        }
        Method::JavaScript { path } => {
            let time = runner.platform().settings.global_handle_time;
            let outcome = runner.run_unattached(app, path, args, time).await;
            match outcome.status {
                weir_core::InvocationStatus::Success => Ok(outcome.value.unwrap_or(Value::Null)),
                _ => Err(GlobalError::HandleFailed(
                    outcome.error.unwrap_or_else(|| "it failed".into()),
                )),
            }
        }
    }
}

/// `{events?: [{selector, payload}], response?: {status?, headers?, data?}}`.
fn handle_result(result: Value) -> Result<(Vec<(String, Value)>, GlobalResponse), GlobalError> {
    let mut events = Vec::new();
    for (i, event) in events_of(&result)
        .map_err(GlobalError::BadResult)?
        .iter()
        .enumerate()
    {
        let selector = match event.get("selector") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            other => {
                return Err(GlobalError::BadResult(format!(
                    "events[{i}].selector {}: it must be a string",
                    other.map_or("missing".into(), Value::to_string)
                )));
            }
        };
        let payload = event.get("payload").cloned().unwrap_or(Value::Null);
        events.push((selector, payload));
    }
    let response = response_of(&result).map_err(GlobalError::BadResult)?;
    Ok((events, response))
}

/// The `events` array of a connector `handle`'s result (none when absent).
pub(crate) fn events_of(result: &Value) -> Result<&[Value], String> {
    match result.get("events") {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(list)) => Ok(list),
        Some(other) => Err(format!("events = {other}: it must be an array")),
    }
}

/// The `response` of a connector `handle`'s result: 200 with no body when absent.
pub(crate) fn response_of(result: &Value) -> Result<GlobalResponse, String> {
    let response = match result.get("response") {
        None | Some(Value::Null) => {
            return Ok(GlobalResponse {
                status: 200,
                headers: Map::new(),
                data: None,
            });
        }
        Some(Value::Object(response)) => response,
        Some(other) => return Err(format!("response = {other}: it must be an object")),
    };
    let status = match response.get("status") {
        None | Some(Value::Null) => 200,
        Some(status) => status
            .as_u64()
            .filter(|s| (100..=599).contains(s))
            .map(|s| s as u16)
            .ok_or_else(|| format!("response.status = {status}: not an HTTP status"))?,
    };
    Ok(GlobalResponse {
        status,
        headers: match response.get("headers") {
            Some(Value::Object(headers)) => headers.clone(),
            _ => Map::new(),
        },
        data: response.get("data").cloned().filter(|d| !d.is_null()),
    })
}

/// The connector parameters the operator set for the app named `name` (every version),
/// secure ones included: what `handle` gets as `parameters`, e.g. the secret that signs
/// the third party's requests.
async fn connector_parameters(
    store: &dyn weir_store::Store,
    name: &weir_core::AppName,
) -> Result<Map<String, Value>, StoreError> {
    let stored = store.app_parameters(name).await?;
    let mut parameters = stored.public;
    parameters.extend(stored.secure);
    Ok(parameters)
}

/// `connector_parameters` of the app that version `app_id` is of (none for an app gone).
pub(crate) async fn connector_parameters_of(
    runner: &Runner,
    app_id: &AppId,
) -> Result<Map<String, Value>, StoreError> {
    let store = runner.platform().store.as_ref();
    match store.app(app_id).await? {
        Some(app) => connector_parameters(store, &app.name).await,
        None => Ok(Map::new()),
    }
}

/// The name shared by every version of the app: events route by it, so an installation of
/// a newer version keeps getting the events the older version's URL receives.
async fn app_name(runner: &Runner, app_id: &AppId) -> Result<weir_core::AppName, GlobalError> {
    let app = runner.platform().store.app(app_id).await?;
    Ok(app.ok_or_else(|| LoadError::Missing(app_id.clone()))?.name)
}

/// The event for one matched installation, unless its app has no handler for it.
async fn routed_event(
    runner: &Runner,
    route: &EventSelector,
    key: &str,
    payload: &Value,
    received_at: jiff::Timestamp,
) -> Result<Option<DirectedEvent>, GlobalError> {
    let store = &runner.platform().store;
    let Some(installation) = store.installation(&route.installation_id).await? else {
        return Ok(None);
    };
    let app = runner.app(&installation.app_id).await?;
    let Some(handler) = app
        .definition
        .handler_for(&EventSource::Connector, &route.event_key)
    else {
        tracing::warn!(installation = %installation.id, event = route.event_key, "a routed connector event has no handler");
        return Ok(None);
    };
    let event = ProductEvent {
        id: EventId::generate(),
        account_id: installation.account_id.clone(),
        source: EventSource::Connector,
        name: route.event_key.clone(),
        body: json!({"data": payload, "globalWebhookKey": key, "selector": route.selector}),
        idempotency_key: None,
        received_at,
    };
    Ok(Some(DirectedEvent {
        event,
        jobs: vec![NewJob {
            installation_id: installation.id,
            handler,
            max_attempts: app.definition.max_attempts,
        }],
    }))
}

#[derive(Debug, thiserror::Error)]
pub enum SelectorError {
    #[error("getEventSelector of {event} failed: {message}")]
    Failed { event: String, message: String },
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Runs `getEventSelector` of each global-webhook event of the installation's app and
/// stores what each gives; returns the selectors.
pub async fn refresh_selectors(
    runner: &Runner,
    installation: Arc<Installation>,
) -> Result<Vec<EventSelector>, SelectorError> {
    let app = runner.app(&installation.app_id).await?;
    let mut selectors = Vec::new();
    for event in &app.definition.connector_events {
        let ConnectorEventKind::GlobalWebhook { selector } = &event.kind else {
            continue;
        };
        let failed = |message: String| SelectorError::Failed {
            event: event.key.clone(),
            message,
        };
        let result = match selector {
            Method::Mapping { mapping, .. } => {
                let iparams = &installation.iparams;
                let mut parameters = connector_parameters_of(runner, &installation.app_id).await?;
                parameters.extend(iparams.public.clone());
                let input = json!({"parameters": parameters, "credentials": iparams.secure});
                mapping::evaluate(mapping, &input).map_err(|e| failed(e.0))?
            }
            Method::JavaScript { path } => {
                let record = runner
                    .run_connector_method(installation.clone(), "getEventSelector", path, json!({}))
                    .await?;
                if record.status != InvocationStatus::Success {
                    return Err(failed(record.error.unwrap_or_else(|| "it failed".into())));
                }
                record.result.unwrap_or(Value::Null)
            }
        };
        let text = |field: &str| match result.get(field) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            other => Err(failed(format!(
                "{field} is {}; it must be a non-empty string",
                other.map_or("missing".into(), Value::to_string)
            ))),
        };
        let webhook_key = text("globalWebhookKey")?;
        if !app
            .definition
            .global_webhooks
            .iter()
            .any(|w| w.key == webhook_key)
        {
            return Err(failed(format!(
                "globalWebhookKey {webhook_key:?} is not a global webhook of the app"
            )));
        }
        let selector = EventSelector {
            installation_id: installation.id.clone(),
            event_key: event.key.clone(),
            app_name: installation.app_name.clone(),
            webhook_key,
            selector: text("globalWebhookEventSelector")?,
            updated_at: weir_core::now(),
        };
        runner.platform().store.put_selector(&selector).await?;
        selectors.push(selector);
    }
    Ok(selectors)
}
