//! The workers: the platform that app handlers call into, and (as they arrive) fan-out of
//! events to subscriptions, outbound delivery and schedules.
//!
//! The HTTP layer persists and answers; this crate does the work.

pub mod host;

pub use host::{CallContext, PlatformHost};
