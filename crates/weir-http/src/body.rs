//! Reading request bodies strictly: the declared content type, a size limit, and JSON that
//! must match the expected shape exactly (unknown fields are errors that name the field).

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::ServerState;

/// A JSON request body parsed into `T`.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<ServerState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &ServerState) -> Result<Self, ApiError> {
        require_content_type(request.headers(), &["application/json"])?;
        let bytes = read_limited(request.into_body(), state.limits.json_body_bytes).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// A JSON request body parsed into `T`, or `T::default()` when the request has no body:
/// for commands whose every field is optional.
pub struct OptionalJsonBody<T>(pub T);

impl<T: DeserializeOwned + Default> FromRequest<ServerState> for OptionalJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &ServerState) -> Result<Self, ApiError> {
        let headers = request.headers().clone();
        let bytes = read_limited(request.into_body(), state.limits.json_body_bytes).await?;
        if bytes.is_empty() {
            return Ok(OptionalJsonBody(T::default()));
        }
        require_content_type(&headers, &["application/json"])?;
        parse_json(&bytes).map(OptionalJsonBody)
    }
}

/// Fails with 415 unless the `Content-Type` is one of `accepted` (parameters ignored).
pub fn require_content_type(headers: &HeaderMap, accepted: &[&str]) -> Result<(), ApiError> {
    let given = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let essence = given.map(|v| {
        v.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    if essence.as_deref().is_some_and(|e| accepted.contains(&e)) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        format!(
            "expected Content-Type: {}, got {}",
            accepted.join(" or "),
            given.map_or("none".to_owned(), |g| format!("{g:?}"))
        ),
    ))
}

/// How much of an over-limit body is read and thrown away before answering 413. Answering
/// while the client is still sending makes many clients report a broken connection
/// instead of the 413; past this much, the connection is cut.
const DRAIN_FACTOR: usize = 8;

/// The whole body, or 413 once it exceeds `limit` bytes.
pub async fn read_limited(mut body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let mut collected = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(unreadable)?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen += data.len();
        if seen <= limit {
            collected.extend_from_slice(&data);
        } else if seen > limit.saturating_mul(DRAIN_FACTOR) {
            break;
        }
    }
    if seen > limit {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than the limit of {limit} bytes"),
        ));
    }
    Ok(collected.into())
}

/// A body that could not be read: too slow (408, and the connection closes), or broken.
fn unreadable(error: axum::Error) -> ApiError {
    let inner = error.into_inner();
    match inner.downcast_ref::<crate::server::BodyTimedOut>() {
        Some(timed_out) => ApiError::new(StatusCode::REQUEST_TIMEOUT, timed_out.to_string()),
        None => ApiError::bad_request(format!("could not read the request body: {inner}")),
    }
}

/// Syntax errors are 400 (not JSON at all); JSON of the wrong shape is 422, with the path
/// of the offending field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let malformed = |e: serde_json::Error| ApiError::bad_request(format!("malformed JSON: {e}"));
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            malformed(inner)
        } else if path == "." {
            ApiError::unprocessable(inner.to_string())
        } else {
            ApiError::unprocessable(format!("{path}: {inner}"))
        }
    })?;
    deserializer.end().map_err(malformed)?;
    Ok(value)
}

/// Path parameters, with a malformed path (bad percent-encoding) answered in the API's
/// error shape.
pub struct PathParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(PathParams(value)),
            Err(rejection) => Err(ApiError::bad_request(format!(
                "invalid path: {}",
                rejection.body_text()
            ))),
        }
    }
}

/// Query parameters, with unknown or malformed ones answered in the API's error shape.
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(QueryParams(value)),
            Err(rejection) => Err(ApiError::bad_request(format!(
                "invalid query: {}",
                rejection.body_text()
            ))),
        }
    }
}
