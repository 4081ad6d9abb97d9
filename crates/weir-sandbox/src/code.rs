//! An app's code: its `server/` files and its connector modules, by package path, and how
//! one file finds another.
//!
//! `server/` files are Freshworks scripts, loaded with `require`:
//!
//! - `require('./x')` / `require('../x')` is relative to the requiring file, always gets
//!   `.js` appended (as Freshworks does), and must stay inside `server/`;
//! - any other name is an npm package in `server/node_modules` (its `package.json`
//!   `main`, or `index.js`), and files inside a package resolve relative to each other;
//! - Node's built-in modules are named in a clear error: the sandbox does not offer them.
//!
//! Every other `.js` file of the package, but for Freshworks' front-end folders (`app/`,
//! `config/`: the browser's), is an ES module (an integration.app connector's methods and
//! their helpers), loaded with `import`:
//!
//! - `import './x.js'` / `'../x'` is relative to the importing file (`.js` appended when
//!   the name alone is no file) and must stay inside the package, outside `server/`;
//! - nothing else can be imported: connector packages ship no `node_modules`, and the
//!   sandbox offers no Node built-ins, so npm names, built-ins and absolute paths are each
//!   refused with an error naming them.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use weir_core::Package;

pub const SERVER_JS: &str = "server/server.js";
const NODE_MODULES: &str = "server/node_modules/";

/// Node's built-in modules, which apps may try to `require`.
const NODE_BUILT_INS: &[&str] = &[
    "assert",
    "buffer",
    "child_process",
    "cluster",
    "crypto",
    "dgram",
    "dns",
    "events",
    "fs",
    "http",
    "http2",
    "https",
    "net",
    "os",
    "path",
    "process",
    "querystring",
    "readline",
    "stream",
    "string_decoder",
    "timers",
    "tls",
    "tty",
    "url",
    "util",
    "v8",
    "vm",
    "worker_threads",
    "zlib",
];

/// How a file is wrapped when loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The app's own files: a function body with a local `exports` (Freshworks).
    App,
    /// npm packages: CommonJS (`module.exports`, `exports`, `__filename`, `__dirname`).
    Npm,
    /// Connector files: ES modules, compiled as they are (imported, never required).
    Module,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::App => "app",
            Kind::Npm => "npm",
            Kind::Module => "module",
        }
    }
}

/// The JavaScript of one app version, kept in memory (and shared) while it is in use,
/// with each file's bytecode once it has been compiled.
#[derive(Debug, Default)]
pub struct AppCode {
    files: BTreeMap<String, String>,
    compiled: Mutex<HashMap<(String, Kind), Bytecode>>,
}

/// A file's compiled form, shared by the invocations that run it.
type Bytecode = Arc<Vec<u8>>;

impl AppCode {
    /// The code of a package: its `server/` files (with the `package.json` files that
    /// `require` reads) and every other `.js` file, as a module.
    pub fn from_package(package: &Package) -> Self {
        let files = package
            .paths()
            .filter(|path| path.starts_with("server/") || is_module(path))
            .filter_map(|path| {
                let text = std::str::from_utf8(package.file(path)?).ok()?;
                Some((path.to_owned(), text.to_owned()))
            })
            .collect();
        AppCode {
            files,
            compiled: Mutex::default(),
        }
    }

    /// The bytecode of a file as `kind` wraps it: compiled by `compile` the first time,
    /// then shared by every invocation of this app version.
    pub(crate) fn bytecode<E>(
        &self,
        path: &str,
        kind: Kind,
        compile: impl FnOnce() -> Result<Vec<u8>, E>,
    ) -> Result<Bytecode, E> {
        let key = (path.to_owned(), kind);
        if let Some(bytecode) = self
            .compiled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Ok(bytecode.clone());
        }
        let bytecode = Arc::new(compile()?);
        self.compiled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, bytecode.clone());
        Ok(bytecode)
    }

    pub fn source(&self, path: &str) -> Option<&str> {
        self.files.get(path).map(String::as_str)
    }

    /// The file `name` names when `from` requires it, or why there is none.
    pub fn resolve(&self, from: &str, name: &str) -> Result<(String, Kind), String> {
        if name.starts_with("./") || name.starts_with("../") {
            let kind = if from.starts_with(NODE_MODULES) {
                Kind::Npm
            } else {
                Kind::App
            };
            let mut path = join(directory(from), name)
                .ok_or_else(|| format!("Cannot find module '{name}': it leaves server/"))?;
            if kind == Kind::App || !self.files.contains_key(&path) {
                path.push_str(".js");
            }
            let inside = if kind == Kind::App {
                "server/"
            } else {
                NODE_MODULES
            };
            if !path.starts_with(inside) {
                return Err(format!("Cannot find module '{name}': it leaves {inside}"));
            }
            return match self.files.contains_key(&path) {
                true => Ok((path, kind)),
                false => Err(format!("Cannot find module '{name}' (looked for {path})")),
            };
        }
        let bare = name.strip_prefix("node:").unwrap_or(name);
        if NODE_BUILT_INS.contains(&bare) {
            return Err(format!(
                "Cannot use Node's built-in module '{bare}': the Weir sandbox does not offer it"
            ));
        }
        self.package_main(name)
    }

    /// The module `name` names when `base` imports it, or why there is none. An empty
    /// `base` is the platform naming the entry module itself, by its package path.
    pub fn resolve_import(&self, base: &str, name: &str) -> Result<String, String> {
        resolve_import(|path| self.files.contains_key(path), base, name)
    }

    /// The entry file of an npm package in `server/node_modules`.
    fn package_main(&self, name: &str) -> Result<(String, Kind), String> {
        let root = format!("{NODE_MODULES}{name}");
        let main = self
            .source(&format!("{root}/package.json"))
            .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
            .and_then(|manifest| manifest.get("main")?.as_str().map(str::to_owned))
            .unwrap_or_else(|| "index.js".to_owned());
        let candidates = [
            join(&root, &main),
            join(&root, &format!("{main}.js")),
            join(&root, &format!("{main}/index.js")),
        ];
        candidates
            .into_iter()
            .flatten()
            .find(|path| path.starts_with(&root) && self.files.contains_key(path))
            .map(|path| (path, Kind::Npm))
            .ok_or_else(|| {
                format!("Cannot find module '{name}': is it installed in server/node_modules?")
            })
    }
}

