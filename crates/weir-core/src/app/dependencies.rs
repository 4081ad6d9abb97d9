//! The npm packages an app's server code needs. Weir installs none: production has no
//! registry to install from, and a `require` failing at the first event is worse than a
//! refused upload. So each package the app declares (the manifest's `dependencies`, and
//! `server/package.json`'s, where `npm install` in `server/` reads them) must be in the
//! package under `server/node_modules/`, or the package is refused naming it.

use serde_json::Value;

use super::problem::{PackageProblem, Problems};
use crate::Package;

/// Where the server code's npm packages are installed, and where `require` finds them.
pub const NODE_MODULES: &str = "server/node_modules/";
/// The npm manifest of `server/`, which `npm install` there reads.
pub const SERVER_PACKAGE_JSON: &str = "server/package.json";
const MANIFEST: &str = "manifest.json";

/// Whether `name` is an npm package name (`lodash`, `@scope/name`): such a name can
/// never point outside `server/node_modules`.
pub fn is_npm_name(name: &str) -> bool {
    let part_ok = |part: &str| {
        !part.is_empty()
            && !part.starts_with(['.', '_'])
            && part
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-._~".contains(c))
    };
    let unscoped = match name.strip_prefix('@') {
        Some(scoped) => match scoped.split_once('/') {
            Some((scope, package)) if part_ok(scope) => package,
            _ => return false,
        },
        None => name,
    };
    name.len() <= 214 && part_ok(unscoped)
}

/// The packages an npm `package.json` says it needs at run time: its `dependencies`,
/// `optionalDependencies` and `peerDependencies` (npm installs peers too), each named
/// once, npm names only. Nothing for a file that is not such a JSON object.
pub fn npm_dependencies(package_json: &[u8]) -> Vec<String> {
    let Ok(Value::Object(manifest)) = serde_json::from_slice::<Value>(package_json) else {
        return Vec::new();
    };
    let mut names: Vec<String> = Vec::new();
    for field in ["dependencies", "optionalDependencies", "peerDependencies"] {
        let Some(Value::Object(listed)) = manifest.get(field) else {
            continue;
        };
        for name in listed.keys().filter(|name| is_npm_name(name)) {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    names
}

/// The packages the app declares, with the file that declares each: the manifest's
/// `dependencies` first, then `server/package.json`'s `dependencies` (not its optional
/// ones: npm may leave those out).
pub fn declared(manifest: &[(String, String)], package: &Package) -> Vec<(&'static str, String)> {
    let mut declared: Vec<(&'static str, String)> = manifest
        .iter()
        .map(|(name, _)| (MANIFEST, name.clone()))
        .collect();
    let server = package
        .file(SERVER_PACKAGE_JSON)
        .and_then(|bytes| serde_json::from_slice::<Value>(bytes).ok());
    if let Some(Value::Object(listed)) = server.as_ref().and_then(|m| m.get("dependencies")) {
        for name in listed.keys().filter(|name| is_npm_name(name)) {
            declared.push((SERVER_PACKAGE_JSON, name.clone()));
        }
    }
    declared
}

/// Whether the package holds an installed copy of `name`.
pub fn is_installed(package: &Package, name: &str) -> bool {
    let folder = format!("{NODE_MODULES}{name}/");
    package.paths().any(|path| path.starts_with(&folder))
}

/// A problem for each declared package the package does not hold.
pub(super) fn check(manifest: &[(String, String)], package: &Package, problems: &mut Problems) {
    for (file, name) in declared(manifest, package) {
        if !is_installed(package, &name) {
            problems.push(PackageProblem::new(
                file,
                format!("/dependencies/{}", pointer_token(&name)),
                format!(
                    "{NODE_MODULES}{name} is not installed (run npm install in server/ and \
                     ship server/node_modules with the app: Weir cannot install npm packages)"
                ),
            ));
        }
    }
}

/// A JSON pointer's reference token (RFC 6901): `@scope/name` → `@scope~1name`.
fn pointer_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn package(files: &[(&str, &str)]) -> Package {
        Package::from_files(
            files
                .iter()
                .map(|(path, text)| (path.to_string(), text.as_bytes().to_vec()))
                .collect::<BTreeMap<_, _>>(),
        )
    }

    #[test]
    fn npm_names_cannot_leave_node_modules() {
        for name in ["lodash", "@scope/name", "left-pad", "a.b_c~d"] {
            assert!(is_npm_name(name), "{name}");
        }
        for name in [
            "",
            "../x",
            "@scope",
            "@scope/../x",
            ".hidden",
            "_x",
            "Upper",
            "a/b",
        ] {
            assert!(!is_npm_name(name), "{name}");
        }
    }

    #[test]
    fn a_package_json_names_its_run_time_dependencies_once() {
        let text = r#"{"dependencies": {"axios": "1", "../evil": "1"},
            "optionalDependencies": {"fsevents": "2", "axios": "1"},
            "peerDependencies": {"react": "18"}, "devDependencies": {"jest": "29"}}"#;
        assert_eq!(
            npm_dependencies(text.as_bytes()),
            ["axios", "fsevents", "react"]
        );
        assert!(npm_dependencies(b"not json").is_empty());
        assert!(npm_dependencies(b"[1]").is_empty());
    }

    #[test]
    fn each_declared_package_must_be_installed() {
        let manifest = vec![
            ("axios".to_owned(), "1.6.0".to_owned()),
            ("@acme/tools".to_owned(), "1.0.0".to_owned()),
        ];
        let app = package(&[
            ("server/node_modules/axios/package.json", "{}"),
            ("server/node_modules/axios-retry/index.js", ""),
            (
                "server/package.json",
                r#"{"dependencies": {"axios": "1", "axios-retry": "3", "moment": "2"},
                   "devDependencies": {"jest": "29"}}"#,
            ),
        ]);
        let mut problems = Problems::default();
        check(&manifest, &app, &mut problems);
        let found: Vec<(String, String, String)> = problems
            .into_vec()
            .into_iter()
            .map(|p| (p.file, p.location, p.message))
            .collect();
        let message = |name: &str| {
            format!(
                "server/node_modules/{name} is not installed (run npm install in server/ and \
                 ship server/node_modules with the app: Weir cannot install npm packages)"
            )
        };
        assert_eq!(
            found,
            [
                (
                    "manifest.json".to_owned(),
                    "/dependencies/@acme~1tools".to_owned(),
                    message("@acme/tools")
                ),
                (
                    "server/package.json".to_owned(),
                    "/dependencies/moment".to_owned(),
                    message("moment")
                ),
            ]
        );
    }
}
