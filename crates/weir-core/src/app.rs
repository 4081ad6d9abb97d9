//! Apps: an uploaded package, and the definition Weir reads out of it.
//!
//! This is the first slice of the app model: the manifest must be a JSON object, and
//! `config/iparams.json` (if present) says which installation parameters exist, which are
//! required and which are secure. The full package formats of the five platforms grow
//! from here, into the same `AppDefinition`.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::{AppId, InvalidValue, Package};

/// One stored version of an app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct App {
    pub id: AppId,
    pub name: AppName,
    /// 1 for the first upload of a name, then 2, 3, …
    pub version: u32,
    pub platform_version: Option<String>,
    /// Hex SHA-256 of the zip archive as uploaded.
    pub package_sha256: String,
    pub package_size: u64,
    pub created_at: Timestamp,
}

/// The name that ties the versions of one app together.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct AppName(String);

impl AppName {
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        let trimmed = value.trim();
        if trimmed.is_empty()
            || trimmed.chars().count() > 100
            || trimmed.chars().any(char::is_control)
        {
            return Err(InvalidValue(format!(
                "app name must be 1 to 100 printable characters, got {value:?}"
            )));
        }
        Ok(AppName(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AppName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AppName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        AppName::parse(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// Something wrong in a package, located by file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct PackageProblem {
    pub file: String,
    pub message: String,
}

impl PackageProblem {
    fn new(file: &str, message: impl Into<String>) -> Self {
        PackageProblem {
            file: file.to_owned(),
            message: message.into(),
        }
    }
}

/// One installation parameter declared in `config/iparams.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IparamSpec {
    pub name: String,
    pub required: bool,
    /// Secure values reach the app's server code but are never shown again by the API.
    pub secure: bool,
}

/// What Weir knows about an app from its package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppDefinition {
    /// The manifest's `name`, a Weir addition; uploads may name the app instead.
    pub name: Option<AppName>,
    pub platform_version: Option<String>,
    pub iparams: Vec<IparamSpec>,
}

const MANIFEST: &str = "manifest.json";
const IPARAMS: &str = "config/iparams.json";

impl AppDefinition {
    /// Reads the package, reporting every problem found rather than the first.
    pub fn parse(package: &Package) -> Result<Self, Vec<PackageProblem>> {
        let mut problems = Vec::new();
        let manifest = match package.file(MANIFEST) {
            Some(bytes) => json_object(MANIFEST, bytes)
                .map_err(|p| problems.push(p))
                .ok(),
            None => {
                problems.push(PackageProblem::new(MANIFEST, "missing at the package root"));
                None
            }
        };
        let manifest = manifest.unwrap_or_default();
        let name = match manifest.get("name") {
            None => None,
            Some(Value::String(s)) => AppName::parse(s)
                .map_err(|e| problems.push(PackageProblem::new(MANIFEST, e.0)))
                .ok(),
            Some(_) => {
                problems.push(PackageProblem::new(MANIFEST, "\"name\" must be a string"));
                None
            }
        };
        let platform_version = match manifest.get("platform-version") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                problems.push(PackageProblem::new(
                    MANIFEST,
                    "\"platform-version\" must be a string such as \"2.3\"",
                ));
                None
            }
        };
        let iparams = match package.file(IPARAMS) {
            None => Vec::new(),
            Some(bytes) => json_object(IPARAMS, bytes)
                .and_then(|object| parse_iparams(&object))
                .unwrap_or_else(|p| {
                    problems.push(p);
                    Vec::new()
                }),
        };
        if problems.is_empty() {
            Ok(AppDefinition {
                name,
                platform_version,
                iparams,
            })
        } else {
            Err(problems)
        }
    }
}

fn json_object(file: &str, bytes: &[u8]) -> Result<Map<String, Value>, PackageProblem> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(PackageProblem::new(file, "must hold a JSON object")),
        Err(e) => Err(PackageProblem::new(file, format!("invalid JSON: {e}"))),
    }
}

fn parse_iparams(object: &Map<String, Value>) -> Result<Vec<IparamSpec>, PackageProblem> {
    let flag = |name: &str, spec: &Map<String, Value>, key: &str| match spec.get(key) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(PackageProblem::new(
            IPARAMS,
            format!("{name}.{key} must be true or false"),
        )),
    };
    object
        .iter()
        .map(|(name, spec)| {
            let Value::Object(spec) = spec else {
                return Err(PackageProblem::new(
                    IPARAMS,
                    format!("{name} must be an object"),
                ));
            };
            Ok(IparamSpec {
                name: name.clone(),
                required: flag(name, spec, "required")?,
                secure: flag(name, spec, "secure")?,
            })
        })
        .collect()
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

    #[test]
    fn reads_name_platform_version_and_iparams() {
        let def = AppDefinition::parse(&package(&[
            ("manifest.json", r#"{"name": "Pomodoro", "platform-version": "2.3"}"#),
            (
                "config/iparams.json",
                r#"{"api_key": {"type": "text", "required": true, "secure": true}, "domain": {"type": "text"}}"#,
            ),
        ]))
        .unwrap();
        assert_eq!(def.name.unwrap().as_str(), "Pomodoro");
        assert_eq!(def.platform_version.as_deref(), Some("2.3"));
        assert_eq!(
            def.iparams,
            vec![
                IparamSpec {
                    name: "api_key".into(),
                    required: true,
                    secure: true
                },
                IparamSpec {
                    name: "domain".into(),
                    required: false,
                    secure: false
                },
            ]
        );
    }

    #[test]
    fn reports_every_problem_with_its_file() {
        let problems = AppDefinition::parse(&package(&[(
            "config/iparams.json",
            r#"{"api_key": {"secure": "yes"}}"#,
        )]))
        .unwrap_err();
        let texts: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            texts,
            [
                "manifest.json: missing at the package root",
                "config/iparams.json: api_key.secure must be true or false",
            ]
        );
    }

    #[test]
    fn locates_json_syntax_errors() {
        let problems =
            AppDefinition::parse(&package(&[("manifest.json", "{\n  \"a\": 1,\n}")])).unwrap_err();
        assert_eq!(problems[0].file, "manifest.json");
        assert!(
            problems[0].message.contains("line 3"),
            "{}",
            problems[0].message
        );
    }
}
