//! The syntax check of every JavaScript file Weir would run:
//!
//! - `server/**/*.js` (outside `node_modules`) as Freshworks evaluates them: the file is
//!   the body of a function with a local `exports`, in sloppy mode;
//! - connector files (`global-webhooks/**/*.js`, `events/**/*.js`) as ES modules, and
//!   the package's files they import (found as invocations find them), so a helper such
//!   as `shared/util.js` is checked too, with its own file and line.
//!
//! Files are compiled, never run (QuickJS's compile-only mode, for scripts and modules
//! alike): a file that closes the wrapper early still runs nothing. An import compiles
//! against an empty module: each file is checked on its own, whatever it imports.
//! Front-end files are the browser's business and are not checked.

use std::cell::RefCell;
use std::collections::{BTreeSet, VecDeque};
use std::rc::Rc;

use rquickjs::loader::{ImportAttributes, Loader, Resolver};
use rquickjs::module::Declared;
use rquickjs::{CatchResultExt, CaughtError, Context, Ctx, Module, Runtime};
use weir_core::{Package, PackageProblem};

use crate::code;

/// The Freshworks wrapper; kept on the file's first line so line numbers stay true.
const SCRIPT_PREFIX: &str = "(function () { var exports = {}; ";
const SCRIPT_SUFFIX: &str = "\n; return exports; })";
/// Below the 2 MiB of a blocking thread, so deep nesting is a JavaScript error, not a crash.
const MAX_STACK: usize = 256 * 1024;
const MAX_MEMORY: usize = 64 * 1024 * 1024;

/// One problem per JavaScript file that does not compile.
pub fn check_syntax(package: &Package) -> Vec<PackageProblem> {
    let runtime = match Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            return vec![PackageProblem::new(
                "",
                "",
                format!("JavaScript engine unavailable: {e}"),
            )];
        }
    };
    runtime.set_max_stack_size(MAX_STACK);
    runtime.set_memory_limit(MAX_MEMORY);
    let imports = Imports {
        files: package.paths().map(str::to_owned).collect(),
        found: Rc::default(),
    };
    let found = imports.found.clone();
    runtime.set_loader(imports, EmptyModules);
    let Ok(context) = Context::full(&runtime) else {
        return vec![PackageProblem::new("", "", "JavaScript engine unavailable")];
    };
    let mut queue: VecDeque<(String, Kind)> = package
        .paths()
        .filter_map(|path| Some((path.to_owned(), kind_of(path)?)))
        .collect();
    let mut queued: BTreeSet<String> = queue.iter().map(|(path, _)| path.clone()).collect();
    let mut problems = Vec::new();
    while let Some((path, kind)) = queue.pop_front() {
        let source = String::from_utf8_lossy(package.file(&path).unwrap_or_default());
        let outcome = context.with(|ctx| compile(&ctx, &path, &source, kind));
        if let Err((location, message)) = outcome {
            problems.push(PackageProblem::new(&path, location, message));
        }
        for import in found.borrow_mut().drain(..) {
            if queued.insert(import.clone()) {
                queue.push_back((import, Kind::Module));
            }
        }
    }
    problems
}

#[derive(Clone, Copy)]
enum Kind {
    Script,
    Module,
}

fn kind_of(path: &str) -> Option<Kind> {
    if is_server_script(path) {
        Some(Kind::Script)
    } else if is_connector_module(path) {
        Some(Kind::Module)
    } else {
        None
    }
}

fn is_server_script(path: &str) -> bool {
    path.starts_with("server/") && path.ends_with(".js") && !path.contains("node_modules/")
}

fn is_connector_module(path: &str) -> bool {
    (path.starts_with("global-webhooks/") || path.starts_with("events/")) && path.ends_with(".js")
}

/// Compiles without running; on failure, `(line:column, message)`.
fn compile(ctx: &Ctx<'_>, path: &str, source: &str, kind: Kind) -> Result<(), (String, String)> {
    let result = match kind {
        Kind::Script => {
            let wrapped = format!("{SCRIPT_PREFIX}{source}{SCRIPT_SUFFIX}");
            compile_script(ctx, path, &wrapped).catch(ctx)
        }
        Kind::Module => Module::declare(ctx.clone(), path, source)
            .map(drop)
            .catch(ctx),
    };
    result.map_err(|error| describe(error, path, kind))
}

/// Compiles global code without running it.
fn compile_script(ctx: &Ctx<'_>, path: &str, source: &str) -> rquickjs::Result<()> {
    crate::bytecode::compile_only(ctx, path, source).map(drop)
}

fn describe(error: CaughtError<'_>, path: &str, kind: Kind) -> (String, String) {
    let CaughtError::Exception(exception) = &error else {
        return (String::new(), format!("cannot be compiled: {error}"));
    };
    let message = exception
        .message()
        .unwrap_or_else(|| "syntax error".to_owned());
    let location = exception
        .stack()
        .and_then(|stack| position(&stack, path))
        .map(|(line, column)| match kind {
            // The wrapper sits on the first line, before the file's own text.
            Kind::Script if line == 1 => (line, column.saturating_sub(SCRIPT_PREFIX.len())),
            _ => (line, column),
        })
        .map_or(String::new(), |(line, column)| format!("{line}:{column}"));
    (location, format!("syntax error: {message}"))
}

