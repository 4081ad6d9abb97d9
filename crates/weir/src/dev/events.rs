//! Which events the simulator offers for a product (or 3.x module), and what runs for
//! each: the app's declared handlers, its lifecycle, external and scheduled events, and
//! its server functions (SMI); for a Zoho Desk extension, the events its extension
//! webhooks (`resources.json`) subscribe to, under the product `zoho_desk`.

use serde::Serialize;
use weir_core::AppDefinition;
use weir_core::catalogue::{EXTERNAL_EVENT, LIFECYCLE_EVENTS, SCHEDULED_EVENT, ZOHO_DESK};

/// The 3.x module of app events, with no product events of its own.
const COMMON: &str = "common";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Product,
    Lifecycle,
    External,
    Scheduled,
    Function,
    /// A Zoho Desk event, delivered to the extension webhooks subscribed to it: no
    /// handler runs in Weir, the app is whatever answers the webhook's URL.
    Extension,
}

#[derive(Debug, Clone, Serialize)]
pub struct Simulated {
    pub name: String,
    pub kind: Kind,
    /// The function of `server.js` that runs; for an extension event, the extension
    /// webhooks (`resourceName`) it goes to.
    pub handler: String,
}

pub fn kind_of(event: &str) -> Kind {
    match event {
        e if LIFECYCLE_EVENTS.contains(&e) => Kind::Lifecycle,
        EXTERNAL_EVENT => Kind::External,
        SCHEDULED_EVENT => Kind::Scheduled,
        _ => Kind::Product,
    }
}

/// The scopes (products, or modules) the simulator offers, in manifest order but with
/// 3.x's `common` last: the page opens on the first, which should have product events.
/// An app with extension webhooks gets `zoho_desk`, whose events they subscribe to.
pub fn products(app: &AppDefinition) -> Vec<String> {
    let mut names: Vec<String> = app.scopes.iter().map(|scope| scope.name.clone()).collect();
    names.sort_by_key(|name| name == COMMON);
    if !app.extension_webhooks.is_empty() {
        names.push(ZOHO_DESK.to_owned());
    }
    names
}

/// The events of `product` first, then the app events (lifecycle, external, scheduled)
/// wherever the manifest declares them (3.x keeps them in `common`), then the functions.
/// An app whose manifest leaves its handlers to `exports.events` (platform 2.0) is offered
/// every event its product may have.
pub fn offered(app: &AppDefinition, product: &str) -> Vec<Simulated> {
    if product == ZOHO_DESK {
        return extension_events(app);
    }
    let mut offered: Vec<Simulated> = Vec::new();
    let mut add = |name: &str, handler: &str, kind: Kind| {
        if !offered.iter().any(|e| e.name == name) {
            offered.push(Simulated {
                name: name.to_owned(),
                kind,
                handler: handler.to_owned(),
            });
        }
    };
    let chosen = app.scopes.iter().filter(|s| s.name == product);
    let others = app.scopes.iter().filter(|s| s.name != product);
    for (index, scope) in chosen.chain(others).enumerate() {
        let own_scope = index == 0 && scope.name == product;
        match &scope.handlers {
            Some(handlers) => {
                for handler in handlers {
                    let kind = kind_of(&handler.event);
                    if own_scope || kind != Kind::Product {
                        add(&handler.event, &handler.function, kind);
                    }
                }
            }
            None => {
                let product_events = match own_scope {
                    true => weir_core::catalogue::product_events(&scope.name).unwrap_or(&[]),
                    false => &[],
                };
                let app_events = LIFECYCLE_EVENTS
                    .iter()
                    .chain([&EXTERNAL_EVENT, &SCHEDULED_EVENT]);
                for event in product_events.iter().chain(app_events) {
                    add(event, event, kind_of(event));
                }
            }
        }
        if own_scope {
            for function in &scope.functions {
                add(&function.name, &function.name, Kind::Function);
            }
        }
    }
    let order = |e: &Simulated| match e.kind {
        Kind::Product => 0,
        Kind::Lifecycle => 1,
        Kind::External => 2,
        Kind::Scheduled => 3,
        Kind::Function => 4,
        Kind::Extension => 5,
    };
    offered.sort_by_key(order); // stable: manifest order within a kind
    offered
}

/// Why `event` is not offered for `product`, in the words of the product's kind of app.
pub fn not_offered(event: &str, product: &str) -> String {
    match product {
        ZOHO_DESK => format!("no extension webhook of the app subscribes to {event:?}"),
        _ => format!("the app has no handler for {event:?} in {product:?}"),
    }
}

/// The events the app's extension webhooks subscribe to, in `resources.json` order, each
/// with the webhooks it goes to.
fn extension_events(app: &AppDefinition) -> Vec<Simulated> {
    let mut offered: Vec<Simulated> = Vec::new();
    for webhook in &app.extension_webhooks {
        for subscribed in &webhook.subscriptions {
            match offered.iter_mut().find(|e| e.name == subscribed.event) {
                Some(seen) => {
                    seen.handler = format!("{}, {}", seen.handler, webhook.resource_name);
                }
                None => offered.push(Simulated {
                    name: subscribed.event.clone(),
                    kind: Kind::Extension,
                    handler: webhook.resource_name.clone(),
                }),
            }
        }
    }
    offered
}
