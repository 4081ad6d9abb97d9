//! The workers: the platform that app handlers call into (`host`, over `outbound` HTTP),
//! running handlers and keeping their records (`runner`), firing schedules (`scheduler`),
//! running the jobs product events owe installations (`dispatcher`), keeping the tokens of
//! OAuth apps (`oauth`), the app's say in installs, uninstalls and updates (`lifecycle`),
//! and taking third parties' webhooks in (`inbound`, with connector `mapping`s). The
//! background workers run under a `supervisor` that restarts one that panics.
//!
//! The HTTP layer persists and answers; this crate does the work.

pub mod apps;
pub mod commands;
pub mod connector_refresher;
pub mod connector_webhooks;
pub mod deliverer;
pub mod dispatcher;
mod engine;
pub mod envelope;
mod error;
pub mod extension_webhooks;
pub mod fail_points;
mod fresh_cache;
pub mod host;
pub mod inbound;
pub mod lifecycle;
pub mod mapping;
pub mod metrics;
mod notices;
pub mod oauth;
pub mod outbound;
pub mod platform;
pub mod rate_limit;
pub mod registered_webhooks;
pub mod retention;
pub mod runner;
pub mod scheduler;
pub mod supervisor;
pub mod wakeups;
mod worker;

pub use engine::{Engine, EngineSettings};
pub use error::{Error, ErrorKind};
pub use host::{CallContext, PlatformHost};
pub use platform::{Platform, PlatformSettings};
pub use runner::{RunError, Runner, RunnerSettings};
