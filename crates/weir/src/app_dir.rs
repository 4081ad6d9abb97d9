//! An app's source folder, as `weir validate` and `weir pack` read it: which files belong
//! in the package, and the package as a zip.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use weir_core::app::dependencies;
use weir_core::{AppDefinition, MAX_PACKAGE_BYTES, Package, PackageLimits, PackageProblem};

/// Folders at the app's root that are never part of a package: build output, local
/// state, tooling. `node_modules` is left out wherever it is (but see `add_dependencies`).
pub(crate) const LEFT_OUT_AT_ROOT: &[&str] = &["dist", "coverage", ".weir", ".fdk", ".git"];
const NODE_MODULES_DIR: &str = "node_modules";
/// npm's command-line shims inside `node_modules`: links, which `require` never loads.
const NPM_BIN_DIR: &str = ".bin";
const NPM_PACKAGE_JSON: &str = "package.json";

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
    // The dependencies the app declares, even if other declarations have problems; a
    // missing one is the parser's to report, with them, in the same run.
    let without_dependencies = Package::from_files(files.clone());
    let definition = AppDefinition::read(&without_dependencies).definition;
    let declared = dependencies::declared(&definition.dependencies, &without_dependencies);
    let names = declared.into_iter().map(|(_, name)| name).collect();
    add_dependencies(dir, names, &mut files, &mut problems)?;
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
                || (!in_dependency && name == NODE_MODULES_DIR)
                || (in_dependency && name == NPM_BIN_DIR);
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

/// The npm packages the server code needs come along from `server/node_modules`: those
/// the app declares, and theirs in turn, as far as they are installed. npm installs a
/// package's own dependencies beside it (hoisted), where `require` finds them by name,
/// so each package's `package.json` files name more to bring; a version npm had to nest
/// under its parent comes along with the parent's folder. The rest of `node_modules`
/// (devDependencies, tools) stays behind. A declared package that is not installed is
/// left to the package parser, which reports it.
fn add_dependencies(
    root: &Path,
    declared: Vec<String>,
    files: &mut BTreeMap<String, Vec<u8>>,
    problems: &mut Vec<PackageProblem>,
) -> anyhow::Result<()> {
    let mut wanted: VecDeque<String> = declared.into();
    let mut taken: HashSet<String> = HashSet::new();
    while let Some(name) = wanted.pop_front() {
        let dir = root.join(dependencies::NODE_MODULES).join(&name);
        if !taken.insert(name) || !dir.is_dir() {
            continue;
        }
        let mut package = BTreeMap::new();
        collect(root, &dir, true, &mut package, problems)?;
        let manifests = package
            .iter()
            .filter(|(path, _)| path.rsplit('/').next() == Some(NPM_PACKAGE_JSON));
        for (path, manifest) in manifests {
            let needed = dependencies::npm_dependencies(manifest);
            let from = root.join(path);
            let outside = needed
                .into_iter()
                .filter(|name| !nested_within(&from, &dir, name));
            wanted.extend(outside);
        }
        files.extend(package);
    }
    Ok(())
}

/// Whether `require(name)` from the package whose `package.json` is `manifest` finds a
/// copy npm nested inside `package` (the shipped folder, which comes along whole), as
/// Node looks: in `node_modules` beside each folder from the manifest's up to the
/// package's own.
fn nested_within(manifest: &Path, package: &Path, name: &str) -> bool {
    let mut folder = manifest.parent();
    while let Some(dir) = folder {
        if dir.join(NODE_MODULES_DIR).join(name).is_dir() {
            return true;
        }
        if dir == package {
            return false;
        }
        folder = dir.parent();
    }
    false
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
