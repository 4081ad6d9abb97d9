//! An app's code: its `server/` files and its connector modules, by package path, and how
//! one file finds another.
//!
//! `server/` files are Freshworks scripts, loaded with `require`:
//!
//! - `require('./x')` / `require('../x')` is relative to the requiring file, always gets
//!   `.js` appended (as Freshworks does), and must stay inside `server/`;
//! - a built-in module's name (`crypto`, `node:crypto`) is Node's built-in, as the sandbox
//!   offers it (see `node/built_ins.rs`), even if `node_modules` holds a package of that
//!   name (`require('buffer/')` reaches the package, as in Node);
//! - any other name is an npm package, looked up as Node looks it up: in the
//!   `node_modules` folders from the requiring file's folder up to `server/`, then
//!   through the package's `exports` (conditions `node`, `require`, `default`), else its
//!   `main` or `index.js`; `lodash/fp` and `@scope/name/sub` reach files inside a
//!   package, and `.json` files are read as data.
//!
//! Every other `.js` file of the package, but for Freshworks' front-end folders (`app/`,
//! `config/`: the browser's), is an ES module (an integration.app connector's methods and
//! their helpers), loaded with `import`:
//!
//! - `import './x.js'` / `'../x'` is relative to the importing file (`.js` appended when
//!   the name alone is no file) and must stay inside the package, outside `server/`;
//! - nothing else can be imported: connector packages ship no `node_modules`, and Node's
//!   built-ins are offered to `require` only, so npm names, built-ins and absolute paths
//!   are each refused with an error naming them.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use weir_core::Package;

use crate::node::built_ins;

mod exports;

pub const SERVER_JS: &str = "server/server.js";
const NODE_MODULES: &str = "server/node_modules/";

