//! Simulate: run the handler of one event with a payload the developer wrote, and show
//! everything it did: its record (status, console, error, `renderData`), each outbound
//! request (`$request`, `$webhooks`, `apiClient`) and each `$db` change; whether a
//! lifecycle handler's answer would refuse the install (or uninstall, or update); and
//! the required iparams it ran without. A Zoho Desk event has no handler: it shows what
//! the extension webhooks' URLs would receive (`extension`).

use serde::Serialize;
use serde_json::{Value, json};
use weir_core::{AppDefinition, ConsoleLine, Installation, InvocationRecord, InvocationStatus};
use weir_engine::host::recording::RecordedCall;
use weir_engine::{envelope, lifecycle};
use weir_sandbox::{DbCall, DbOperation, HostCall, HostError, RequestCall};

use super::events::{self, Kind, Simulated};
use super::extension::{self, Preview};
use super::workspace::{Current, Workspace};

/// What `POST /web/simulate` answers: a handler's run, or for a Zoho Desk event the
/// deliveries it would make.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Outcome {
    Run(Box<Simulation>),
    Preview(Preview),
}

#[derive(Debug, Serialize)]
pub struct Simulation {
    /// The handler succeeded and, for a lifecycle event, agreed.
    pub ok: bool,
    pub status: InvocationStatus,
    /// A lifecycle handler's "no", as an install (uninstall, update) would take it: the
    /// message of its `renderData(error)`, or why its run counts as one.
    pub refused: Option<String>,
    /// What the developer should know about how it ran, e.g. required iparams unset.
    pub warnings: Vec<String>,
    pub event: String,
    pub duration_ms: u64,
    pub handler: String,
    pub console: Vec<ConsoleLine>,
    pub error: Option<String>,
    pub stack: Option<String>,
    pub render: Option<Value>,
    pub result: Option<Value>,
    pub requests: Vec<Request>,
    pub db_changes: Vec<DbChange>,
    pub invocation_id: String,
}

#[derive(Debug, Serialize)]
pub struct Request {
    /// The platform call, e.g. `request.url`.
    pub call: String,
    /// What was asked, e.g. `GET https://api.example.com/x`.
    pub summary: String,
    pub status: Option<u64>,
    pub error: Option<String>,
    pub duration_ms: u64,
}

#[derive(Debug, Serialize)]
pub struct DbChange {
    /// `set`, `update` or `delete`.
    pub op: String,
    pub key: String,
    /// The entry as it is after the run: `null` once deleted (or expired).
    pub value: Value,
}

#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    /// The app offers no such event.
    #[error("{0}")]
    NoSuchEvent(String),
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// Runs `event` of `product` with `payload`: its fields over the platform's envelope,
/// then the saved iparams and the event's name, as `fdk run` does.
pub async fn run(
    workspace: &Workspace,
    current: &Current,
    product: &str,
    event: &str,
    payload: Value,
) -> Result<Outcome, SimulateError> {
    let Value::Object(given) = payload else {
        return Err(SimulateError::BadRequest(
            "payload: must be a JSON object (the event's envelope)".into(),
        ));
    };
    let offered = events::offered(&current.definition, product);
    let Some(Simulated { handler, kind, .. }) = offered.into_iter().find(|e| e.name == event)
    else {
        let why = events::not_offered(event, product);
        return Err(SimulateError::NoSuchEvent(format!("event: {why}")));
    };
    if kind == Kind::Extension {
        let preview = extension::preview(workspace, &current.definition, event, given);
        return Ok(Outcome::Preview(preview.await?));
    }
    let installation = workspace.installation().await?;
    let warnings = unset_iparams(&current.definition, &installation)
        .into_iter()
        .collect();
    let mut envelope = envelope::base(&workspace.account, &installation, event);
    let fields = envelope.as_object_mut().expect("an envelope is an object");
    let iparams = fields.remove("iparams").unwrap_or_else(|| json!({}));
    fields.extend(given);
    fields.insert("iparams".into(), iparams);
    fields.insert("event".into(), event.into());
    let (record, calls) = workspace
        .engine
        .run_traced(installation.clone(), event, &handler, envelope)
        .await
        .map_err(|e| SimulateError::Failed(e.into()))?;
    let db_changes = db_changes(workspace, &installation.id, &calls).await?;
    // Judged by the engine's own rule, so that the page says what an install would do.
    let refused = match kind {
        Kind::Lifecycle => lifecycle::refusal(&record),
        _ => None,
    };
    let mut simulation = simulation(record, &calls, db_changes, refused);
    simulation.warnings = warnings;
    Ok(Outcome::Run(Box::new(simulation)))
}