/// The `line:column` of the frame `at <path>:<line>:<column>` in a QuickJS stack.
fn position(stack: &str, path: &str) -> Option<(usize, usize)> {
    let frame = stack
        .lines()
        .find_map(|line| line.trim().strip_prefix("at ")?.strip_prefix(path))?;
    let mut numbers = frame.trim_start_matches(':').split(':');
    let line = numbers.next()?.trim().parse().ok()?;
    let column = numbers.next()?.trim().trim_end_matches(')').parse().ok()?;
    Some((line, column))
}

/// Any import name is accepted as is (only the importing file is being compiled); the
/// package files that imports name, as invocations resolve them, are noted in `found`
/// to be checked in turn. Imports invocations would refuse are their business, not a
/// syntax error.
struct Imports {
    files: BTreeSet<String>,
    found: Rc<RefCell<Vec<String>>>,
}

impl Resolver for Imports {
    fn resolve<'js>(
        &mut self,
        _: &Ctx<'js>,
        base: &str,
        name: &str,
        _: Option<ImportAttributes<'js>>,
    ) -> rquickjs::Result<String> {
        if let Ok(path) = code::resolve_import(|path| self.files.contains(path), base, name) {
            self.found.borrow_mut().push(path);
        }
        Ok(name.to_owned())
    }
}

/// Every import is an empty module; the files it names are checked on their own.
struct EmptyModules;

impl Loader for EmptyModules {
    fn load<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        name: &str,
        _: Option<ImportAttributes<'js>>,
    ) -> rquickjs::Result<Module<'js, Declared>> {
        Module::declare(ctx.clone(), name, "export {}")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn package(files: &[(&str, &str)]) -> Package {
        Package::from_files(
            files
                .iter()
                .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
                .collect::<BTreeMap<_, _>>(),
        )
    }

    fn problems(files: &[(&str, &str)]) -> Vec<String> {
        check_syntax(&package(files))
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn freshworks_scripts_compile_as_function_bodies() {
        let ok = "exports = { h: function (args) { obligation = this; return args; } };\nreturn exports;";
        assert_eq!(
            problems(&[
                ("server/server.js", ok),
                ("server/lib/util.js", "exports.x = 1;")
            ]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn syntax_errors_are_located() {
        assert_eq!(
            problems(&[(
                "server/server.js",
                "exports = {\n  h: function () { return 1 +; }\n};"
            )]),
            ["server/server.js 2:30: syntax error: unexpected token in expression: ';'"]
        );
        assert_eq!(
            problems(&[("server/server.js", "exports = {;")]),
            ["server/server.js 1:12: syntax error: invalid property name"]
        );
    }

    #[test]
    fn connector_files_are_modules_and_compile_against_empty_imports() {
        let handle = "import { verify } from './sign.js';\nexport default async function handle({ data }) { return { events: [] } }";
        assert_eq!(
            problems(&[("global-webhooks/h/handle.js", handle)]),
            Vec::<String>::new()
        );
        let broken = "export default async function handle({ data }) {\n  return { events: [ }\n}";
        assert_eq!(
            problems(&[("events/e/getEventSelector.js", broken)]),
            [
                "events/e/getEventSelector.js 2:22: syntax error: unexpected token in expression: '}'"
            ]
        );
    }

    #[test]
    fn files_that_connector_modules_import_are_checked_too() {
        let handle = "import { format } from '../../shared/format';\nexport default async function handle() { return format() }";
        let format =
            "import { pad } from './pad.js';\nexport function format() {\n  return pad(;\n}";
        let unused = "this is not javascript (";
        assert_eq!(
            problems(&[
                ("global-webhooks/h/handle.js", handle),
                ("shared/format.js", format),
                ("shared/pad.js", "export const pad = (s) => s;"),
                ("shared/unused.js", unused),
            ]),
            ["shared/format.js 3:14: syntax error: unexpected token in expression: ';'"]
        );
    }

    #[test]
    fn dependencies_and_front_end_files_are_not_checked() {
        let broken = "this is not javascript (";
        let files = [
            ("server/node_modules/x/index.js", broken),
            ("app/scripts/app.js", broken),
        ];
        assert_eq!(problems(&files), Vec::<String>::new());
    }

    #[test]
    fn code_that_closes_the_wrapper_early_is_compiled_not_run() {
        // Run, this would loop for ever and never answer.
        let escape = "}); for (;;) {} (function () {";
        assert_eq!(
            problems(&[("server/server.js", escape)]),
            Vec::<String>::new()
        );
        let throws = "}); throw new Error('ran'); (function () {";
        assert_eq!(
            problems(&[("server/server.js", throws)]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_nul_byte_is_a_problem_not_a_panic() {
        let found = problems(&[("server/server.js", "var a = 1;\0")]);
        assert_eq!(found.len(), 1, "{found:?}");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("var x = {}1{};", "(".repeat(100_000), ")".repeat(100_000));
        let found = problems(&[("server/server.js", &deep)]);
        assert_eq!(found.len(), 1);
        assert!(found[0].starts_with("server/server.js"), "{found:?}");
    }
}
