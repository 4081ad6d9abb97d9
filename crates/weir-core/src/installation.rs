//! Installations: one app installed in one account, with its installation parameters.
//!
//! Secure iparams are kept apart from the others from the moment they are parsed, so that
//! code which shows an installation cannot leak them by accident.

use std::fmt;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::{
    AccountId, AppDefinition, AppId, AppName, Departments, InstallationId, InvalidValue,
    IparamSpec, IparamsPage, TargetToken,
};

/// The key of a custom installation page's own settings among the values its
/// `postConfigs()` returns (Freshworks' convention): `{"__meta": {"secure": ["api_key"]}}`
/// names the secure iparams; its other keys (`modules`) are the page's business.
pub const IPARAMS_META: &str = "__meta";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installation {
    pub id: InstallationId,
    pub account_id: AccountId,
    pub app_id: AppId,
    pub app_name: AppName,
    pub status: InstallationStatus,
    pub iparams: Iparams,
    pub departments: Departments,
    pub scopes: Vec<String>,
    /// The capability in this installation's target URL for external events.
    pub target_token: TargetToken,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InstallationStatus {
    /// Stored while the app's `onAppInstall` decides: it has its `$db`, schedules and
    /// target URL, but no events fan out to it and no schedule fires for it yet.
    Installing,
    Active,
    Uninstalled,
}

impl InstallationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InstallationStatus::Installing => "installing",
            InstallationStatus::Active => "active",
            InstallationStatus::Uninstalled => "uninstalled",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            InstallationStatus::Installing,
            InstallationStatus::Active,
            InstallationStatus::Uninstalled,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
    }
}

/// An installation's target URL: where a third party posts its external events.
pub fn target_url(public_url: &str, token: &TargetToken) -> String {
    format!("{}/in/{}", public_url.trim_end_matches('/'), token.as_str())
}

/// An installation's parameter values, split by the app's declaration of which are secure.
/// Neither this nor `Installation` is `Serialize`: views choose what to show. `Debug`
/// prints secure values as `***`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Iparams {
    pub public: Map<String, Value>,
    /// Reaches the app's server code; the API shows only the names (`secure_names`).
    pub secure: Map<String, Value>,
}

impl Iparams {
    /// The values an installer gives `app`, checked as its installation page asks: the
    /// declared iparams ([`Iparams::from_given`]) or a custom page's
    /// ([`Iparams::from_custom_page`]).
    pub fn for_app(app: &AppDefinition, given: Map<String, Value>) -> Result<Self, InvalidValue> {
        match app.iparams_page {
            IparamsPage::Declared => Iparams::from_given(&app.iparams, given),
            IparamsPage::Custom => Iparams::from_custom_page(given),
        }
    }

    /// The values of a custom installation page (`config/iparams.html`), which declares
    /// none: each is kept as given, whatever its name and type (the page validated them);
    /// those `__meta.secure` names are secure, the rest public. `__meta` itself is not an
    /// iparam. A secure name with no value is nothing to hide, and is passed over.
    pub fn from_custom_page(mut given: Map<String, Value>) -> Result<Self, InvalidValue> {
        let secure_names = match given.remove(IPARAMS_META) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Object(meta)) => match meta.get("secure") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(names)) => names
                    .iter()
                    .map(|name| name.as_str().map(str::to_owned).ok_or(name))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|name| {
                        InvalidValue(format!(
                            "iparams.{IPARAMS_META}.secure: must list iparam names, got {name}"
                        ))
                    })?,
                Some(other) => {
                    return Err(InvalidValue(format!(
                        "iparams.{IPARAMS_META}.secure: must be an array of iparam names, got {other}"
                    )));
                }
            },
            Some(other) => {
                return Err(InvalidValue(format!(
                    "iparams.{IPARAMS_META}: must be an object such as {{\"secure\": [\"api_key\"]}}, got {other}"
                )));
            }
        };
        let (secure, public) = given
            .into_iter()
            .partition(|(name, _)| secure_names.contains(name));
        Ok(Iparams { public, secure })
    }

    /// Checks the given values against the app's declared iparams: every name must be
    /// declared, every required one given (`null` and `""` count as not given), each value
    /// must fit its type and options; declared defaults fill in what is not given.
    pub fn from_given(
        specs: &[IparamSpec],
        mut given: Map<String, Value>,
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
        given.retain(|_, value| !is_blank(value));
        for spec in specs {
            match (given.get(&spec.name), &spec.default_value) {
                (Some(value), _) => check_value(spec, value)?,
                (None, Some(default)) => {
                    given.insert(spec.name.clone(), default.clone());
                }
                (None, None) if spec.required => {
                    return Err(InvalidValue(format!(
                        "iparams.{}: required by the app",
                        spec.name
                    )));
                }
                (None, None) => {}
            }
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

impl fmt::Debug for Iparams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secure: Map<String, Value> = self
            .secure
            .keys()
            .map(|name| (name.clone(), Value::from("***")))
            .collect();
        f.debug_struct("Iparams")
            .field("public", &self.public)
            .field("secure", &secure)
            .finish()
    }
}

