//! Where third parties post: an installation's target URL (`/in/<token>`, seed 000) and a
//! connector's global webhooks (`/in/global/<app name or version id>/<key>`, seed 002). No API token:
//! the unguessable token, or the app's own signature check in `handle`, is the guard.
//!
//! A request is answered once what it caused is durable; malformed bodies are refused
//! whole (400/413/415) with nothing stored.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use weir_core::{AppId, Installation, InstallationStatus, TargetToken};
use weir_engine::connector_webhooks::{self, ConnectorError};
use weir_engine::inbound::{
    self, ExternalRequest, GlobalError, GlobalRequest, GlobalResponse, InboundError,
};

use crate::body::{PathParams, QueryParams, read_limited};
use crate::error::ApiError;
use crate::inbound_body::{self, BodyError, ParsedBody};
use crate::state::ServerState;

/// `POST /in/{token}`: an external event for the installation; 200 once it is stored.
pub async fn target_post(
    State(state): State<ServerState>,
    PathParams(token): PathParams<String>,
    QueryParams(query): QueryParams<Map<String, Value>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let installation = target(&state, &token).await?;
    let parsed = parse_body(&state, &headers, body).await?;
    let raw_body = parsed.content_type.contains("xml").then_some(parsed.raw);
    let request = ExternalRequest {
        data: parsed.data,
        headers: header_map(&headers),
        options: query
            .get("options")
            .and_then(Value::as_str)
            .map(String::from),
        raw_body,
    };
    match inbound::accept_external(&state.runner, &installation, request).await {
        Ok(id) => Ok(axum::Json(json!({"id": id})).into_response()),
        Err(InboundError::RateLimited {
            per_minute,
            retry_after,
        }) => {
            let seconds = retry_after.as_secs_f64().ceil().max(1.0) as u64;
            let error = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "more than {per_minute} requests a minute for this target URL; retry in {seconds} s"
                ),
            );
            Ok(([(header::RETRY_AFTER, seconds.to_string())], error).into_response())
        }
        Err(InboundError::Gone(_)) => Err(gone()),
        Err(error @ InboundError::NoHandler(_)) => Err(ApiError::not_found(error.to_string())),
        Err(InboundError::Store(error)) => Err(error.into()),
        Err(InboundError::Load(error)) => Err(internal(&error)),
    }
}

/// `POST /in/{token}/events/{event_key}`: a connector `webhook` event of the installation;
/// runs its `handle` at once and answers with its `response`.
pub async fn connector_event_post(
    State(state): State<ServerState>,
    PathParams((token, event_key)): PathParams<(String, String)>,
    QueryParams(query): QueryParams<Map<String, Value>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let installation = target(&state, &token).await?;
    let parsed = parse_body(&state, &headers, body).await?;
    let request = GlobalRequest {
        query,
        data: parsed.data,
        headers: header_map(&headers),
        raw_body: parsed.raw,
    };
    let installation = std::sync::Arc::new(installation);
    match connector_webhooks::handle(&state.runner, installation, &event_key, request).await {
        Ok(response) => Ok(handle_response(response)),
        Err(error @ ConnectorError::Unknown { .. }) => Err(ApiError::not_found(error.to_string())),
        Err(error @ ConnectorError::Failed { .. }) => {
            tracing::warn!(%error, "a connector webhook failed");
            Err(ApiError::new(StatusCode::BAD_GATEWAY, error.to_string()))
        }
        Err(ConnectorError::Store(error)) => Err(error.into()),
        Err(ConnectorError::Run(error)) => Err(internal(&error)),
    }
}

/// `GET /in/{token}`: the CRC handshake senders make before they post (REFERENCE §3).
pub async fn target_get(
    State(state): State<ServerState>,
    PathParams(token): PathParams<String>,
    QueryParams(query): QueryParams<Map<String, Value>>,
) -> Result<Response, ApiError> {
    target(&state, &token).await?;
    Ok(crc_answer(&query))
}

/// `{}`, or with `?crc_strategy=facebook` the `hub.challenge` echoed as text.
fn crc_answer(query: &Map<String, Value>) -> Response {
    let facebook = query.get("crc_strategy").and_then(Value::as_str) == Some("facebook");
    match query.get("hub.challenge").and_then(Value::as_str) {
        Some(challenge) if facebook => challenge.to_owned().into_response(),
        _ => axum::Json(json!({})).into_response(),
    }
}

