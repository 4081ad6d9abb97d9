//! The engine's commands, one file per resource: each `impl Engine` block holds the
//! changes callers may ask for, with the rules that guard them.

pub mod accounts;
pub mod apps;
pub mod deliveries;
pub mod development;
pub mod events;
pub mod inbound;
pub mod installations;
pub mod oauth;
pub mod operational_webhooks;
pub mod subscriptions;
pub mod triggers;
