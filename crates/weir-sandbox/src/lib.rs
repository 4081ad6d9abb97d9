//! The JavaScript sandbox (QuickJS, through `rquickjs`): runs app code with the platform
//! globals, and checks the syntax of app packages.
//!
//! An [`Invocation`] runs one [`Entry`]: a Freshworks handler (a function of
//! `server/server.js`, with `require` for its own files, npm packages and Node's built-in
//! modules as the sandbox offers them: see `node/`), or an integration.app connector
//! method (an ES module such as `global-webhooks/<key>/handle.js`, whose default export
//! gets the payload plus `apiClient` and `credentials`, with `import` for the package's
//! own files).
//!
//! It knows nothing of SQL or sockets: every platform call (`$db`, `$request`,
//! `$schedule`, `generateTargetUrl`, `$webhooks`, `apiClient.get`, and the HTTP requests
//! of Node's `http`, `https` and `fetch`, …) goes to a [`Host`]
//! that the engine provides, as a [`HostCall`] parsed where it leaves JavaScript, and
//! comes back as a value or a [`HostError`]. Module state does not survive between
//! invocations (as on Freshworks): each runs in a fresh context. Code compiles once per
//! app version.
//!
//! Invocations are isolated from each other, whatever tenant they run for: each has its
//! own allowance of memory, time, timers and result size, and a runtime is reused by the
//! next invocation only once it is back to what it was when new.
//!
//! Packages are checked here too ([`validate_package`]): their syntax, and what their code
//! exports, learnt by running its top level only ([`server_exports`]).

mod bytecode;
mod code;
mod code_check;
mod host;
mod host_call;
mod host_error;
mod invocation;
mod meter;
mod modules;
mod node;
mod pool;
mod run;
mod script_events;
mod syntax;
pub mod template;
mod top_level;
mod warm;

use weir_core::{AppDefinition, Package, PackageProblem};

pub use code::AppCode;
pub use host::{Host, HostResult, NoHost};
pub use host_call::{
    ApiClientCall, DbCall, DbOperation, EntityCall, EntityOperation, HostCall, HttpMethod, NodeApi,
    NodeRequest, RequestCall, ScheduleCall, ScheduleOperation, TemplateRequest, UnknownCall,
    UrlRequest, WebhookTrigger,
};
pub use host_error::HostError;
pub use invocation::{Entry, Invocation, Limits, Outcome, Render};
pub use pool::Sandbox;
pub use script_events::learn_script_events;
pub use syntax::check_syntax;
pub use top_level::{
    Callback, DefaultExport, ListedEvent, ListedEvents, ServerExports, TopLevelError,
    TopLevelLimits, module_default_export, server_exports,
};

/// The whole check of a package, as uploads and `weir validate` run it: its declarations
/// (`AppDefinition::read`), its code's syntax (`check_syntax`) and what the code exports
/// (its top level run), every problem of the three together.
pub fn validate_package(package: &Package) -> Result<AppDefinition, Vec<PackageProblem>> {
    let reading = AppDefinition::read(package);
    let syntax = check_syntax(package);
    let (exports, script_events) = code_check::check_exports(package, &reading, &syntax);
    let mut problems = reading.problems;
    problems.extend(syntax);
    problems.extend(exports);
    match problems.is_empty() {
        true => Ok(AppDefinition {
            script_events,
            ..reading.definition
        }),
        false => Err(problems),
    }
}
