//! `$request.invokeTemplate(name, {context?, body?, query?})`: a request declared in
//! `config/requests.json` (REFERENCE §1), filled in and sent.
//!
//! Each part of the template sees only the variables the platform gives it: the host
//! sees non-secure iparams and the context; path and query see all iparams and the
//! context; headers see all iparams, the context and the access token. A template with
//! `isOAuth` (2.3) or `oauth` (3.1) gets the installation's access token
//! (`crate::oauth::access`) and `oauth_iparams` in every part.

use reqwest::Method;
use serde_json::{Map, Value, json};
use weir_core::app::RequestTemplate;
use weir_sandbox::template;
use weir_sandbox::{HostError, HostResult, TemplateRequest};

use super::CallContext;
use super::request::{Attempts, headers_of, platform_error, rendered, send};
use super::url_rules;
use crate::oauth::access::{self, Access};
use crate::outbound::OutboundRequest;
use crate::platform::Platform;

const NOT_FOUND: &str = "Request template not found";

/// What a template becomes once its variables are filled in.
struct Filled {
    host: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
}

pub(super) async fn invoke(
    platform: &Platform,
    context: &CallContext,
    call: &TemplateRequest,
) -> HostResult {
    let name = call.name.as_str().unwrap_or_default();
    let Some(request) = declared(context, name) else {
        return Err(platform_error(404, NOT_FOUND));
    };
    let given = match &call.options {
        Value::Null => Map::new(),
        Value::Object(given) => given.clone(),
        _ => return Err(platform_error(400, "the second argument must be an object")),
    };
    let call_context = given.get("context").cloned().unwrap_or(json!({}));
    let body = match given.get("body") {
        None | Some(Value::Null) => None,
        Some(Value::String(body)) => Some(body.clone().into_bytes()),
        Some(_) => {
            return Err(platform_error(
                400,
                "body must be a string (use JSON.stringify)",
            ));
        }
    };
    let mut extra_query = Vec::new();
    if let Some(query) = given.get("query").filter(|q| !q.is_null()) {
        extra_query = headers_of(query)
            .map_err(|_| platform_error(400, "query must be an object of string values"))?;
    }
    let call = Call {
        request,
        context: call_context,
        body,
        extra_query,
    };
    if !request.is_oauth && request.oauth.is_none() {
        return attempt(platform, context, &call, None).await;
    }
    // `isOAuth` (2.3) uses the app's only integration; `oauth` (3.1) names one.
    let mut access = Access::open(platform, context, request.oauth.as_deref()).await?;
    let answer = attempt(platform, context, &call, Some(&access)).await;
    if !access.worth_refreshing(&answer) {
        return answer;
    }
    access.refresh_after_refusal(platform, context).await?;
    attempt(platform, context, &call, Some(&access)).await
}

/// One invocation of a template, as the app asked for it.
struct Call<'a> {
    request: &'a RequestTemplate,
    context: Value,
    body: Option<Vec<u8>>,
    extra_query: Vec<(String, String)>,
}

/// Fills the template in and sends it once (with its own `maxAttempts`).
async fn attempt(
    platform: &Platform,
    context: &CallContext,
    call: &Call<'_>,
    access: Option<&Access>,
) -> HostResult {
    let request = call.request;
    let filled = fill(request.clone(), context, call.context.clone(), access).await?;
    let url = format!("{}://{}{}", request.protocol, filled.host, filled.path);
    let mut url = url_rules::checked(&platform.outbound, &url, request.protocol == "http")
        .map_err(|message| platform_error(400, message))?;
    {
        let mut pairs = url.query_pairs_mut();
        for (name, value) in filled.query.iter().chain(&call.extra_query) {
            pairs.append_pair(name, value);
        }
    }
    if url.query() == Some("") {
        url.set_query(None);
    }
    let attempts = Attempts::from_options(&json!({
        "maxAttempts": request.max_attempts,
        "retryDelay": request.retry_delay_ms,
    }))?;
    let headers = match access {
        Some(access) => access::with_bearer(filled.headers, access),
        None => filled.headers,
    };
    let outbound = OutboundRequest {
        method: Method::from_bytes(request.method.as_bytes()).unwrap_or(Method::GET),
        url,
        headers,
        body: call.body.clone(),
        timeout: platform.settings.request_timeout,
        max_response_bytes: platform.settings.max_response_bytes,
    };
    send(platform, outbound, attempts, false).await
}

/// The template, if the package declares it and the manifest lists it for use.
fn declared<'a>(context: &'a CallContext, name: &str) -> Option<&'a RequestTemplate> {
    let listed = context
        .app
        .scopes
        .iter()
        .any(|scope| scope.requests.iter().any(|r| r == name));
    let template = context
        .app
        .request_templates
        .iter()
        .find(|t| t.name == name);
    template.filter(|_| listed)
}

async fn fill(
    request: RequestTemplate,
    context: &CallContext,
    call_context: Value,
    access: Option<&Access>,
) -> Result<Filled, HostError> {
    let mut public =
        json!({"iparam": context.installation.iparams.public, "context": call_context});
    let mut all = json!({"iparam": context.all_iparams(), "context": call_context});
    let mut headers = all.clone();
    if let Some(access) = access {
        let oauth_iparams = Value::Object(access.oauth_iparams().clone());
        for vars in [&mut public, &mut all, &mut headers] {
            vars["oauth_iparams"] = oauth_iparams.clone();
        }
        headers["access_token"] = Value::String(access.access_token().to_owned());
    }
    let variables = json!({"public": public, "all": all, "headers": headers});
    rendered(variables, move |vars| {
        let (public, all, headers) = (&vars["public"], &vars["all"], &vars["headers"]);
        let pairs = |pairs: &[(String, String)], vars: &Value| {
            pairs
                .iter()
                .map(|(name, value)| Ok((name.clone(), template::render(value, vars)?)))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Filled {
            host: template::render(&request.host, public)?,
            path: template::render(&request.path, all)?,
            query: pairs(&request.query, all)?,
            headers: pairs(&request.headers, headers)?,
        })
    })
    .await
}
