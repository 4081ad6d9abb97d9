//! Which `server.js` function runs for an event: one rule, [`AppDefinition::handler_for`],
//! for every way an event reaches an app (fan-out, target URLs, connectors, lifecycle,
//! schedules), and the product subscriptions kept at upload, which are made of it.

use super::{AppDefinition, EventScope, ScopeKind};
use crate::catalogue;
use crate::event::{AppEvent, EventSource, Subscription};

impl AppDefinition {
    /// The function that runs for the event `name` from `source`, if the app handles it:
    ///
    /// - from a product: the handler that the first scope serving that product declares
    ///   for it (a platform 3.x module serves its module's products); else, when a scope
    ///   serving it leaves its handlers to `exports.events` (platform 2.0) and the script
    ///   lists the event there, the event's own name, which the sandbox looks up in
    ///   `exports.events`. An app event is never a product's.
    /// - from Weir itself (lifecycle, schedules): the handler any scope declares for it;
    ///   failing that, when a scope leaves its handlers to `exports.events`, the event's
    ///   own name, which the sandbox looks up there.
    /// - from a target URL: as from Weir itself, for `onExternalEvent`.
    /// - from a connector: the handler the manifest's `connectorEvents` names for the
    ///   event's key, else the `onExternalEvent` one.
    pub fn handler_for(&self, source: &EventSource, name: &str) -> Option<String> {
        match source {
            EventSource::Product(product) => self
                .product_handler(product.as_str(), name)
                .map(str::to_owned),
            EventSource::Platform => self.app_handler(name),
            EventSource::External => self.app_handler(AppEvent::External.name()),
            EventSource::Connector => self
                .connector_events
                .iter()
                .find(|event| event.key == name)
                .and_then(|event| event.handler.clone())
                .or_else(|| self.app_handler(AppEvent::External.name())),
            // Weir's news for the operator goes to operational webhooks, never to apps.
            EventSource::Operational => None,
        }
    }

    /// The product events the app handles, per product, each with its handler (as
    /// [`AppDefinition::handler_for`] finds it): the rows kept at upload, which fan-out
    /// joins posted events with. In manifest order: scope by scope, event by event.
    pub fn product_subscriptions(&self) -> Vec<Subscription> {
        let mut subscriptions: Vec<Subscription> = Vec::new();
        for scope in &self.scopes {
            let events: Vec<&str> = match &scope.handlers {
                Some(declared) => declared.iter().map(|h| h.event.as_str()).collect(),
                None => self.script_events.iter().map(String::as_str).collect(),
            };
            for event in events {
                for product in served_products(scope) {
                    let taken = subscriptions
                        .iter()
                        .any(|s| s.product == product && s.event == event);
                    let handler = self.product_handler(product, event);
                    if let (false, Some(handler)) = (taken, handler) {
                        subscriptions.push(Subscription {
                            product: product.to_owned(),
                            event: event.to_owned(),
                            handler: handler.to_owned(),
                            max_attempts: self.max_attempts,
                        });
                    }
                }
            }
        }
        subscriptions
    }

    /// A product event's handler: the first scope serving `product` that declares one,
    /// else the event's name when a scope serving it leaves it to the script, which lists
    /// it.
    fn product_handler(&self, product: &str, event: &str) -> Option<&str> {
        if catalogue::is_app_event(event) {
            return None;
        }
        let serving = || {
            self.scopes
                .iter()
                .filter(|scope| served_products(scope).contains(&product))
        };
        let declared = serving()
            .filter_map(|scope| scope.handlers.as_ref())
            .flatten()
            .find(|handler| handler.event == event)
            .map(|handler| handler.function.as_str());
        declared.or_else(|| {
            let deferred = serving().any(|scope| scope.defers_to_script() && scope.accepts(event));
            let listed = self.script_events.iter().find(|listed| *listed == event);
            listed.filter(|_| deferred).map(String::as_str)
        })
    }

    /// An event raised for one installation by name: any scope's handler, else the name
    /// itself when a scope leaves its handlers to `exports.events`.
    fn app_handler(&self, event: &str) -> Option<String> {
        let declared = self
            .scopes
            .iter()
            .filter_map(|scope| scope.handlers.as_ref())
            .flatten()
            .find(|handler| handler.event == event);
        if let Some(handler) = declared {
            return Some(handler.function.clone());
        }
        let undeclared = self.scopes.iter().any(|scope| scope.handlers.is_none());
        undeclared.then(|| event.to_owned())
    }
}

