//! The named schemas of the document: what each body the API reads or answers holds.
//!
//! Answers are closed (`additionalProperties: false`) and list every field they always
//! carry as required, so that a field added to a view without being described here fails
//! the schemathesis run (`crates/weir/tests/openapi.rs`) rather than going unnoticed.
//! Request bodies are closed too, as their types refuse unknown fields.

use serde_json::{Map, Value, json};

use super::operation::named;

pub(super) fn all() -> Value {
    let schemas: Vec<(&str, Value)> = vec![
        ("Error", error()),
        ("Account", account()),
        ("NewAccount", new_account()),
        ("AccountChange", account_change()),
        ("ApiKey", api_key()),
        ("ApiKeyList", api_key_list()),
        ("NewApiKey", input(json!({"name": nullable(string())}), &[])),
        ("CreatedApiKey", created_api_key()),
        ("App", app()),
        ("GlobalWebhook", global_webhook()),
        ("AppParameters", app_parameters()),
        ("AppParametersView", app_parameters_view()),
        ("Installation", installation()),
        ("NewInstallation", new_installation()),
        ("EventSelector", event_selector()),
        ("ClientToken", client_token()),
        ("TriggerRequest", trigger_request()),
        ("TriggerResult", trigger_result()),
        ("WebhookInvocation", webhook_invocation()),
        ("PostedEvent", posted_event()),
        ("PostedEvents", posted_events()),
        ("AcceptedEvent", accepted_event()),
        ("AcceptedEvents", accepted_events()),
        ("Event", event()),
        ("EventSummary", event_summary()),
        ("Job", job()),
        ("InvocationRecord", invocation_record()),
        ("Subscription", subscription()),
        ("NewSubscription", new_subscription()),
        ("SubscriptionUpdate", subscription_update()),
        ("SecretRotation", secret_rotation()),
        ("OperationalWebhook", operational_webhook()),
        ("NewOperationalWebhook", new_operational_webhook()),
        ("OperationalWebhookUpdate", operational_webhook_update()),
        ("Recovery", input(json!({"since": timestamp()}), &["since"])),
        ("Recovered", output(json!({"recovered": count()}))),
        ("Delivery", delivery()),
        ("Attempt", attempt()),
        ("DeliveryReplayed", delivery_replayed()),
        (
            "PortalLinkRequest",
            input(
                json!({"expires_in_seconds": {"type": "integer", "minimum": 60, "maximum": 86400}}),
                &[],
            ),
        ),
        (
            "PortalLink",
            output(json!({"url": string(), "token": string(), "expires_at": timestamp()})),
        ),
        ("OAuthState", oauth_state()),
        ("OAuthIntegration", oauth_integration()),
        ("AuthorizeRequest", authorize_request()),
        ("Authorization", authorization()),
        ("GivenToken", given_token()),
        ("Authorized", authorized()),
        ("Status", output(json!({"status": string()}))),
        ("InboundAnswer", inbound_answer()),
    ];
    let map: Map<String, Value> = schemas
        .into_iter()
        .map(|(name, schema)| (name.to_owned(), schema))
        .collect();
    Value::Object(map)
}

// The building blocks.

fn string() -> Value {
    json!({"type": "string"})
}

fn text(description: &str) -> Value {
    json!({"type": "string", "description": description})
}

fn timestamp() -> Value {
    json!({"type": "string", "format": "date-time"})
}

fn count() -> Value {
    json!({"type": "integer", "minimum": 0})
}

fn boolean() -> Value {
    json!({"type": "boolean"})
}

fn any_object() -> Value {
    json!({"type": "object"})
}

fn strings() -> Value {
    json!({"type": "array", "items": string()})
}

fn one_of_strings(values: &[&str]) -> Value {
    json!({"type": "string", "enum": values})
}

/// The value, or null.
fn nullable(schema: Value) -> Value {
    match schema {
        Value::Object(mut object) => match object.get("type").cloned() {
            Some(Value::String(ty)) => {
                object.insert("type".into(), json!([ty, "null"]));
                if let Some(Value::Array(values)) = object.get_mut("enum") {
                    values.push(Value::Null);
                }
                Value::Object(object)
            }
            _ => json!({"oneOf": [Value::Object(object), {"type": "null"}]}),
        },
        other => json!({"oneOf": [other, {"type": "null"}]}),
    }
}

/// An answer's object: every property present, no other.
fn output(properties: Value) -> Value {
    let required: Vec<&String> = properties
        .as_object()
        .map_or(vec![], |p| p.keys().collect());
    json!({
        "type": "object",
        "required": required,
        "additionalProperties": false,
        "properties": properties,
    })
}

