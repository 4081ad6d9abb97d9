//! The audit record of one call of a registered webhook (seed 003): what was called and
//! what came of it, never the URL or the headers (they may hold secrets).

use jiff::Timestamp;
use serde::Serialize;

use crate::{AccountId, HttpMethod, InstallationId, ReferenceId};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebhookInvocation {
    pub reference_id: ReferenceId,
    pub installation_id: InstallationId,
    pub account_id: AccountId,
    pub webhook_id: String,
    /// The first call of a chain (a call's own id when it started one).
    pub chain_id: ReferenceId,
    pub method: HttpMethod,
    /// The host called, without the rest of the URL.
    pub target_host: String,
    pub request_bytes: u64,
    pub response_bytes: u64,
    /// The endpoint's status; 502 when it could not be reached, 504 when it timed out.
    pub status: Option<u16>,
    pub error: bool,
    pub error_message: Option<String>,
    pub duration_ms: u64,
    pub started_at: Timestamp,
}
