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
use weir_engine::inbound::{ExternalRequest, GlobalRequest, GlobalResponse};

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
    let installation = state.engine.target(&token).await?;
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
    let id = state.engine.accept_external(&installation, request).await?;
    Ok(axum::Json(json!({"id": id})).into_response())
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
    let installation = state.engine.target(&token).await?;
    let parsed = parse_body(&state, &headers, body).await?;
    let request = GlobalRequest {
        query,
        data: parsed.data,
        headers: header_map(&headers),
        raw_body: parsed.raw,
    };
    let response = state
        .engine
        .connector_event(installation, &event_key, request)
        .await?;
    Ok(handle_response(response))
}

/// `GET /in/{token}`: the CRC handshake senders make before they post (REFERENCE §3).
pub async fn target_get(
    State(state): State<ServerState>,
    PathParams(token): PathParams<String>,
    QueryParams(query): QueryParams<Map<String, Value>>,
) -> Result<Response, ApiError> {
    state.engine.target(&token).await?;
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

/// `POST /in/global/{app}/{key}`: runs the webhook's `handle`, routes the events it
/// returns, and answers with its `response`.
pub async fn global_post(
    State(state): State<ServerState>,
    PathParams((app, key)): PathParams<(String, String)>,
    QueryParams(query): QueryParams<Map<String, Value>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let app_id = state.engine.global_webhook_app(&app, &key).await?;
    let parsed = parse_body(&state, &headers, body).await?;
    let request = GlobalRequest {
        query,
        data: parsed.data,
        headers: header_map(&headers),
        raw_body: parsed.raw,
    };
    let response = state.engine.global_webhook(&app_id, &key, request).await?;
    Ok(handle_response(response))
}

/// `GET /in/global/{app}/{key}`: the CRC handshake, for a webhook that exists.
pub async fn global_get(
    State(state): State<ServerState>,
    PathParams((app, key)): PathParams<(String, String)>,
    QueryParams(query): QueryParams<Map<String, Value>>,
) -> Result<Response, ApiError> {
    state.engine.global_webhook_exists(&app, &key).await?;
    Ok(crc_answer(&query))
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
