//! The platform as one installation's handlers see it: every call the sandbox forwards
//! (`db.get`, `request.url`, …) is answered here, scoped to that installation.

mod app_data;
mod target_url;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::{Value, json};
use weir_core::InstallationId;
use weir_sandbox::{Host, HostResult};
use weir_store::Store;

pub struct PlatformHost {
    store: Arc<dyn Store>,
    installation: InstallationId,
    context: Arc<CallContext>,
}

/// What the platform knows of the invocation making the calls.
#[derive(Debug, Clone)]
pub struct CallContext {
    /// The event whose handler is running, e.g. `onAppInstall`.
    pub event: String,
    /// Whether the app handles `onExternalEvent` (`generateTargetUrl` needs it).
    pub handles_external_events: bool,
    /// This installation's URL for external events (`weir_core::target_url`).
    pub target_url: String,
}

impl PlatformHost {
    pub fn new(store: Arc<dyn Store>, installation: InstallationId, context: CallContext) -> Self {
        PlatformHost {
            store,
            installation,
            context: Arc::new(context),
        }
    }
}

impl Host for PlatformHost {
    fn call(&self, name: String, args: Value) -> Pin<Box<dyn Future<Output = HostResult> + Send>> {
        let (store, installation) = (self.store.clone(), self.installation.clone());
        let context = self.context.clone();
        Box::pin(async move {
            match name.split_once('.') {
                Some(("db", operation)) => {
                    app_data::call(store.as_ref(), &installation, operation, &args).await
                }
                None if name == "generateTargetUrl" => target_url::generate(&context, &args),
                _ => Err(json!({"status": 501, "message": format!("{name} is not available yet")})),
            }
        })
    }
}

/// A store failure, as apps see it: the platform's fault, not theirs.
fn internal(error: weir_store::StoreError) -> Value {
    tracing::error!(%error, "a platform call failed in the store");
    json!({"status": 500, "message": "Internal server error"})
}
