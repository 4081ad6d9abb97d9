//! Installations: one app installed in one account, with its installation parameters.
//!
//! Secure iparams are kept apart from the others from the moment they are parsed, so that
//! code which shows an installation cannot leak them by accident.

use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::{AccountId, AppId, AppName, InstallationId, InvalidValue, IparamSpec};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installation {
    pub id: InstallationId,
    pub account_id: AccountId,
    pub app_id: AppId,
    pub app_name: AppName,
    pub status: InstallationStatus,
    pub iparams: Iparams,
    pub departments: Vec<String>,
    pub scopes: Vec<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InstallationStatus {
    Active,
    Uninstalled,
}

impl InstallationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InstallationStatus::Active => "active",
            InstallationStatus::Uninstalled => "uninstalled",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [InstallationStatus::Active, InstallationStatus::Uninstalled]
            .into_iter()
            .find(|s| s.as_str() == value)
    }
}

/// An installation's parameter values, split by the app's declaration of which are secure.
/// Neither this nor `Installation` is `Serialize`: views choose what to show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Iparams {
    pub public: Map<String, Value>,
    /// Reaches the app's server code; the API shows only the names (`secure_names`).
    pub secure: Map<String, Value>,
}

impl Iparams {
    /// Checks the given values against the app's declared iparams: every name must be
    /// declared and every required one given.
    pub fn from_given(
        specs: &[IparamSpec],
        given: Map<String, Value>,
    ) -> Result<Self, InvalidValue> {
        if let Some(unknown) = given
            .keys()
            .find(|name| !specs.iter().any(|s| &s.name == *name))
        {
            let declared: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
            return Err(InvalidValue(if declared.is_empty() {
                format!("iparams.{unknown}: the app declares no iparams")
            } else {
                format!(
                    "iparams.{unknown}: not declared by the app (declared: {})",
                    declared.join(", ")
                )
            }));
        }
        if let Some(missing) = specs
            .iter()
            .find(|s| s.required && !given.contains_key(&s.name))
        {
            return Err(InvalidValue(format!(
                "iparams.{}: required by the app",
                missing.name
            )));
        }
        let (secure, public) = given
            .into_iter()
            .partition(|(name, _)| specs.iter().any(|s| s.secure && &s.name == name));
        Ok(Iparams { public, secure })
    }

    pub fn secure_names(&self) -> Vec<&str> {
        self.secure.keys().map(String::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn specs() -> Vec<IparamSpec> {
        vec![
            IparamSpec::text("api_key", true, true),
            IparamSpec::text("domain", false, false),
        ]
    }

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn splits_secure_values_from_public_ones() {
        let iparams = Iparams::from_given(
            &specs(),
            object(json!({"api_key": "s3cret", "domain": "x.io"})),
        )
        .unwrap();
        assert_eq!(iparams.public, object(json!({"domain": "x.io"})));
        assert_eq!(iparams.secure, object(json!({"api_key": "s3cret"})));
        assert_eq!(iparams.secure_names(), ["api_key"]);
    }

    #[test]
    fn rejects_unknown_and_missing_iparams() {
        let err = Iparams::from_given(&specs(), object(json!({"api_key": "k", "colour": 1})))
            .unwrap_err();
        assert_eq!(
            err.0,
            "iparams.colour: not declared by the app (declared: api_key, domain)"
        );
        let err = Iparams::from_given(&specs(), object(json!({"domain": "x.io"}))).unwrap_err();
        assert_eq!(err.0, "iparams.api_key: required by the app");
        let err = Iparams::from_given(&[], object(json!({"a": 1}))).unwrap_err();
        assert_eq!(err.0, "iparams.a: the app declares no iparams");
    }
}
