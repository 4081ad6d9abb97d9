//! Apps: an uploaded package, and the one model Weir reads out of it.
//!
//! Five platforms declare an app's events and webhooks five ways; every one of them is
//! read here into the same [`AppDefinition`], so that the engine has one code path:
//!
//! | file | platform | module |
//! |---|---|---|
//! | `manifest.json` | Freshworks 2.0–3.1 | [`manifest`] |
//! | `config/iparams.json`, `config/requests.json`, `config/oauth_config.json` | Freshworks | [`iparams`], [`requests`] |
//! | `server/test_data/**.json` | Freshworks | [`test_data`] |
//! | `config/entities.json` (entity storage) | Freshworks | [`entities`] |
//! | `resources.json`, `plugin-manifest.json` | Zoho Desk | [`zoho`] |
//! | `config/webhooks.json` | Coviu | [`registered_webhooks`] |
//! | `global-webhooks/*/spec.yml`, `events/*/spec.yml` | integration.app | [`connector`] |
//!
//! Parsing never stops at the first problem: it reports every one, each with its file, its
//! place in the file and a plain message.

use std::fmt;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use crate::{AppId, InvalidValue, Package};

pub mod connector;
pub mod dependencies;
pub mod entities;
mod handlers;
pub mod iparams;
mod json;
mod manifest;
mod problem;
mod references;
pub mod registered_webhooks;
pub mod requests;
pub mod test_data;
pub mod zoho;

pub use connector::{ConnectorEvent, ConnectorEventKind, GlobalWebhook, Method, WebhookMethods};
pub use entities::EntityDefinition;
pub use iparams::{IparamSpec, IparamsPage};
pub use problem::PackageProblem;
pub use references::CodeReference;
pub use registered_webhooks::RegisteredWebhook;
pub use requests::RequestTemplate;
pub use test_data::TestPayload;
pub use zoho::{ExtensionWebhook, ZohoSubscription};

use json::Node;
use problem::Problems;

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

crate::deserialize_by_parse!(AppName);

/// A Freshworks platform version, as `manifest.json` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PlatformVersion {
    V2_0,
    V2_1,
    V2_2,
    V2_3,
    V3_0,
    V3_1,
}

impl PlatformVersion {
    const ALL: [PlatformVersion; 6] = [
        PlatformVersion::V2_0,
        PlatformVersion::V2_1,
        PlatformVersion::V2_2,
        PlatformVersion::V2_3,
        PlatformVersion::V3_0,
        PlatformVersion::V3_1,
    ];
    pub const NAMES: [&str; 6] = ["2.0", "2.1", "2.2", "2.3", "3.0", "3.1"];

    pub fn parse(value: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .position(|name| *name == value)
            .map(|i| Self::ALL[i])
    }

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// 3.x "global apps" declare `modules`; 2.x declare `product`.
    pub fn is_global(self) -> bool {
        self >= PlatformVersion::V3_0
    }
}

/// Where events are declared: a product (2.x) or a module (3.x, `common` included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeKind {
    Product,
    Module,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventScope {
    pub kind: ScopeKind,
    pub name: String,
    /// Event → handler. `None` when the manifest declares no `events` here: then the
    /// `exports.events` array of `server.js` decides (the platform 2.0 way).
    pub handlers: Option<Vec<Handler>>,
    /// Server methods the front end may invoke (SMI).
    pub functions: Vec<ServerFunction>,
    /// The request templates this scope may use, by name.
    pub requests: Vec<String>,
}

impl EventScope {
    /// Whether `event` may be handled here: the app events (in any product, and in 3.x's
    /// `common`), and the product's or the module's own events.
    /// Whether the scope leaves its handlers to `exports.events` (platform 2.0).
    pub fn defers_to_script(&self) -> bool {
        self.handlers.is_none()
    }

    pub fn accepts(&self, event: &str) -> bool {
        use crate::catalogue;
        let (own, app_events) = match self.kind {
            ScopeKind::Product => (catalogue::product_events(&self.name), true),
            ScopeKind::Module => (catalogue::module_events(&self.name), self.name == "common"),
        };
        (app_events && catalogue::is_app_event(event)) || own.is_some_and(|e| e.contains(&event))
    }

