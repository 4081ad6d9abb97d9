//! Each example app of `examples/` parses into the model it is meant to show.

use std::collections::BTreeMap;
use std::path::Path;

use weir_core::app::{ConnectorEventKind, Handler, Method, ScopeKind, ZohoSubscription};
use weir_core::{AppDefinition, HttpMethod, Package, PlatformVersion};

fn load(name: &str) -> AppDefinition {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name);
    let mut files = BTreeMap::new();
    read_dir(&root, &root, &mut files);
    AppDefinition::parse(&Package::from_files(files))
        .unwrap_or_else(|problems| panic!("{name} is not valid: {problems:#?}"))
}

fn read_dir(root: &Path, dir: &Path, files: &mut BTreeMap<String, Vec<u8>>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            read_dir(root, &path, files);
        } else {
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            files.insert(relative, std::fs::read(&path).unwrap());
        }
    }
}

fn handler(event: &str, function: &str) -> Handler {
    Handler {
        event: event.into(),
        function: function.into(),
    }
}

#[test]
fn external_events_app() {
    let app = load("freshteam-external-events");
    assert_eq!(app.platform_version, Some(PlatformVersion::V2_3));
    assert_eq!(app.version.as_deref(), Some("1.0.0"));
    let [scope] = &app.scopes[..] else {
        panic!("one product")
    };
    assert_eq!(
        (scope.kind, scope.name.as_str()),
        (ScopeKind::Product, "freshteam")
    );
    assert_eq!(
        scope.handlers.as_deref().unwrap(),
        [
            handler("onAppInstall", "onAppInstallHandler"),
            handler("onExternalEvent", "onExternalEventHandler"),
            handler("onAppUninstall", "onAppUninstallHandler"),
        ]
    );
    assert_eq!(scope.requests, ["registerWebhook", "deregisterWebhook"]);
    let secure: Vec<&str> = app
        .iparams
        .iter()
        .filter(|p| p.secure)
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(secure, ["tracker_api_key"]);
    let template = &app.request_templates[0];
    assert_eq!(
        (template.method.as_str(), template.path.as_str()),
        ("POST", "/rest/webhooks/1.0/webhook")
    );
    assert_eq!(
        (template.max_attempts, template.retry_delay_ms),
        (Some(2), Some(500))
    );
    let flat: Vec<(Option<&str>, &str)> = app
        .test_data
        .iter()
        .map(|t| (t.scope.as_deref(), t.event.as_str()))
        .collect();
    assert_eq!(flat, [(None, "onAppInstall"), (None, "onExternalEvent")]);
}

#[test]
fn omni_product_events_app() {
    let app = load("freshsales-product-events");
    let products: Vec<&str> = app.scopes.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(products, ["freshsales", "freshworks_crm"]);
    assert_eq!(
        app.scopes[1].handlers.as_ref().unwrap()[1],
        handler("onDealUpdate", "onDealUpdateHandler")
    );
    let stages = app
        .iparams
        .iter()
        .find(|p| p.name == "announce_stages")
        .unwrap();
    assert_eq!(stages.kind, "multiselect");
    assert_eq!(stages.default_value, Some(serde_json::json!(["Won"])));
    let omni: Vec<(Option<&str>, &str)> = app
        .test_data
        .iter()
        .map(|t| (t.scope.as_deref(), t.event.as_str()))
        .collect();
    assert_eq!(
        omni,
        [
            (Some("freshsales"), "onContactCreate"),
            (Some("freshworks_crm"), "onDealUpdate")
        ]
    );
}

#[test]
fn connector_app() {
    let app = load("chat-connector");
    assert_eq!(app.platform_version, Some(PlatformVersion::V3_0));
    assert_eq!(app.global_webhooks[0].key, "chat-events");
    assert_eq!(
        app.global_webhooks[0].handle,
        Method::JavaScript {
            path: "global-webhooks/chat-events/handle.js".into()
        }
    );
    let event = &app.connector_events[0];
    assert_eq!(
        (event.key.as_str(), event.handler.as_deref()),
        ("message-posted", Some("onMessagePosted"))
    );
    assert_eq!(
        event.kind,
        ConnectorEventKind::GlobalWebhook {
            selector: Method::JavaScript {
                path: "events/message-posted/getEventSelector.js".into()
            },
        }
    );
    assert!(event.parameters_schema.is_some());
}

