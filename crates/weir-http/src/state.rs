//! What every request handler can reach.

use std::sync::Arc;

use weir_core::{PackageLimits, TokenHash};
use weir_engine::Runner;
use weir_store::Store;

#[derive(Clone)]
pub struct ServerState {
    pub store: Arc<dyn Store>,
    /// Runs app handlers: the lifecycle handlers of installs, uninstalls and updates.
    pub runner: Arc<Runner>,
    /// The hash of the admin token; the token itself is never held.
    pub admin_token: Arc<TokenHash>,
    /// The base of every URL Weir hands out, without a trailing slash.
    pub public_url: Arc<str>,
    pub limits: Limits,
    /// Installations by target token, for busy target URLs.
    pub targets: Arc<crate::TargetCache>,
}

#[derive(Debug, Clone)]
pub struct Limits {
    /// The largest JSON request body accepted.
    pub json_body_bytes: usize,
    /// The largest app package (zip) accepted.
    pub package_bytes: usize,
    pub package: PackageLimits,
    /// Bodies posted to target URLs and global webhooks.
    pub webhook_body: crate::inbound_body::Limits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            json_body_bytes: 1024 * 1024,
            package_bytes: weir_core::MAX_PACKAGE_BYTES,
            package: PackageLimits::default(),
            webhook_body: crate::inbound_body::Limits::default(),
        }
    }
}
