//! `$webhooks.trigger(webhookId, data, headers, queryParams)`: a registered webhook,
//! called server-side (see `registered_webhooks`). The promise resolves with
//! `{referenceId, status, data, error}` when the endpoint was tried, and rejects with
//! `{status, message}` when the call breaks a rule of its registration.

use serde_json::{Value, json};

use crate::host::CallContext;
use crate::platform::Platform;
use crate::registered_webhooks::{self, Trigger};

pub async fn trigger(
    platform: &Platform,
    context: &CallContext,
    args: &Value,
) -> Result<Value, Value> {
    let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
    let Value::String(webhook_id) = arg(0) else {
        return Err(json!({"status": 400, "message": "webhookId: must be a string"}));
    };
    let trigger = Trigger {
        webhook_id,
        data: arg(1),
        headers: arg(2),
        query_params: arg(3),
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
    .map_err(|error| json!({"status": error.status(), "message": error.to_string()}))
}
