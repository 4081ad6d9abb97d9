//! What the sandbox asks of the platform. The sandbox knows nothing of SQL or sockets:
//! every platform call an app makes (`$db.get`, `$request.post`, `generateTargetUrl`, …)
//! becomes one `Host::call`, and its answer settles the app's promise.

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

/// A platform call's answer: `Ok` resolves the app's promise, `Err` rejects it (with the
/// platform's error shape, e.g. `{"status": 404, "message": "Record not found"}`).
pub type HostResult = Result<Value, Value>;

pub trait Host: Send + Sync + 'static {
    /// One platform call. `name` is e.g. `db.get`, `request.url`, `schedule.create`;
    /// `args` holds the arguments the app passed (a JSON array, or an object for
    /// `request.url`).
    fn call(&self, name: String, args: Value) -> Pin<Box<dyn Future<Output = HostResult> + Send>>;
}

/// A host that offers nothing: every call is rejected. For code that must not reach the
/// platform, and for tests.
pub struct NoHost;

impl Host for NoHost {
    fn call(&self, name: String, _: Value) -> Pin<Box<dyn Future<Output = HostResult> + Send>> {
        Box::pin(async move {
            Err(
                serde_json::json!({"status": 501, "message": format!("{name} is not available here")}),
            )
        })
    }
}
