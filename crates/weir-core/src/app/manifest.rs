//! Freshworks `manifest.json`, every platform version (REFERENCE §2):
//!
//! - 2.0: `product: {freshdesk: {}}`; events are declared in `server.js` (`exports.events`);
//! - 2.1–2.3: `product.<name>.events / functions / requests`, `whitelisted-domains`,
//!   `dependencies`, `engines`; several products make an omni app;
//! - 3.0–3.1: `modules.common` (app-setup, external and scheduled events) plus product
//!   modules (`support_ticket`, `deal`, …) with their product events.
//!
//! Both shapes become a list of [`EventScope`]s, so later code has one path.

use super::json::Node;
use super::problem::Problems;
use super::{EventScope, Handler, PlatformVersion, ScopeKind, ServerFunction};
use crate::catalogue;

/// What the manifest declares, besides the app's name.
#[derive(Debug, Default)]
pub(super) struct Manifest {
    pub platform_version: Option<PlatformVersion>,
    pub scopes: Vec<EventScope>,
    pub whitelisted_domains: Vec<String>,
    pub dependencies: Vec<(String, String)>,
    pub engines: Vec<(String, String)>,
    /// `connectorEvents`: connector event key → handler (see `connector.rs`).
    pub connector_handlers: Vec<Handler>,
    /// `retry.maxAttempts`, a Weir addition: runs of a failed product-event handler.
    pub max_attempts: Option<u32>,
}

/// The most runs an app may ask for a failed handler.
pub const MAX_ATTEMPTS: u32 = 10;

pub(super) fn parse(root: &Node, problems: &mut Problems) -> Manifest {
    let mut manifest = Manifest::default();
    if root.value.as_object().is_none() {
        problems.push(root.problem("must be a JSON object"));
        return manifest;
    }
    manifest.platform_version = match root.get("platform-version") {
        None => {
            problems.push(root.problem(format!(
                "\"platform-version\" is missing (one of: {})",
                PlatformVersion::NAMES.join(", ")
            )));
            None
        }
        Some(node) => problems.take(node.string().and_then(|v| {
            PlatformVersion::parse(v).ok_or_else(|| {
                node.problem(format!(
                    "unknown platform version {v:?} (one of: {})",
                    PlatformVersion::NAMES.join(", ")
                ))
            })
        })),
    };
    // Which of `product` and `modules` to read depends on a known version.
    if let Some(version) = manifest.platform_version {
        let global = version.is_global();
        let (wanted, unwanted) = if global {
            ("modules", "product")
        } else {
            ("product", "modules")
        };
        match (root.get(wanted), root.get(unwanted)) {
            (_, Some(node)) => problems.push(node.problem(format!(
                "\"{unwanted}\" is not used by platform {}; declare \"{wanted}\" instead",
                version.as_str()
            ))),
            (None, None) => problems.push(root.problem(format!("\"{wanted}\" is missing"))),
            (Some(node), None) if global => manifest.scopes = parse_modules(&node, problems),
            (Some(node), None) => manifest.scopes = parse_products(&node, problems),
        }
    }
    if let Some(node) = root.get("whitelisted-domains") {
        manifest.whitelisted_domains = whitelisted_domains(&node, problems);
    }
    if let Some(node) = root.get("dependencies") {
        manifest.dependencies = dependencies(&node, problems);
    }
    if let Some(node) = root.get("engines") {
        manifest.engines = problems.take(node.string_map()).unwrap_or_default();
    }
    if let Some(node) = root.get("retry") {
        manifest.max_attempts = max_attempts(&node, problems);
    }
    if let Some(node) = root.get("connectorEvents") {
        // Which keys exist is known once the connector files are read.
        manifest.connector_handlers = handlers(&node, "connectorEvents", &|_| true, problems);
    }
    manifest
}

fn parse_products(node: &Node, problems: &mut Problems) -> Vec<EventScope> {
    let Some(products) = problems.take(node.members()) else {
        return Vec::new();
    };
    if products.is_empty() {
        problems.push(node.problem("names no product (e.g. \"freshsales\": {})"));
    }
    let mut scopes = Vec::new();
    for (name, product) in products {
        if catalogue::product_events(name).is_none() {
            problems.push(product.problem(format!(
                "unknown product {name:?} (known: {})",
                catalogue::products().join(", ")
            )));
            continue;
        }
        scopes.push(parse_scope(ScopeKind::Product, name, &product, problems));
    }
    scopes
}

fn parse_modules(node: &Node, problems: &mut Problems) -> Vec<EventScope> {
    let Some(modules) = problems.take(node.members()) else {
        return Vec::new();
    };
    if !modules.iter().any(|(name, _)| *name != "common") {
        problems.push(node.problem(
            "needs at least one product module (e.g. \"support_ticket\") beside \"common\"",
        ));
    }
    let mut scopes = Vec::new();
    for (name, module) in modules {
        if catalogue::module_events(name).is_none() {
            problems.push(module.problem(format!(
                "unknown module {name:?} (known: {})",
                catalogue::modules().join(", ")
            )));
            continue;
        }
        scopes.push(parse_scope(ScopeKind::Module, name, &module, problems));
    }
    scopes
}