    /// Where this scope sits in `manifest.json`, for problems about it.
    fn pointer(&self) -> String {
        match self.kind {
            ScopeKind::Product => format!("/product/{}", self.name),
            ScopeKind::Module => format!("/modules/{}", self.name),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handler {
    pub event: String,
    /// The function exported by `server.js`.
    pub function: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFunction {
    pub name: String,
    pub timeout_secs: Option<u32>,
}

/// What Weir knows about an app from its package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppDefinition {
    /// The manifest's `name`, a Weir addition; uploads may name the app instead.
    pub name: Option<AppName>,
    /// The manifest's `version`, a Weir addition used by `weir pack` for the file name.
    pub version: Option<String>,
    /// The Freshworks platform version; `None` for a package without `manifest.json` (a
    /// Zoho Desk extension or an integration.app connector).
    pub platform_version: Option<PlatformVersion>,
    pub scopes: Vec<EventScope>,
    /// URL patterns `$request` may call (platform ≤ 2.2).
    pub whitelisted_domains: Vec<String>,
    /// npm packages for `server/node_modules`, name → version.
    pub dependencies: Vec<(String, String)>,
    pub engines: Vec<(String, String)>,
    pub iparams: Vec<IparamSpec>,
    /// Whether the app brings its own installation page (`config/iparams.html`).
    pub iparams_page: IparamsPage,
    pub request_templates: Vec<RequestTemplate>,
    /// `config/oauth_config.json`, kept as given.
    pub oauth_config: Option<Value>,
    pub test_data: Vec<TestPayload>,
    pub registered_webhooks: Vec<RegisteredWebhook>,
    pub extension_webhooks: Vec<ExtensionWebhook>,
    /// `plugin-manifest.json` `zohoAuthorisation.scope`.
    pub authorisation_scopes: Vec<String>,
    pub global_webhooks: Vec<GlobalWebhook>,
    pub connector_events: Vec<ConnectorEvent>,
    /// Runs of a failed product-event handler: 1 unless the manifest's `retry` asks
    /// for more (a Weir addition; Freshworks does not retry).
    pub max_attempts: u32,
    /// The events `server.js` lists in `exports.events` (platform 2.0) for the scopes
    /// that leave their handlers to it. Only running the script's top level shows them,
    /// so reading the files leaves this empty: the sandbox fills it in
    /// (`weir_sandbox::learn_script_events`) at upload and wherever an app is loaded.
    pub script_events: Vec<String>,
    /// The custom objects of entity storage (`$db.entity`), from `config/entities.json`.
    pub entities: Vec<EntityDefinition>,
}

const MANIFEST: &str = "manifest.json";
const SERVER_JS: &str = "server/server.js";
const OAUTH_CONFIG: &str = "config/oauth_config.json";

/// A package's declarations read as far as they go, with every problem found: what a
/// check that reports everything at once (uploads, `weir validate`) starts from. Only a
/// reading without problems describes an app that may run ([`AppDefinition::parse`]).
#[derive(Debug)]
pub struct Reading {
    /// What could be read; whatever has a problem is left out of it.
    pub definition: AppDefinition,
    /// The `server/server.js` functions the declarations name, each with its place.
    pub server_functions: Vec<CodeReference>,
    pub problems: Vec<PackageProblem>,
}

impl AppDefinition {
    /// Reads the package, reporting every problem found rather than the first.
    pub fn parse(package: &Package) -> Result<Self, Vec<PackageProblem>> {
        let reading = Self::read(package);
        if reading.problems.is_empty() {
            Ok(reading.definition)
        } else {
            Err(reading.problems)
        }
    }

    /// Reads the package whatever its problems, so that checks made elsewhere (the code's,
    /// in the sandbox) can run in the same pass and report theirs alongside.
    pub fn read(package: &Package) -> Reading {
        let mut problems = Problems::default();
        let mut read = |file: &str, required: bool| -> Option<Value> {
            match package.file(file) {
                Some(bytes) => problems.take(json::parse_file(file, bytes)),
                None if required => {
                    problems.push(PackageProblem::new(file, "", "missing at the package root"));
                    None
                }
                None => None,
            }
        };
        // A Zoho extension or an integration.app connector may come without a Freshworks
        // manifest; anything else is an app without its declaration.
        let other_platform = package.file(zoho::PLUGIN_MANIFEST).is_some()
            || package
                .paths()
                .any(|p| p.starts_with(connector::GLOBAL_WEBHOOKS))
            || package.paths().any(|p| p.starts_with(connector::EVENTS));
        let manifest_json = read(MANIFEST, !other_platform);
        let iparams_json = read(iparams::FILE, false);
        let requests_json = read(requests::FILE, false);
        let oauth_config = read(OAUTH_CONFIG, false);
        let webhooks_json = read(registered_webhooks::FILE, false);
        let resources_json = read(zoho::RESOURCES, false);
        let plugin_manifest_json = read(zoho::PLUGIN_MANIFEST, false);
        let entities_json = read(entities::FILE, false);

        let manifest_node = at(MANIFEST, &manifest_json);
        let name = manifest_node
            .as_ref()
            .and_then(|m| app_name(m, &mut problems));
        let version = manifest_node
            .as_ref()
            .and_then(|m| app_version(m, &mut problems));
        let manifest = manifest_node
            .map(|m| manifest::parse(&m, &mut problems))
            .unwrap_or_default();
        let iparams = at(iparams::FILE, &iparams_json)
            .map_or_else(Vec::new, |n| iparams::parse(&n, &mut problems));
        let iparams_page = match package.file(iparams::HTML_FILE) {
            Some(_) => IparamsPage::Custom,
            None => IparamsPage::Declared,
        };
        if iparams_page == IparamsPage::Custom && package.file(iparams::FILE).is_some() {
            problems.push(PackageProblem::new(
                iparams::HTML_FILE,
                "",
                format!(
                    "an app has one installation page: {} or {}, not both",
                    iparams::FILE,
                    iparams::HTML_FILE
                ),
            ));
        }
        let request_templates = at(requests::FILE, &requests_json)
            .map_or_else(Vec::new, |n| requests::parse(&n, &mut problems));
        let registered_webhooks = at(registered_webhooks::FILE, &webhooks_json)
            .map_or_else(Vec::new, |n| registered_webhooks::parse(&n, &mut problems));
        let extension_webhooks = at(zoho::RESOURCES, &resources_json)
            .map_or_else(Vec::new, |n| zoho::parse_resources(&n, &mut problems));
        let authorisation_scopes = at(zoho::PLUGIN_MANIFEST, &plugin_manifest_json)
            .map_or_else(Vec::new, |n| zoho::parse_scopes(&n, &mut problems));
        let test_data = test_data::parse(package, &mut problems);
        let entities = at(entities::FILE, &entities_json)
            .map_or_else(Vec::new, |n| entities::parse(&n, &mut problems));
        let global_webhooks = connector::parse_global_webhooks(package, &mut problems);
        let mut connector_events =
            connector::parse_events(package, &global_webhooks, &mut problems);
        for handler in &manifest.connector_handlers {
            let spec = format!("{}{}/spec.yml", connector::EVENTS, handler.event);
            match connector_events.iter_mut().find(|e| e.key == handler.event) {
                Some(event) => event.handler = Some(handler.function.clone()),
                // A broken event is reported where it is broken, not again here.
                None if package.file(&spec).is_some() => {}
                None => problems.push(PackageProblem::new(
                    MANIFEST,
                    format!("/connectorEvents/{}", handler.event),
                    format!(
                        "no connector event {:?} is defined under events/",
                        handler.event
                    ),
                )),
            }
        }

        let definition = AppDefinition {
            name,
            version,
            platform_version: manifest.platform_version,
            scopes: manifest.scopes,
            whitelisted_domains: manifest.whitelisted_domains,
            dependencies: manifest.dependencies,
            engines: manifest.engines,
            iparams,
            iparams_page,
            request_templates,
            oauth_config,
            test_data,
            registered_webhooks,
            extension_webhooks,
            authorisation_scopes,
            global_webhooks,
            connector_events,
            max_attempts: manifest.max_attempts.unwrap_or(1),
            script_events: Vec::new(),
            entities,
        };
        let read = ReadFiles::new(
            package,
            &requests_json,
            &resources_json,
            &plugin_manifest_json,
        );
        definition.check_across_files(package, &read, &mut problems);
        let server_functions = references::server_functions(&definition, &webhooks_json);
        Reading {
            definition,
            server_functions,
            problems: problems.into_vec(),
        }
    }

    /// Rules that tie one file to another. A file that could not be read has been
    /// reported already: rules that depend on it are skipped rather than misreported.
    fn check_across_files(&self, package: &Package, read: &ReadFiles, problems: &mut Problems) {
        let declares_code =
            self.scopes.iter().any(|s| {
                s.handlers.as_ref().is_some_and(|h| !h.is_empty()) || !s.functions.is_empty()
            }) || self.connector_events.iter().any(|e| e.handler.is_some());
        dependencies::check(&self.dependencies, package, problems);
        if declares_code && package.file(SERVER_JS).is_none() {
            let message = "missing, but manifest.json names handlers or functions in it";
            problems.push(PackageProblem::new(SERVER_JS, "", message));
        }
        if let Some(defined) = &read.template_names {
            for scope in &self.scopes {
                for name in scope.requests.iter().filter(|name| !defined.contains(name)) {
                    problems.push(PackageProblem::new(
                        MANIFEST,
                        format!("{}/requests/{name}", scope.pointer()),
                        format!(
                            "the request template {name:?} is not defined in {}",
                            requests::FILE
                        ),
                    ));
                }
            }
        }
        let granted = self
            .authorisation_scopes
            .iter()
            .any(|s| s == zoho::EVENTS_SCOPE);
        // Declared, not parsed: a webhook with a problem of its own still needs the scope,
        // and both problems are reported in one pass.
        if !read.declares_extension_webhooks || granted || read.plugin_manifest_broken {
            return;
        }
        let scope = zoho::EVENTS_SCOPE;
        problems.push(match package.file(zoho::PLUGIN_MANIFEST) {
            Some(_) => PackageProblem::new(
                zoho::PLUGIN_MANIFEST,
                "/zohoAuthorisation/scope",
                format!("extension webhooks need the {scope} scope here"),
            ),
            None => PackageProblem::new(
                zoho::RESOURCES,
                "/webhook",
                format!(
                    "extension webhooks need a {} granting {scope}",
                    zoho::PLUGIN_MANIFEST
                ),
            ),
        });
    }
}

/// What the cross-file rules need to know of files that were read, or failed to be.
struct ReadFiles {
    /// The template names `config/requests.json` defines; `None` if it could not be read.
    template_names: Option<Vec<String>>,
    /// `resources.json` lists at least one webhook, whether or not it parsed.
    declares_extension_webhooks: bool,
    plugin_manifest_broken: bool,
}

impl ReadFiles {
    fn new(
        package: &Package,
        requests_json: &Option<Value>,
        resources_json: &Option<Value>,
        plugin_manifest: &Option<Value>,
    ) -> Self {
        let template_names = match (package.file(requests::FILE), requests_json) {
            (None, _) => Some(Vec::new()),
            (Some(_), Some(Value::Object(templates))) => Some(templates.keys().cloned().collect()),
            (Some(_), _) => None,
        };
        let declares_extension_webhooks =
            match resources_json.as_ref().and_then(|r| r.get("webhook")) {
                None | Some(Value::Null) => false,
                Some(Value::Array(webhooks)) => !webhooks.is_empty(),
                Some(_) => true,
            };
        let plugin_manifest_broken =
            package.file(zoho::PLUGIN_MANIFEST).is_some() && plugin_manifest.is_none();
        ReadFiles {
            template_names,
            declares_extension_webhooks,
            plugin_manifest_broken,
        }
    }
}

fn app_version(manifest: &Node, problems: &mut Problems) -> Option<String> {
    let node = manifest.get("version")?;
    let version = node.string().and_then(|v| {
        let ok = !v.is_empty()
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-+".contains(c));
        if ok {
            Ok(v.to_owned())
        } else {
            Err(node.problem("must be a version such as \"1.2.0\""))
        }
    });
    problems.take(version)
}

fn app_name(manifest: &Node, problems: &mut Problems) -> Option<AppName> {
    let node = manifest.get("name")?;
    let name = node
        .string()
        .and_then(|s| AppName::parse(s).map_err(|e| node.problem(e.0)));
    problems.take(name)
}

/// The root node of a file that was read, if it was.
fn at<'a>(file: &'a str, value: &'a Option<Value>) -> Option<Node<'a>> {
    value.as_ref().map(|value| Node::root(file, value))
}
