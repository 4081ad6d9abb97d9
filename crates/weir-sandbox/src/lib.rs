//! The JavaScript sandbox (QuickJS, through `rquickjs`).
//!
//! For now it offers the syntax check of an app package's JavaScript, which `weir validate`
//! and app uploads run; the handler runtime with the platform globals arrives with its own
//! issue. It knows nothing of SQL or sockets.

mod syntax;

use weir_core::{AppDefinition, Package, PackageProblem};

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
