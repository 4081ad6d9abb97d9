//! `weir validate [DIR]` and `weir pack [DIR]`: check an app folder exactly as an upload
//! is checked, print every problem or a summary of what the app declares, and (pack)
//! write `dist/<name>-<version>.zip`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use weir_core::AppDefinition;
use weir_core::app::{ConnectorEventKind, EventScope, ScopeKind};

use crate::app_dir::{self, Packed};

/// Prints the problems and returns false, or prints the summary and returns true.
pub fn validate(dir: &Path) -> anyhow::Result<bool> {
    let packed = app_dir::pack(dir)?;
    Ok(report(dir, &packed))
}

/// Validates, then writes the zip under `dist/`; returns false if the app is not valid.
pub fn pack(dir: &Path) -> anyhow::Result<bool> {
    let packed = app_dir::pack(dir)?;
    if !report(dir, &packed) {
        return Ok(false);
    }
    let definition = packed
        .definition
        .as_ref()
        .expect("a valid app has a definition");
    let name = app_name(dir, definition);
    let version = definition.version.as_deref().unwrap_or("0.0.0");
    let dist = dir.join("dist");
    std::fs::create_dir_all(&dist).with_context(|| format!("cannot create {}", dist.display()))?;
    let path: PathBuf = dist.join(format!("{name}-{version}.zip"));
    std::fs::write(&path, &packed.zip)
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!("packed {} ({} bytes)", path.display(), packed.zip.len());
    Ok(true)
}

pub(crate) fn report(dir: &Path, packed: &Packed) -> bool {
    match (&packed.definition, packed.problems.is_empty()) {
        (Some(definition), true) => {
            print!("{}", summary(dir, definition));
            println!("valid ({} bytes packed)", packed.zip.len());
            true
        }
        _ => {
            for problem in &packed.problems {
                println!("{problem}");
            }
            println!(
                "{} problem(s) found in {}",
                packed.problems.len(),
                dir.display()
            );
            false
        }
    }
}

/// The app's name: the manifest's, or else its folder's.
pub(crate) fn app_name(dir: &Path, definition: &AppDefinition) -> String {
    definition
        .name
        .as_ref()
        .map(|n| n.as_str().to_owned())
        .unwrap_or_else(|| {
            let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned());
            absolute
                .file_name()
                .map_or("app".into(), |n| n.to_string_lossy().into_owned())
        })
}

/// What the app declares, one line per kind of thing.
pub fn summary(dir: &Path, app: &AppDefinition) -> String {
    let mut out = String::new();
    let platform = match app.platform_version {
        Some(version) => format!("Freshworks platform {}", version.as_str()),
        None => "no Freshworks manifest".to_owned(),
    };
    let _ = writeln!(out, "{} ({platform})", app_name(dir, app));
    for scope in &app.scopes {
        let _ = writeln!(out, "  {}: {}", scope_label(scope), handlers(scope));
    }
    let mut line = |label: &str, items: Vec<String>| {
        if !items.is_empty() {
            let _ = writeln!(out, "  {label}: {}", items.join(", "));
        }
    };
    line(
        "functions",
        app.scopes
            .iter()
            .flat_map(|s| s.functions.iter().map(|f| f.name.clone()))
            .collect(),
    );
    line(
        "iparams",
        app.iparams
            .iter()
            .map(|p| {
                let flags = [(p.required, "required"), (p.secure, "secure")];
                let flags: Vec<&str> = flags
                    .iter()
                    .filter(|(on, _)| *on)
                    .map(|(_, f)| *f)
                    .collect();
                let kind = std::iter::once(p.kind.as_str())
                    .chain(flags)
                    .collect::<Vec<_>>()
                    .join(", ");
                format!("{} ({kind})", p.name)
            })
            .collect(),
    );
    line(
        "request templates",
        app.request_templates
            .iter()
            .map(|t| format!("{} ({} {})", t.name, t.method, t.host))
            .collect(),
    );
    line(
        "entities",
        app.entities
            .iter()
            .map(|entity| {
                let filterable: Vec<&str> = entity
                    .fields
                    .iter()
                    .filter(|f| f.filterable)
                    .map(|f| f.name.as_str())
                    .collect();
                let fields = entity.fields.len();
                match filterable.is_empty() {
                    true => format!("{} ({fields} fields)", entity.name),
                    false => format!(
                        "{} ({fields} fields; filterable: {})",
                        entity.name,
                        filterable.join(" ")
                    ),
                }
            })
            .collect(),
    );
    line(
        "registered webhooks",
        app.registered_webhooks
            .iter()
            .map(|w| match &w.method {
                Some(method) => format!("{} ({method})", w.id),
                // A notice, not a problem: Coviu's own examples leave the method out.
                None => format!(
                    "{} (no method: {} when called{})",
                    w.id,
                    w.method_for(true),
                    if w.base64_payload {
                        ""
                    } else {
                        " with data, else GET"
                    }
                ),
            })
            .collect(),
    );
    line(
        "extension webhooks",
        app.extension_webhooks
            .iter()
            .map(|w| {
                let events: Vec<&str> = w.subscriptions.iter().map(|s| s.event.as_str()).collect();
                format!("{} → {}", w.resource_name, events.join(" "))
            })
            .collect(),
    );
    line(
        "global webhooks",
        app.global_webhooks.iter().map(|w| w.key.clone()).collect(),
    );
    line(
        "connector events",
        app.connector_events
            .iter()
            .map(|e| {
                let kind = match e.kind {
                    ConnectorEventKind::GlobalWebhook { .. } => "global-webhook",
                    ConnectorEventKind::Webhook(_) => "webhook",
                };
                format!(
                    "{} ({kind}) → {}",
                    e.key,
                    e.handler.as_deref().unwrap_or("onExternalEvent")
                )
            })
            .collect(),
    );
    line(
        "dependencies",
        app.dependencies
            .iter()
            .map(|(n, v)| format!("{n}@{v}"))
            .collect(),
    );
    if !app.test_data.is_empty() {
        line(
            "test data",
            vec![format!("{} payloads", app.test_data.len())],
        );
    }
    out
}

fn scope_label(scope: &EventScope) -> String {
    match scope.kind {
        ScopeKind::Product => format!("product {}", scope.name),
        ScopeKind::Module => format!("module {}", scope.name),
    }
}

fn handlers(scope: &EventScope) -> String {
    match &scope.handlers {
        None => "events from server.js exports.events".to_owned(),
        Some(handlers) if handlers.is_empty() => "no events".to_owned(),
        Some(handlers) => handlers
            .iter()
            .map(|h| format!("{} → {}", h.event, h.function))
            .collect::<Vec<_>>()
            .join(", "),
    }
}
