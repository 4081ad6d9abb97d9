//! Running an app's top level, and nothing else, to learn what it exports: the
//! functions of `server/server.js` (Freshworks), with its `exports.events` (platform 2.0),
//! or whether a connector module has a default export function.
//!
//! The package check needs this, since which names a script exports is known only once
//! it has run (`exports = {…}` may be built in any way). It runs here as an invocation
//! would load it (the prelude's globals, `require`, `import`), with three differences:
//! platform calls are never answered and timers never fire (so the top level can start
//! them, as it may, but reaches nothing), console output is dropped, and the limits are
//! the check's (a deadline shared by the whole package, a smaller memory).
//! Each file runs in a fresh runtime of its own, so nothing one leaves behind (an
//! interrupted loop, exhausted memory) touches the next.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use rquickjs::{
    CatchResultExt, CaughtError, Context, Ctx, Function, Module, Object, Promise, Runtime, Value,
};
use weir_core::PackageProblem;

use crate::code::{AppCode, Kind, SERVER_JS};
use crate::run::{APP_WRAPPER, NPM_WRAPPER, load_module, prelude};

/// Below the 2 MiB of a blocking thread, so deep recursion is a JavaScript error.
const MAX_STACK: usize = 256 * 1024;

/// What running a top level may use.
#[derive(Debug, Clone, Copy)]
pub struct TopLevelLimits {
    /// When to stop it, whatever it is doing.
    pub deadline: Instant,
    pub memory_bytes: usize,
}

impl TopLevelLimits {
    /// How long a package's top-level code may run in all: real apps take milliseconds
    /// (a top level defines functions and requires a few modules).
    pub const TIME: std::time::Duration = std::time::Duration::from_secs(2);
    /// A fraction of an invocation's 64 MiB: a top level only defines things.
    pub const MEMORY: usize = 32 * 1024 * 1024;

    /// The package check's budget, starting now.
    pub fn from_now() -> Self {
        TopLevelLimits {
            deadline: Instant::now() + Self::TIME,
            memory_bytes: Self::MEMORY,
        }
    }
}

/// What `server/server.js` exports once its top level has run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerExports {
    /// The names at which its exports hold a function (inherited ones included, as a
    /// handler is looked up, but for those of `Object.prototype`).
    pub functions: BTreeSet<String>,
    /// `exports.events` (platform 2.0): `None` when there is none.
    pub events: Option<ListedEvents>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListedEvents {
    /// `[{event, callback}, …]`, in order.
    Listed(Vec<ListedEvent>),
    /// Something that is not an array, described (`a string`, `an object`, `null`, …).
    NotAnArray(String),
}

/// One entry of `exports.events`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedEvent {
    /// `None` when `event` is not a string.
    pub event: Option<String>,
    pub callback: Callback,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    Function,
    /// The name of an exported function.
    Named(String),
    /// Neither a function nor a string.
    Missing,
}

impl ServerExports {
    /// Whether an invocation of `name` finds a function: an export of that name, else the
    /// callback of the first `exports.events` entry for the event called `name` (the rule
    /// of the prelude's `handlerIn`).
    pub fn finds(&self, name: &str) -> bool {
        if self.functions.contains(name) {
            return true;
        }
        let Some(ListedEvents::Listed(entries)) = &self.events else {
            return false;
        };
        let entry = entries.iter().find(|e| e.event.as_deref() == Some(name));
        entry.is_some_and(|entry| self.calls_a_function(&entry.callback))
    }

    /// Whether a listed callback is a function, or names one.
    pub fn calls_a_function(&self, callback: &Callback) -> bool {
        match callback {
            Callback::Function => true,
            Callback::Named(name) => self.functions.contains(name),
            Callback::Missing => false,
        }
    }
}

/// What a connector module's evaluation showed of its default export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultExport {
    Function,
    /// Absent, or not a function.
    NotAFunction,
    /// Its top level awaits something the check does not provide (a timer, say): it
    /// cannot tell, and says nothing rather than something wrong.
    Unknown,
}

/// Why a top level could not tell what it exports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopLevelError {
    /// It threw (or a file it loads does not compile): the problem, located at the frame
    /// of the package's code that threw, when the stack shows one.
    Threw(PackageProblem),
    /// It was still running at the deadline, in `file` (the innermost of the package's
    /// files on the stack). Not the line: QuickJS places an interrupt at the start of the
    /// function it cut, not where it looped.
    OutOfTime { file: String },
}

/// Runs the top level of `server/server.js` (and what it requires) and returns what it
/// exports.
pub fn server_exports(
    code: &Arc<AppCode>,
    limits: TopLevelLimits,
) -> Result<ServerExports, TopLevelError> {
    evaluate(code, SERVER_JS, limits, |_, control| {
        let json: String = control.get::<_, Function>("exports")?.call((SERVER_JS,))?;
        Ok(parse_exports(&json))
    })
}

