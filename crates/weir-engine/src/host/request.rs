//! `$request`, URL style: `$request.get|post|put|patch|delete(url, options)` (REFERENCE §1).
//!
//! Templates are substituted over the URL and the whole options object, the URL is
//! checked against the platform's rules and the manifest's `whitelisted-domains`, and the
//! call goes out through Weir's outbound client, retried as `maxAttempts` and `retryDelay`
//! ask. Answers and errors have the platform's shapes and texts: apps branch on them.
//! `isOAuth` calls carry the installation's access token (`crate::oauth::access`).

use std::time::Duration;

use reqwest::Url;
use serde_json::{Map, Value, json};
use weir_sandbox::template::{self, TemplateError};
use weir_sandbox::{HostError, HostResult, UrlRequest};

use super::{CallContext, url_rules};
use crate::oauth::access::{self, Access};
use crate::outbound::{OutboundRequest, OutboundResponse, SendError};
use crate::platform::Platform;

const UNSUPPORTED_CONTENT_TYPE: &str = "Unsupported content type";
const CONNECTION_FAILED: &str = "Error in establishing connection";
const TIMED_OUT: &str = "Timeout error while processing the request";

/// Content types the platform hands back to apps (REFERENCE §1); `+json` and `+xml`
/// media types count as JSON and XML.
const READABLE_TYPES: &[&str] = &[
    "application/json",
    "application/xml",
    "text/html",
    "text/xml",
    "application/jsonp",
    "text/plain",
    "application/javascript",
    "text/javascript",
];

/// A platform error as `$request` rejects with it.
pub(super) fn platform_error(status: u16, message: &str) -> HostError {
    HostError::request_refused(status, message)
}

/// `$request.<method>(url, options)`. With `isOAuth`, the installation's access token
/// goes with it, and a 401 answer has the token refreshed and the call sent once more.
pub(super) async fn url_style(
    platform: &Platform,
    context: &CallContext,
    request: &UrlRequest,
) -> HostResult {
    let method = super::method_of(request.method);
    let Some(url) = request.url.as_str() else {
        return Err(platform_error(400, "Invalid URL - Must be HTTPS"));
    };
    let options = match &request.options {
        Value::Null => Map::new(),
        Value::Object(options) => options.clone(),
        _ => return Err(platform_error(400, "options must be an object")),
    };
    let is_oauth = options
        .get("isOAuth")
        .is_some_and(|v| v == &Value::Bool(true));
    if !is_oauth {
        return attempt(platform, context, method, url, options, None).await;
    }
    let mut access = Access::open(platform, context, None).await?;
    let answer = attempt(
        platform,
        context,
        method.clone(),
        url,
        options.clone(),
        Some(&access),
    )
    .await;
    if !access.worth_refreshing(&answer) {
        return answer;
    }
    access.refresh_after_refusal(platform, context).await?;
    attempt(platform, context, method, url, options, Some(&access)).await
}

/// Fills in the templates (with the access token and `oauth_iparams` under `isOAuth`),
/// checks the URL and sends the call, retried as `maxAttempts` and `retryDelay` ask.
async fn attempt(
    platform: &Platform,
    context: &CallContext,
    method: reqwest::Method,
    url: &str,
    options: Map<String, Value>,
    access: Option<&Access>,
) -> HostResult {
    let mut variables = json!({"iparam": context.all_iparams()});
    if let Some(access) = access {
        variables["access_token"] = Value::String(access.access_token().to_owned());
        variables["oauth_iparams"] = Value::Object(access.oauth_iparams().clone());
    }
    let whitelist = context.app.whitelisted_domains.clone();
    let url = url.to_owned();
    let (url, options, whitelist) = rendered(variables, move |vars| {
        let url = template::render(&url, vars)?;
        let options = template::render_value(&Value::Object(options), vars)?;
        let whitelist = whitelist
            .iter()
            .map(|entry| template::render(entry, vars))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((url, options, whitelist))
    })
    .await?;
    let url =
        url_rules::checked(&platform.outbound, &url, false).map_err(|m| platform_error(400, m))?;
    if !url_rules::whitelisted(&url, &whitelist) {
        return Err(platform_error(400, url_rules::NOT_WHITELISTED));
    }
    let attempts = Attempts::from_options(&options)?;
    let body = body_of(&options)?;
    let mut headers: Vec<(String, String)> = body
        .content_type
        .map(|t| ("Content-Type".to_owned(), t.to_owned()))
        .into_iter()
        .collect();
    headers.extend(headers_of(&options["headers"])?);
    if let Some(access) = access {
        headers = access::with_bearer(headers, access);
    }
    let request = OutboundRequest {
        method,
        url,
        headers,
        body: body.bytes,
        timeout: platform.settings.request_timeout,
        max_response_bytes: platform.settings.max_response_bytes,
    };
    send(platform, request, attempts, body.parse_answer).await
}

/// Runs template substitution (JavaScript, in a runtime of its own) off the async threads.
pub(super) async fn rendered<T: Send + 'static>(
    variables: Value,
    render: impl FnOnce(&Value) -> Result<T, TemplateError> + Send + 'static,
) -> Result<T, HostError> {
    let rendered = tokio::task::spawn_blocking(move || render(&variables)).await;
    match rendered {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => {
            tracing::debug!(detail = %error.detail, "a request template failed");
            Err(platform_error(400, TemplateError::MESSAGE))
        }
        Err(_) => Err(platform_error(500, "Internal server error")),
    }
}

