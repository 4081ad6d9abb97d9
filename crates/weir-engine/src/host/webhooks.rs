//! `$webhooks.trigger(webhookId, data, headers, queryParams)`: a registered webhook,
//! called server-side (see `registered_webhooks`). The promise resolves with
//! `{referenceId, status, data, error}` when the endpoint was tried, and rejects with
//! `{status, message}` when the call breaks a rule of its registration.

use serde_json::Value;
use weir_sandbox::{HostError, HostResult, WebhookTrigger};

use crate::host::CallContext;
use crate::platform::Platform;
use crate::registered_webhooks::{self, Trigger};

pub async fn trigger(
    platform: &Platform,
    context: &CallContext,
    trigger: WebhookTrigger,
) -> HostResult {
    let Value::String(webhook_id) = trigger.webhook_id else {
        return Err(HostError::new(400, "webhookId: must be a string"));
    };
    let trigger = Trigger {
        webhook_id,
        data: trigger.data,
        headers: trigger.headers,
        query_params: trigger.query_params,
    };
    let chain = context.chain.clone();
    registered_webhooks::trigger(
        platform,
        &context.installation,
        &context.app,
        trigger,
        chain,
    )
    .await
    .map(|triggered| triggered.to_json())
    .map_err(|error| HostError::new(error.status(), error.to_string()))
}
