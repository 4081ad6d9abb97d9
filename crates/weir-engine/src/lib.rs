//! The workers: the platform that app handlers call into (`host`, over `outbound` HTTP),
//! running handlers and keeping their records (`runner`), firing schedules
//! (`scheduler`), and, as they arrive, fan-out of events and outbound delivery.
//!
//! The HTTP layer persists and answers; this crate does the work.

mod apps;
pub mod envelope;
pub mod host;
pub mod outbound;
pub mod platform;
pub mod rate_limit;
pub mod runner;
pub mod scheduler;

pub use host::{CallContext, PlatformHost};
pub use platform::{Platform, PlatformSettings};
pub use runner::{RunError, Runner, RunnerSettings};
