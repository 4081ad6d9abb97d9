//! The functions of `server/server.js` that a package's declarations name, each with the
//! file and JSON pointer that names it. Whether the code really exports them is known
//! only by running its top level, which this crate (pure, no JavaScript) cannot do: the
//! package check in the sandbox does, and reports a missing one at the place listed here.

use serde_json::Value;

use super::{AppDefinition, MANIFEST, registered_webhooks};

/// One name of a `server.js` function, where the package gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeReference {
    pub function: String,
    pub file: String,
    /// A JSON pointer into `file`, e.g. `/product/freshdesk/events/onTicketCreate/handler`.
    pub pointer: String,
}

impl CodeReference {
    fn new(file: &str, pointer: String, function: &str) -> Self {
        CodeReference {
            function: function.to_owned(),
            file: file.to_owned(),
            pointer,
        }
    }
}

/// Every function the declarations that were read name: event handlers and server
/// methods (per product or module), connector event handlers, and registered webhooks'
/// `then`. Declarations with problems of their own were left out of `app`, so a name
/// is never reported twice.
pub(super) fn server_functions(
    app: &AppDefinition,
    webhooks_json: &Option<Value>,
) -> Vec<CodeReference> {
    let mut found = Vec::new();
    for scope in &app.scopes {
        let at = scope.pointer();
        for handler in scope.handlers.iter().flatten() {
            let pointer = format!("{at}/events/{}/handler", escape(&handler.event));
            found.push(CodeReference::new(MANIFEST, pointer, &handler.function));
        }
        for function in &scope.functions {
            let pointer = format!("{at}/functions/{}", escape(&function.name));
            found.push(CodeReference::new(MANIFEST, pointer, &function.name));
        }
    }
    for event in &app.connector_events {
        if let Some(handler) = &event.handler {
            let pointer = format!("/connectorEvents/{}/handler", escape(&event.key));
            found.push(CodeReference::new(MANIFEST, pointer, handler));
        }
    }
    found.extend(webhook_chains(app, webhooks_json));
    found
}

/// `then` of each registered webhook that was read, located by its index in the file's
/// array (the parsed webhooks do not keep it; ids are unique, so the first entry with an
/// id is the one that was read).
fn webhook_chains(app: &AppDefinition, webhooks_json: &Option<Value>) -> Vec<CodeReference> {
    let entries = webhooks_json.as_ref().and_then(Value::as_array);
    let mut seen = Vec::new();
    let mut found = Vec::new();
    for (index, entry) in entries.into_iter().flatten().enumerate() {
        let Some(id) = entry.get("id").and_then(Value::as_str) else {
            continue;
        };
        if seen.contains(&id) {
            continue;
        }
        seen.push(id);
        let read = app.registered_webhooks.iter().find(|w| w.id == id);
        if let Some(then) = read.and_then(|w| w.then.as_deref()) {
            let pointer = format!("/{index}/then");
            found.push(CodeReference::new(registered_webhooks::FILE, pointer, then));
        }
    }
    found
}

/// A key as a JSON pointer segment.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}
