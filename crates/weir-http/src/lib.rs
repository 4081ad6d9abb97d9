//! Weir's HTTP surface: the operator API under `/api/v1`, and `/healthz` / `/readyz`.
//!
//! Handlers parse and check the request, persist through the store, and answer; the work
//! that events cause belongs to the engine. Every error is `{"error": {"code", "message"}}`
//! with a 4xx that says what the client got wrong, or a 5xx that is logged.

mod auth;
mod body;
mod error;
pub mod inbound_body;
mod pagination;
mod routes;
mod server;
mod state;
mod target_cache;

pub use error::ApiError;
pub use routes::{health_router, router, stored_event};
pub use server::{Timeouts, serve};
pub use state::{Limits, ServerState};
pub use target_cache::TargetCache;
