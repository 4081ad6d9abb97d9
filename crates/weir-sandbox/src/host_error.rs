//! Why a platform call failed, in the shape the app's promise rejects with.
//!
//! Apps branch on these shapes (`err.status === 404`, `err.response`), and each platform
//! global has its own (REFERENCE §1), so each is a variant and its JSON is written out
//! field by field, in the order the app sees them.

use serde::{Serialize, Serializer};
use serde_json::{Map, Value, json};

/// A platform call's error. Boxed: `$request`'s shape holds a whole response, and every
/// `HostResult` (whose answers are small) would otherwise be as large.
#[derive(Debug, Clone, PartialEq)]
pub struct HostError(Box<Shape>);

#[derive(Debug, Clone, PartialEq)]
enum Shape {
    /// `{status, message}`, with `data` after them when there is some.
    StatusMessage {
        status: u16,
        message: String,
        data: Option<Value>,
    },
    /// `{status, headers, response, attempts?, errorSource: "APP"}`.
    Request {
        status: u16,
        headers: Map<String, Value>,
        response: Value,
        attempts: Option<u32>,
    },
    /// `{message}` and nothing else.
    Message { message: String },
    /// `{code, message}`: a Node-style system error (`ECONNREFUSED`, `ETIMEDOUT`, …).
    Code { code: String, message: String },
}

impl HostError {
    /// The usual shape, `{status, message}`: `$db`, `$schedule`, `$webhooks`,
    /// `apiClient`, the platform's limits and its own failures.
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        HostError(Box::new(Shape::StatusMessage {
            status,
            message: message.into(),
            data: None,
        }))
    }

    /// `{status, message, data}`: a connector's API refused an `apiClient` call, and
    /// `data` is its answer.
    pub fn with_data(status: u16, message: impl Into<String>, data: Value) -> Self {
        HostError(Box::new(Shape::StatusMessage {
            status,
            message: message.into(),
            data: Some(data),
        }))
    }

    /// `$request`'s shape for a request the platform refused or could not send:
    /// `{status, headers: {}, response: message, errorSource: "APP"}`.
    pub fn request_refused(status: u16, message: impl Into<String>) -> Self {
        HostError(Box::new(Shape::Request {
            status,
            headers: Map::new(),
            response: Value::String(message.into()),
            attempts: None,
        }))
    }

    /// `$request`'s shape for an endpoint that answered 400 or more, after `attempts`
    /// tries: `{status, headers, response, attempts, errorSource: "APP"}`.
    pub fn request_answered(
        status: u16,
        headers: Map<String, Value>,
        response: Value,
        attempts: u32,
    ) -> Self {
        HostError(Box::new(Shape::Request {
            status,
            headers,
            response,
            attempts: Some(attempts),
        }))
    }

    /// `{message}` and nothing else: `generateTargetUrl`'s.
    pub fn message_only(message: impl Into<String>) -> Self {
        HostError(Box::new(Shape::Message {
            message: message.into(),
        }))
    }

    /// `{code, message}`: why a request of Node's `http`, `https` or `fetch` got no
    /// response, as Node names it (`ECONNREFUSED`, `ETIMEDOUT`, …): HTTP clients branch
    /// on `err.code`.
    pub fn with_code(code: impl Into<String>, message: impl Into<String>) -> Self {
        HostError(Box::new(Shape::Code {
            code: code.into(),
            message: message.into(),
        }))
    }

    /// The HTTP-like status, if the shape has one.
    pub fn status(&self) -> Option<u16> {
        match &*self.0 {
            Shape::StatusMessage { status, .. } | Shape::Request { status, .. } => Some(*status),
            Shape::Message { .. } | Shape::Code { .. } => None,
        }
    }

    /// The error's text: its message, or `$request`'s `response` when that is a text.
    pub fn text(&self) -> Option<&str> {
        match &*self.0 {
            Shape::StatusMessage { message, .. }
            | Shape::Message { message }
            | Shape::Code { message, .. } => Some(message),
            Shape::Request { response, .. } => response.as_str(),
        }
    }

    /// The error as the app's promise rejects with it.
    pub fn to_json(&self) -> Value {
        match &*self.0 {
            Shape::StatusMessage {
                status,
                message,
                data,
            } => {
                let mut shape = json!({"status": status, "message": message});
                if let Some(data) = data {
                    shape["data"] = data.clone();
                }
                shape
            }
            Shape::Request {
                status,
                headers,
                response,
                attempts,
            } => {
                let mut shape = json!({"status": status, "headers": headers, "response": response});
                if let Some(attempts) = attempts {
                    shape["attempts"] = json!(attempts);
                }
                shape["errorSource"] = json!("APP");
                shape
            }
            Shape::Message { message } => json!({"message": message}),
            Shape::Code { code, message } => json!({"code": code, "message": message}),
        }
    }
}