/// Whether a package file is an ES module: every `.js` file outside the folders of
/// Freshworks apps (`server/` holds scripts; `app/` and `config/` the browser's code).
pub fn is_module(path: &str) -> bool {
    const NOT_MODULES: &[&str] = &["server/", "app/", "config/"];
    path.ends_with(".js") && !NOT_MODULES.iter().any(|folder| path.starts_with(folder))
}

/// [`AppCode::resolve_import`] over any set of package files (`exists`), so that the
/// syntax check finds a module's imports the way invocations will.
pub(crate) fn resolve_import(
    exists: impl Fn(&str) -> bool,
    base: &str,
    name: &str,
) -> Result<String, String> {
    let is_file = |path: &str| is_module(path) && exists(path);
    if base.is_empty() {
        return match is_file(name) {
            true => Ok(name.to_owned()),
            false => Err(format!("Cannot find module '{name}' in the app package")),
        };
    }
    if !(name.starts_with("./") || name.starts_with("../")) {
        return Err(not_importable(base, name));
    }
    let path = join(directory(base), name).ok_or_else(|| {
        format!("Cannot find module '{name}' imported by {base}: it leaves the app package")
    })?;
    let with_js = format!("{path}.js");
    if is_file(&path) {
        return Ok(path);
    }
    if is_file(&with_js) {
        return Ok(with_js);
    }
    let looked_for = if path.ends_with(".js") { path } else { with_js };
    Err(format!(
        "Cannot find module '{name}' imported by {base} (looked for {looked_for})"
    ))
}

/// Why a name that is not relative cannot be imported.
fn not_importable(base: &str, name: &str) -> String {
    let bare = name.strip_prefix("node:").unwrap_or(name);
    if NODE_BUILT_INS.contains(&bare) {
        format!(
            "Cannot use Node's built-in module '{bare}' (imported by {base}): the Weir sandbox does not offer it"
        )
    } else if name.starts_with('/') {
        format!(
            "Cannot import '{name}' from {base}: absolute paths are not offered; import the package's own files with './' or '../'"
        )
    } else {
        format!(
            "Cannot import '{name}' from {base}: connector modules can import only the package's own files, with './' or '../'"
        )
    }
}

fn directory(path: &str) -> &str {
    path.rfind('/').map_or("", |slash| &path[..slash])
}

