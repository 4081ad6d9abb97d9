//! `apiClient` for connector methods (REFERENCE §4): `get/post/put/patch/delete(path, …)`
//! relative to the connection's base URL, authenticated with its credentials.
//!
//! integration.app keeps connections of its own; Weir's connection is the installation:
//! its `base_url` iparam is the base URL and its secure iparams are the `credentials`.
//! An `access_token` or `api_key` credential is sent as a bearer token. Answers resolve
//! to the response data (parsed JSON, else text); a status of 400 or more rejects with
//! `{status, message, data}`.

use reqwest::Url;
use serde_json::Value;
use weir_sandbox::{ApiClientCall, HostError, HostResult};

use super::CallContext;
use crate::outbound::{OutboundRequest, SendError};
use crate::platform::Platform;

pub const BASE_URL_IPARAM: &str = "base_url";

pub(super) async fn call(
    platform: &Platform,
    context: &CallContext,
    call: &ApiClientCall,
) -> HostResult {
    let method = super::method_of(call.method);
    let path = call.path.as_str().unwrap_or_default();
    let url = url_for(context, path, &call.query)?;
    let mut headers = Vec::new();
    let secure = &context.installation.iparams.secure;
    if let Some(token) = ["access_token", "api_key"]
        .iter()
        .find_map(|name| secure.get(*name).and_then(Value::as_str))
    {
        headers.push(("Authorization".to_owned(), format!("Bearer {token}")));
    }
    let body = match &call.data {
        Value::Null => None,
        data => {
            headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
            Some(data.to_string().into_bytes())
        }
    };
    let request = OutboundRequest {
        method: method.clone(),
        url,
        headers,
        body,
        timeout: platform.settings.request_timeout,
        max_response_bytes: platform.settings.max_response_bytes,
    };
    let response = platform.outbound.send(request).await.map_err(|e| match e {
        SendError::Timeout => HostError::new(504, format!("{method} {path}: timed out")),
        other => HostError::new(502, format!("{method} {path}: {other}")),
    })?;
    let text = String::from_utf8_lossy(&response.body).into_owned();
    let data = serde_json::from_str(&text).unwrap_or(Value::String(text));
    if response.status >= 400 {
        let message = format!("{method} {path} answered {}", response.status);
        return Err(HostError::with_data(response.status, message, data));
    }
    Ok(data)
}

/// `path` under the installation's base URL (an absolute URL is refused: credentials go
/// to the connection's host only), with `query` appended.
fn url_for(context: &CallContext, path: &str, query: &Value) -> Result<Url, HostError> {
    let base = context
        .installation
        .iparams
        .public
        .get(BASE_URL_IPARAM)
        .and_then(Value::as_str)
        .ok_or_else(|| {
            HostError::new(
                400,
                format!("apiClient needs the installation's {BASE_URL_IPARAM} iparam"),
            )
        })?;
    if path.contains("://") || path.starts_with("//") {
        return Err(HostError::new(
            400,
            format!("apiClient takes a path relative to {base}, got {path}"),
        ));
    }
    let joined = format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    let mut url = Url::parse(&joined)
        .map_err(|e| HostError::new(400, format!("{joined} is not a valid URL: {e}")))?;
    if let Some(query) = query.as_object() {
        let mut pairs = url.query_pairs_mut();
        for (name, value) in query {
            let value = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            pairs.append_pair(name, &value);
        }
    }
    Ok(url)
}
