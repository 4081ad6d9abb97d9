//! The one error shape of the API: `{"error": {"code": "...", "message": "..."}}`, with the
//! status that says whose mistake it was. Server-side failures are logged in full and
//! answered without internals.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use weir_engine::ErrorKind;
use weir_store::StoreError;

/// When a client told 503 may try again.
const RETRY_AFTER_SECONDS: &str = "5";

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    /// Itemised problems, e.g. one per file of a broken package.
    details: Vec<Detail>,
    /// For a 429: when the client may try again.
    retry_after: Option<std::time::Duration>,
}

#[derive(Debug, Serialize)]
pub struct Detail {
    pub file: String,
    /// A JSON pointer or `line:column`; empty when the problem is the whole file.
    pub location: String,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            details: Vec::new(),
            retry_after: None,
        }
    }

    pub fn with_details(mut self, details: Vec<Detail>) -> Self {
        self.details = details;
        self
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }
}

/// The machine-readable name of each status the API uses.
fn code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::CONFLICT => "conflict",
        StatusCode::GONE => "gone",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "unprocessable",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        StatusCode::BAD_GATEWAY => "bad_gateway",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        _ => "internal",
    }
}

/// The answer to a request whose handler panicked (a bug): logged, and a 500.
pub(crate) fn answer_panic(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message");
    tracing::error!(panic = message, "a request's handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error; see the server log",
    )
    .into_response()
}

/// The one place the engine's errors become HTTP.
impl From<weir_engine::Error> for ApiError {
    fn from(error: weir_engine::Error) -> Self {
        let (status, retry_after) = match error.kind() {
            ErrorKind::Malformed => (StatusCode::BAD_REQUEST, None),
            ErrorKind::NotFound => (StatusCode::NOT_FOUND, None),
            ErrorKind::Invalid => (StatusCode::UNPROCESSABLE_ENTITY, None),
            ErrorKind::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, None),
            ErrorKind::Refused => (StatusCode::FORBIDDEN, None),
            ErrorKind::Conflict => (StatusCode::CONFLICT, None),
            ErrorKind::Gone => (StatusCode::GONE, None),
            ErrorKind::RateLimited { retry_after } => {
                (StatusCode::TOO_MANY_REQUESTS, Some(retry_after))
            }
            ErrorKind::Upstream => (StatusCode::BAD_GATEWAY, None),
            ErrorKind::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, None),
            ErrorKind::Internal => (StatusCode::INTERNAL_SERVER_ERROR, None),
        };
        let details = error
            .problems()
            .iter()
            .map(|problem| Detail {
                file: problem.file.clone(),
                location: problem.location.clone(),
                message: problem.message.clone(),
            })
            .collect();
        ApiError {
            details,
            retry_after,
            ..ApiError::new(status, error.message())
        }
    }
}

/// Reads fail as the engine's commands do.
impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        weir_engine::Error::from(error).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct Body<'a> {
            error: Inner<'a>,
        }
        #[derive(Serialize)]
        struct Inner<'a> {
            code: &'static str,
            message: &'a str,
            #[serde(skip_serializing_if = "<[Detail]>::is_empty")]
            details: &'a [Detail],
        }
        let body = Body {
            error: Inner {
                code: code(self.status),
                message: &self.message,
                details: &self.details,
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::REQUEST_TIMEOUT {
            // The rest of a slow body is not waited for.
            response.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
        }
        if let Some(after) = self.retry_after {
            let seconds = after.as_secs_f64().ceil().max(1.0) as u64;
            if let Ok(value) = header::HeaderValue::try_from(seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}
