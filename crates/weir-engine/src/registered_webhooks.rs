//! Registered webhooks (seed 003, REFERENCE §6): an app calls an outside endpoint by the id
//! its `config/webhooks.json` registers, never seeing the URL or the secret headers. Weir
//! makes the call server-side, through its outbound client, and keeps an audit record.
//!
//! A trigger **fails** (the app's promise rejects) exactly when the id is not registered,
//! the call does not fit the registration (a header value that is not a string, a query
//! parameter not declared, a body on GET, bad base64 for a `payload_encoding: "base64"`
//! registration), the installation is over its calls a minute, or Weir fails. Otherwise
//! it **succeeds** with `{referenceId, status, data, error}` whatever the endpoint did:
//! `error` is true for 4xx and 5xx, and for no answer at all (status 502, or 504 after the
//! timeout).

use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use weir_core::app::RegisteredWebhook;
use weir_core::{AppDefinition, HttpMethod, Installation, ReferenceId, WebhookInvocation};
use weir_sandbox::template;

use crate::outbound::{OutboundRequest, SendError};
use crate::platform::Platform;

/// One trigger, as the app (or the client) gave it.
#[derive(Debug, Clone)]
pub struct Trigger {
    pub webhook_id: String,
    pub data: Value,
    pub headers: Value,
    pub query_params: Value,
}

/// What the caller gets when the endpoint was tried.
#[derive(Debug, Clone, PartialEq)]
pub struct Triggered {
    pub reference_id: ReferenceId,
    pub status: u16,
    pub data: Value,
    pub error: bool,
}

impl Triggered {
    pub fn to_json(&self) -> Value {
        json!({
            "referenceId": self.reference_id.as_str(),
            "status": self.status,
            "data": self.data,
            "error": self.error,
        })
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TriggerError {
    #[error("no webhook {0:?} is registered for this app (config/webhooks.json)")]
    NotRegistered(String),
    /// The call does not fit the registration: the message says which rule.
    #[error("{0}")]
    Invalid(String),
    #[error(
        "more than {per_minute} webhook calls a minute for this installation; retry in {retry_after_secs} s"
    )]
    RateLimited {
        per_minute: u32,
        retry_after_secs: u64,
    },
    #[error("internal error")]
    Internal,
}

impl TriggerError {
    /// The HTTP status a trigger API answers, and the `status` a rejected promise has.
    pub fn status(&self) -> u16 {
        match self {
            TriggerError::NotRegistered(_) => 404,
            TriggerError::Invalid(_) => 400,
            TriggerError::RateLimited { .. } => 429,
            TriggerError::Internal => 500,
        }
    }
}

/// Calls the registered webhook for the installation and records the call; `chain` is the
/// first call's reference when this one continues a chain.
pub async fn trigger(
    platform: &Platform,
    installation: &Installation,
    app: &AppDefinition,
    trigger: Trigger,
    chain: Option<ReferenceId>,
) -> Result<Triggered, TriggerError> {
    let registration = app
        .registered_webhooks
        .iter()
        .find(|w| w.id == trigger.webhook_id)
        .ok_or_else(|| TriggerError::NotRegistered(trigger.webhook_id.clone()))?;
    let call = Call::fitting(registration, &trigger)?;
    let method = call.method;
    if let Err(wait) = platform.webhook_calls.check(&installation.id) {
        return Err(TriggerError::RateLimited {
            per_minute: platform.settings.webhook_calls_per_minute,
            retry_after_secs: wait.as_secs().max(1),
        });
    }
    let mut iparams = installation.iparams.public.clone();
    iparams.extend(installation.iparams.secure.clone());
    let variables = json!({"iparam": iparams});
    let request = call
        .request(registration, &variables, platform)
        .map_err(TriggerError::Invalid)?;
    let target_host = request.url.host_str().unwrap_or("").to_owned();
    let request_bytes = request.body.as_ref().map_or(0, Vec::len) as u64;
    let reference_id = ReferenceId::generate();
    let started_at = weir_core::now();
    let started = Instant::now();
    let sent = platform.outbound.send(request).await;
    let duration_ms = started.elapsed().as_millis() as u64;
    let (triggered, response_bytes, error_message) = match sent {
        Ok(response) => {
            let bytes = response.body.len() as u64;
            let is_json = response
                .header("content-type")
                .is_some_and(|t| t.to_ascii_lowercase().contains("json"));
            let text = String::from_utf8_lossy(&response.body).into_owned();
            let data = match is_json {
                true => serde_json::from_str(&text).unwrap_or(Value::String(text)),
                false => Value::String(text),
            };
            let error = response.status >= 400;
            let message = error.then(|| format!("the endpoint answered {}", response.status));
            ((response.status, data, error), bytes, message)
        }
        Err(SendError::Invalid(why)) => {
            // The reason may hold the URL: the log has it, the caller a fixed text.
            tracing::warn!(
                webhook = registration.id,
                why,
                "a registered webhook's request could not be built"
            );
            return Err(TriggerError::Invalid(format!(
                "webhook {:?}: the request could not be built from its registration",
                registration.id
            )));
        }
        Err(SendError::Timeout) => {
            let message = "Timeout error while processing the request";
            ((504, json!(message), true), 0, Some(message.to_owned()))
        }
        Err(other) => {
            // Refused by the guard, no connection, an answer too large: the endpoint was
            // tried and not reached; the reason stays in the record, not with the caller.
            let message = "Error in establishing connection";
            (
                (502, json!(message), true),
                0,
                Some(format!("{message}: {other}")),
            )
        }
    };
    let (status, data, error) = triggered;
    let record = WebhookInvocation {
        reference_id: reference_id.clone(),
        installation_id: installation.id.clone(),
        account_id: installation.account_id.clone(),
        webhook_id: registration.id.clone(),
        chain_id: chain.unwrap_or_else(|| reference_id.clone()),
        method,
        target_host,
        request_bytes,
        response_bytes,
        status: Some(status),
        error,
        error_message,
        duration_ms,
        started_at,
    };
    platform
        .store
        .insert_webhook_invocation(&record)
        .await
        .map_err(|error| {
            tracing::error!(%error, "a webhook call could not be recorded");
            TriggerError::Internal
        })?;
    Ok(Triggered {
        reference_id,
        status,
        data,
        error,
    })
}