/// An answer's object with properties that may be left out.
fn output_with_optional(properties: Value, optional: &[&str]) -> Value {
    let mut schema = output(properties);
    if let Some(Value::Array(required)) = schema.get_mut("required") {
        required.retain(|name| !optional.iter().any(|o| name == o));
    }
    schema
}

/// A request's object: the required properties, and no unknown ones.
fn input(properties: Value, required: &[&str]) -> Value {
    json!({
        "type": "object",
        "required": required,
        "additionalProperties": false,
        "properties": properties,
    })
}

fn region() -> Value {
    json!({
        "type": "string",
        "enum": ["US", "EU", "EUC", "AUS", "IND"],
        "description": "The data centre the account lives in.",
    })
}

/// An id the operator may choose (`weir_core::ids::is_id`).
fn chosen_id(description: &str) -> Value {
    json!({
        "type": "string",
        "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        "description": description,
    })
}

/// `weir_core::Domain`: a host name.
fn domain() -> Value {
    json!({
        "type": "string",
        "maxLength": 253,
        "pattern": "^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$",
        "description": "A bare host name, e.g. `acme.freshsales.io` (no scheme or path).",
    })
}

/// `weir_core::Product`: a lower-case name.
fn product() -> Value {
    json!({
        "type": "string",
        "pattern": "^[a-z][a-z0-9_]{0,39}$",
        "description": "The host product, e.g. `freshsales`, `zoho_desk`.",
    })
}

fn departments() -> Value {
    json!({
        "type": "array",
        "items": {"type": "string", "minLength": 1, "maxLength": 100},
        "maxItems": 1000,
        "uniqueItems": true,
        "description": "The host product's department ids (Zoho Desk's `departmentIds`).",
    })
}

// The schemas.

fn error() -> Value {
    let detail = output(json!({
        "file": string(),
        "location": text("A JSON pointer or `line:column`; empty when the problem is the whole file."),
        "message": string(),
    }));
    let inner = output_with_optional(
        json!({
            "code": one_of_strings(&[
                "bad_request", "unauthorized", "forbidden", "not_found", "method_not_allowed",
                "request_timeout", "conflict", "gone", "payload_too_large",
                "unsupported_media_type", "unprocessable", "rate_limited", "bad_gateway",
                "unavailable", "internal",
            ]),
            "message": text("What was wrong, and where."),
            "details": {"type": "array", "items": detail, "description": "Itemised problems, e.g. one per file of a broken package."},
        }),
        &["details"],
    );
    output(json!({ "error": inner }))
}

fn account() -> Value {
    output(json!({
        "id": string(),
        "domain": text("A bare host name, e.g. `acme.freshsales.io`."),
        "region": region(),
        "product": text("The host product, e.g. `freshsales`, `zoho_desk`."),
        "departments": departments(),
        "created_at": timestamp(),
        "updated_at": timestamp(),
    }))
}

fn new_account() -> Value {
    input(
        json!({
            "id": nullable(chosen_id("Defaults to a generated `acc_…`.")),
            "domain": domain(),
            "region": region(),
            "product": product(),
            "departments": departments(),
        }),
        &["domain", "region", "product"],
    )
}

fn account_change() -> Value {
    input(
        json!({
            "domain": nullable(domain()),
            "region": nullable(region()),
            "product": nullable(product()),
            "departments": nullable(departments()),
        }),
        &[],
    )
}

fn api_key_properties() -> Value {
    json!({
        "id": string(),
        "account_id": string(),
        "name": nullable(string()),
        "created_at": timestamp(),
    })
}

fn api_key() -> Value {
    output(api_key_properties())
}

fn api_key_list() -> Value {
    output(json!({"data": {"type": "array", "items": named("ApiKey")}}))
}

fn created_api_key() -> Value {
    let mut properties = api_key_properties();
    properties["token"] =
        text("The key itself (`weir_ak_…`): shown this once, stored only as a hash.");
    output(properties)
}

fn app() -> Value {
    output(json!({
        "id": string(),
        "name": string(),
        "version": {"type": "integer", "minimum": 1},
        "platform_version": nullable(string()),
        "package_sha256": text("Hex SHA-256 of the zip as uploaded."),
        "package_size": count(),
        "created_at": timestamp(),
    }))
}

fn global_webhook() -> Value {
    output(json!({
        "key": string(),
        "name": string(),
        "url": text("By the app's name: the newest version answers."),
        "version_url": text("This version's own URL."),
        "requests": count(),
        "events_routed": count(),
        "events_unmatched": count(),
        "last_unmatched": nullable(text("The selector of the last event that matched no installation.")),
        "last_request_at": nullable(timestamp()),
    }))
}

