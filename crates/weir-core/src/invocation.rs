//! Invocation records: one run of one handler for one event, as kept and shown by the API.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{AccountId, AppId, InstallationId, InvalidValue, InvocationId};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InvocationRecord {
    pub id: InvocationId,
    pub installation_id: InstallationId,
    pub account_id: AccountId,
    pub app_id: AppId,
    /// The event the handler ran for, e.g. `onContactCreate` or `onScheduledEvent`.
    pub event: String,
    /// The function of the app that ran.
    pub handler: String,
    pub status: InvocationStatus,
    pub started_at: Timestamp,
    pub duration_ms: u64,
    pub console: Vec<ConsoleLine>,
    /// Console output past the per-invocation cap, in bytes: counted, not kept.
    pub console_dropped: u64,
    /// Why it failed: the error's name and message, or the limit it broke.
    pub error: Option<String>,
    pub stack: Option<String>,
    /// What the handler passed to `renderData`, as the platform answers it.
    pub render: Option<Value>,
    /// What the handler returned (or its promise resolved to).
    pub result: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvocationStatus {
    Success,
    Error,
    Timeout,
    OutOfMemory,
}

impl InvocationStatus {
    pub const ALL: [InvocationStatus; 4] = [
        InvocationStatus::Success,
        InvocationStatus::Error,
        InvocationStatus::Timeout,
        InvocationStatus::OutOfMemory,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InvocationStatus::Success => "success",
            InvocationStatus::Error => "error",
            InvocationStatus::Timeout => "timeout",
            InvocationStatus::OutOfMemory => "out_of_memory",
        }
    }

    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == value)
            .ok_or_else(|| {
                InvalidValue(format!(
                    "status must be one of success, error, timeout, out_of_memory; got {value:?}"
                ))
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleLine {
    /// `log`, `info`, `warn` or `error`.
    pub level: String,
    pub text: String,
}

/// Which invocation records a list returns; every field narrows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InvocationFilter {
    pub event: Option<String>,
    pub status: Option<InvocationStatus>,
    /// Started at or after.
    pub since: Option<Timestamp>,
    /// Started before.
    pub until: Option<Timestamp>,
}
