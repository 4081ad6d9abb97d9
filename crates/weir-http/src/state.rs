//! What every request handler can reach.

use std::sync::Arc;

use weir_core::TokenHash;
use weir_engine::Engine;

#[derive(Clone)]
pub struct ServerState {
    /// Every change goes through the engine's commands; reads go to `engine.store()`.
    pub engine: Arc<Engine>,
    /// The hash of the admin token; the token itself is never held.
    pub admin_token: Arc<TokenHash>,
    pub limits: Limits,
    pub console: ConsoleSettings,
}

/// The operator console's and the account portal's settings.
#[derive(Debug, Clone)]
pub struct ConsoleSettings {
    /// The portal page's CSP `frame-ancestors`: who may frame it (`'none'` by default; the
    /// operator's product's origin to embed it).
    pub portal_frame_ancestors: String,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        ConsoleSettings {
            portal_frame_ancestors: "'none'".into(),
        }
    }
}

impl ServerState {
    /// The store, for reads.
    pub fn store(&self) -> &dyn weir_store::Store {
        self.engine.store().as_ref()
    }

    /// The base of every URL Weir hands out, without a trailing slash.
    pub fn public_url(&self) -> &str {
        self.engine.public_url()
    }
}

#[derive(Debug, Clone)]
pub struct Limits {
    /// The largest JSON request body accepted.
    pub json_body_bytes: usize,
    /// The largest app package (zip) accepted.
    pub package_bytes: usize,
    /// Bodies posted to target URLs and global webhooks.
    pub webhook_body: crate::inbound_body::Limits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            json_body_bytes: 1024 * 1024,
            package_bytes: weir_core::MAX_PACKAGE_BYTES,
            webhook_body: crate::inbound_body::Limits::default(),
        }
    }
}