#[test]
fn registered_webhooks_app() {
    let app = load("registered-webhooks");
    let ids: Vec<&str> = app
        .registered_webhooks
        .iter()
        .map(|w| w.id.as_str())
        .collect();
    assert_eq!(ids, ["crm-create-case", "crm-search-cases", "upload-photo"]);
    let search = &app.registered_webhooks[1];
    assert_eq!(
        (
            search.method.map_or("", HttpMethod::as_str),
            search.query_params.clone()
        ),
        ("GET", vec!["requester".into(), "pageNum".into()])
    );
    assert_eq!(
        app.registered_webhooks[0].headers[0],
        (
            "Authorization".into(),
            "Bearer <%= iparam.crm_token %>".into()
        )
    );
    assert!(app.registered_webhooks[2].base64_payload);
    assert_eq!(app.scopes[0].functions[0].timeout_secs, Some(15));
}

#[test]
fn zoho_extension_app() {
    let app = load("zoho-desk-extension");
    assert_eq!(app.platform_version, None, "no Freshworks manifest");
    assert!(
        app.authorisation_scopes
            .contains(&"Desk.events.ALL".to_owned())
    );
    let webhook = &app.extension_webhooks[0];
    assert_eq!(webhook.resource_name, "ticketSync");
    assert_eq!(
        webhook.ignore_source_id,
        "2df92c1a-973a-48f5-95b7-5792c68b9c36"
    );
    assert_eq!(
        webhook.subscriptions[1],
        ZohoSubscription {
            event: "Ticket_Update".into(),
            include_prev_state: true,
            fields: vec!["status".into(), "priority".into()],
            direction: None,
        }
    );
    assert_eq!(webhook.subscriptions[2].direction.as_deref(), Some("in"));
}

#[test]
fn product_subscriptions_cover_each_product_of_an_omni_app() {
    let app = load("freshsales-product-events");
    let subscriptions: Vec<(String, String, String, u32)> = app
        .product_subscriptions()
        .into_iter()
        .map(|s| (s.product, s.event, s.handler, s.max_attempts))
        .collect();
    let expected = [
        ("freshsales", "onContactCreate", "onContactCreateHandler"),
        ("freshsales", "onDealUpdate", "onDealUpdateHandler"),
        (
            "freshsales",
            "onAppointmentCreate",
            "onAppointmentCreateHandler",
        ),
        (
            "freshworks_crm",
            "onContactCreate",
            "onContactCreateHandler",
        ),
        ("freshworks_crm", "onDealUpdate", "onDealUpdateHandler"),
    ];
    let expected: Vec<(String, String, String, u32)> = expected
        .iter()
        .map(|(p, e, h)| (p.to_string(), e.to_string(), h.to_string(), 1))
        .collect();
    assert_eq!(subscriptions, expected);
}

#[test]
fn module_scopes_subscribe_to_their_products_and_apps_may_opt_in_to_retries() {
    let manifest = r#"{
      "platform-version": "3.0",
      "retry": { "maxAttempts": 4 },
      "modules": {
        "common": { "events": { "onAppInstall": { "handler": "install" } } },
        "deal": { "events": { "onDealCreate": { "handler": "dealCreated" } } },
        "support_ticket": { "events": { "onTicketCreate": { "handler": "ticketCreated" } } }
      }
    }"#;
    let server = "exports = { install: function () {}, dealCreated: function () {}, ticketCreated: function () {} };";
    let files: BTreeMap<String, Vec<u8>> = [
        ("manifest.json".to_owned(), manifest.as_bytes().to_vec()),
        ("server/server.js".to_owned(), server.as_bytes().to_vec()),
    ]
    .into_iter()
    .collect();
    let app = AppDefinition::parse(&Package::from_files(files)).unwrap();
    let subscriptions: Vec<(String, String, u32)> = app
        .product_subscriptions()
        .into_iter()
        .map(|s| (s.product, s.event, s.max_attempts))
        .collect();
    assert_eq!(
        subscriptions,
        [
            ("freshsales".to_owned(), "onDealCreate".to_owned(), 4),
            ("freshworks_crm".to_owned(), "onDealCreate".to_owned(), 4),
            ("freshdesk".to_owned(), "onTicketCreate".to_owned(), 4),
        ]
    );

    let too_many = manifest.replace("\"maxAttempts\": 4", "\"maxAttempts\": 11");
    let files: BTreeMap<String, Vec<u8>> = [
        ("manifest.json".to_owned(), too_many.into_bytes()),
        ("server/server.js".to_owned(), server.as_bytes().to_vec()),
    ]
    .into_iter()
    .collect();
    let problems = AppDefinition::parse(&Package::from_files(files)).unwrap_err();
    assert_eq!(problems[0].location, "/retry/maxAttempts", "{problems:?}");
    assert!(problems[0].message.contains("from 1 to 10"), "{problems:?}");
}
