//! What the sandbox asks of the platform. The sandbox knows nothing of SQL or sockets:
//! every platform call an app makes (`$db.get`, `$request.post`, `generateTargetUrl`, …)
//! becomes one [`HostCall`] given to `Host::call`, and its answer settles the app's
//! promise.

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

use crate::host_call::HostCall;
use crate::host_error::HostError;

/// A platform call's answer: `Ok` resolves the app's promise with the value, `Err`
/// rejects it with the error's shape.
pub type HostResult = Result<Value, HostError>;

pub trait Host: Send + Sync + 'static {
    /// One platform call, as the app made it.
    fn call(&self, call: HostCall) -> Pin<Box<dyn Future<Output = HostResult> + Send>>;
}

/// A host that offers nothing: every call is rejected. For code that must not reach the
/// platform, and for tests.
pub struct NoHost;

impl Host for NoHost {
    fn call(&self, call: HostCall) -> Pin<Box<dyn Future<Output = HostResult> + Send>> {
        let name = call.name();
        Box::pin(async move { Err(HostError::new(501, format!("{name} is not available here"))) })
    }
}
