//! integration.app connector files (seed 002, REFERENCE §4):
//!
//! - `global-webhooks/<key>/spec.yml` + `handle.js`: one URL for the whole connector; its
//!   `handle` turns each request into events, each with a `selector`;
//! - `events/<key>/spec.yml` with `implementationType: global-webhook` and a
//!   `getEventSelector` method (JavaScript or a `.map.yml` mapping) that gives each
//!   installation its `(globalWebhookKey, globalWebhookEventSelector)`;
//! - `events/<key>/spec.yml` with `implementationType: webhook` and `subscribe`, `handle`,
//!   `unsubscribe` and optionally `refresh`.
//!
//! How a connector event reaches the app: the manifest's `connectorEvents` map
//! (`{"<event-key>": {"handler": "<function>"}}`, a Weir addition in the shape of
//! Freshworks' `events`) names the `server.js` function to run; an event it does not
//! name runs the app's `onExternalEvent` handler.

use serde_json::Value;

use super::json::{self, Node};
use super::problem::{PackageProblem, Problems};
use crate::Package;

pub const GLOBAL_WEBHOOKS: &str = "global-webhooks/";
pub const EVENTS: &str = "events/";
/// The spellings of the selector method in integration.app's docs and examples.
const SELECTOR_METHODS: &[&str] = &[
    "getEventSelector",
    "getEventsSelector",
    "get-event-selector",
    "get-events-selector",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalWebhook {
    pub key: String,
    pub name: String,
    pub handle: Method,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorEvent {
    pub key: String,
    pub name: String,
    pub kind: ConnectorEventKind,
    /// JSON Schema of the subscription's parameters, as given.
    pub parameters_schema: Option<Value>,
    /// The `server.js` function named for it in the manifest's `connectorEvents`; `None`
    /// runs the app's `onExternalEvent` handler.
    pub handler: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectorEventKind {
    GlobalWebhook { selector: Method },
    Webhook(Box<WebhookMethods>),
}

/// The methods of a `webhook` event: the app subscribes each installation itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookMethods {
    pub subscribe: Method,
    pub handle: Method,
    pub unsubscribe: Method,
    pub refresh: Option<Method>,
}

/// A connector method: a JavaScript module, or a mapping evaluated without code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    JavaScript { path: String },
    Mapping { path: String, mapping: Value },
}

pub(super) fn parse_global_webhooks(
    package: &Package,
    problems: &mut Problems,
) -> Vec<GlobalWebhook> {
    let mut webhooks = Vec::new();
    for (key, spec_path, spec) in specs(package, GLOBAL_WEBHOOKS, problems) {
        let spec = Node::root(&spec_path, &spec);
        let before = problems.len();
        let name = header(&spec, &key, problems);
        let handle = method(
            package,
            &spec,
            &key,
            GLOBAL_WEBHOOKS,
            &["handle"],
            &["javascript"],
            problems,
        );
        // A webhook with any problem is left out; its problems say why.
        if let (Some(name), Some(handle), true) = (name, handle, problems.len() == before) {
            webhooks.push(GlobalWebhook { key, name, handle });
        }
    }
    webhooks
}

pub(super) fn parse_events(
    package: &Package,
    global_webhooks: &[GlobalWebhook],
    problems: &mut Problems,
) -> Vec<ConnectorEvent> {
    let mut events = Vec::new();
    for (key, spec_path, spec) in specs(package, EVENTS, problems) {
        let spec = Node::root(&spec_path, &spec);
        let before = problems.len();
        let name = header(&spec, &key, problems);
        let kind = match spec.get("implementationType") {
            None => {
                problems
                    .push(spec.problem("needs \"implementationType\": global-webhook or webhook"));
                None
            }
            Some(node) => match node.value.as_str() {
                Some("global-webhook") => {
                    let types = &["javascript", "mapping"];
                    let selector = method(
                        package,
                        &spec,
                        &key,
                        EVENTS,
                        SELECTOR_METHODS,
                        types,
                        problems,
                    );
                    if let Some(selector) = &selector {
                        check_selector_key(package, selector, global_webhooks, problems);
                    }
                    selector.map(|selector| ConnectorEventKind::GlobalWebhook { selector })
                }
                Some("webhook") => webhook_methods(package, &spec, &key, problems),
                _ => {
                    problems.push(node.problem(format!(
                        "{} is not an event type Weir runs (global-webhook or webhook)",
                        node.value
                    )));
                    None
                }
            },
        };
        // An event with any problem is left out; its problems say why.
        if let (Some(name), Some(kind), true) = (name, kind, problems.len() == before) {
            events.push(ConnectorEvent {
                key,
                name,
                kind,
                parameters_schema: spec.get("parametersSchema").map(|s| s.value.clone()),
                handler: None,
            });
        }
    }
    events
}

fn webhook_methods(
    package: &Package,
    spec: &Node,
    key: &str,
    problems: &mut Problems,
) -> Option<ConnectorEventKind> {
    let javascript = &["javascript"];
    let subscribe = method(
        package,
        spec,
        key,
        EVENTS,
        &["subscribe"],
        javascript,
        problems,
    );
    let handle = method(
        package,
        spec,
        key,
        EVENTS,
        &["handle"],
        &["javascript", "mapping"],
        problems,
    );
    let unsubscribe = method(
        package,
        spec,
        key,
        EVENTS,
        &["unsubscribe"],
        javascript,
        problems,
    );
    let has_refresh = spec.get("methods").and_then(|m| m.get("refresh")).is_some();
    let refresh = if has_refresh {
        method(
            package,
            spec,
            key,
            EVENTS,
            &["refresh"],
            javascript,
            problems,
        )
    } else {
        None
    };
    Some(ConnectorEventKind::Webhook(Box::new(WebhookMethods {
        subscribe: subscribe?,
        handle: handle?,
        unsubscribe: unsubscribe?,
        refresh,
    })))
}

/// `(key, path of spec.yml, the spec)` for every folder under `root` that holds a spec
/// that parses; those that do not are reported.
fn specs(package: &Package, root: &str, problems: &mut Problems) -> Vec<(String, String, Value)> {
    let paths: Vec<(String, String)> = package
        .paths()
        .filter_map(|path| {
            let key = path.strip_prefix(root)?.strip_suffix("/spec.yml")?;
            (!key.contains('/')).then(|| (key.to_owned(), path.to_owned()))
        })
        .collect();
    paths
        .into_iter()
        .filter_map(|(key, path)| {
            let spec = json::parse_yaml_file(&path, package.file(&path).unwrap_or_default());
            problems.take(spec).map(|spec| (key, path, spec))
        })
        .collect()
}

/// Checks `name` and `key` (which must match the folder) and returns the name.
fn header(spec: &Node, folder: &str, problems: &mut Problems) -> Option<String> {
    if let Some(key) = spec.get("key") {
        let matches = key.value.as_str() == Some(folder);
        if !matches {
            problems.push(key.problem(format!("must be {folder:?}, the name of its folder")));
        }
    }
    match spec.get("name") {
        None => {
            problems.push(spec.problem("needs a \"name\""));
            None
        }
        Some(name) => problems.take(name.string().map(str::to_owned)),
    }
}

/// Finds the method under any of `keys` in `methods`, checks its implementation type
/// against `types`, and locates its file (`<key>.js`, `<key>.map.yml` or `filePath`).
fn method(
    package: &Package,
    spec: &Node,
    folder: &str,
    root: &str,
    keys: &[&str],
    types: &[&str],
    problems: &mut Problems,
) -> Option<Method> {
    let Some(methods) = spec.get("methods") else {
        problems.push(spec.problem(format!("needs \"methods\" with {:?}", keys[0])));
        return None;
    };
    let Some((method_key, node)) = keys.iter().find_map(|k| methods.get(k).map(|n| (*k, n))) else {
        problems.push(methods.problem(format!("needs the method {:?}", keys[0])));
        return None;
    };
    let kind = match node.get("implementationType") {
        None => "javascript",
        Some(t) => problems.take(t.string().and_then(|t| {
            if types.contains(&t) {
                Ok(t)
            } else {
                Err(t_problem(&node, t, types))
            }
        }))?,
    };
    let extension = if kind == "mapping" { "map.yml" } else { "js" };
    let path = match node.get("filePath") {
        Some(file_path) => format!("{root}{folder}/{}", problems.take(file_path.string())?),
        None => format!("{root}{folder}/{method_key}.{extension}"),
    };
    let Some(bytes) = package.file(&path) else {
        problems.push(node.problem(format!("its file {path} is missing")));
        return None;
    };
    if kind == "mapping" {
        let mapping = problems.take(json::parse_yaml_file(&path, bytes))?;
        return Some(Method::Mapping { path, mapping });
    }
    Some(Method::JavaScript { path })
}

fn t_problem(node: &Node, given: &str, types: &[&str]) -> PackageProblem {
    node.get("implementationType")
        .expect("present")
        .problem(format!(
            "{given:?} is not supported here (supported: {})",
            types.join(", ")
        ))
}

/// A selector names the global webhook it listens to. A mapping names it outright; in
/// JavaScript a literal `globalWebhookKey: '…'` is checked too (a computed key is not).
fn check_selector_key(
    package: &Package,
    selector: &Method,
    webhooks: &[GlobalWebhook],
    problems: &mut Problems,
) {
    let (path, named) = match selector {
        Method::Mapping { path, mapping } => (
            path,
            mapping
                .get("globalWebhookKey")
                .and_then(Value::as_str)
                .map(str::to_owned),
        ),
        Method::JavaScript { path } => {
            let source =
                String::from_utf8_lossy(package.file(path).unwrap_or_default()).into_owned();
            (path, literal_webhook_key(&source))
        }
    };
    if let Some(named) = named
        && !webhooks.iter().any(|w| w.key == named)
    {
        let known: Vec<&str> = webhooks.iter().map(|w| w.key.as_str()).collect();
        problems.push(PackageProblem::new(
            path,
            "",
            format!(
                "globalWebhookKey {named:?} names no global webhook (defined: {})",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ),
        ));
    }
}

fn literal_webhook_key(source: &str) -> Option<String> {
    let after = &source[source.find("globalWebhookKey")? + "globalWebhookKey".len()..];
    let after = after.trim_start().strip_prefix(':')?.trim_start();
    let quote = after
        .chars()
        .next()
        .filter(|c| matches!(c, '\'' | '"' | '`'))?;
    let rest = &after[1..];
    let literal = &rest[..rest.find(quote)?];
    (!literal.contains("${")).then(|| literal.to_owned())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::AppDefinition;

    const MANIFEST: &str = r#"{"platform-version": "3.0",
        "modules": {"common": {"events": {"onExternalEvent": {"handler": "onExternal"}}},
                    "deal": {}},
        "connectorEvents": {"user-created": {"handler": "onUserCreated"}}}"#;

    fn package(files: &[(&str, &str)]) -> Package {
        let mut all: BTreeMap<String, Vec<u8>> = [
            ("manifest.json", MANIFEST),
            ("server/server.js", "exports = {};"),
            ("global-webhooks/all-events/spec.yml", "name: All events\nkey: all-events\nmethods:\n  handle:\n    implementationType: javascript\n"),
            ("global-webhooks/all-events/handle.js", "export default async function handle({ data }) { return { events: [] } }"),
        ]
        .iter()
        .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
        .collect();
        all.extend(
            files
                .iter()
                .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec())),
        );
        Package::from_files(all)
    }

    const MAPPING_EVENT: &str = "name: User created\nimplementationType: global-webhook\nmethods:\n  getEventSelector:\n    implementationType: mapping\n";

    #[test]
    fn reads_global_webhooks_and_their_events() {
        let definition = AppDefinition::parse(&package(&[
            ("events/user-created/spec.yml", MAPPING_EVENT),
            (
                "events/user-created/getEventSelector.map.yml",
                "globalWebhookKey: all-events\nglobalWebhookEventSelector:\n  $var: $.parameters.userId\n",
            ),
            (
                "events/task-created/spec.yml",
                "name: Task created\nimplementationType: webhook\nmethods:\n  subscribe: {}\n  handle: {}\n  unsubscribe: {}\n",
            ),
            ("events/task-created/subscribe.js", "export default async function subscribe() {}"),
            ("events/task-created/handle.js", "export default async function handle() {}"),
            ("events/task-created/unsubscribe.js", "export default async function unsubscribe() {}"),
        ]))
        .unwrap();
        assert_eq!(
            definition.global_webhooks,
            [GlobalWebhook {
                key: "all-events".into(),
                name: "All events".into(),
                handle: Method::JavaScript {
                    path: "global-webhooks/all-events/handle.js".into()
                },
            }]
        );
        let [task, user] = &definition.connector_events[..] else {
            panic!("two events")
        };
        assert_eq!(user.handler.as_deref(), Some("onUserCreated"));
        assert_eq!(
            user.kind,
            ConnectorEventKind::GlobalWebhook {
                selector: Method::Mapping {
                    path: "events/user-created/getEventSelector.map.yml".into(),
                    mapping: json!({"globalWebhookKey": "all-events",
                                    "globalWebhookEventSelector": {"$var": "$.parameters.userId"}}),
                },
            }
        );
        assert_eq!(task.handler, None, "runs onExternalEvent");
        assert!(
            matches!(&task.kind, ConnectorEventKind::Webhook(methods) if methods.refresh.is_none())
        );
    }

    #[test]
    fn reports_unknown_webhook_keys_missing_files_and_unmapped_handlers() {
        let problems = AppDefinition::parse(&package(&[
            ("events/user-created/spec.yml", MAPPING_EVENT),
            ("events/user-created/getEventSelector.map.yml", "globalWebhookKey: nope\n"),
            (
                "events/js/spec.yml",
                "name: JS\nkey: js\nimplementationType: global-webhook\nmethods:\n  get-event-selector: {}\n",
            ),
            (
                "events/js/get-event-selector.js",
                "export default async function s() { return { globalWebhookKey: 'other', globalWebhookEventSelector: 'x' } }",
            ),
            ("events/pull/spec.yml", "name: Pull\nkey: wrong\nimplementationType: pull-latest\n"),
            ("global-webhooks/second/spec.yml", "name: Second\nmethods:\n  handle: {}\n"),
        ]))
        .unwrap_err();
        let texts: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            texts,
            [
                "global-webhooks/second/spec.yml /methods/handle: its file global-webhooks/second/handle.js is missing",
                "events/js/get-event-selector.js: globalWebhookKey \"other\" names no global webhook (defined: all-events)",
                "events/pull/spec.yml /key: must be \"pull\", the name of its folder",
                "events/pull/spec.yml /implementationType: \"pull-latest\" is not an event type Weir runs (global-webhook or webhook)",
                "events/user-created/getEventSelector.map.yml: globalWebhookKey \"nope\" names no global webhook (defined: all-events)",
            ]
        );
    }

    #[test]
    fn finds_literal_webhook_keys_only() {
        assert_eq!(
            literal_webhook_key("{ globalWebhookKey: 'a-b' }").as_deref(),
            Some("a-b")
        );
        assert_eq!(
            literal_webhook_key("{globalWebhookKey:`k`}").as_deref(),
            Some("k")
        );
        assert_eq!(literal_webhook_key("{ globalWebhookKey: `k-${x}` }"), None);
        assert_eq!(literal_webhook_key("{ globalWebhookKey: key }"), None);
    }
}