/// The required iparams without a value, as a warning: the handler sees them undefined,
/// and an install would be refused for lacking them. "No value" as the install's check
/// has it: absent, `null` or a blank string.
fn unset_iparams(app: &AppDefinition, installation: &Installation) -> Option<String> {
    let iparams = &installation.iparams;
    let has_value = |name: &str| {
        let value = iparams
            .public
            .get(name)
            .or_else(|| iparams.secure.get(name));
        value.is_some_and(|v| !v.is_null() && v.as_str().is_none_or(|s| !s.trim().is_empty()))
    };
    let unset: Vec<&str> = app
        .iparams
        .iter()
        .filter(|spec| spec.required && !has_value(&spec.name))
        .map(|spec| spec.name.as_str())
        .collect();
    if unset.is_empty() {
        return None;
    }
    Some(format!(
        "Required iparams without a value: {}. The handler ran with them undefined, and an \
         install would be refused for lacking them. Fill them in on the Installation \
         parameters page (/custom_configs).",
        unset.join(", ")
    ))
}

fn simulation(
    record: InvocationRecord,
    calls: &[RecordedCall],
    db_changes: Vec<DbChange>,
    refused: Option<String>,
) -> Simulation {
    Simulation {
        ok: record.status == InvocationStatus::Success && refused.is_none(),
        status: record.status,
        refused,
        warnings: Vec::new(),
        event: record.event,
        duration_ms: record.duration_ms,
        handler: record.handler,
        console: record.console,
        error: record.error,
        stack: record.stack,
        render: record.render,
        result: record.result,
        requests: calls.iter().filter_map(request).collect(),
        db_changes,
        invocation_id: record.id.to_string(),
    }
}

/// An outbound call as the simulator lists it; `None` for calls that are not requests.
fn request(recorded: &RecordedCall) -> Option<Request> {
    let text = |value: &Value| value.as_str().unwrap_or("?").to_owned();
    let summary = match &recorded.call {
        HostCall::Request(RequestCall::Url(request)) => format!(
            "{} {}",
            request.method.as_str().to_uppercase(),
            text(&request.url)
        ),
        HostCall::Request(RequestCall::Template(request)) => {
            format!("template {}", text(&request.name))
        }
        HostCall::TriggerWebhook(trigger) => {
            format!("registered webhook {}", webhook_name(&trigger.webhook_id))
        }
        HostCall::ApiClient(call) => format!("{} {}", recorded.call.name(), text(&call.path)),
        HostCall::NodeHttp(request) => format!(
            "{} {}",
            text(&request.method).to_uppercase(),
            text(&request.url)
        ),
        HostCall::Db(_)
        | HostCall::Entity(_)
        | HostCall::Schedule(_)
        | HostCall::GenerateTargetUrl { .. } => {
            return None;
        }
    };
    let (status, error) = match &recorded.answer {
        Ok(answer) => (answer["status"].as_u64(), None),
        Err(error) => (error.status().map(u64::from), Some(error_message(error))),
    };
    Some(Request {
        call: recorded.call.name().to_owned(),
        summary,
        status,
        error,
        duration_ms: recorded.duration.as_millis() as u64,
    })
}

/// `$webhooks.trigger`'s first argument: the webhook's name, or options naming it.
fn webhook_name(webhook_id: &Value) -> String {
    match webhook_id {
        Value::String(name) => name.clone(),
        Value::Object(options) => options
            .get("name")
            .or_else(|| options.get("webhook"))
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned(),
        _ => "?".into(),
    }
}

/// The error's text, else the whole error as the app sees it.
fn error_message(error: &HostError) -> String {
    error
        .text()
        .map_or_else(|| error.to_json().to_string(), str::to_owned)
}

/// Each key the handler changed, in the order of its first change, with the last
/// operation on it and its value after the run.
async fn db_changes(
    workspace: &Workspace,
    installation: &weir_core::InstallationId,
    calls: &[RecordedCall],
) -> anyhow::Result<Vec<DbChange>> {
    let mut changed: Vec<(&str, &str)> = Vec::new();
    for recorded in calls.iter().filter(|c| c.answer.is_ok()) {
        let HostCall::Db(DbCall { key, operation }) = &recorded.call else {
            continue;
        };
        let Some(key) = key.as_str() else {
            continue;
        };
        if matches!(operation, DbOperation::Get) {
            continue; // a read changes nothing
        }
        match changed.iter_mut().find(|(k, _)| *k == key) {
            Some(seen) => seen.1 = operation.name(),
            None => changed.push((key, operation.name())),
        }
    }
    let store = workspace.engine.store();
    let mut changes = Vec::with_capacity(changed.len());
    for (key, op) in changed {
        let stored = store.app_data(installation, key, weir_core::now()).await?;
        changes.push(DbChange {
            op: op.to_owned(),
            key: key.to_owned(),
            value: stored.map_or(Value::Null, |data| data.value),
        });
    }
    Ok(changes)
}