/// `base` joined with a relative `name`, `.` and `..` resolved; `None` above the root.
fn join(base: &str, name: &str) -> Option<String> {
    let mut segments: Vec<&str> = base.split('/').filter(|s| !s.is_empty()).collect();
    for segment in name.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop()?;
            }
            other => segments.push(other),
        }
    }
    Some(segments.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(paths: &[&str]) -> AppCode {
        AppCode {
            files: paths
                .iter()
                .map(|p| (p.to_string(), String::new()))
                .collect(),
            compiled: Mutex::default(),
        }
    }

    #[test]
    fn local_modules_resolve_relative_to_the_requiring_file() {
        let app = code(&[
            "server/server.js",
            "server/lib/util.js",
            "server/lib/format.js",
        ]);
        assert_eq!(
            app.resolve(SERVER_JS, "./lib/util"),
            Ok(("server/lib/util.js".into(), Kind::App))
        );
        assert_eq!(
            app.resolve("server/lib/util.js", "./format"),
            Ok(("server/lib/format.js".into(), Kind::App))
        );
        assert_eq!(
            app.resolve("server/lib/util.js", "../server"),
            Ok(("server/server.js".into(), Kind::App))
        );
        assert!(
            app.resolve(SERVER_JS, "../manifest")
                .unwrap_err()
                .contains("leaves server/")
        );
        assert!(
            app.resolve(SERVER_JS, "./missing")
                .unwrap_err()
                .contains("server/missing.js")
        );
    }

    #[test]
    fn npm_packages_and_built_ins() {
        let mut app = code(&[
            "server/node_modules/left-pad/index.js",
            "server/node_modules/lodash/lodash.js",
            "server/node_modules/lodash/fp.js",
        ]);
        app.files.insert(
            "server/node_modules/lodash/package.json".into(),
            r#"{"main": "lodash.js"}"#.into(),
        );
        assert_eq!(
            app.resolve(SERVER_JS, "left-pad"),
            Ok(("server/node_modules/left-pad/index.js".into(), Kind::Npm))
        );
        assert_eq!(
            app.resolve(SERVER_JS, "lodash"),
            Ok(("server/node_modules/lodash/lodash.js".into(), Kind::Npm))
        );
        assert_eq!(
            app.resolve("server/node_modules/lodash/lodash.js", "./fp"),
            Ok(("server/node_modules/lodash/fp.js".into(), Kind::Npm))
        );
        assert_eq!(
            app.resolve(SERVER_JS, "fs").unwrap_err(),
            "Cannot use Node's built-in module 'fs': the Weir sandbox does not offer it"
        );
        assert!(
            app.resolve(SERVER_JS, "node:crypto")
                .unwrap_err()
                .contains("'crypto'")
        );
        assert!(
            app.resolve(SERVER_JS, "moment")
                .unwrap_err()
                .contains("server/node_modules")
        );
    }

    #[test]
    fn a_package_keeps_its_server_files_and_its_modules() {
        let files = [
            "manifest.json",
            "server/server.js",
            "server/node_modules/x/package.json",
            "global-webhooks/all/spec.yml",
            "global-webhooks/all/handle.js",
            "shared/util.js",
            "app/scripts/app.js",
            "config/assets/iparams.js",
        ];
        let package = Package::from_files(
            files
                .iter()
                .map(|path| (path.to_string(), b"1".to_vec()))
                .collect(),
        );
        let code = AppCode::from_package(&package);
        let kept: Vec<&str> = code.files.keys().map(String::as_str).collect();
        assert_eq!(
            kept,
            [
                "global-webhooks/all/handle.js",
                "server/node_modules/x/package.json",
                "server/server.js",
                "shared/util.js",
            ]
        );
    }

    #[test]
    fn connector_modules_import_only_the_package_s_own_files() {
        let app = code(&[
            "global-webhooks/all/handle.js",
            "global-webhooks/all/sign.js",
            "events/shared/util.js",
            "lib/format.js",
            "server/server.js",
            "app/scripts/app.js",
        ]);
        let from = "global-webhooks/all/handle.js";
        assert_eq!(
            app.resolve_import("", from),
            Ok(from.to_owned()),
            "the platform names the entry by its package path"
        );
        assert_eq!(
            app.resolve_import(from, "./sign.js"),
            Ok("global-webhooks/all/sign.js".into())
        );
        assert_eq!(
            app.resolve_import("events/e/handle.js", "../shared/util"),
            Ok("events/shared/util.js".into())
        );
        assert_eq!(
            app.resolve_import(from, "../../lib/format"),
            Ok("lib/format.js".into())
        );
        assert_eq!(
            app.resolve_import(from, "../../server/server.js")
                .unwrap_err(),
            "Cannot find module '../../server/server.js' imported by global-webhooks/all/handle.js (looked for server/server.js)",
            "server/ files are Freshworks scripts, not modules"
        );
        assert!(
            app.resolve_import(from, "../../app/scripts/app.js")
                .unwrap_err()
                .contains("looked for app/scripts/app.js"),
            "front-end files are the browser's"
        );
        assert_eq!(
            app.resolve_import(from, "../../../etc/passwd").unwrap_err(),
            "Cannot find module '../../../etc/passwd' imported by global-webhooks/all/handle.js: it leaves the app package"
        );
        assert!(
            app.resolve_import(from, "node:fs")
                .unwrap_err()
                .starts_with("Cannot use Node's built-in module 'fs'")
        );
        assert!(
            app.resolve_import(from, "/etc/passwd")
                .unwrap_err()
                .contains("absolute paths")
        );
        assert!(
            app.resolve_import(from, "lodash")
                .unwrap_err()
                .starts_with("Cannot import 'lodash'")
        );
        assert_eq!(
            app.resolve_import("", "server/server.js").unwrap_err(),
            "Cannot find module 'server/server.js' in the app package"
        );
    }
}