fn app_parameters() -> Value {
    input(
        json!({
            "public": any_object(),
            "secure": {"type": "object", "description": "Kept and passed on, never shown."},
        }),
        &[],
    )
}

fn app_parameters_view() -> Value {
    output(json!({
        "app": text("The app's name: parameters belong to every version."),
        "public": any_object(),
        "secure": {"type": "array", "items": string(), "description": "The names of the secure parameters."},
    }))
}

fn installation() -> Value {
    output(json!({
        "id": string(),
        "account_id": string(),
        "app_id": string(),
        "app_name": string(),
        "status": one_of_strings(&["installing", "active", "uninstalled"]),
        "iparams": any_object(),
        "secure_iparams": {"type": "array", "items": string(), "description": "The names of the secure iparams set; their values are never shown."},
        "departments": departments(),
        "scopes": strings(),
        "target_url": text("Where third parties post this installation's external events."),
        "created_at": timestamp(),
        "updated_at": timestamp(),
    }))
}

fn new_installation() -> Value {
    input(
        json!({
            "app_id": text("The app version to install; a newer version of an installed app updates it."),
            "iparams": any_object(),
            "departments": departments(),
            "scopes": strings(),
        }),
        &["app_id"],
    )
}

fn event_selector() -> Value {
    output(json!({
        "installation_id": string(),
        "event_key": string(),
        "app_name": string(),
        "webhook_key": string(),
        "selector": string(),
        "updated_at": timestamp(),
    }))
}

fn client_token() -> Value {
    output(json!({
        "installation_id": string(),
        "token": text("The client token (`wct_…`): shown this once."),
    }))
}

fn trigger_request() -> Value {
    input(
        json!({
            "data": {"type": ["object", "string", "null"], "description": "The body sent to the webhook."},
            "headers": {"type": "object", "description": "Headers added to the call."},
            "queryParams": {"type": "object", "description": "Query parameters added to the call."},
        }),
        &[],
    )
}

fn trigger_result() -> Value {
    json!({
        "type": "object",
        "description": "What `$webhooks.trigger` resolves to: `{referenceId, status, data, error}` of the call (or of the chain's last).",
    })
}

fn webhook_invocation() -> Value {
    output(json!({
        "reference_id": string(),
        "installation_id": string(),
        "account_id": string(),
        "webhook_id": string(),
        "chain_id": text("The first call of a chain."),
        "method": one_of_strings(&["GET", "POST", "PUT", "PATCH", "DELETE"]),
        "target_host": text("The host called, without the rest of the URL."),
        "request_bytes": count(),
        "response_bytes": count(),
        "status": nullable(json!({"type": "integer"})),
        "error": boolean(),
        "error_message": nullable(string()),
        "duration_ms": count(),
        "started_at": timestamp(),
    }))
}

fn posted_event() -> Value {
    input(
        json!({
            "event": text("The event's name, e.g. `onContactCreate`."),
            "product": nullable(text("The product whose apps hear it; the account's when absent.")),
            "data": any_object(),
            "actor": nullable(json!({"type": "object", "description": "Who did it."})),
            "changes": nullable(any_object()),
            "prev_state": nullable(json!({"type": "object", "description": "The record before an update."})),
            "source_id": {"type": ["string", "integer", "null"], "description": "Events posted with a subscription's `ignoreSourceId` are not delivered to it."},
            "department_id": {"type": ["string", "integer", "null"], "description": "Matched against subscriptions' `departmentIds`."},
            "occurred_at": nullable(timestamp()),
            "idempotency_key": nullable(text("A repeat of a key posts nothing new.")),
        }),
        &["event", "data"],
    )
}

fn posted_events() -> Value {
    json!({
        "oneOf": [
            named("PostedEvent"),
            {"type": "array", "items": named("PostedEvent"), "description": "A batch: stored whole, or refused whole."},
        ],
    })
}

fn accepted_event() -> Value {
    output(json!({
        "id": string(),
        "duplicate": text_bool("True when its idempotency key named an earlier event (whose id this is)."),
        "jobs": count(),
        "deliveries": count(),
    }))
}

fn text_bool(description: &str) -> Value {
    json!({"type": "boolean", "description": description})
}

fn accepted_events() -> Value {
    output(json!({"events": {"type": "array", "items": named("AcceptedEvent")}}))
}