/// How a file is wrapped when loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The app's own files: a function body with a local `exports` (Freshworks).
    App,
    /// npm packages: CommonJS (`module.exports`, `exports`, `__filename`, `__dirname`).
    Npm,
    /// A `.json` file of an npm package: its data.
    Json,
    /// One of Node's built-in modules, by its bare name (`crypto`).
    BuiltIn,
    /// Connector files: ES modules, compiled as they are (imported, never required).
    Module,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::App => "app",
            Kind::Npm => "npm",
            Kind::Json => "json",
            Kind::BuiltIn => "builtin",
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
    /// Whether the code names one of Node's globals, once asked.
    node_globals: OnceLock<bool>,
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
            node_globals: OnceLock::new(),
        }
    }

    /// Whether any of the app's code (its own and its packages') names one of Node's
    /// globals (`Buffer`, `fetch`, `URL`, …): then invocations make them ahead of use.
    /// Read once per app version.
    pub(crate) fn names_node_globals(&self) -> bool {
        *self.node_globals.get_or_init(|| {
            self.files
                .iter()
                .filter(|(path, _)| path.ends_with(".js") || path.ends_with(".cjs"))
                .any(|(_, source)| crate::node::names_any(source, crate::node::GLOBALS))
        })
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
        let relative = name.starts_with("./") || name.starts_with("../");
        if relative && !from.starts_with(NODE_MODULES) {
            return self.resolve_app_file(from, name);
        }
        if relative || name == "." || name == ".." {
            let path = join(directory(from), name)
                .ok_or_else(|| format!("Cannot find module '{name}': it leaves server/"))?;
            if !path.starts_with(NODE_MODULES) {
                return Err(format!(
                    "Cannot find module '{name}': it leaves {NODE_MODULES}"
                ));
            }
            return self
                .file_or_directory(&path)
                .ok_or_else(|| format!("Cannot find module '{name}' (looked for {path})"));
        }
        if name.starts_with('/') {
            return Err(format!(
                "Cannot find module '{name}': absolute paths are not offered; require the app's own files with './' or '../'"
            ));
        }
        if let Some(built_in) = built_ins::app_visible(name) {
            return Ok((built_in.to_owned(), Kind::BuiltIn));
        }
        if name.starts_with("node:") {
            return Err(format!("No such built-in module: {name}"));
        }
        self.node_module(from, name)
    }

    /// An app file (Freshworks): `.js` always appended, inside `server/`.
    fn resolve_app_file(&self, from: &str, name: &str) -> Result<(String, Kind), String> {
        let mut path = join(directory(from), name)
            .ok_or_else(|| format!("Cannot find module '{name}': it leaves server/"))?;
        path.push_str(".js");
        if !path.starts_with("server/") {
            return Err(format!("Cannot find module '{name}': it leaves server/"));
        }
        match self.files.contains_key(&path) {
            true => Ok((path, Kind::App)),
            false => Err(format!("Cannot find module '{name}' (looked for {path})")),
        }
    }

    /// The module `name` names when `base` imports it, or why there is none. An empty
    /// `base` is the platform naming the entry module itself, by its package path.
    pub fn resolve_import(&self, base: &str, name: &str) -> Result<String, String> {
        resolve_import(|path| self.files.contains_key(path), base, name)
    }

    /// The npm package (or a file in one) that `name` names from `from`: in the
    /// `node_modules` folders from `from`'s folder up to `server/`, nearest first.
    fn node_module(&self, from: &str, name: &str) -> Result<(String, Kind), String> {
        let (package, subpath) = package_and_subpath(name);
        for folder in node_modules_folders(from) {
            let root = format!("{folder}/{package}");
            let manifest = self.manifest(&root);
            let exports = manifest
                .as_ref()
                .and_then(|m| m.get("exports"))
                .filter(|e| !e.is_null());
            if let Some(exports) = exports {
                return exports::resolve(exports, &subpath)
                    .and_then(|target| join(&root, &target))
                    .filter(|path| path.starts_with(&root) && self.files.contains_key(path))
                    .map(|path| with_kind(&path))
                    .ok_or_else(|| {
                        format!("Cannot find module '{name}': package {package} does not export {subpath}")
                    });
            }
            let target = match subpath.as_str() {
                "." | "./" => root.clone(),
                sub => format!("{root}/{}", &sub[2..]),
            };
            if let Some(found) = self.file_or_directory(&target) {
                return Ok(found);
            }
        }
        Err(format!(
            "Cannot find module '{name}': is it installed in server/node_modules?"
        ))
    }

    /// Node's LOAD_AS_FILE, then LOAD_AS_DIRECTORY, at `path`.
    fn file_or_directory(&self, path: &str) -> Option<(String, Kind)> {
        let path = path.trim_end_matches('/');
        if let Some(found) = self.file(path) {
            return Some(found);
        }
        if let Some(main) = self
            .manifest(path)
            .and_then(|manifest| manifest.get("main")?.as_str().map(str::to_owned))
        {
            let main = join(path, &main).filter(|main| main.starts_with(path))?;
            if let Some(found) = self.file(&main).or_else(|| self.index(&main)) {
                return Some(found);
            }
        }
        self.index(path)
    }

    /// `path`, `path.js` or `path.json`, whichever is a file.
    fn file(&self, path: &str) -> Option<(String, Kind)> {
        [
            path.to_owned(),
            format!("{path}.js"),
            format!("{path}.json"),
        ]
        .into_iter()
        .find(|candidate| self.files.contains_key(candidate))
        .map(|found| with_kind(&found))
    }

    fn index(&self, directory: &str) -> Option<(String, Kind)> {
        [
            format!("{directory}/index.js"),
            format!("{directory}/index.json"),
        ]
        .into_iter()
        .find(|candidate| self.files.contains_key(candidate))
        .map(|found| with_kind(&found))
    }

    /// The `package.json` of the package folder `root`, parsed.
    fn manifest(&self, root: &str) -> Option<serde_json::Value> {
        let text = self.source(&format!("{root}/package.json"))?;
        serde_json::from_str(text).ok()
    }
}

/// A package file's kind: data for `.json`, else CommonJS.
fn with_kind(path: &str) -> (String, Kind) {
    let kind = match path.ends_with(".json") {
        true => Kind::Json,
        false => Kind::Npm,
    };
    (path.to_owned(), kind)
}

/// `@scope/name/sub/file` → (`@scope/name`, `./sub/file`); `name` → (`name`, `.`).
fn package_and_subpath(name: &str) -> (String, String) {
    let segments = if name.starts_with('@') { 2 } else { 1 };
    let mut parts = name.splitn(segments + 1, '/');
    let package: Vec<&str> = parts.by_ref().take(segments).collect();
    let subpath = match parts.next() {
        Some(rest) => format!("./{rest}"),
        None => ".".to_owned(),
    };
    (package.join("/"), subpath)
}

