//! Connector `webhook` events (REFERENCE §4 1.4): the app subscribes each installation
//! with the third party itself.
//!
//! - at install, `subscribe({webhookUri, parameters})` for each such event, where
//!   `webhookUri` is `<target URL>/events/<event key>`; its `state` is kept;
//! - each request to that URI runs `handle({query, data, headers, state, parameters,
//!   rawBody})` at once; the events it returns become durable events for the
//!   installation, its `state` (if any) replaces the kept one, and its `response` answers
//!   the sender;
//! - `refresh({state, webhookUri, parameters})` runs when its `nextRefreshTimestamp` (ms)
//!   comes (`connector_refresher`);
//! - at uninstall, `unsubscribe({state, parameters})`; the third party answering 404
//!   (the webhook is gone already) counts as success.

use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Value, json};
use weir_core::{
    ConnectorEventKind, EventId, EventSource, Installation, InvocationStatus, Method, ProductEvent,
    WebhookMethods,
};
use weir_store::{ConnectorSubscription, DirectedEvent, NewJob, StoreError};

use crate::inbound::{self, GlobalRequest, GlobalResponse};
use crate::runner::{RunError, Runner};

#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    #[error("installation {installation} has no webhook event {event:?}")]
    Unknown { installation: String, event: String },
    #[error("{method} of {event} failed: {message}")]
    Failed {
        method: &'static str,
        event: String,
        message: String,
    },
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where the third party posts one webhook event of one installation.
pub fn webhook_uri(target_url: &str, event_key: &str) -> String {
    format!("{target_url}/events/{event_key}")
}

/// The app's `webhook` events, with their methods.
fn webhook_events(app: &weir_core::AppDefinition) -> Vec<(&str, &WebhookMethods)> {
    app.connector_events
        .iter()
        .filter_map(|event| match &event.kind {
            ConnectorEventKind::Webhook(methods) => Some((event.key.as_str(), methods.as_ref())),
            ConnectorEventKind::GlobalWebhook { .. } => None,
        })
        .collect()
}

/// Runs `subscribe` for each webhook event of the installation's app and keeps the states.
pub async fn subscribe_all(
    runner: &Runner,
    installation: Arc<Installation>,
) -> Result<(), ConnectorError> {
    let app = runner
        .app(&installation.app_id)
        .await
        .map_err(RunError::from)?;
    let target_url = runner.target_url(&installation);
    for (key, methods) in webhook_events(&app.definition) {
        let args = json!({"webhookUri": webhook_uri(&target_url, key)});
        let result = call(
            runner,
            &installation,
            key,
            "subscribe",
            &methods.subscribe,
            args,
        )
        .await?;
        keep(runner, &installation, key, result["state"].clone(), &result).await?;
    }
    Ok(())
}

/// Runs `unsubscribe` for each kept subscription of the installation.
pub async fn unsubscribe_all(
    runner: &Runner,
    installation: Arc<Installation>,
) -> Result<(), ConnectorError> {
    let app = runner
        .app(&installation.app_id)
        .await
        .map_err(RunError::from)?;
    let store = &runner.platform().store;
    for (key, methods) in webhook_events(&app.definition) {
        let Some(kept) = store.connector_subscription(&installation.id, key).await? else {
            continue;
        };
        let args = json!({"state": kept.state});
        match call(
            runner,
            &installation,
            key,
            "unsubscribe",
            &methods.unsubscribe,
            args,
        )
        .await
        {
            Err(ConnectorError::Failed { message, .. }) if is_not_found(&message) => {}
            other => {
                other?;
            }
        }
    }
    Ok(())
}

/// An `apiClient` rejection for a 404 that the method did not catch: the error the
/// `apiClient` throws (`Error: DELETE /hooks/7 answered 404`, see `host::api_client`), or
/// a rejection value of `{"status": 404, …}`.
fn is_not_found(message: &str) -> bool {
    message.starts_with("Error: ") && message.ends_with(" answered 404")
        || serde_json::from_str::<Value>(message).is_ok_and(|error| error["status"] == 404)
}