fn event() -> Value {
    json!({
        "type": "object",
        "description": "A posted event, with the fields of its body (`data`, `actor`, `changes`, …) and the handler runs it caused.",
        "required": ["id", "account_id", "product", "event", "idempotency_key", "received_at", "jobs"],
        "properties": {
            "id": string(),
            "account_id": string(),
            "product": string(),
            "event": string(),
            "idempotency_key": nullable(string()),
            "received_at": timestamp(),
            "jobs": {"type": "array", "items": named("Job")},
        },
    })
}

fn event_summary() -> Value {
    output(json!({
        "id": string(),
        "account_id": string(),
        "product": string(),
        "event": string(),
        "idempotency_key": nullable(string()),
        "received_at": timestamp(),
    }))
}

fn job() -> Value {
    output(json!({
        "event_id": string(),
        "installation_id": string(),
        "event": string(),
        "handler": string(),
        "status": one_of_strings(&["pending", "done", "failed", "cancelled"]),
        "attempts": count(),
        "max_attempts": count(),
        "run_at": timestamp(),
        "last_invocation": nullable(string()),
    }))
}

fn invocation_record() -> Value {
    let console_line = output(json!({
        "level": one_of_strings(&["log", "info", "warn", "error"]),
        "text": string(),
    }));
    output(json!({
        "id": string(),
        "installation_id": string(),
        "account_id": string(),
        "app_id": string(),
        "event": string(),
        "handler": string(),
        "status": one_of_strings(&["success", "error", "timeout", "out_of_memory"]),
        "started_at": timestamp(),
        "duration_ms": count(),
        "console": {"type": "array", "items": console_line},
        "console_dropped": count(),
        "error": nullable(string()),
        "stack": nullable(string()),
        "render": {"description": "What the handler passed to `renderData`."},
        "result": {"description": "What the handler returned."},
    }))
}

fn subscription() -> Value {
    output_with_optional(
        json!({
            "id": string(),
            "account_id": string(),
            "type": one_of_strings(&["CUSTOMER_WEBHOOK", "EXTENSION_WEBHOOK", "OPERATIONAL_WEBHOOK"]),
            "installation_id": nullable(string()),
            "url": string(),
            "events": strings(),
            "filters": any_object(),
            "enabled": boolean(),
            "disabled_reason": nullable(string()),
            "timeout_ms": count(),
            "max_in_flight": count(),
            "rate_per_second": nullable(count()),
            "fifo": boolean(),
            "batch_size": count(),
            "linger_ms": count(),
            "failing_since": nullable(timestamp()),
            "signature_scheme": one_of_strings(&["v1", "v1a"]),
            "public_key": text("For `v1a`: the `whpk_…` public key receivers verify with."),
            "previous_secrets": {
                "type": "array",
                "description": "Secrets replaced by rotations that still sign, each until its own time (never the secrets).",
                "items": output_with_optional(
                    json!({"expires_at": timestamp(), "public_key": string()}),
                    &["public_key"],
                ),
            },
            "previous_secret_expires_at": nullable(timestamp()),
            "secret": text("The signing secret (`whsec_…`, or `whsk_…` for `v1a`): only in the answers that make one."),
            "created_at": timestamp(),
            "updated_at": timestamp(),
        }),
        &["secret", "public_key"],
    )
}

fn new_subscription() -> Value {
    input(
        json!({
            "url": string(),
            "events": strings(),
            "filters": any_object(),
            "secret": nullable(text("`whsec_…` (or `whsk_…` for `v1a`); one is made when none is given.")),
            "signature_scheme": nullable(one_of_strings(&["v1", "v1a"])),
            "timeout_ms": nullable(count()),
            "max_in_flight": nullable(count()),
            "rate_per_second": nullable(count()),
            "fifo": boolean(),
            "batch_size": nullable(count()),
            "linger_ms": nullable(count()),
        }),
        &["url", "events"],
    )
}

fn subscription_update() -> Value {
    input(
        json!({
            "url": nullable(string()),
            "events": nullable(strings()),
            "filters": nullable(any_object()),
            "timeout_ms": nullable(count()),
            "enabled": nullable(boolean()),
            "max_in_flight": nullable(count()),
            "rate_per_second": nullable(json!({"type": "integer", "minimum": 0, "description": "null removes the limit; absent keeps it."})),
            "fifo": nullable(boolean()),
            "batch_size": nullable(count()),
            "linger_ms": nullable(count()),
        }),
        &[],
    )
}

fn operational_event_types() -> Value {
    json!({
        "type": "array",
        "items": {
            "type": "string",
            "enum": ["subscription.disabled", "subscription.failing", "delivery.dead",
                "installation.failed", "app.handler_failing"],
        },
    })
}

