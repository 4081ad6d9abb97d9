//! The package check's look at what the code exports, which only running it shows:
//!
//! - every `server/server.js` function the declarations name (handlers, server methods,
//!   connector event handlers, registered webhooks' `then`) must be one it exports,
//!   reported at the file and JSON pointer that names it;
//! - every entry of its `exports.events` (platform 2.0) must name an event the app may
//!   handle and a function;
//! - every connector method written in JavaScript must have a default export function.
//!
//! Top levels run in the sandbox with no platform calls answered (`top_level.rs`), all of
//! a package's within one short time budget. Code with syntax errors is not run: those
//! are reported by the syntax check already.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use weir_core::app::{ConnectorEventKind, Method, Reading};
use weir_core::{Package, PackageProblem};

use crate::code::{AppCode, SERVER_JS};
use crate::script_events::listed_events;
use crate::top_level::{
    self, DefaultExport, ListedEvent, ListedEvents, ServerExports, TopLevelError, TopLevelLimits,
};

/// How many exported names a problem about a missing one lists, to spot a typo.
const NAMES_SHOWN: usize = 20;

/// Every problem with what the package's code exports, and the events `exports.events`
/// lists for the scopes that leave their handlers to it. `syntax` holds the syntax
/// check's problems, whose files are not run.
pub(crate) fn check_exports(
    package: &Package,
    reading: &Reading,
    syntax: &[PackageProblem],
) -> (Vec<PackageProblem>, Vec<String>) {
    let broken = |server: bool| {
        syntax
            .iter()
            .any(|p| p.file.starts_with("server/") == server)
    };
    let check_server = package.file(SERVER_JS).is_some() && !broken(true) && runs_server(reading);
    let modules = if broken(false) {
        BTreeSet::new()
    } else {
        connector_modules(reading)
    };
    if !check_server && modules.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let code = Arc::new(AppCode::from_package(package));
    let limits = TopLevelLimits::from_now();
    let (mut problems, mut script_events) = (Vec::new(), Vec::new());
    if check_server {
        match top_level::server_exports(&code, limits) {
            Ok(exports) => {
                problems.extend(server_problems(reading, &exports));
                script_events = listed_events(&reading.definition, &exports);
            }
            Err(error) => problems.push(failure(error)),
        }
    }
    for path in modules {
        if Instant::now() >= limits.deadline {
            // The time is spent (and reported): the rest would only say so again.
            break;
        }
        match top_level::module_default_export(&code, &path, limits) {
            Ok(DefaultExport::NotAFunction) => problems.push(PackageProblem::new(
                &path,
                "",
                "has no default export function: a connector method runs \
                 `export default async function (…)`",
            )),
            Ok(DefaultExport::Function | DefaultExport::Unknown) => {}
            Err(error) => problems.push(failure(error)),
        }
    }
    (problems, script_events)
}

/// Whether anything depends on what `server.js` exports: a function named in the
/// declarations, or a product or module left to `exports.events`.
fn runs_server(reading: &Reading) -> bool {
    !reading.server_functions.is_empty()
        || reading
            .definition
            .scopes
            .iter()
            .any(|s| s.handlers.is_none())
}

/// The JavaScript files that the connector's declarations run as methods.
fn connector_modules(reading: &Reading) -> BTreeSet<String> {
    let app = &reading.definition;
    let webhooks = app.global_webhooks.iter().map(|w| &w.handle);
    let events = app
        .connector_events
        .iter()
        .flat_map(|event| match &event.kind {
            ConnectorEventKind::GlobalWebhook { selector } => vec![selector],
            ConnectorEventKind::Webhook(methods) => {
                let required = [&methods.subscribe, &methods.handle, &methods.unsubscribe];
                required
                    .into_iter()
                    .chain(methods.refresh.as_ref())
                    .collect()
            }
        });
    webhooks
        .chain(events)
        .filter_map(|method| match method {
            Method::JavaScript { path } => Some(path.clone()),
            Method::Mapping { .. } => None,
        })
        .collect()
}

fn server_problems(reading: &Reading, exports: &ServerExports) -> Vec<PackageProblem> {
    let mut problems: Vec<PackageProblem> = reading
        .server_functions
        .iter()
        .filter(|reference| !exports.finds(&reference.function))
        .map(|reference| {
            let message = format!(
                "{:?} is not a function that {SERVER_JS} exports ({})",
                reference.function,
                exported_names(exports)
            );
            PackageProblem::new(&reference.file, reference.pointer.clone(), message)
        })
        .collect();
    let left_to_the_code = reading
        .definition
        .scopes
        .iter()
        .any(|s| s.handlers.is_none());
    if left_to_the_code {
        problems.extend(listed_event_problems(reading, exports));
    }
    problems
}

/// "it exports: a, b" (the first few), to spot a typo by.
fn exported_names(exports: &ServerExports) -> String {
    if exports.functions.is_empty() {
        return "it exports no function".to_owned();
    }
    let mut shown: Vec<&str> = exports
        .functions
        .iter()
        .take(NAMES_SHOWN)
        .map(String::as_str)
        .collect();
    if exports.functions.len() > NAMES_SHOWN {
        shown.push("…");
    }
    format!("it exports: {}", shown.join(", "))
}

/// The problems of `exports.events`, each located at its entry (`exports.events[2]`).
fn listed_event_problems(reading: &Reading, exports: &ServerExports) -> Vec<PackageProblem> {
    let entries = match &exports.events {
        None => return Vec::new(),
        Some(ListedEvents::NotAnArray(what)) => {
            let message = format!("must be an array of {{event, callback}}, not {what}");
            return vec![PackageProblem::new(SERVER_JS, "exports.events", message)];
        }
        Some(ListedEvents::Listed(entries)) => entries,
    };
    entries
        .iter()
        .enumerate()
        .flat_map(|(index, entry)| {
            let location = format!("exports.events[{index}]");
            entry_problems(reading, exports, entry)
                .into_iter()
                .map(move |message| PackageProblem::new(SERVER_JS, location.clone(), message))
        })
        .collect()
}

fn entry_problems(reading: &Reading, exports: &ServerExports, entry: &ListedEvent) -> Vec<String> {
    let mut problems = Vec::new();
    let scopes = &reading.definition.scopes;
    match &entry.event {
        None => problems.push("needs \"event\": the name of the event it handles".to_owned()),
        Some(event) if !scopes.iter().any(|scope| scope.accepts(event)) => {
            let names: Vec<&str> = scopes.iter().map(|s| s.name.as_str()).collect();
            problems.push(format!(
                "{event:?} is not an event of {}",
                names.join(" or ")
            ));
        }
        Some(_) => {}
    }
    if !exports.calls_a_function(&entry.callback) {
        problems.push(match &entry.callback {
            top_level::Callback::Named(name) => format!(
                "the callback {name:?} is not a function that {SERVER_JS} exports ({})",
                exported_names(exports)
            ),
            _ => "needs \"callback\": a function, or the name of one that server.js exports"
                .to_owned(),
        });
    }
    problems
}

/// A top level that threw or ran out of time, as a problem.
fn failure(error: TopLevelError) -> PackageProblem {
    match error {
        TopLevelError::Threw(problem) => problem,
        TopLevelError::OutOfTime { file } => PackageProblem::new(
            &file,
            "",
            format!(
                "its top level was still running after {} s, the longest the package check \
                 runs all of the package's top-level code (with no platform calls answered)",
                TopLevelLimits::TIME.as_secs()
            ),
        ),
    }
}