/// As [`HostError::to_json`]: the one place the shapes are written.
impl Serialize for HostError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JSON text the app's `JSON.parse` reads: the order of the keys shows in
    /// `Object.keys(err)`, so it is compared too.
    fn text(error: &HostError) -> String {
        serde_json::to_string(error).unwrap()
    }

    #[test]
    fn status_and_message_as_db_schedule_and_webhooks_reject() {
        assert_eq!(
            text(&HostError::new(404, "Record not found")),
            r#"{"status":404,"message":"Record not found"}"#
        );
    }

    #[test]
    fn a_connector_api_s_refusal_carries_its_data() {
        let error = HostError::with_data(
            404,
            "GET projects/9 answered 404",
            json!({"error": "not_found"}),
        );
        assert_eq!(
            text(&error),
            r#"{"status":404,"message":"GET projects/9 answered 404","data":{"error":"not_found"}}"#
        );
    }

    #[test]
    fn request_errors_have_the_shape_of_a_response_from_the_app() {
        assert_eq!(
            text(&HostError::request_refused(
                400,
                "Invalid URL - Must be HTTPS"
            )),
            r#"{"status":400,"headers":{},"response":"Invalid URL - Must be HTTPS","errorSource":"APP"}"#
        );
        let mut headers = Map::new();
        headers.insert("content-type".into(), json!("application/json"));
        let answered = HostError::request_answered(503, headers, json!({"busy": true}), 3);
        assert_eq!(
            text(&answered),
            r#"{"status":503,"headers":{"content-type":"application/json"},"response":{"busy":true},"attempts":3,"errorSource":"APP"}"#
        );
    }

    #[test]
    fn generate_target_url_rejects_with_a_message_only() {
        assert_eq!(
            text(&HostError::message_only("Unsupported operation")),
            r#"{"message":"Unsupported operation"}"#
        );
    }

    #[test]
    fn node_requests_fail_with_a_code_and_a_message() {
        let refused = HostError::with_code("ECONNREFUSED", "connect ECONNREFUSED");
        assert_eq!(
            text(&refused),
            r#"{"code":"ECONNREFUSED","message":"connect ECONNREFUSED"}"#
        );
        assert_eq!(
            (refused.status(), refused.text()),
            (None, Some("connect ECONNREFUSED"))
        );
    }

    #[test]
    fn status_and_text_read_every_shape() {
        let refused = HostError::request_refused(504, "Timeout");
        assert_eq!(
            (refused.status(), refused.text()),
            (Some(504), Some("Timeout"))
        );
        let answered = HostError::request_answered(500, Map::new(), json!({"x": 1}), 1);
        assert_eq!((answered.status(), answered.text()), (Some(500), None));
        let message = HostError::message_only("no");
        assert_eq!((message.status(), message.text()), (None, Some("no")));
        let plain = HostError::new(429, "Too many");
        assert_eq!(
            (plain.status(), plain.text()),
            (Some(429), Some("Too many"))
        );
    }
}