/// The outbound client's name for a method.
fn outbound_method(method: HttpMethod) -> reqwest::Method {
    match method {
        HttpMethod::Get => reqwest::Method::GET,
        HttpMethod::Post => reqwest::Method::POST,
        HttpMethod::Put => reqwest::Method::PUT,
        HttpMethod::Patch => reqwest::Method::PATCH,
        HttpMethod::Delete => reqwest::Method::DELETE,
    }
}

/// Headers that decide where and how the request goes: a caller setting them could send
/// the registered secrets elsewhere, or break the request.
fn is_weirs_to_set(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    const RESERVED: &[&str] = &[
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "te",
        "upgrade",
        "keep-alive",
        "trailer",
        "expect",
    ];
    RESERVED.contains(&name.as_str()) || name.starts_with("proxy-")
}

/// A trigger checked against its registration.
struct Call {
    /// The registration's method, or the one its call implies when it names none.
    method: HttpMethod,
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
    body: Option<(Vec<u8>, Option<&'static str>)>,
}

impl Call {
    fn fitting(registration: &RegisteredWebhook, trigger: &Trigger) -> Result<Call, TriggerError> {
        let invalid = |message: String| TriggerError::Invalid(message);
        let headers = match &trigger.headers {
            Value::Null => Vec::new(),
            Value::Object(given) => {
                let mut headers = Vec::new();
                for (name, value) in given {
                    let Value::String(value) = value else {
                        return Err(invalid(format!(
                            "headers.{name}: a header value must be a string, not {value}"
                        )));
                    };
                    if is_weirs_to_set(name) {
                        return Err(invalid(format!(
                            "headers.{name}: this header is set by Weir, not by the caller"
                        )));
                    }
                    headers.push((name.clone(), value.clone()));
                }
                headers
            }
            other => return Err(invalid(format!("headers: must be an object, not {other}"))),
        };
        let query = match &trigger.query_params {
            Value::Null => Vec::new(),
            Value::Object(given) => {
                let mut query = Vec::new();
                for (name, value) in given {
                    if !registration.query_params.contains(name) {
                        let declared = match registration.query_params.is_empty() {
                            true => "none".to_owned(),
                            false => registration.query_params.join(", "),
                        };
                        return Err(invalid(format!(
                            "queryParams.{name}: not a query parameter webhook {:?} declares (it declares: {declared})",
                            registration.id
                        )));
                    }
                    let value = match value {
                        Value::String(text) => text.clone(),
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        other => {
                            return Err(invalid(format!(
                                "queryParams.{name}: must be a string or a number, not {other}"
                            )));
                        }
                    };
                    query.push((name.clone(), value));
                }
                query
            }
            other => {
                return Err(invalid(format!(
                    "queryParams: must be an object, not {other}"
                )));
            }
        };
        let empty = match &trigger.data {
            Value::Null => true,
            Value::String(text) => text.is_empty(),
            Value::Object(object) => object.is_empty(),
            _ => false,
        };
        let method = registration.method_for(!empty);
        let body = match (empty, method) {
            (true, _) => None,
            (false, HttpMethod::Get) => {
                return Err(invalid(format!(
                    "data: webhook {:?} is a GET, which sends no body",
                    registration.id
                )));
            }
            (false, _) if registration.base64_payload => {
                let Value::String(encoded) = &trigger.data else {
                    return Err(invalid(
                        "data: this webhook takes its body base64-encoded, as a string".into(),
                    ));
                };
                let bytes = STANDARD
                    .decode(encoded.trim())
                    .map_err(|e| invalid(format!("data: not valid base64: {e}")))?;
                Some((bytes, None))
            }
            (false, _) => match &trigger.data {
                Value::String(text) => Some((text.clone().into_bytes(), Some("text/plain"))),
                json => Some((json.to_string().into_bytes(), Some("application/json"))),
            },
        };
        Ok(Call {
            method,
            headers,
            query,
            body,
        })
    }

