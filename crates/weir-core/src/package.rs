//! An app package: the files of an app, read from a zip archive into memory.
//!
//! Reading is defensive because packages come from outside: paths must stay inside the
//! package, and the number of files and the unpacked size are bounded (a small zip can
//! claim to unpack to gigabytes). Archives made by zipping the app's folder itself, so
//! that every path starts with `my-app/`, are accepted too: that one folder is dropped.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

/// Bounds on what a package may unpack to.
#[derive(Debug, Clone, Copy)]
pub struct PackageLimits {
    /// Entries of the zip, folders included.
    pub max_files: usize,
    pub max_unpacked_bytes: u64,
}

/// The default entry cap. Apps ship their npm packages (Weir installs none), and those
/// are many small files: axios, lodash and moment with their dependencies make a
/// `node_modules` of 2,051 files in 112 folders (2,163 zip entries, 9 MB unpacked, 2.9 MB
/// zipped; npm 10, measured while choosing this). Ten thousand leaves room for a few such
/// sets; the 5 MB zip and the unpacked-bytes limit bound the rest.
pub const MAX_PACKAGE_ENTRIES: usize = 10_000;

/// The largest package (the zip) Weir accepts: 5 MB, as Freshworks allows.
pub const MAX_PACKAGE_BYTES: usize = 5 * 1024 * 1024;

impl Default for PackageLimits {
    fn default() -> Self {
        PackageLimits {
            max_files: MAX_PACKAGE_ENTRIES,
            max_unpacked_bytes: 32 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackageError {
    #[error("the package is not a valid zip archive: {0}")]
    NotZip(String),
    #[error("the package holds {path:?}, a path that leaves the package or is not UTF-8")]
    UnsafePath { path: String },
    #[error("the package holds {path:?}, a symbolic link; packages hold plain files only")]
    Link { path: String },
    #[error(
        "the package holds more than {limit} entries (files and folders): ship only what \
         the server code runs: production dependencies only (npm install --omit=dev in \
         server/), without tests, docs or build output; weir pack keeps only the npm \
         packages the declared dependencies need"
    )]
    TooManyFiles { limit: usize },
    #[error("the package holds {path:?} twice")]
    Duplicate { path: String },
    #[error(
        "the package unpacks to more than {limit} bytes: leave out what the server code \
         does not run (devDependencies, tests, docs, source maps)"
    )]
    TooLarge { limit: u64 },
    #[error("{path}: cannot be unpacked: {reason}")]
    Unreadable { path: String, reason: String },
}

/// The files of a package by their path relative to the package root, `/`-separated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Package {
    files: BTreeMap<String, Vec<u8>>,
}

impl Package {
    pub fn from_files(files: BTreeMap<String, Vec<u8>>) -> Self {
        Package { files }
    }

    pub fn from_zip(bytes: &[u8], limits: PackageLimits) -> Result<Self, PackageError> {
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| PackageError::NotZip(e.to_string()))?;
        let listed = central_directory_names(bytes, archive.central_directory_start());
        if archive.len().max(listed.len()) > limits.max_files {
            return Err(PackageError::TooManyFiles {
                limit: limits.max_files,
            });
        }
        if let Some(path) = name_given_twice(&listed) {
            return Err(PackageError::Duplicate { path });
        }
        let mut files = BTreeMap::new();
        let mut unpacked: u64 = 0;
        for index in 0..archive.len() {
            let mut entry = archive
                .by_index(index)
                .map_err(|e| PackageError::NotZip(e.to_string()))?;
            let raw_name = entry.name().to_owned();
            if entry.is_dir() || is_junk(&raw_name) {
                continue;
            }
            if entry.is_symlink() {
                return Err(PackageError::Link { path: raw_name });
            }
            let path = package_path(&raw_name).ok_or(PackageError::UnsafePath {
                path: raw_name.clone(),
            })?;
            if files.contains_key(&path) {
                return Err(PackageError::Duplicate { path });
            }
            let budget = limits.max_unpacked_bytes - unpacked;
            let mut content = Vec::new();
            (&mut entry)
                .take(budget.saturating_add(1))
                .read_to_end(&mut content)
                .map_err(|e| PackageError::Unreadable {
                    path: raw_name,
                    reason: e.to_string(),
                })?;
            unpacked += content.len() as u64;
            if unpacked > limits.max_unpacked_bytes {
                return Err(PackageError::TooLarge {
                    limit: limits.max_unpacked_bytes,
                });
            }
            files.insert(path, content);
        }
        Ok(Package {
            files: strip_enclosing_folder(files),
        })
    }

    pub fn file(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }

    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }
}

