//! HTTP requests of Node's `http`, `https` and `fetch` (what npm packages such as
//! `axios`, `request`, `needle` and `got` make), sent through Weir's one outbound client
//! as `$request` is: the SSRF guard (after DNS resolution), host overrides, the request
//! timeout and the response size cap all apply, and each request is a platform call,
//! so `weir dev` lists it with the handler's other calls.
//!
//! Unlike `$request`, there are no templates and no `whitelisted-domains` check: on
//! Freshworks these packages run on Node and reach any public host, and the manifest's
//! list governs `$request` only. Plain `http:` is allowed, as Node allows it. Redirects
//! are the client's to follow (axios and `fetch` do, each hop a call of its own, checked
//! again), never the outbound client's.
//!
//! Answers are the whole response (`{status, statusText, headers, body, url}`, the body
//! in base64); failures have Node's shape (`{code, message}`) so that clients branch on
//! `err.code` as they do on Node.

use std::time::Duration;

use base64::Engine;
use reqwest::{Method, Url};
use serde_json::{Value, json};
use weir_sandbox::{HostError, HostResult, NodeRequest};

use crate::outbound::{OutboundRequest, SendError};
use crate::platform::Platform;

const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Headers the client sets itself from the request (the host from the URL, the length
/// from the body) or that belong to one connection: an app's own are not passed on.
const NOT_PASSED_ON: &[&str] = &[
    "host",
    "content-length",
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
];

pub(super) async fn send(platform: &Platform, request: &NodeRequest) -> HostResult {
    let method = method_of(&request.method)?;
    let url = url_of(&request.url)?;
    let target = format!("{method} {}", url.origin().ascii_serialization());
    let headers = headers_of(&request.headers)?;
    let body = match &request.body {
        Value::Null => None,
        Value::String(text) => Some(BASE64.decode(text).map_err(|_| {
            HostError::with_code(
                "ERR_INVALID_ARG_VALUE",
                format!("{target}: the body is not valid base64"),
            )
        })?),
        _ => {
            return Err(HostError::with_code(
                "ERR_INVALID_ARG_TYPE",
                format!("{target}: the body must be bytes"),
            ));
        }
    };
    let timeout = timeout_of(platform.settings.request_timeout, &request.timeout_ms);
    let outbound = OutboundRequest {
        method,
        url: url.clone(),
        headers,
        body,
        timeout,
        max_response_bytes: platform.settings.max_response_bytes,
    };
    let response = platform
        .outbound
        .send(outbound)
        .await
        .map_err(|error| failure(&target, timeout, error))?;
    let status_text = reqwest::StatusCode::from_u16(response.status)
        .ok()
        .and_then(|status| status.canonical_reason())
        .unwrap_or_default();
    let headers: Vec<Value> = response
        .headers
        .iter()
        .map(|(name, value)| json!([name, value]))
        .collect();
    Ok(json!({
        "status": response.status,
        "statusText": status_text,
        "headers": headers,
        "body": BASE64.encode(&response.body),
        "url": url.as_str(),
    }))
}

fn method_of(method: &Value) -> Result<Method, HostError> {
    let text = method.as_str().unwrap_or("GET");
    Method::from_bytes(text.to_ascii_uppercase().as_bytes()).map_err(|_| {
        HostError::with_code(
            "ERR_INVALID_HTTP_TOKEN",
            format!("Method must be a valid HTTP token [\"{text}\"]"),
        )
    })
}

fn url_of(url: &Value) -> Result<Url, HostError> {
    let text = url.as_str().unwrap_or_default();
    let parsed = Url::parse(text)
        .map_err(|_| HostError::with_code("ERR_INVALID_URL", format!("Invalid URL: {text}")))?;
    match parsed.scheme() {
        "http" | "https" if parsed.host_str().is_some() => Ok(parsed),
        "http" | "https" => Err(HostError::with_code(
            "ERR_INVALID_URL",
            format!("Invalid URL (no host): {text}"),
        )),
        scheme => Err(HostError::with_code(
            "ERR_INVALID_PROTOCOL",
            format!("Protocol \"{scheme}:\" not supported: http: and https: are"),
        )),
    }
}

/// `[[name, value], …]`, values written out as text; what is not passed on is dropped.
fn headers_of(headers: &Value) -> Result<Vec<(String, String)>, HostError> {
    let pairs = match headers {
        Value::Null => return Ok(Vec::new()),
        Value::Array(pairs) => pairs,
        _ => {
            return Err(HostError::with_code(
                "ERR_INVALID_ARG_TYPE",
                "headers must be a list of [name, value] pairs",
            ));
        }
    };
    let mut out = Vec::with_capacity(pairs.len());
    for pair in pairs {
        let (Some(name), Some(value)) = (pair.get(0).and_then(Value::as_str), pair.get(1)) else {
            return Err(HostError::with_code(
                "ERR_INVALID_ARG_TYPE",
                "headers must be a list of [name, value] pairs",
            ));
        };
        if NOT_PASSED_ON.contains(&name.to_ascii_lowercase().as_str()) {
            continue;
        }
        let value = match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        out.push((name.to_owned(), value));
    }
    Ok(out)
}

/// The platform's request timeout, or the app's own when it is shorter (so that a
/// request the app has given up on does not hold its invocation longer).
fn timeout_of(platform: Duration, asked: &Value) -> Duration {
    asked
        .as_f64()
        .filter(|ms| *ms >= 1.0)
        .map(|ms| Duration::from_millis(ms as u64))
        .map_or(platform, |asked| asked.min(platform))
}

/// A request that got no response, as Node would report it: its code, and a message
/// that says what was refused or failed (naming the origin, not the path or query,
/// which may carry secrets into records).
fn failure(target: &str, timeout: Duration, error: SendError) -> HostError {
    tracing::debug!(target, %error, "an app's Node HTTP request failed");
    match error {
        SendError::Refused(why) => HostError::with_code(
            "ERR_WEIR_DESTINATION_REFUSED",
            format!("{target} was not sent: Weir's outbound guard refuses the destination ({why})"),
        ),
        SendError::Timeout => HostError::with_code(
            "ETIMEDOUT",
            format!("{target} timed out after {} s", timeout.as_secs_f64()),
        ),
        SendError::TooLarge { limit } => HostError::with_code(
            "ERR_WEIR_RESPONSE_TOO_LARGE",
            format!("{target}: the response is larger than the limit of {limit} bytes"),
        ),
        SendError::Invalid(why) => HostError::with_code(
            "ERR_INVALID_ARG_VALUE",
            format!("{target}: invalid request: {why}"),
        ),
        SendError::Connection(why) => {
            let lower = why.to_ascii_lowercase();
            let code = if lower.contains("connection refused") {
                "ECONNREFUSED"
            } else if lower.contains("dns error") || lower.contains("failed to lookup") {
                "ENOTFOUND"
            } else {
                "ECONNRESET"
            };
            HostError::with_code(code, format!("{target} failed: {why}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_urls_with_a_host_are_sent() {
        assert!(url_of(&json!("https://api.example.com/x?y=1")).is_ok());
        assert!(
            url_of(&json!("http://10.0.0.1:8080/")).is_ok(),
            "the guard decides about addresses"
        );
        for (url, code) in [
            (json!("file:///etc/passwd"), "ERR_INVALID_PROTOCOL"),
            (json!("ftp://a.example.com/"), "ERR_INVALID_PROTOCOL"),
            (json!("not a url"), "ERR_INVALID_URL"),
            (Value::Null, "ERR_INVALID_URL"),
        ] {
            let error = url_of(&url).unwrap_err();
            assert_eq!(error.to_json()["code"], code, "{url}");
        }
    }

    #[test]
    fn connection_headers_are_the_client_s_own() {
        let headers = json!([
            ["Host", "evil.example"],
            ["X-A", "1"],
            ["Content-Length", "99"],
            ["x-n", 5],
            ["connection", "close"],
            ["x-a", "2"]
        ]);
        assert_eq!(
            headers_of(&headers).unwrap(),
            [
                ("X-A".to_owned(), "1".to_owned()),
                ("x-n".into(), "5".into()),
                ("x-a".into(), "2".into())
            ]
        );
        assert!(headers_of(&json!({"a": "b"})).is_err());
    }

    #[test]
    fn the_app_s_timeout_shortens_the_platform_s_never_lengthens_it() {
        let platform = Duration::from_secs(15);
        assert_eq!(timeout_of(platform, &Value::Null), platform);
        assert_eq!(
            timeout_of(platform, &json!(2500)),
            Duration::from_millis(2500)
        );
        assert_eq!(timeout_of(platform, &json!(60_000)), platform);
        assert_eq!(timeout_of(platform, &json!(0)), platform);
    }

    #[test]
    fn failures_have_node_s_codes() {
        let code = |error| {
            failure("GET http://a.example", Duration::from_secs(1), error).to_json()["code"].clone()
        };
        assert_eq!(
            code(SendError::Refused(
                "169.254.169.254 is an internal address".into()
            )),
            "ERR_WEIR_DESTINATION_REFUSED"
        );
        assert_eq!(code(SendError::Timeout), "ETIMEDOUT");
        assert_eq!(
            code(SendError::Connection(
                "tcp connect error: Connection refused (os error 111)".into()
            )),
            "ECONNREFUSED"
        );
        assert_eq!(
            code(SendError::Connection(
                "dns error: failed to lookup address information".into()
            )),
            "ENOTFOUND"
        );
        let refused = failure(
            "GET http://169.254.169.254",
            Duration::from_secs(1),
            SendError::Refused("169.254.169.254 is an internal address".into()),
        );
        assert_eq!(
            refused.text(),
            Some(
                "GET http://169.254.169.254 was not sent: Weir's outbound guard refuses the destination (169.254.169.254 is an internal address)"
            )
        );
    }
}
