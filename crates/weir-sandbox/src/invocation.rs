//! One run of one handler: what is asked (a `server.js` function or a connector module),
//! the limits it runs under, and what came of it.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use weir_core::{ConsoleLine, InvocationStatus};

use crate::code::AppCode;
use crate::host::Host;

pub struct Invocation {
    pub code: Arc<AppCode>,
    /// What to run. The field keeps its old name, and a plain name converts into
    /// [`Entry::Handler`], so that `handler: "onTicketCreateHandler".into()` still means a
    /// function of `server/server.js`, as it did before connectors.
    pub handler: Entry,
    /// The event payload; the handler gets its own deep copy.
    pub payload: Value,
    pub host: Arc<dyn Host>,
    pub limits: Limits,
    /// `process.env.ENV`: "production", or "test" under `weir dev`.
    pub env: &'static str,
}

/// What an invocation runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A function of `server/server.js`'s `exports` (Freshworks), called with a deep copy of
    /// the payload.
    Handler(String),
    /// A package file run as an ES module (an integration.app connector method, e.g.
    /// `global-webhooks/all-events/handle.js`), whose `default` export is called with one
    /// object: the payload's fields plus `apiClient` and `credentials`
    /// (`payload.credentials`).
    Module(String),
}

impl From<&str> for Entry {
    fn from(name: &str) -> Self {
        Entry::Handler(name.to_owned())
    }
}

impl From<String> for Entry {
    fn from(name: String) -> Self {
        Entry::Handler(name)
    }
}

/// What one invocation may use.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Wall time: CPU loops and promises that never settle alike (Freshworks: 20 s).
    pub time: Duration,
    /// QuickJS memory the invocation may allocate, on top of what its runtime holds
    /// before it starts (which is the same for every invocation). The arguments of its
    /// platform calls waiting for an answer, held outside QuickJS, may take as much again.
    pub memory_bytes: usize,
    pub stack_bytes: usize,
    /// Console output kept per invocation; the rest is counted, not stored.
    pub console_bytes: usize,
    /// Timers pending at once. Each holds memory outside QuickJS's count; one more ends
    /// the invocation with "too many timers".
    pub timers: usize,
    /// Platform calls waiting for an answer at once. Each holds a task and its work
    /// (e.g. a store query) on what every invocation shares.
    pub calls: usize,
    /// The JSON of what the handler returns, and of what it passes to `renderData`:
    /// the invocation record keeps both.
    pub result_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            time: Duration::from_secs(20),
            memory_bytes: 64 * 1024 * 1024,
            stack_bytes: 512 * 1024,
            console_bytes: 64 * 1024,
            timers: 10_000,
            calls: 1_000,
            result_bytes: 1024 * 1024,
        }
    }
}

/// What the handler passed to `renderData`, as the platform answers it (REFERENCE §1).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Render {
    /// `renderData()` or `renderData(null, data)`.
    Ok { data: Option<Value> },
    /// `renderData({status?, message})`: HTTP `status` (500 when absent).
    Error { status: u16, message: Value },
    /// Anything else: 400 "The error should be a JSON Object with a message or a status
    /// parameter."
    Invalid,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub status: InvocationStatus,
    /// What the handler returned (or its promise resolved to), as JSON.
    pub value: Option<Value>,
    /// Why it failed: the error's name and message.
    pub error: Option<String>,
    pub stack: Option<String>,
    pub render: Option<Render>,
    pub console: Vec<ConsoleLine>,
    /// Console output past the limit, in bytes.
    pub console_dropped: usize,
    pub duration: Duration,
}

impl Outcome {
    /// An invocation that could not run at all.
    pub fn failed(reason: &str) -> Self {
        Outcome {
            status: InvocationStatus::Error,
            value: None,
            error: Some(reason.to_owned()),
            stack: None,
            render: None,
            console: Vec::new(),
            console_dropped: 0,
            duration: Duration::ZERO,
        }
    }
}