/// The package path of an archive entry: `/`-separated, without `.` or empty segments.
/// `None` when it is absolute, names a drive, or climbs out with `..` (in either slash
/// style: Windows archivers write `\\`).
fn package_path(name: &str) -> Option<String> {
    let unified = name.replace('\\', "/");
    let first = unified.split('/').next().unwrap_or_default();
    if unified.starts_with('/') || first.ends_with(':') {
        return None;
    }
    let segments: Vec<&str> = unified
        .split('/')
        .filter(|segment| !segment.is_empty() && *segment != ".")
        .collect();
    if segments.is_empty() || segments.contains(&"..") {
        return None;
    }
    Some(segments.join("/"))
}

/// The entry names of the archive's central directory, in order, duplicates included.
///
/// The `zip` crate keeps one entry per name (the last one listed), so an archive that
/// holds a path twice reaches `from_zip` with one of them silently dropped: which of the
/// two a reader sees would depend on the reader. The directory is walked here instead;
/// the crate has checked where it starts, and a record that does not fit stops the walk.
fn central_directory_names(bytes: &[u8], start: u64) -> Vec<&[u8]> {
    const SIGNATURE: &[u8] = b"PK\x01\x02";
    const FIXED: usize = 46;
    let field = |at: usize| usize::from(u16::from_le_bytes([bytes[at], bytes[at + 1]]));
    let mut names = Vec::new();
    let Ok(mut at) = usize::try_from(start) else {
        return names;
    };
    while bytes.len() >= at.saturating_add(FIXED) && bytes[at..].starts_with(SIGNATURE) {
        let (name_len, extra_len, comment_len) = (field(at + 28), field(at + 30), field(at + 32));
        let Some(name) = bytes.get(at + FIXED..at + FIXED + name_len) else {
            break;
        };
        names.push(name);
        at += FIXED + name_len + extra_len + comment_len;
    }
    names
}

/// The first file path that `names` lists twice, as the archive spells it. Names are
/// compared as bytes: two names that are not UTF-8 may differ only where they are not.
/// Folders are not files, and junk is dropped anyway, so neither counts.
fn name_given_twice(names: &[&[u8]]) -> Option<String> {
    let mut seen = std::collections::HashSet::new();
    names
        .iter()
        .filter(|name| !name.ends_with(b"/") && !is_junk(&String::from_utf8_lossy(name)))
        .find(|name| !seen.insert(**name))
        .map(|name| String::from_utf8_lossy(name).into_owned())
}

/// Files that archivers add on their own and no app means to ship.
fn is_junk(name: &str) -> bool {
    name.starts_with("__MACOSX/") || name.rsplit('/').next() == Some(".DS_Store")
}

/// The files that mark a package's root, whichever platform's style it follows.
const ROOT_MARKERS: &[&str] = &["manifest.json", "plugin-manifest.json"];