/// Imports the connector module `path` (a package path, e.g.
/// `global-webhooks/all/handle.js`), running its top level and its imports', and says
/// whether its default export is a function, as invocations call it.
pub fn module_default_export(
    code: &Arc<AppCode>,
    path: &str,
    limits: TopLevelLimits,
) -> Result<DefaultExport, TopLevelError> {
    evaluate(code, path, limits, |ctx, _| {
        let imported: Promise = Module::import(ctx, path)?;
        let namespace = match imported.finish::<Object>() {
            Err(rquickjs::Error::WouldBlock) => return Ok(DefaultExport::Unknown),
            other => other?,
        };
        let default: Value = namespace.get("default")?;
        Ok(match default.is_function() {
            true => DefaultExport::Function,
            false => DefaultExport::NotAFunction,
        })
    })
}

/// Runs `body` in a fresh runtime set up as for an invocation, under `limits`; a throw or
/// the deadline becomes a [`TopLevelError`] about `entry` or the file the stack names.
fn evaluate<T>(
    code: &Arc<AppCode>,
    entry: &str,
    limits: TopLevelLimits,
    body: impl for<'js> FnOnce(&Ctx<'js>, &Object<'js>) -> rquickjs::Result<T>,
) -> Result<T, TopLevelError> {
    let threw = |message: String| TopLevelError::Threw(PackageProblem::new(entry, "", message));
    let runtime =
        Runtime::new().map_err(|e| threw(format!("JavaScript engine unavailable: {e}")))?;
    runtime.set_memory_limit(limits.memory_bytes);
    runtime.set_max_stack_size(MAX_STACK);
    crate::modules::serve(&runtime, code);
    let interrupted = Rc::new(Cell::new(false));
    let flag = interrupted.clone();
    runtime.set_interrupt_handler(Some(Box::new(move || {
        let late = Instant::now() >= limits.deadline;
        flag.set(flag.get() || late);
        late
    })));
    let context =
        Context::full(&runtime).map_err(|e| threw(format!("JavaScript engine failed: {e}")))?;
    context.with(|ctx| {
        let result = install(&ctx, code, limits.memory_bytes)
            .and_then(|control| body(&ctx, &control))
            .catch(&ctx);
        result.map_err(|error| match interrupted.get() {
            true => out_of_time(&error, entry),
            false => TopLevelError::Threw(located(&error, entry, limits.memory_bytes)),
        })
    })
}

/// The prelude, over host functions that load the app's files and answer nothing else.
fn install<'js>(
    ctx: &Ctx<'js>,
    code: &Arc<AppCode>,
    memory_bytes: usize,
) -> rquickjs::Result<Object<'js>> {
    let host = Object::new(ctx.clone())?;
    // Calls and timers get an id, as the prelude expects, and are never settled or fired.
    let next_id = Rc::new(Cell::new(0u32));
    let ids = next_id.clone();
    let call = Function::new(ctx.clone(), move |_: String, _: String| {
        ids.set(ids.get().wrapping_add(1));
        ids.get()
    })?;
    let timer = Function::new(ctx.clone(), move |_: f64| {
        next_id.set(next_id.get().wrapping_add(1));
        next_id.get()
    })?;
    let clear_timer = Function::new(ctx.clone(), |_: u32| {})?;
    let unref_timer = Function::new(ctx.clone(), |_: u32, _: bool| {})?;
    let console = Function::new(ctx.clone(), |_: String, _: String| {})?;
    let render = Function::new(ctx.clone(), |_: String| {})?;
    let resolving = code.clone();
    let resolve = Function::new(ctx.clone(), move |from: String, name: String| {
        match resolving.resolve(&from, &name) {
            Ok((path, kind)) => serde_json::json!({"path": path, "kind": kind.as_str()}),
            Err(error) => serde_json::json!({"error": error}),
        }
        .to_string()
    })?;
    let loading = code.clone();
    let load = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, path: String, kind: String| -> rquickjs::Result<Function<'js>> {
            let kind = if kind == "app" { Kind::App } else { Kind::Npm };
            load_module(&ctx, &loading, &path, kind)
        },
    )?;
    let env = Function::new(ctx.clone(), || "production")?;
    host.set("call", call)?;
    host.set("timer", timer)?;
    host.set("clearTimer", clear_timer)?;
    host.set("unrefTimer", unref_timer)?;
    host.set("console", console)?;
    host.set("render", render)?;
    host.set("resolve", resolve)?;
    host.set("load", load)?;
    host.set("env", env)?;
    crate::node::add_to_host(ctx, &host, code, memory_bytes)?;
    prelude(ctx)?.call((host,))
}

