//! The payload the simulator starts from: the app's own in `server/test_data/` (in any of
//! the three layouts, REFERENCE §3), else a built-in default shaped as the platform would
//! send it. Saving writes it back; resetting writes the default.

use std::path::Path;

use anyhow::{Context, bail};
use serde::Serialize;
use serde_json::{Value, json};
use weir_core::{Account, AppDefinition, EventId, EventSource, Installation, ProductEvent};
use weir_engine::envelope;

use super::events::Kind;
use super::extension;
use super::workspace::product_of_scope;

const TEST_DATA: &str = "server/test_data";

#[derive(Debug, Serialize)]
pub struct Payload {
    /// `null` when the file is not JSON: then `text` and `problem` say what is there.
    pub payload: Value,
    pub text: Option<String>,
    pub problem: Option<String>,
    /// `test_data` or `default`.
    pub source: &'static str,
    /// Where Save writes, relative to the app folder.
    pub path: String,
}

/// The payload for `event` of `product`: from the first test_data file found, else the
/// default. A file that is not JSON comes back as its text with the parser's complaint,
/// for the developer to mend in place rather than lose to a default.
pub fn load(
    dir: &Path,
    app: &AppDefinition,
    product: &str,
    event: &str,
    default: impl FnOnce() -> Value,
) -> anyhow::Result<Payload> {
    for path in candidates(app, product, event)? {
        let bytes = match std::fs::read(dir.join(&path)) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => bail!("cannot read {path}: {e}"),
        };
        let (payload, text, problem) = match serde_json::from_slice(&bytes) {
            Ok(payload) => (payload, None, None),
            Err(e) => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let problem = format!("{path} is not JSON: {e}");
                (Value::Null, Some(text), Some(problem))
            }
        };
        return Ok(Payload {
            payload,
            text,
            problem,
            source: "test_data",
            path,
        });
    }
    Ok(Payload {
        payload: default(),
        text: None,
        problem: None,
        source: "default",
        path: save_path(dir, app, product, event)?,
    })
}

/// Writes `payload` where the simulator reads it first; returns that path.
pub fn save(
    dir: &Path,
    app: &AppDefinition,
    product: &str,
    event: &str,
    payload: &Value,
) -> anyhow::Result<String> {
    let path = save_path(dir, app, product, event)?;
    let file = dir.join(&path);
    if let Some(folder) = file.parent() {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("cannot create {}", folder.display()))?;
    }
    let mut text = serde_json::to_string_pretty(payload)?;
    text.push('\n');
    std::fs::write(&file, text).with_context(|| format!("cannot write {path}"))?;
    Ok(path)
}

/// Where the payload of `event` may be, in the order looked at: the product's (or
/// module's) folder, then `common/` (3.x app events), then the flat layout. A name that
/// could lead out of `server/test_data` is refused, whatever a manifest declares.
fn candidates(app: &AppDefinition, product: &str, event: &str) -> anyhow::Result<Vec<String>> {
    for name in [product, event] {
        let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '$');
        if name.is_empty() || !name.chars().all(plain) {
            bail!("{name:?} cannot name a test_data file: letters, digits, '_', '-', '$' only");
        }
    }
    let mut paths = Vec::new();
    if app.scopes.iter().any(|s| s.name == product) {
        paths.push(format!("{TEST_DATA}/{product}/{event}.json"));
    }
    paths.push(format!("{TEST_DATA}/common/{event}.json"));
    paths.push(format!("{TEST_DATA}/{event}.json"));
    Ok(paths)
}

/// An existing file is written in place; a new one goes in the product's folder for omni
/// and 3.x apps (whose files are per product or module), flat otherwise.
fn save_path(
    dir: &Path,
    app: &AppDefinition,
    product: &str,
    event: &str,
) -> anyhow::Result<String> {
    let candidates = candidates(app, product, event)?;
    if let Some(existing) = candidates.iter().find(|p| dir.join(p).is_file()) {
        return Ok(existing.clone());
    }
    let per_scope = app.scopes.len() > 1 || app.platform_version.is_some_and(|v| v.is_global());
    Ok(match per_scope {
        true => format!("{TEST_DATA}/{product}/{event}.json"),
        false => format!("{TEST_DATA}/{event}.json"),
    })
}

/// The payload the platform would send for `event`, without `iparams` (the simulator adds
/// the saved ones when it runs): product events carry the built-in sample where there is
/// one, else the record they are about with an id (`data.ticket.id`, as handlers read
/// it), external events a JSON body and its headers, scheduled events the schedule's data;
/// a Zoho Desk event is the API's event body, made to pass the app's filter.
pub fn default(
    account: &Account,
    installation: &Installation,
    app: &AppDefinition,
    product: &str,
    event: &str,
    kind: Kind,
) -> Value {
    let mut payload = match kind {
        Kind::Product => {
            // A 3.x module's events are its product's, with that product's samples.
            let source = match product_of_scope(product).map(EventSource::known_product) {
                Some(Ok(source)) => source,
                _ => EventSource::Product(account.product.clone()),
            };
            let body = weir_core::payloads::body(source.as_str(), event);
            let posted = ProductEvent {
                id: EventId::generate(),
                account_id: account.id.clone(),
                source,
                name: event.to_owned(),
                body,
                idempotency_key: None,
                received_at: weir_core::now(),
            };
            envelope::product(account, installation, app, &posted)
        }
        Kind::External => {
            let mut base = envelope::base(account, installation, event);
            base["data"] = json!({"message": "hello from a third party"});
            base["headers"] = json!({"content-type": "application/json"});
            base
        }
        Kind::Scheduled => {
            let mut base = envelope::base(account, installation, event);
            base["data"] = json!({});
            base
        }
        Kind::Lifecycle | Kind::Function => envelope::base(account, installation, event),
        Kind::Extension => extension::default_payload(app, event),
    };
    if let Some(fields) = payload.as_object_mut() {
        fields.remove("iparams");
    }
    payload
}