/// If every file lies in one folder that holds the package's manifest (an archive of the
/// app's folder rather than of its contents), that folder is the package root. A folder
/// of the package itself (say `global-webhooks/`) is never taken for one.
fn strip_enclosing_folder(files: BTreeMap<String, Vec<u8>>) -> BTreeMap<String, Vec<u8>> {
    if ROOT_MARKERS
        .iter()
        .any(|marker| files.contains_key(*marker))
    {
        return files;
    }
    let Some(folder) = files
        .keys()
        .next()
        .and_then(|p| p.split_once('/'))
        .map(|(f, _)| f)
    else {
        return files;
    };
    let prefix = format!("{folder}/");
    let encloses_a_package = ROOT_MARKERS
        .iter()
        .any(|marker| files.contains_key(&format!("{prefix}{marker}")));
    if !encloses_a_package || !files.keys().all(|p| p.starts_with(&prefix)) {
        return files;
    }
    files
        .into_iter()
        .map(|(path, content)| (path[prefix.len()..].to_owned(), content))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        for (name, content) in entries {
            writer.start_file(*name, options).unwrap();
            writer.write_all(content).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    #[test]
    fn reads_files_and_drops_an_enclosing_folder() {
        let bytes = zip_of(&[
            ("my-app/manifest.json", b"{}"),
            ("my-app/server/server.js", b"x"),
        ]);
        let package = Package::from_zip(&bytes, PackageLimits::default()).unwrap();
        assert_eq!(package.file("manifest.json"), Some(&b"{}"[..]));
        assert_eq!(
            package.paths().collect::<Vec<_>>(),
            ["manifest.json", "server/server.js"]
        );
    }

    #[test]
    fn keeps_a_connector_folder_that_is_part_of_the_package() {
        let bytes = zip_of(&[
            ("global-webhooks/hook/spec.yml", b"name: Hook"),
            ("global-webhooks/hook/handle.js", b""),
        ]);
        let package = Package::from_zip(&bytes, PackageLimits::default()).unwrap();
        assert!(package.file("global-webhooks/hook/spec.yml").is_some());
    }

    #[test]
    fn rejects_paths_that_escape() {
        let bytes = zip_of(&[("../evil.js", b"x")]);
        let err = Package::from_zip(&bytes, PackageLimits::default()).unwrap_err();
        assert_eq!(
            err,
            PackageError::UnsafePath {
                path: "../evil.js".into()
            }
        );
    }

    #[test]
    fn rejects_links_and_absolute_paths() {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        writer
            .add_symlink("server/lib.js", "/etc/passwd", options)
            .unwrap();
        let bytes = writer.finish().unwrap().into_inner();
        let err = Package::from_zip(&bytes, PackageLimits::default()).unwrap_err();
        assert_eq!(
            err,
            PackageError::Link {
                path: "server/lib.js".into()
            }
        );

        let bytes = zip_of(&[("/etc/cron.d/x", b"x")]);
        let err = Package::from_zip(&bytes, PackageLimits::default()).unwrap_err();
        assert_eq!(
            err,
            PackageError::UnsafePath {
                path: "/etc/cron.d/x".into()
            }
        );
    }

    #[test]
    fn bounds_the_unpacked_size_and_file_count() {
        let big = vec![0u8; 4096];
        let bytes = zip_of(&[("manifest.json", b"{}"), ("a.bin", &big)]);
        let small = PackageLimits {
            max_files: 10,
            max_unpacked_bytes: 1000,
        };
        assert_eq!(
            Package::from_zip(&bytes, small).unwrap_err(),
            PackageError::TooLarge { limit: 1000 }
        );
        let few = PackageLimits {
            max_files: 1,
            max_unpacked_bytes: 1 << 20,
        };
        assert_eq!(
            Package::from_zip(&bytes, few).unwrap_err(),
            PackageError::TooManyFiles { limit: 1 }
        );
    }

    /// An app with axios, lodash and moment installed ships about 2,200 entries; the
    /// default cap takes that, and the refusal past a cap says what to do.
    #[test]
    fn an_app_with_its_node_modules_fits_and_a_refusal_says_what_to_do() {
        let names: Vec<String> = (0..2_200)
            .map(|i| format!("server/node_modules/pkg{}/lib/f{i}.js", i % 40))
            .collect();
        let mut entries: Vec<(&str, &[u8])> = vec![("manifest.json", b"{}")];
        entries.extend(names.iter().map(|name| (name.as_str(), &b"x"[..])));
        let package = Package::from_zip(&zip_of(&entries), PackageLimits::default()).unwrap();
        assert_eq!(package.paths().count(), 2_201);
        assert_eq!(PackageLimits::default().max_files, MAX_PACKAGE_ENTRIES);

        let message = PackageError::TooManyFiles { limit: 10 }.to_string();
        assert!(
            message.starts_with("the package holds more than 10 entries (files and folders): "),
            "{message}"
        );
        assert!(message.contains("npm install --omit=dev"), "{message}");
        let message = PackageError::TooLarge { limit: 10 }.to_string();
        assert!(message.contains("devDependencies"), "{message}");
    }

    /// A zip that lists `name` twice. Zip writers refuse to, so the second entry is
    /// written under a stand-in of the same length, then renamed in the archive's bytes.
    fn zip_with_twice(name: &str, first: &[u8], second: &[u8]) -> Vec<u8> {
        let stand_in = format!("{}#", &name[..name.len() - 1]);
        rename(
            &zip_of(&[(name, first), (&stand_in, second)]),
            &stand_in,
            name,
        )
    }

    /// Every `from` in `bytes` replaced by `to`, of the same length.
    fn rename(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
        assert_eq!(from.len(), to.len());
        let mut renamed = bytes.to_vec();
        let mut at = 0;
        while let Some(found) = renamed[at..]
            .windows(from.len())
            .position(|window| window == from.as_bytes())
        {
            renamed[at + found..at + found + to.len()].copy_from_slice(to.as_bytes());
            at += found + to.len();
        }
        renamed
    }

    #[test]
    fn rejects_a_path_given_twice() {
        let bytes = zip_with_twice("server/server.js", b"exports = {};", b"evil();");
        let err = Package::from_zip(&bytes, PackageLimits::default()).unwrap_err();
        assert_eq!(
            err,
            PackageError::Duplicate {
                path: "server/server.js".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "the package holds \"server/server.js\" twice"
        );
    }

    #[test]
    fn rejects_two_spellings_of_one_path() {
        let bytes = zip_of(&[("server/server.js", b"a"), ("./server//server.js", b"b")]);
        let err = Package::from_zip(&bytes, PackageLimits::default()).unwrap_err();
        assert_eq!(
            err,
            PackageError::Duplicate {
                path: "server/server.js".into()
            }
        );
    }

    #[test]
    fn counts_every_entry_a_name_given_twice_included() {
        let bytes = zip_with_twice("manifest.json", b"{}", b"{}");
        let one = PackageLimits {
            max_files: 1,
            max_unpacked_bytes: 1 << 20,
        };
        assert_eq!(
            Package::from_zip(&bytes, one).unwrap_err(),
            PackageError::TooManyFiles { limit: 1 }
        );
    }

    #[test]
    fn a_folder_listed_twice_is_not_a_duplicate_file() {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        writer.add_directory("server/", options).unwrap();
        writer.add_directory("serve#/", options).unwrap();
        writer.start_file("server/server.js", options).unwrap();
        writer.write_all(b"exports = {};").unwrap();
        let bytes = rename(&writer.finish().unwrap().into_inner(), "serve#/", "server/");
        let package = Package::from_zip(&bytes, PackageLimits::default()).unwrap();
        assert!(package.file("server/server.js").is_some());
    }

    #[test]
    fn rejects_what_is_not_a_zip() {
        let err = Package::from_zip(b"not a zip", PackageLimits::default()).unwrap_err();
        assert!(matches!(err, PackageError::NotZip(_)), "{err:?}");
    }
}
