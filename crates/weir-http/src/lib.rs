//! Weir's HTTP surface: the operator API under `/api/v1`, the operator console
//! (`/console`) and account portal (`/portal`) pages, and `/healthz` / `/readyz`.
//! One table (`routes/table.rs`) builds the router and its OpenAPI document (`openapi`).
//!
//! Handlers parse the request, call one command of the engine (`weir_engine::Engine`) or
//! read the store, and answer; the rules and the work belong to the engine. Every error is `{"error": {"code", "message"}}`
//! with a 4xx that says what the client got wrong, or a 5xx that is logged.

mod auth;
mod body;
mod console;
mod error;
pub mod inbound_body;
pub mod openapi;
mod pagination;
mod routes;
mod server;
mod state;

pub use error::ApiError;

/// The target of the span each HTTP request runs in (at debug level: traced when a trace
/// collector is configured, never a prefix of log lines).
pub const REQUEST_SPAN_TARGET: &str = "weir_http::request";

pub use routes::{document as openapi_document, health_router, router};
pub use server::{Timeouts, serve};
pub use state::{ConsoleSettings, Limits, ServerState};
