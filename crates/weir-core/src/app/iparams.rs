//! `config/iparams.json`: the installation parameters an app asks for, Freshworks style:
//! `{"api_key": {"display_name": "API key", "type": "text", "required": true, "secure": true}}`.
//! An app may instead bring its own installation page, `config/iparams.html`, which
//! declares nothing: it posts whatever it collects ([`IparamsPage::Custom`]).

use serde_json::Value;

use super::json::Node;
use super::problem::Problems;

pub const FILE: &str = "config/iparams.json";
/// A custom installation page (Freshworks: "only one of the two files" in `config/`).
pub const HTML_FILE: &str = "config/iparams.html";

/// How an app asks for its iparams, which decides how the values given at install are
/// checked ([`crate::Iparams::for_app`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IparamsPage {
    /// `config/iparams.json`, or no iparams at all: the declared iparams, each checked.
    #[default]
    Declared,
    /// `config/iparams.html`: the page's `postConfigs()` returns the values, which are
    /// taken as given; its `__meta.secure` names the secure ones.
    Custom,
}

/// The field types of the Freshworks installation page.
pub const TYPES: &[&str] = &[
    "text",
    "paragraph",
    "dropdown",
    "multiselect",
    "email",
    "phone_number",
    "phonenumber",
    "number",
    "url",
    "date",
    "radio",
    "checkbox",
    "api_key",
    "domain",
];

/// Types whose value is chosen from `options`.
const CHOICE_TYPES: &[&str] = &["dropdown", "multiselect", "radio"];

/// One installation parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IparamSpec {
    pub name: String,
    pub display_name: String,
    /// The hint shown under the field.
    pub description: Option<String>,
    /// One of [`TYPES`].
    pub kind: String,
    pub required: bool,
    /// Secure values reach the app's server code but are never shown again by the API.
    pub secure: bool,
    pub default_value: Option<Value>,
    /// The choices of a dropdown, multiselect or radio parameter.
    pub options: Vec<Value>,
}

impl IparamSpec {
    /// A plain text parameter, for tests and defaults.
    pub fn text(name: &str, required: bool, secure: bool) -> Self {
        IparamSpec {
            name: name.to_owned(),
            display_name: name.to_owned(),
            description: None,
            kind: "text".to_owned(),
            required,
            secure,
            default_value: None,
            options: Vec::new(),
        }
    }
}

pub(super) fn parse(root: &Node, problems: &mut Problems) -> Vec<IparamSpec> {
    let mut specs = Vec::new();
    for (name, node) in problems.take(root.members()).unwrap_or_default() {
        if problems.take(node.members()).is_none() {
            continue;
        }
        let flag = |key: &str| {
            node.get(key)
                .map(|n| n.boolean())
                .transpose()
                .map(Option::unwrap_or_default)
        };
        let display_name = match node.get("display_name") {
            Some(n) => problems.take(n.string()),
            None => {
                problems.push(node.problem("needs a \"display_name\""));
                None
            }
        };
        let kind = match node.get("type") {
            Some(n) => problems.take(n.string().and_then(|kind| {
                if TYPES.contains(&kind) {
                    Ok(kind)
                } else {
                    Err(n.problem(format!(
                        "unknown type {kind:?} (one of: {})",
                        TYPES.join(", ")
                    )))
                }
            })),
            None => {
                problems
                    .push(node.problem(format!("needs a \"type\" (one of: {})", TYPES.join(", "))));
                None
            }
        };
        let description = match node.get("description") {
            Some(n) => problems.take(n.string().map(|d| Some(d.to_owned()))),
            None => Some(None),
        };
        let required = problems.take(flag("required"));
        let secure = problems.take(flag("secure"));
        let options = match node.get("options") {
            Some(n) => problems.take(
                n.items()
                    .map(|items| items.iter().map(|i| i.value.clone()).collect()),
            ),
            None if kind.is_some_and(|k| CHOICE_TYPES.contains(&k)) => {
                problems.push(
                    node.problem(format!("a {} needs \"options\"", kind.unwrap_or_default())),
                );
                None
            }
            None => Some(Vec::new()),
        };
        let default_value = node.get("default_value");
        if let (Some(kind), Some(default)) = (kind, &default_value)
            && let Err(expected) = default_fits(kind, default.value)
        {
            problems.push(default.problem(format!("a {kind} default must be {expected}")));
        }
        if let (
            Some(display_name),
            Some(description),
            Some(kind),
            Some(required),
            Some(secure),
            Some(options),
        ) = (display_name, description, kind, required, secure, options)
        {
            specs.push(IparamSpec {
                name: name.to_owned(),
                display_name: display_name.to_owned(),
                description,
                kind: kind.to_owned(),
                required,
                secure,
                default_value: default_value.map(|d| d.value.clone()),
                options,
            });
        }
    }
    specs
}

fn default_fits(kind: &str, value: &Value) -> Result<(), &'static str> {
    let fits = match kind {
        "number" => value.is_number(),
        "checkbox" => value.is_boolean() || value.is_array(),
        "multiselect" => value.is_array(),
        _ => value.is_string(),
    };
    match (fits, kind) {
        (true, _) => Ok(()),
        (false, "number") => Err("a number"),
        (false, "checkbox") => Err("true, false or a list"),
        (false, "multiselect") => Err("a list"),
        (false, _) => Err("a string"),
    }
}