fn is_blank(value: &Value) -> bool {
    value.is_null() || value.as_str().is_some_and(|s| s.trim().is_empty())
}

/// A value must fit its declared type; a choice must be one of the declared options.
fn check_value(spec: &IparamSpec, value: &Value) -> Result<(), InvalidValue> {
    let in_options = |v: &Value| spec.options.is_empty() || spec.options.contains(v);
    let fits = match spec.kind.as_str() {
        "number" => value.is_number(),
        "checkbox" => {
            value.is_boolean() || value.as_array().is_some_and(|a| a.iter().all(in_options))
        }
        "multiselect" => value.as_array().is_some_and(|a| a.iter().all(in_options)),
        "dropdown" | "radio" => in_options(value),
        _ => value.is_string(),
    };
    if fits {
        return Ok(());
    }
    let expected = match spec.kind.as_str() {
        "number" => "a number".to_owned(),
        "checkbox" => "true or false".to_owned(),
        "multiselect" | "dropdown" | "radio" => {
            let options: Vec<String> = spec.options.iter().map(Value::to_string).collect();
            format!("chosen from {}", options.join(", "))
        }
        _ => "a string".to_owned(),
    };
    Err(InvalidValue(format!(
        "iparams.{}: must be {expected}, got {value}",
        spec.name
    )))
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
    fn fills_defaults_checks_types_and_hides_secrets_in_debug() {
        let mut stages = IparamSpec::text("stages", false, false);
        stages.kind = "multiselect".into();
        stages.options = vec![json!("Won"), json!("Lost")];
        stages.default_value = Some(json!(["Won"]));
        let mut count = IparamSpec::text("count", false, false);
        count.kind = "number".into();
        let specs = vec![IparamSpec::text("api_key", true, true), stages, count];

        let iparams = Iparams::from_given(&specs, object(json!({"api_key": "s3cret"}))).unwrap();
        assert_eq!(iparams.public, object(json!({"stages": ["Won"]})));
        assert!(!format!("{iparams:?}").contains("s3cret"), "{iparams:?}");

        let err = Iparams::from_given(&specs, object(json!({"api_key": "k", "stages": ["Maybe"]})));
        assert_eq!(
            err.unwrap_err().0,
            r#"iparams.stages: must be chosen from "Won", "Lost", got ["Maybe"]"#
        );
        let err = Iparams::from_given(&specs, object(json!({"api_key": "k", "count": "7"})));
        assert_eq!(
            err.unwrap_err().0,
            r#"iparams.count: must be a number, got "7""#
        );
        let err = Iparams::from_given(&specs, object(json!({"api_key": " "})));
        assert_eq!(err.unwrap_err().0, "iparams.api_key: required by the app");
    }

    #[test]
    fn a_custom_page_gives_any_values_and_names_the_secure_ones() {
        let given = object(json!({
            "__meta": {"secure": ["api_key", "not_given"], "modules": {"support_ticket": ["subdomain"]}},
            "subdomain": "acme",
            "api_key": "s3cret",
            "mapping": {"priority": [1, 2]},
            "notes": ""
        }));
        let iparams = Iparams::from_custom_page(given).unwrap();
        assert_eq!(
            iparams.public,
            object(json!({"subdomain": "acme", "mapping": {"priority": [1, 2]}, "notes": ""}))
        );
        assert_eq!(iparams.secure, object(json!({"api_key": "s3cret"})));
        let plain = Iparams::from_custom_page(object(json!({"subdomain": "acme"}))).unwrap();
        assert_eq!(plain.public, object(json!({"subdomain": "acme"})));
        assert!(plain.secure.is_empty());
    }

    #[test]
    fn a_custom_pages_meta_must_be_well_formed() {
        let err = Iparams::from_custom_page(object(json!({"__meta": ["api_key"]}))).unwrap_err();
        assert_eq!(
            err.0,
            r#"iparams.__meta: must be an object such as {"secure": ["api_key"]}, got ["api_key"]"#
        );
        let err = Iparams::from_custom_page(object(json!({"__meta": {"secure": "api_key"}})))
            .unwrap_err();
        assert_eq!(
            err.0,
            r#"iparams.__meta.secure: must be an array of iparam names, got "api_key""#
        );
        let err =
            Iparams::from_custom_page(object(json!({"__meta": {"secure": [1]}}))).unwrap_err();
        assert_eq!(
            err.0,
            "iparams.__meta.secure: must list iparam names, got 1"
        );
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