/// A request to the installation's webhook URI for `event_key`: runs `handle`, stores the
/// events it returns for the installation, keeps its new `state`, and gives its response.
pub async fn handle(
    runner: &Runner,
    installation: Arc<Installation>,
    event_key: &str,
    request: GlobalRequest,
) -> Result<GlobalResponse, ConnectorError> {
    let unknown = || ConnectorError::Unknown {
        installation: installation.id.to_string(),
        event: event_key.to_owned(),
    };
    let app = runner
        .app(&installation.app_id)
        .await
        .map_err(RunError::from)?;
    let events = webhook_events(&app.definition);
    let (key, methods) = events
        .into_iter()
        .find(|(key, _)| *key == event_key)
        .ok_or_else(unknown)?;
    let store = &runner.platform().store;
    let kept = store.connector_subscription(&installation.id, key).await?;
    let state = kept.as_ref().map_or(Value::Null, |k| k.state.clone());
    let args = json!({
        "query": request.query,
        "data": request.data,
        "body": request.data,
        "headers": request.headers,
        "state": state,
        "rawBody": request.raw_body,
        "webhookUri": webhook_uri(&runner.target_url(&installation), key),
    });
    let result = call(runner, &installation, key, "handle", &methods.handle, args).await?;
    if let Some(state) = result.get("state").filter(|s| !s.is_null()) {
        let refresh_at = kept.and_then(|k| k.refresh_at);
        put(runner, &installation, key, state.clone(), refresh_at).await?;
    }
    let handler = app.definition.handler_for(&EventSource::Connector, key);
    let failed = |message: String| ConnectorError::Failed {
        method: "handle",
        event: key.to_owned(),
        message: format!("it returned {message}"),
    };
    let events = inbound::events_of(&result).map_err(failed)?.to_vec();
    let response = inbound::response_of(&result).map_err(failed)?;
    if let Some(handler) = handler {
        let received_at = weir_core::now();
        let directed: Vec<DirectedEvent> = events
            .into_iter()
            .map(|payload| DirectedEvent {
                event: ProductEvent {
                    id: EventId::generate(),
                    account_id: installation.account_id.clone(),
                    source: EventSource::Connector,
                    name: key.to_owned(),
                    body: json!({"data": payload}),
                    idempotency_key: None,
                    received_at,
                },
                jobs: vec![NewJob {
                    installation_id: installation.id.clone(),
                    handler: handler.clone(),
                    max_attempts: app.definition.max_attempts,
                }],
            })
            .collect();
        store.ingest_directed(&directed).await?;
        if !directed.is_empty() {
            runner.platform().wake(weir_store::WorkQueue::Jobs);
        }
    }
    Ok(response)
}

/// Runs a connector method for the installation and returns its result.
async fn call(
    runner: &Runner,
    installation: &Arc<Installation>,
    event: &str,
    method: &'static str,
    implementation: &Method,
    args: Value,
) -> Result<Value, ConnectorError> {
    let failed = |message: String| ConnectorError::Failed {
        method,
        event: event.to_owned(),
        message,
    };
    let Method::JavaScript { path } = implementation else {
        return Err(failed("only JavaScript methods are supported here".into()));
    };
    let record = runner
        .run_connector_method(installation.clone(), method, path, args)
        .await?;
    match record.status {
        InvocationStatus::Success => Ok(record.result.unwrap_or(Value::Null)),
        _ => Err(failed(record.error.unwrap_or_else(|| "it failed".into()))),
    }
}

/// Keeps `state` and the refresh the method's result asks for (`nextRefreshTimestamp`).
async fn keep(
    runner: &Runner,
    installation: &Installation,
    key: &str,
    state: Value,
    result: &Value,
) -> Result<(), ConnectorError> {
    let refresh_at = result["nextRefreshTimestamp"]
        .as_i64()
        .and_then(|ms| Timestamp::from_millisecond(ms).ok());
    put(runner, installation, key, state, refresh_at).await
}

async fn put(
    runner: &Runner,
    installation: &Installation,
    key: &str,
    state: Value,
    refresh_at: Option<Timestamp>,
) -> Result<(), ConnectorError> {
    let subscription = ConnectorSubscription {
        installation_id: installation.id.clone(),
        event_key: key.to_owned(),
        state,
        refresh_at,
        updated_at: weir_core::now(),
    };
    let platform = runner.platform();
    platform
        .store
        .put_connector_subscription(&subscription)
        .await?;
    platform.wake(weir_store::WorkQueue::Refreshes);
    Ok(())
}

/// Runs the due subscription's `refresh` method and keeps what it returns.
pub(crate) async fn refresh(
    runner: &Runner,
    due: &ConnectorSubscription,
) -> Result<(), ConnectorError> {
    let store = &runner.platform().store;
    let Some(installation) = store.installation(&due.installation_id).await? else {
        return Ok(());
    };
    let installation = Arc::new(installation);
    let app = runner
        .app(&installation.app_id)
        .await
        .map_err(RunError::from)?;
    let Some((key, methods)) = webhook_events(&app.definition)
        .into_iter()
        .find(|(key, _)| *key == due.event_key)
    else {
        return Ok(());
    };
    let Some(method) = &methods.refresh else {
        return put(runner, &installation, key, due.state.clone(), None).await;
    };
    let args = json!({
        "state": due.state,
        "webhookUri": webhook_uri(&runner.target_url(&installation), key),
    });
    let result = call(runner, &installation, key, "refresh", method, args).await?;
    let state = match result.get("state") {
        Some(state) if !state.is_null() => state.clone(),
        _ => due.state.clone(),
    };
    keep(runner, &installation, key, state, &result).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_404_of_the_third_party_counts_as_unsubscribed() {
        assert!(is_not_found("Error: DELETE /hooks/7 answered 404"));
        assert!(is_not_found(r#"{"status":404,"message":"gone"}"#));
        assert!(!is_not_found("Error: DELETE /hooks/7 answered 500"));
        assert!(!is_not_found("TypeError: state is undefined"));
        assert!(!is_not_found(r#"{"status":403}"#));
    }
}
