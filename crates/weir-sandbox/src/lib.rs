//! The JavaScript sandbox (QuickJS, through `rquickjs`): runs app code with the platform
//! globals, and checks the syntax of app packages.
//!
//! An [`Invocation`] runs one [`Entry`]: a Freshworks handler (a function of
//! `server/server.js`, with `require` for its own files and pure-JS npm packages), or an
//! integration.app connector method (an ES module such as
//! `global-webhooks/<key>/handle.js`, whose default export gets the payload plus
//! `apiClient` and `credentials`, with `import` for the package's own files).
//!
//! It knows nothing of SQL or sockets: every platform call (`$db`, `$request`,
//! `$schedule`, `generateTargetUrl`, `$webhooks`, `apiClient.get`, …) goes to a [`Host`]
//! that the engine provides. Module state does not survive between invocations (as on
//! Freshworks): each runs in a fresh context. Code compiles once per app version.
//! Invocations are isolated from each other, whatever tenant they run for: each has its
//! own allowance of memory, time, timers and result size, and a runtime is reused by the
//! next invocation only once it is back to what it was when new.

mod bytecode;
mod code;
mod host;
mod invocation;
mod meter;
mod modules;
mod pool;
mod run;
mod syntax;
pub mod template;
mod warm;

use weir_core::{AppDefinition, Package, PackageProblem};

pub use code::AppCode;
pub use host::{Host, HostResult, NoHost};
pub use invocation::{ConsoleLine, Entry, Invocation, Limits, Outcome, Render, Status};
pub use pool::Sandbox;
pub use syntax::check_syntax;

/// The whole check of a package, as uploads and `weir validate` run it: its declarations
/// (`AppDefinition::parse`) and its code (`check_syntax`), every problem of both together.
pub fn validate_package(package: &Package) -> Result<AppDefinition, Vec<PackageProblem>> {
    let parsed = AppDefinition::parse(package);
    let syntax = check_syntax(package);
    match parsed {
        Ok(definition) if syntax.is_empty() => Ok(definition),
        Ok(_) => Err(syntax),
        Err(mut problems) => {
            problems.extend(syntax);
            Err(problems)
        }
    }
}