/// The products whose events a scope takes: a 2.x product scope its own; a 3.x module the
/// products its events come from (`common` none).
fn served_products(scope: &EventScope) -> Vec<&str> {
    match scope.kind {
        ScopeKind::Product => vec![scope.name.as_str()],
        ScopeKind::Module => catalogue::module_products(&scope.name).to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Product;
    use crate::app::{ConnectorEvent, ConnectorEventKind, Handler, Method};

    fn scope(kind: ScopeKind, name: &str, handlers: Option<&[(&str, &str)]>) -> EventScope {
        EventScope {
            kind,
            name: name.to_owned(),
            handlers: handlers.map(|handlers| {
                handlers
                    .iter()
                    .map(|(event, function)| Handler {
                        event: (*event).to_owned(),
                        function: (*function).to_owned(),
                    })
                    .collect()
            }),
            functions: Vec::new(),
            requests: Vec::new(),
        }
    }

    fn app(scopes: Vec<EventScope>) -> AppDefinition {
        AppDefinition {
            name: None,
            version: None,
            platform_version: None,
            scopes,
            whitelisted_domains: Vec::new(),
            dependencies: Vec::new(),
            engines: Vec::new(),
            iparams: Vec::new(),
            iparams_page: Default::default(),
            request_templates: Vec::new(),
            oauth_config: None,
            test_data: Vec::new(),
            registered_webhooks: Vec::new(),
            extension_webhooks: Vec::new(),
            authorisation_scopes: Vec::new(),
            global_webhooks: Vec::new(),
            connector_events: Vec::new(),
            max_attempts: 1,
            script_events: Vec::new(),
            entities: Vec::new(),
        }
    }

    fn product(name: &str) -> EventSource {
        EventSource::Product(Product::parse(name).unwrap())
    }

    fn handler(app: &AppDefinition, source: &EventSource, name: &str) -> Option<String> {
        app.handler_for(source, name)
    }

    #[test]
    fn a_declared_handler_runs() {
        let app = app(vec![scope(
            ScopeKind::Product,
            "freshdesk",
            Some(&[
                ("onAppInstall", "installed"),
                ("onTicketCreate", "ticketCreated"),
                ("onScheduledEvent", "tick"),
            ]),
        )]);
        let freshdesk = product("freshdesk");
        assert_eq!(
            handler(&app, &freshdesk, "onTicketCreate").as_deref(),
            Some("ticketCreated")
        );
        assert_eq!(handler(&app, &freshdesk, "onTicketUpdate"), None);
        assert_eq!(
            handler(&app, &product("freshservice"), "onTicketCreate"),
            None,
            "another product's event of the same name"
        );
        assert_eq!(
            handler(&app, &freshdesk, "onAppInstall"),
            None,
            "an app event is no product's"
        );
        let platform = EventSource::Platform;
        assert_eq!(
            handler(&app, &platform, "onAppInstall").as_deref(),
            Some("installed")
        );
        assert_eq!(
            handler(&app, &platform, "onScheduledEvent").as_deref(),
            Some("tick")
        );
        assert_eq!(
            handler(&app, &platform, "onTicketCreate").as_deref(),
            Some("ticketCreated"),
            "an event run by name finds its handler in any scope"
        );
        assert_eq!(handler(&app, &platform, "onAppUninstall"), None);
        assert_eq!(
            handler(&app, &EventSource::External, "onExternalEvent"),
            None
        );
    }

    #[test]
    fn exports_events_decides_when_the_manifest_declares_none() {
        let app = app(vec![scope(ScopeKind::Product, "freshdesk", None)]);
        let platform = EventSource::Platform;
        assert_eq!(
            handler(&app, &platform, "onAppInstall").as_deref(),
            Some("onAppInstall")
        );
        assert_eq!(
            handler(&app, &EventSource::External, "onExternalEvent").as_deref(),
            Some("onExternalEvent")
        );
        assert_eq!(
            handler(&app, &product("freshdesk"), "onTicketCreate"),
            None,
            "a product event the script does not list has no handler"
        );
        assert!(app.product_subscriptions().is_empty());
    }

    #[test]
    fn a_product_event_the_script_lists_runs_by_its_name_and_fans_out() {
        let mut app = app(vec![scope(ScopeKind::Product, "freshdesk", None)]);
        app.script_events = vec!["onTicketCreate".into(), "onContactCreate".into()];
        let freshdesk = product("freshdesk");
        assert_eq!(
            handler(&app, &freshdesk, "onTicketCreate").as_deref(),
            Some("onTicketCreate")
        );
        assert_eq!(handler(&app, &freshdesk, "onTicketUpdate"), None);
        assert_eq!(
            handler(&app, &product("freshservice"), "onTicketCreate"),
            None,
            "only the products of the deferring scope"
        );
        let subscriptions = app.product_subscriptions();
        let rows: Vec<(&str, &str, &str)> = subscriptions
            .iter()
            .map(|s| (s.product.as_str(), s.event.as_str(), s.handler.as_str()))
            .collect();
        assert_eq!(
            rows,
            [
                ("freshdesk", "onTicketCreate", "onTicketCreate"),
                ("freshdesk", "onContactCreate", "onContactCreate"),
            ]
        );
    }

    #[test]
    fn a_declared_handler_wins_over_the_script_and_app_events_are_never_a_products() {
        let mut app = app(vec![
            scope(
                ScopeKind::Product,
                "freshdesk",
                Some(&[("onTicketCreate", "created")]),
            ),
            scope(ScopeKind::Product, "freshdesk", None),
        ]);
        app.script_events = vec!["onTicketCreate".into(), "onAppInstall".into()];
        let freshdesk = product("freshdesk");
        assert_eq!(
            handler(&app, &freshdesk, "onTicketCreate").as_deref(),
            Some("created")
        );
        assert_eq!(handler(&app, &freshdesk, "onAppInstall"), None);
        assert_eq!(app.product_subscriptions().len(), 1);
    }

    #[test]
    fn a_target_url_runs_the_external_event_handler() {
        let app = app(vec![
            scope(
                ScopeKind::Module,
                "common",
                Some(&[("onExternalEvent", "hook")]),
            ),
            scope(ScopeKind::Module, "support_ticket", Some(&[])),
        ]);
        for name in ["onExternalEvent", "whatever the request was"] {
            assert_eq!(
                handler(&app, &EventSource::External, name).as_deref(),
                Some("hook"),
                "{name}"
            );
        }
        let without = self::app(vec![scope(ScopeKind::Module, "support_ticket", Some(&[]))]);
        assert_eq!(
            handler(&without, &EventSource::External, "onExternalEvent"),
            None
        );
    }

    #[test]
    fn a_connector_event_runs_its_named_handler_else_the_external_one() {
        let mut app = app(vec![scope(
            ScopeKind::Product,
            "freshsales",
            Some(&[("onExternalEvent", "external")]),
        )]);
        let connector_event = |key: &str, handler: Option<&str>| ConnectorEvent {
            key: key.to_owned(),
            name: key.to_owned(),
            kind: ConnectorEventKind::GlobalWebhook {
                selector: Method::JavaScript {
                    path: format!("events/{key}/selector.js"),
                },
            },
            parameters_schema: None,
            handler: handler.map(str::to_owned),
        };
        app.connector_events = vec![
            connector_event("chat-message", Some("onChatMessage")),
            connector_event("chat-closed", None),
        ];
        let connector = EventSource::Connector;
        assert_eq!(
            handler(&app, &connector, "chat-message").as_deref(),
            Some("onChatMessage")
        );
        assert_eq!(
            handler(&app, &connector, "chat-closed").as_deref(),
            Some("external")
        );
        assert_eq!(
            handler(&app, &connector, "not-declared").as_deref(),
            Some("external")
        );
        app.scopes[0].handlers = Some(Vec::new());
        assert_eq!(handler(&app, &connector, "chat-closed"), None);
        assert_eq!(
            handler(&app, &connector, "chat-message").as_deref(),
            Some("onChatMessage")
        );
    }

    #[test]
    fn an_omni_app_handles_each_product_with_its_own_scope() {
        let app = app(vec![
            scope(
                ScopeKind::Product,
                "freshsales",
                Some(&[
                    ("onContactCreate", "salesContact"),
                    ("onAppInstall", "install"),
                ]),
            ),
            scope(
                ScopeKind::Product,
                "freshworks_crm",
                Some(&[
                    ("onContactCreate", "crmContact"),
                    ("onDealUpdate", "crmDeal"),
                ]),
            ),
            scope(
                ScopeKind::Module,
                "deal",
                Some(&[
                    ("onDealUpdate", "moduleDeal"),
                    ("onDealCreate", "moduleDealNew"),
                ]),
            ),
        ]);
        let sales = product("freshsales");
        let crm = product("freshworks_crm");
        assert_eq!(
            handler(&app, &sales, "onContactCreate").as_deref(),
            Some("salesContact")
        );
        assert_eq!(
            handler(&app, &crm, "onContactCreate").as_deref(),
            Some("crmContact")
        );
        assert_eq!(
            handler(&app, &crm, "onDealUpdate").as_deref(),
            Some("crmDeal"),
            "the first scope serving the product wins"
        );
        assert_eq!(
            handler(&app, &sales, "onDealUpdate").as_deref(),
            Some("moduleDeal"),
            "the deal module serves freshsales too"
        );
        let rows: Vec<(String, String, String)> = app
            .product_subscriptions()
            .into_iter()
            .map(|s| (s.product, s.event, s.handler))
            .collect();
        let expected = [
            ("freshsales", "onContactCreate", "salesContact"),
            ("freshworks_crm", "onContactCreate", "crmContact"),
            ("freshworks_crm", "onDealUpdate", "crmDeal"),
            ("freshsales", "onDealUpdate", "moduleDeal"),
            ("freshsales", "onDealCreate", "moduleDealNew"),
            ("freshworks_crm", "onDealCreate", "moduleDealNew"),
        ];
        let expected: Vec<(String, String, String)> = expected
            .iter()
            .map(|(p, e, h)| (p.to_string(), e.to_string(), h.to_string()))
            .collect();
        assert_eq!(rows, expected);
        for row in app.product_subscriptions() {
            let source = product(&row.product);
            assert_eq!(
                handler(&app, &source, &row.event),
                Some(row.handler),
                "the rows kept at upload follow handler_for"
            );
        }
    }
}