    /// The request: the registration's URL and headers (templates filled in from the
    /// installation's iparams), the caller's query and headers (a registered header wins),
    /// and the body.
    fn request(
        self,
        registration: &RegisteredWebhook,
        variables: &Value,
        platform: &Platform,
    ) -> Result<OutboundRequest, String> {
        // Template failures name no value: the registration may hold secrets.
        let filled = |text: &str| {
            template::render(text, variables).map_err(|e| {
                // The detail may quote iparams: it goes to the log only.
                tracing::warn!(
                    webhook = registration.id,
                    detail = e.detail,
                    "a registered webhook's templates failed"
                );
                format!(
                    "webhook {:?}: {}",
                    registration.id,
                    template::TemplateError::MESSAGE
                )
            })
        };
        let mut url = url::Url::parse(&filled(&registration.url)?)
            .map_err(|e| format!("webhook {:?}: its URL is not valid: {e}", registration.id))?;
        if !self.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in &self.query {
                pairs.append_pair(name, value);
            }
        }
        let mut headers: Map<String, Value> = Map::new();
        for (name, value) in self.headers {
            headers.insert(name.to_ascii_lowercase(), Value::String(value));
        }
        for (name, value) in &registration.headers {
            headers.insert(name.to_ascii_lowercase(), Value::String(filled(value)?));
        }
        let body = self.body.map(|(bytes, content_type)| {
            if let Some(content_type) = content_type {
                headers
                    .entry("content-type")
                    .or_insert_with(|| Value::String(content_type.into()));
            }
            bytes
        });
        Ok(OutboundRequest {
            method: outbound_method(self.method),
            url,
            headers: headers
                .into_iter()
                .map(|(name, value)| (name, value.as_str().unwrap_or_default().to_owned()))
                .collect(),
            body,
            timeout: platform.settings.request_timeout,
            max_response_bytes: platform.settings.max_response_bytes,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error(transparent)]
    Trigger(#[from] TriggerError),
    #[error("the chain's handler {handler} failed: {message}")]
    Handler { handler: String, message: String },
    #[error(transparent)]
    Run(#[from] crate::runner::RunError),
}

/// A trigger from outside the sandbox (the trigger API): the call, and, when its
/// registration names a `then` handler, that handler run on the response; it may trigger
/// further webhooks, all recorded under the first call's reference. The caller gets only
/// the final result: what the handler returns (an object), else the first call's result.
pub async fn trigger_with_chain(
    runner: &crate::runner::Runner,
    installation: std::sync::Arc<Installation>,
    trigger: Trigger,
) -> Result<Value, ChainError> {
    let app = runner
        .app(&installation.app_id)
        .await
        .map_err(crate::runner::RunError::from)?;
    let then = app
        .definition
        .registered_webhooks
        .iter()
        .find(|w| w.id == trigger.webhook_id)
        .and_then(|w| w.then.clone());
    let webhook_id = trigger.webhook_id.clone();
    let platform = runner.platform();
    let first = self::trigger(platform, &installation, &app.definition, trigger, None).await?;
    let Some(handler) = then else {
        return Ok(first.to_json());
    };
    let account = platform
        .store
        .account(&installation.account_id)
        .await
        .map_err(crate::runner::RunError::from)?
        .ok_or(TriggerError::Internal)?;
    let event = crate::runner::CHAIN_EVENT;
    let mut payload = crate::envelope::base(&account, &installation, event);
    let mut response = first.to_json();
    response["webhookId"] = json!(webhook_id);
    payload["data"] = response;
    let chain = first.reference_id.clone();
    let record = runner
        .run_chain_link(installation, &handler, payload, chain)
        .await?;
    if record.status != weir_core::InvocationStatus::Success {
        return Err(ChainError::Handler {
            handler,
            message: record.error.unwrap_or_else(|| "it failed".into()),
        });
    }
    Ok(match record.result {
        Some(Value::Object(result)) => Value::Object(result),
        _ => first.to_json(),
    })
}
