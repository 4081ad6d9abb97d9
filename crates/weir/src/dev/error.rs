//! How the dev routes answer mistakes: `{"error": {"code", "message"}}` with a 4xx, as
//! the operator API does, and the extractors that keep axum's own rejections (a bad query,
//! a body too large) in that shape.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::json;

#[derive(Debug)]
pub struct DevError {
    status: StatusCode,
    message: String,
}

impl DevError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        DevError {
            status,
            message: message.into(),
        }
    }

    /// Weir's own failure, not the caller's: logged, and said.
    pub fn internal(error: anyhow::Error) -> Self {
        tracing::error!(error = format!("{error:#}"), "weir dev failed");
        DevError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("{error:#}"))
    }
}

impl From<anyhow::Error> for DevError {
    fn from(error: anyhow::Error) -> Self {
        DevError::internal(error)
    }
}

impl From<weir_store::StoreError> for DevError {
    fn from(error: weir_store::StoreError) -> Self {
        DevError::internal(error.into())
    }
}

impl IntoResponse for DevError {
    fn into_response(self) -> Response {
        let code = match self.status {
            StatusCode::BAD_REQUEST => "bad_request",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::PAYLOAD_TOO_LARGE => "too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            StatusCode::UNPROCESSABLE_ENTITY => "unprocessable",
            _ => "internal",
        };
        let body = json!({"error": {"code": code, "message": self.message}});
        (self.status, Json(body)).into_response()
    }
}

/// `Query`, whose mistakes are a `DevError`.
pub struct DevQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for DevQuery<T> {
    type Rejection = DevError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, DevError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(query)) => Ok(DevQuery(query)),
            Err(rejection) => Err(DevError::new(
                StatusCode::BAD_REQUEST,
                format!("the query string: {}", rejection.body_text()),
            )),
        }
    }
}

/// The body's bytes (up to axum's 2 MB), whose mistakes are a `DevError`.
pub struct DevBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for DevBody {
    type Rejection = DevError;

    async fn from_request(request: Request, state: &S) -> Result<Self, DevError> {
        match Bytes::from_request(request, state).await {
            Ok(bytes) => Ok(DevBody(bytes)),
            Err(rejection) => Err(DevError::new(rejection.status(), rejection.body_text())),
        }
    }
}