/// The prelude's `exports(path)` answer, as JSON.
fn parse_exports(json: &str) -> ServerExports {
    let value: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    let functions = value["functions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|name| name.as_str().map(str::to_owned))
        .collect();
    let events = match &value["events"] {
        serde_json::Value::Null => None,
        serde_json::Value::Array(entries) => Some(ListedEvents::Listed(
            entries.iter().map(listed_event).collect(),
        )),
        other => Some(ListedEvents::NotAnArray(
            other.as_str().unwrap_or("no array").to_owned(),
        )),
    };
    ServerExports { functions, events }
}

fn listed_event(entry: &serde_json::Value) -> ListedEvent {
    ListedEvent {
        event: entry["event"].as_str().map(str::to_owned),
        callback: match &entry["callback"] {
            serde_json::Value::Bool(true) => Callback::Function,
            serde_json::Value::String(name) => Callback::Named(name.clone()),
            _ => Callback::Missing,
        },
    }
}

/// A thrown error as a problem: its message, at the innermost frame of the package's code.
fn located(error: &CaughtError<'_>, entry: &str, memory_bytes: usize) -> PackageProblem {
    let (message, stack) = match error {
        CaughtError::Exception(exception) => {
            let name: String = exception.get("name").unwrap_or_else(|_| "Error".to_owned());
            let message = exception.message().unwrap_or_default();
            (format!("{name}: {message}"), exception.stack())
        }
        // QuickJS throws null when it cannot even allocate its "out of memory" error.
        CaughtError::Value(value) if value.is_null() => (
            format!(
                "threw null, as QuickJS does when it runs out of memory (the check allows {} MiB)",
                memory_bytes / (1024 * 1024)
            ),
            None,
        ),
        CaughtError::Value(value) => (format!("threw {}", shown(value)), None),
        CaughtError::Error(error) => (error.to_string(), None),
    };
    let (file, location) = stack
        .as_deref()
        .and_then(innermost_package_frame)
        .unwrap_or_else(|| (entry.to_owned(), String::new()));
    let message = format!("running its top level failed: {message}");
    PackageProblem::new(&file, location, message)
}

fn out_of_time(error: &CaughtError<'_>, entry: &str) -> TopLevelError {
    let stack = match error {
        CaughtError::Exception(exception) => exception.stack(),
        _ => None,
    };
    let file = stack
        .as_deref()
        .and_then(innermost_package_frame)
        .map_or_else(|| entry.to_owned(), |(file, _)| file);
    TopLevelError::OutOfTime { file }
}

fn shown(value: &Value<'_>) -> String {
    match value.as_string().and_then(|s| s.to_string().ok()) {
        Some(text) => format!("{text:?}"),
        None => format!("a {}", value.type_name()),
    }
}

/// `(file, "line:column")` of the first frame of a QuickJS stack that is in a package
/// file (not the prelude, not native code): `at f (server/lib/x.js:3:7)` or
/// `at server/lib/x.js:3:7`. A column on a wrapped file's first line is made the file's.
fn innermost_package_frame(stack: &str) -> Option<(String, String)> {
    stack.lines().find_map(|frame| {
        let frame = frame.trim().strip_prefix("at ")?;
        let place = match frame.rfind('(') {
            Some(open) => frame[open + 1..].trim_end_matches(')'),
            None => frame,
        };
        let mut parts = place.rsplitn(3, ':');
        let column: usize = parts.next()?.parse().ok()?;
        let line: usize = parts.next()?.parse().ok()?;
        let file = parts.next()?;
        let ours = file.starts_with("weir:") || file.starts_with("node:");
        if ours || file.starts_with('<') || file.is_empty() {
            return None;
        }
        let column = match (line, wrapper_of(file)) {
            (1, Some(wrapper)) => column.saturating_sub(wrapper.len()).max(1),
            _ => column,
        };
        Some((file.to_owned(), format!("{line}:{column}")))
    })
}

/// The wrapper a package file is loaded in, if any (connector modules have none).
fn wrapper_of(file: &str) -> Option<&'static str> {
    if file.starts_with("server/node_modules/") {
        Some(NPM_WRAPPER)
    } else if file.starts_with("server/") {
        Some(APP_WRAPPER)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_read_in_both_shapes_and_the_prelude_is_skipped() {
        let stack = "    at <anonymous> (weir:prelude.js:10:5)\n    at f (server/lib/x.js:3:7)\n    at server/server.js:2:1\n";
        assert_eq!(
            innermost_package_frame(stack),
            Some(("server/lib/x.js".into(), "3:7".into()))
        );
        let first_line = format!("    at server/server.js:1:{}\n", APP_WRAPPER.len() + 4);
        assert_eq!(
            innermost_package_frame(&first_line),
            Some(("server/server.js".into(), "1:4".into()))
        );
        assert_eq!(innermost_package_frame("    at <native>\n"), None);
    }
}