/// The installation a token names: 404 for no such token, 410 once uninstalled.
async fn target(state: &ServerState, token: &str) -> Result<Installation, ApiError> {
    let installation = match state.targets.get(token) {
        Some(installation) => installation,
        None => {
            let found = state
                .store
                .installation_by_target_token(&TargetToken::from_stored(token))
                .await?
                .ok_or_else(|| ApiError::not_found("no target URL here"))?;
            state.targets.put(&found);
            found
        }
    };
    match installation.status {
        InstallationStatus::Uninstalled => Err(gone()),
        // While `onAppInstall` runs, the third party it registers with may already call:
        // the events wait for the install to be agreed (or go with it).
        InstallationStatus::Active | InstallationStatus::Installing => Ok(installation),
    }
}

fn gone() -> ApiError {
    ApiError::new(
        StatusCode::GONE,
        "this target URL belonged to an app that has been uninstalled",
    )
}

/// The app version of a global webhook URL: `{app}` is the app's name (the URL that
/// stays put across versions) or one version's id.
async fn global_app(state: &ServerState, app: &str, key: &str) -> Result<AppId, ApiError> {
    inbound::global_webhook_app(&state.runner, app)
        .await?
        .ok_or_else(|| no_global_webhook(app, key))
}

/// `POST /in/global/{app}/{key}`: runs the webhook's `handle`, routes the events it
/// returns, and answers with its `response`.
pub async fn global_post(
    State(state): State<ServerState>,
    PathParams((app, key)): PathParams<(String, String)>,
    QueryParams(query): QueryParams<Map<String, Value>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let app_id = global_app(&state, &app, &key).await?;
    let parsed = parse_body(&state, &headers, body).await?;
    let request = GlobalRequest {
        query,
        data: parsed.data,
        headers: header_map(&headers),
        raw_body: parsed.raw,
    };
    match inbound::global_webhook(&state.runner, &app_id, &key, request).await {
        Ok(response) => Ok(handle_response(response)),
        Err(GlobalError::Unknown { .. }) => Err(no_global_webhook(app_id.as_str(), &key)),
        // The sender did nothing wrong: the connector's code did.
        Err(error @ (GlobalError::HandleFailed(_) | GlobalError::BadResult(_))) => {
            tracing::warn!(app = %app_id, key, %error, "a global webhook failed");
            Err(ApiError::new(StatusCode::BAD_GATEWAY, error.to_string()))
        }
        Err(GlobalError::Store(error)) => Err(error.into()),
        Err(GlobalError::Load(error)) => Err(internal(&error)),
        Err(GlobalError::Run(error)) => Err(internal(&error)),
    }
}

/// `GET /in/global/{app}/{key}`: the CRC handshake, for a webhook that exists.
pub async fn global_get(
    State(state): State<ServerState>,
    PathParams((app, key)): PathParams<(String, String)>,
    QueryParams(query): QueryParams<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let missing = || no_global_webhook(&app, &key);
    let id = global_app(&state, &app, &key).await?;
    let app = state.runner.app(&id).await.map_err(|_| missing())?;
    if !app.definition.global_webhooks.iter().any(|w| w.key == key) {
        return Err(missing());
    }
    Ok(crc_answer(&query))
}

fn no_global_webhook(app: &str, key: &str) -> ApiError {
    ApiError::not_found(format!("app {app} has no global webhook {key:?}"))
}

/// `handle`'s `response` as HTTP: a string is sent as text, anything else as JSON, and
/// its headers as given (those that are valid HTTP).
fn handle_response(response: GlobalResponse) -> Response {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::OK);
    let mut answer = match response.data {
        None => status.into_response(),
        Some(Value::String(text)) => (status, text).into_response(),
        Some(data) => (status, axum::Json(data)).into_response(),
    };
    for (name, value) in response.headers {
        let value = match value {
            Value::String(text) => text,
            other => other.to_string(),
        };
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            answer.headers_mut().insert(name, value);
        }
    }
    answer
}

/// Reads and parses the body by its content type, within the webhook limits.
async fn parse_body(
    state: &ServerState,
    headers: &HeaderMap,
    body: Body,
) -> Result<ParsedBody, ApiError> {
    let limits = &state.limits.webhook_body;
    let bytes = read_limited(body, limits.max_bytes).await?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok());
    inbound_body::parse(content_type, &bytes, limits).map_err(body_error)
}

fn body_error(error: BodyError) -> ApiError {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    ApiError::new(status, error.message())
}

/// The request's headers as the handler sees them: lower-case names, and the values of a
/// repeated header joined with ", ".
fn header_map(headers: &HeaderMap) -> Map<String, Value> {
    let mut map: Map<String, Value> = Map::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match map.get_mut(name.as_str()) {
            Some(Value::String(joined)) => {
                joined.push_str(", ");
                joined.push_str(&value);
            }
            _ => {
                map.insert(name.as_str().to_owned(), Value::String(value));
            }
        }
    }
    map
}

fn internal(error: &dyn std::fmt::Display) -> ApiError {
    tracing::error!(%error, "an inbound request could not be handled");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error; see the server log",
    )
}