/// The `node_modules` folders a file in `server/` looks in, nearest first (none are
/// looked for inside a `node_modules` folder itself, as Node does).
fn node_modules_folders(from: &str) -> Vec<String> {
    let mut folders = Vec::new();
    let mut folder = directory(from);
    while folder == "server" || folder.starts_with("server/") {
        if !folder.ends_with("/node_modules") {
            folders.push(format!("{folder}/node_modules"));
        }
        folder = directory(folder);
    }
    folders
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
    if let Some(bare) = built_ins::app_visible(name) {
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
            node_globals: OnceLock::new(),
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
        assert!(
            app.resolve(SERVER_JS, "moment")
                .unwrap_err()
                .contains("server/node_modules")
        );
    }

    #[test]
    fn built_ins_by_either_name_win_over_packages_of_their_name() {
        let app = code(&[
            "server/node_modules/buffer/index.js",
            "server/node_modules/events/events.js",
        ]);
        for (name, built_in) in [
            ("crypto", "crypto"),
            ("node:crypto", "crypto"),
            ("fs", "fs"),
            ("node:stream/promises", "stream/promises"),
            ("buffer", "buffer"),
        ] {
            assert_eq!(
                app.resolve(SERVER_JS, name),
                Ok((built_in.into(), Kind::BuiltIn)),
                "{name}"
            );
        }
        assert_eq!(
            app.resolve(SERVER_JS, "buffer/"),
            Ok(("server/node_modules/buffer/index.js".into(), Kind::Npm)),
            "a trailing slash asks for the package, as in Node"
        );
        assert_eq!(
            app.resolve(SERVER_JS, "node:left-pad").unwrap_err(),
            "No such built-in module: node:left-pad"
        );
        assert!(
            app.resolve(SERVER_JS, "/etc/passwd")
                .unwrap_err()
                .contains("absolute paths")
        );
    }

    #[test]
    fn packages_resolve_as_node_resolves_them() {
        let mut app = code(&[
            "server/lib/helper.js",
            "server/node_modules/a/index.js",
            "server/node_modules/a/lib/deep.js",
            "server/node_modules/a/node_modules/b/index.js",
            "server/node_modules/b/index.js",
            "server/node_modules/c/dist/main.cjs",
            "server/node_modules/c/dist/extra.js",
            "server/node_modules/mime-db/index.js",
            "server/node_modules/mime-db/db.json",
            "server/node_modules/@scope/pkg/src/index.js",
            "server/node_modules/@scope/pkg/src/sub.js",
            "server/node_modules/dir-main/lib/index.js",
        ]);
        for (path, manifest) in [
            (
                "server/node_modules/c/package.json",
                r#"{"main": "wrong.js", "exports": {".": {"import": "./x.mjs", "require": "./dist/main.cjs"}, "./extra": "./dist/extra.js"}}"#,
            ),
            (
                "server/node_modules/@scope/pkg/package.json",
                r#"{"main": "src/index"}"#,
            ),
            (
                "server/node_modules/dir-main/package.json",
                r#"{"main": "./lib"}"#,
            ),
        ] {
            app.files.insert(path.into(), manifest.into());
        }
        let npm = |path: &str| Ok((path.to_owned(), Kind::Npm));
        let from_a = "server/node_modules/a/lib/deep.js";
        assert_eq!(
            app.resolve(from_a, "b"),
            npm("server/node_modules/a/node_modules/b/index.js"),
            "the nearest node_modules first"
        );
        assert_eq!(
            app.resolve("server/lib/helper.js", "b"),
            npm("server/node_modules/b/index.js")
        );
        assert_eq!(
            app.resolve(SERVER_JS, "a/lib/deep"),
            npm("server/node_modules/a/lib/deep.js")
        );
        assert_eq!(
            app.resolve(from_a, ".."),
            npm("server/node_modules/a/index.js")
        );
        assert_eq!(
            app.resolve(SERVER_JS, "c"),
            npm("server/node_modules/c/dist/main.cjs")
        );
        assert_eq!(
            app.resolve(SERVER_JS, "c/extra"),
            npm("server/node_modules/c/dist/extra.js")
        );
        assert!(
            app.resolve(SERVER_JS, "c/dist/extra.js")
                .unwrap_err()
                .contains("does not export ./dist/extra.js")
        );
        assert_eq!(
            app.resolve(SERVER_JS, "@scope/pkg"),
            npm("server/node_modules/@scope/pkg/src/index.js")
        );
        assert_eq!(
            app.resolve(SERVER_JS, "@scope/pkg/src/sub"),
            npm("server/node_modules/@scope/pkg/src/sub.js")
        );
        assert_eq!(
            app.resolve(SERVER_JS, "dir-main"),
            npm("server/node_modules/dir-main/lib/index.js")
        );
        assert_eq!(
            app.resolve("server/node_modules/mime-db/index.js", "./db.json"),
            Ok(("server/node_modules/mime-db/db.json".into(), Kind::Json))
        );
        assert!(
            app.resolve(from_a, "../../../server")
                .unwrap_err()
                .contains("leaves server/node_modules/")
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
