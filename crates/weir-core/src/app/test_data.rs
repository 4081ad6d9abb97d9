//! `server/test_data/`: sample payloads for the simulator, in the three layouts the
//! platforms use: `<event>.json` (2.x), `<product>/<event>.json` (2.x omni) and
//! `<module>/<event>.json` (3.x). SMI payloads are named after their function.

use super::json;
use super::problem::Problems;
use crate::Package;

pub const FOLDER: &str = "server/test_data/";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestPayload {
    /// The product or module folder, if the file is in one.
    pub scope: Option<String>,
    /// The event (or function) name: the file name without `.json`.
    pub event: String,
    pub path: String,
}

pub(super) fn parse(package: &Package, problems: &mut Problems) -> Vec<TestPayload> {
    let mut payloads = Vec::new();
    for path in package
        .paths()
        .filter(|p| p.starts_with(FOLDER) && p.ends_with(".json"))
    {
        let relative = &path[FOLDER.len()..path.len() - ".json".len()];
        let (scope, event) = match relative.split_once('/') {
            None => (None, relative),
            Some((scope, event)) if !event.contains('/') => (Some(scope.to_owned()), event),
            Some(_) => continue, // deeper folders are the app's own business
        };
        let bytes = package.file(path).unwrap_or_default();
        if problems.take(json::parse_file(path, bytes)).is_some() {
            payloads.push(TestPayload {
                scope,
                event: event.to_owned(),
                path: path.to_owned(),
            });
        }
    }
    payloads
}