/// One product (2.x) or module (3.x): its events (those it accepts), functions and
/// request templates.
fn parse_scope(kind: ScopeKind, name: &str, node: &Node, problems: &mut Problems) -> EventScope {
    let mut scope = EventScope {
        kind,
        name: name.to_owned(),
        handlers: None,
        functions: Vec::new(),
        requests: Vec::new(),
    };
    if problems.take(node.members()).is_none() {
        return scope;
    }
    if let Some(events) = node.get("events") {
        let declared = handlers(&events, name, &|event| scope.accepts(event), problems);
        scope.handlers = Some(declared);
    }
    if let Some(functions) = node.get("functions") {
        scope.functions = server_functions(&functions, problems);
    }
    if let Some(requests) = node.get("requests") {
        scope.requests = problems
            .take(requests.members())
            .map(|members| {
                members
                    .into_iter()
                    .map(|(name, _)| name.to_owned())
                    .collect()
            })
            .unwrap_or_default();
    }
    scope
}

fn handlers(
    events: &Node,
    scope: &str,
    allowed: &dyn Fn(&str) -> bool,
    problems: &mut Problems,
) -> Vec<Handler> {
    let mut handlers = Vec::new();
    for (event, declaration) in problems.take(events.members()).unwrap_or_default() {
        if !allowed(event) {
            problems.push(declaration.problem(format!("{event:?} is not an event of {scope:?}")));
            continue;
        }
        let function = declaration.get("handler").ok_or_else(|| {
            declaration.problem("needs a \"handler\": the name of a function exported by server.js")
        });
        if let Some(function) = problems.take(function.and_then(|f| function_name(&f))) {
            handlers.push(Handler {
                event: event.to_owned(),
                function,
            });
        }
    }
    handlers
}

fn server_functions(functions: &Node, problems: &mut Problems) -> Vec<ServerFunction> {
    let mut declared = Vec::new();
    for (name, declaration) in problems.take(functions.members()).unwrap_or_default() {
        // The front end invokes the export of this name: it must be one.
        if !is_identifier(name) {
            let message = format!("{name:?} is not a JavaScript function name");
            problems.push(declaration.problem(message));
            continue;
        }
        let timeout = declaration
            .get("timeout")
            .map(|t| t.integer(1..=40))
            .transpose();
        if let Some(timeout) = problems.take(timeout) {
            declared.push(ServerFunction {
                name: name.to_owned(),
                timeout_secs: timeout.map(|t| t as u32),
            });
        }
    }
    declared
}

/// A handler names a JavaScript function: an identifier.
fn function_name(node: &Node) -> Result<String, super::PackageProblem> {
    let name = node.string()?;
    if !is_identifier(name) {
        return Err(node.problem(format!("{name:?} is not a JavaScript function name")));
    }
    Ok(name.to_owned())
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

fn whitelisted_domains(node: &Node, problems: &mut Problems) -> Vec<String> {
    let mut domains = Vec::new();
    for item in problems.take(node.items()).unwrap_or_default() {
        let domain = item.string().and_then(|d| {
            if d.starts_with("https://") {
                Ok(d.to_owned())
            } else {
                Err(item.problem(format!(
                    "{d:?} must start with https:// (e.g. https://*.example.com)"
                )))
            }
        });
        domains.extend(problems.take(domain));
    }
    domains
}

/// npm packages: names as npm allows them (so a name can never point outside
/// `server/node_modules`), each with a version string.
fn dependencies(node: &Node, problems: &mut Problems) -> Vec<(String, String)> {
    let mut dependencies = Vec::new();
    for (name, version) in problems.take(node.members()).unwrap_or_default() {
        if !super::dependencies::is_npm_name(name) {
            problems.push(version.problem(format!("{name:?} is not an npm package name")));
        } else if let Some(version) = problems.take(version.string()) {
            dependencies.push((name.to_owned(), version.to_owned()));
        }
    }
    dependencies
}

/// `"retry": {"maxAttempts": n}`: 1 (no retries, the default) to `MAX_ATTEMPTS`.
fn max_attempts(node: &Node, problems: &mut Problems) -> Option<u32> {
    let Some(attempts) = node.get("maxAttempts") else {
        problems.push(node.problem("needs \"maxAttempts\", the runs of a failed handler"));
        return None;
    };
    match attempts.value.as_u64() {
        Some(n) if (1..=u64::from(MAX_ATTEMPTS)).contains(&n) => Some(n as u32),
        _ => {
            problems
                .push(attempts.problem(format!("must be a whole number from 1 to {MAX_ATTEMPTS}")));
            None
        }
    }
}