fn operational_webhook() -> Value {
    output_with_optional(
        json!({
            "id": string(),
            "url": string(),
            "events": operational_event_types(),
            "enabled": boolean(),
            "disabled_reason": nullable(string()),
            "timeout_ms": count(),
            "max_in_flight": count(),
            "rate_per_second": nullable(count()),
            "fifo": boolean(),
            "failing_since": nullable(timestamp()),
            "previous_secret_expires_at": nullable(timestamp()),
            "secret": text("The signing secret (`whsec_…`): only in the answer that makes it."),
            "created_at": timestamp(),
            "updated_at": timestamp(),
        }),
        &["secret"],
    )
}

fn new_operational_webhook() -> Value {
    input(
        json!({
            "url": string(),
            "events": operational_event_types(),
            "secret": nullable(text("`whsec_…`; one is made when none is given.")),
            "timeout_ms": nullable(count()),
            "max_in_flight": nullable(count()),
            "rate_per_second": nullable(count()),
            "fifo": boolean(),
        }),
        &["url", "events"],
    )
}

fn operational_webhook_update() -> Value {
    input(
        json!({
            "url": nullable(string()),
            "events": nullable(operational_event_types()),
            "timeout_ms": nullable(count()),
            "enabled": nullable(boolean()),
            "max_in_flight": nullable(count()),
            "rate_per_second": nullable(json!({"type": "integer", "minimum": 0, "description": "null removes the limit; absent keeps it."})),
            "fifo": nullable(boolean()),
        }),
        &[],
    )
}

fn secret_rotation() -> Value {
    input(
        json!({
            "grace_seconds": nullable(json!({"type": "integer", "description": "How long the old secret keeps signing beside the new."})),
        }),
        &[],
    )
}

fn delivery() -> Value {
    output_with_optional(
        json!({
            "id": text("The `webhook-id` its requests carry."),
            "event_id": string(),
            "subscription_id": string(),
            "account_id": string(),
            "event": string(),
            "status": one_of_strings(&["pending", "delivered", "dead", "skipped"]),
            "attempts": count(),
            "tries": count(),
            "generation": count(),
            "run_at": timestamp(),
            "created_at": timestamp(),
            "updated_at": timestamp(),
            "attempts_made": {"type": "array", "items": named("Attempt"), "description": "Only when one delivery is shown."},
        }),
        &["attempts_made"],
    )
}

fn attempt() -> Value {
    output(json!({
        "number": count(),
        "at": timestamp(),
        "status_code": nullable(json!({"type": "integer"})),
        "duration_ms": count(),
        "error": nullable(string()),
        "response": nullable(text("The start of the answer's body, up to 20 KB.")),
    }))
}

fn delivery_replayed() -> Value {
    output(json!({"id": string(), "status": one_of_strings(&["pending"])}))
}

fn oauth_integration() -> Value {
    output(json!({
        "integration": string(),
        "display_name": nullable(string()),
        "token_type": one_of_strings(&["account", "agent"]),
        "authorized": boolean(),
        "refreshable": boolean(),
        "expires_at": nullable(timestamp()),
        "updated_at": nullable(timestamp()),
    }))
}

fn oauth_state() -> Value {
    output(json!({
        "installation_id": string(),
        "integrations": {"type": "array", "items": named("OAuthIntegration")},
    }))
}

fn authorize_request() -> Value {
    input(
        json!({
            "integration": nullable(text("Needed only when the app has several.")),
            "oauth_iparams": any_object(),
        }),
        &[],
    )
}

fn authorization() -> Value {
    output(json!({
        "installation_id": string(),
        "integration": string(),
        "authorize_url": text("Where to send the installer's browser."),
        "redirect_uri": string(),
        "expires_at": timestamp(),
    }))
}

fn given_token() -> Value {
    input(
        json!({
            "integration": nullable(string()),
            "access_token": string(),
            "refresh_token": nullable(string()),
            "expires_at": nullable(timestamp()),
            "oauth_iparams": nullable(any_object()),
        }),
        &["access_token"],
    )
}

fn authorized() -> Value {
    let mut schema = oauth_integration();
    schema["properties"]["installation_id"] = string();
    if let Some(Value::Array(required)) = schema.get_mut("required") {
        required.push(json!("installation_id"));
    }
    schema
}

fn inbound_answer() -> Value {
    json!({
        "description": "What the app's handler answered (as `renderData` gave it), or an acknowledgement.",
    })
}
