//! Reading request bodies strictly: the declared content type, a size limit, and JSON that
//! must match the expected shape exactly (unknown fields are errors that name the field).

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
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

/// The whole body, or 413 as soon as it exceeds `limit` bytes.
pub async fn read_limited(body: Body, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than the limit of {limit} bytes"),
        )
    };
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => Ok(bytes),
        Err(error) => {
            let source = error.into_inner();
            if source
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                Err(too_large())
            } else {
                Err(ApiError::bad_request(format!(
                    "could not read the request body: {source}"
                )))
            }
        }
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
