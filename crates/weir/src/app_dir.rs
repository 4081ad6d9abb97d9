//! An app's source folder, as `weir validate` and `weir pack` read it: which files belong
//! in the package, and the package as a zip.

use std::collections::BTreeMap;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use weir_core::{AppDefinition, MAX_PACKAGE_BYTES, Package, PackageLimits, PackageProblem};

/// Folders at the app's root that are never part of a package: build output, local
/// state, tooling. `node_modules` is left out wherever it is (but see `add_dependencies`).
pub(crate) const LEFT_OUT_AT_ROOT: &[&str] = &["dist", "coverage", ".weir", ".fdk", ".git"];
const NODE_MODULES_DIR: &str = "node_modules";
const NODE_MODULES: &str = "server/node_modules/";

/// The package made from a folder, and what was wrong with it.
pub struct Packed {
    pub zip: Vec<u8>,
    pub definition: Option<AppDefinition>,
    pub problems: Vec<PackageProblem>,
}

/// Reads the folder, zips what belongs in the package, and parses the result exactly as
/// an upload is parsed (from the zip), so validating locally and uploading agree.
pub fn pack(dir: &Path) -> anyhow::Result<Packed> {
    let declarations = [
        "manifest.json",
        "plugin-manifest.json",
        "global-webhooks",
        "events",
    ];
    if !declarations.iter().any(|d| dir.join(d).exists()) {
        bail!(
            "{} holds no manifest.json (nor plugin-manifest.json): is it an app folder?",
            dir.display()
        );
    }
    let mut files = BTreeMap::new();
    let mut problems = Vec::new();
    collect(dir, dir, false, &mut files, &mut problems)?;
    // The dependencies the manifest names, even if other declarations have problems:
    // a missing one is reported with them, in the same run.
    let declared = AppDefinition::read(&Package::from_files(files.clone())).definition;
    add_dependencies(dir, &declared, &mut files, &mut problems)?;
    let zip = zip(&files)?;
    if zip.len() > MAX_PACKAGE_BYTES {
        problems.push(PackageProblem::new(
            "",
            "",
            format!(
                "the package is {} bytes; the limit is {MAX_PACKAGE_BYTES}",
                zip.len()
            ),
        ));
    }
    let definition = match Package::from_zip(&zip, PackageLimits::default()) {
        Err(error) => {
            problems.push(PackageProblem::new("", "", error.to_string()));
            None
        }
        Ok(package) => match weir_sandbox::validate_package(&package) {
            Ok(definition) => Some(definition),
            Err(found) => {
                problems.extend(found);
                None
            }
        },
    };
    Ok(Packed {
        zip,
        definition,
        problems,
    })
}

/// Every file under `dir`, by package path, except the left-out folders (and
/// `node_modules`, unless `in_dependency`). Links are refused: a package holds plain
/// files only.
fn collect(
    root: &Path,
    dir: &Path,
    in_dependency: bool,
    files: &mut BTreeMap<String, Vec<u8>>,
    problems: &mut Vec<PackageProblem>,
) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        let relative = package_path(root, &path);
        // A file an editor removed meanwhile (a swap file) is simply not there.
        let file_type = match std::fs::symlink_metadata(&path) {
            Ok(metadata) => metadata.file_type(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e.into()),
        };
        if file_type.is_symlink() {
            let message = "a symbolic link; packages hold plain files only";
            problems.push(PackageProblem::new(&relative, "", message));
        } else if file_type.is_dir() {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let left_out = (dir == root && LEFT_OUT_AT_ROOT.contains(&name))
                || (!in_dependency && name == NODE_MODULES_DIR);
            if !left_out {
                collect(root, &path, in_dependency, files, problems)?;
            }
        } else {
            match std::fs::read(&path) {
                Ok(content) => files.insert(relative, content),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
            };
        }
    }
    Ok(())
}

/// The npm packages named in the manifest's `dependencies` come along from
/// `server/node_modules` (Weir runs them in its sandbox), with what they depend on in
/// turn, found where npm put it (nested in the package, or hoisted to a `node_modules`
/// above it, as Node looks it up); the rest of `node_modules` stays behind.
fn add_dependencies(
    root: &Path,
    definition: &AppDefinition,
    files: &mut BTreeMap<String, Vec<u8>>,
    problems: &mut Vec<PackageProblem>,
) -> anyhow::Result<()> {
    let mut queue = Vec::new();
    for (name, _version) in &definition.dependencies {
        let dir = root.join(NODE_MODULES).join(name);
        if !dir.is_dir() {
            problems.push(PackageProblem::new(
                "manifest.json",
                format!("/dependencies/{name}"),
                format!("{NODE_MODULES}{name} is not installed (run npm install in server/)"),
            ));
            continue;
        }
        queue.push(dir);
    }
    let server = root.join("server");
    let mut seen = std::collections::BTreeSet::new();
    while let Some(dir) = queue.pop() {
        if !seen.insert(dir.clone()) {
            continue;
        }
        // A dependency's own node_modules (its nested dependencies) come along too.
        collect(root, &dir, true, files, problems)?;
        for name in declared_dependencies(&dir) {
            if let Some(found) = installed(&dir, &name, &server) {
                queue.push(found);
            }
        }
    }
    Ok(())
}

/// What the package in `dir` depends on: its `dependencies`, `optionalDependencies` and
/// `peerDependencies` (the last two only if installed).
fn declared_dependencies(dir: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(dir.join("package.json")) else {
        return Vec::new();
    };
    let Ok(manifest) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Vec::new();
    };
    ["dependencies", "optionalDependencies", "peerDependencies"]
        .iter()
        .filter_map(|field| manifest.get(*field)?.as_object())
        .flat_map(|deps| deps.keys().cloned())
        .collect()
}

/// Where Node finds package `name` required from the package in `dir`: the nearest
/// `node_modules/<name>` from `dir` up to `server/`.
fn installed(dir: &Path, name: &str, server: &Path) -> Option<PathBuf> {
    let mut folder = Some(dir);
    while let Some(current) = folder.filter(|f| f.starts_with(server)) {
        if current.file_name().is_some_and(|n| n != NODE_MODULES_DIR) {
            let candidate = current.join(NODE_MODULES_DIR).join(name);
            if candidate.is_dir() {
                return Some(candidate);
            }
        }
        folder = current.parent();
    }
    None
}

fn package_path(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn zip(files: &BTreeMap<String, Vec<u8>>) -> anyhow::Result<Vec<u8>> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (path, content) in files {
        writer.start_file(path.as_str(), options)?;
        writer.write_all(content)?;
    }
    Ok(writer.finish()?.into_inner())
}