/// What `json` or `body` makes of a request.
struct Body {
    bytes: Option<Vec<u8>>,
    /// `json` was given: the answer is parsed too.
    parse_answer: bool,
    content_type: Option<&'static str>,
}

/// `json` (sent as JSON; the answer is parsed) or `body` (a string, sent as it is).
fn body_of(options: &Value) -> Result<Body, HostError> {
    if let Some(json) = options.get("json").filter(|v| !v.is_null()) {
        return Ok(Body {
            bytes: Some(json.to_string().into_bytes()),
            parse_answer: true,
            content_type: Some("application/json"),
        });
    }
    let bytes = match options.get("body") {
        None | Some(Value::Null) => None,
        Some(Value::String(body)) => Some(body.clone().into_bytes()),
        Some(_) => {
            return Err(platform_error(
                400,
                "body must be a string; send objects with the json option",
            ));
        }
    };
    Ok(Body {
        bytes,
        parse_answer: false,
        content_type: None,
    })
}

/// Header values as strings: numbers and booleans are written out, objects refused.
pub(super) fn headers_of(headers: &Value) -> Result<Vec<(String, String)>, HostError> {
    let Some(headers) = headers.as_object() else {
        return match headers {
            Value::Null => Ok(Vec::new()),
            _ => Err(platform_error(400, "headers must be an object")),
        };
    };
    headers
        .iter()
        .map(|(name, value)| match value {
            Value::String(text) => Ok((name.clone(), text.clone())),
            Value::Number(_) | Value::Bool(_) => Ok((name.clone(), value.to_string())),
            _ => Err(platform_error(
                400,
                &format!("header {name} must be a string"),
            )),
        })
        .collect()
}

/// `maxAttempts` (1–5) and `retryDelay` (0–1500 ms).
#[derive(Debug, Clone, Copy)]
pub(super) struct Attempts {
    pub max: u32,
    pub delay: Duration,
}

impl Attempts {
    pub(super) fn from_options(options: &Value) -> Result<Self, HostError> {
        let max = match options.get("maxAttempts") {
            None | Some(Value::Null) => 1,
            Some(value) => value
                .as_u64()
                .filter(|n| (1..=5).contains(n))
                .ok_or_else(|| {
                    platform_error(400, "maxAttempts must be a whole number from 1 to 5")
                })? as u32,
        };
        let delay = match options.get("retryDelay") {
            None | Some(Value::Null) => 0,
            Some(value) => value.as_u64().filter(|n| *n <= 1500).ok_or_else(|| {
                platform_error(
                    400,
                    "retryDelay must be a whole number of milliseconds from 0 to 1500",
                )
            })?,
        };
        Ok(Attempts {
            max,
            delay: Duration::from_millis(delay),
        })
    }
}

/// Sends, retrying connection failures, timeouts, 429 and 5xx answers while attempts
/// remain; resolves `{status, headers, response, attempts}` below 400, else rejects with
/// the same shape plus `errorSource: "APP"`.
pub(super) async fn send(
    platform: &Platform,
    request: OutboundRequest,
    attempts: Attempts,
    parse_json: bool,
) -> HostResult {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = platform.outbound.send(request.clone()).await;
        let retryable = match &result {
            Ok(response) => response.status == 429 || response.status >= 500,
            Err(error) => matches!(error, SendError::Connection(_) | SendError::Timeout),
        };
        if retryable && attempt < attempts.max {
            tokio::time::sleep(attempts.delay).await;
            continue;
        }
        return match result {
            Ok(response) => answer(response, attempt, parse_json),
            Err(error) => Err(send_failure(&request.url, error)),
        };
    }
}

fn answer(response: OutboundResponse, attempts: u32, parse_json: bool) -> HostResult {
    if !readable(&response) {
        return Err(platform_error(415, UNSUPPORTED_CONTENT_TYPE));
    }
    let text = String::from_utf8_lossy(&response.body).into_owned();
    let body = match parse_json {
        true => serde_json::from_str(&text).unwrap_or(Value::String(text)),
        false => Value::String(text),
    };
    let mut headers = Map::new();
    for (name, value) in &response.headers {
        match headers.get_mut(name) {
            Some(Value::String(joined)) => {
                joined.push_str(", ");
                joined.push_str(value);
            }
            _ => {
                headers.insert(name.clone(), Value::String(value.clone()));
            }
        }
    }
    if response.status >= 400 {
        return Err(HostError::request_answered(
            response.status,
            headers,
            body,
            attempts,
        ));
    }
    Ok(json!({
        "status": response.status,
        "headers": headers,
        "response": body,
        "attempts": attempts,
    }))
}

fn readable(response: &OutboundResponse) -> bool {
    let Some(content_type) = response.header("content-type") else {
        return true;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence.is_empty()
        || READABLE_TYPES.contains(&essence.as_str())
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
}

fn send_failure(url: &Url, error: SendError) -> HostError {
    tracing::debug!(host = url.host_str().unwrap_or_default(), %error, "an app's request failed");
    match error {
        SendError::Timeout => platform_error(504, TIMED_OUT),
        SendError::Refused(why) => platform_error(
            400,
            &format!("Invalid URL - the destination is not allowed: {why}"),
        ),
        SendError::TooLarge { limit } => platform_error(
            502,
            &format!("The response is larger than the limit of {limit} bytes"),
        ),
        SendError::Invalid(why) => platform_error(400, &format!("Invalid request: {why}")),
        SendError::Connection(_) => platform_error(502, CONNECTION_FAILED),
    }
}
