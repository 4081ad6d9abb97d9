//! The app-package parser against broken packages: each row of the table is a small valid
//! package with one thing broken, and the exact list of problems `AppDefinition::parse`
//! must report for it (file, location, message), so that every row also proves nothing else
//! is reported. Separate tests cover what `Package::from_zip` refuses before any parsing
//! (unsafe paths, links, size limits) and what valid packages of each platform parse into.

use std::collections::BTreeMap;
use std::io::{Cursor, Write};

use serde_json::{Value, json};
use weir_core::app::{
    EventScope, ExtensionWebhook, Handler, RegisteredWebhook, RequestTemplate, ScopeKind,
    ServerFunction, TestPayload, ZohoSubscription,
};
use weir_core::{
    AppDefinition, HttpMethod, IparamSpec, IparamsPage, Package, PackageError, PackageLimits,
    PackageProblem, PlatformVersion, SubscriptionUrl,
};
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

// ----- The base package ----------------------------------------------------------------

/// A valid Freshdesk 2.3 app: every row starts from it.
const BASE_MANIFEST: &str = r#"{
  "platform-version": "2.3",
  "product": {
    "freshdesk": {
      "events": {
        "onAppInstall": {"handler": "onAppInstallHandler"},
        "onTicketCreate": {"handler": "onTicketCreateHandler"}
      },
      "functions": {"lookupContact": {"timeout": 20}},
      "requests": {"getContact": {}}
    }
  }
}"#;
const BASE_SERVER_JS: &str = "exports = { onAppInstallHandler() {}, onTicketCreateHandler() {} };";
const BASE_IPARAMS: &str =
    r#"{"api_key": {"display_name": "API key", "type": "text", "required": true, "secure": true}}"#;
const BASE_REQUESTS: &str = r#"{
  "getContact": {
    "schema": {"method": "GET", "host": "<%= iparam.domain %>", "path": "/api/v2/contacts"}
  }
}"#;
const BASE_TEST_DATA: &str = r#"{"data": {"ticket": {"id": 1}}, "event": "onTicketCreate"}"#;

const BASE_FILES: &[(&str, &str)] = &[
    ("manifest.json", BASE_MANIFEST),
    ("server/server.js", BASE_SERVER_JS),
    ("config/iparams.json", BASE_IPARAMS),
    ("config/requests.json", BASE_REQUESTS),
    ("server/test_data/onTicketCreate.json", BASE_TEST_DATA),
];

/// Grants what extension webhooks need; Zoho rows add it beside their `resources.json`.
const PLUGIN_MANIFEST: &str = r#"{
  "zohoAuthorisation": {
    "type": "connectors",
    "connectionLinkName": "deskconnection",
    "scope": ["Desk.tickets.READ", "Desk.events.ALL"]
  }
}"#;

/// A package of exactly these files.
fn package(files: &[(&str, &str)]) -> Package {
    Package::from_files(
        files
            .iter()
            .map(|(path, content)| (path.to_string(), content.as_bytes().to_vec()))
            .collect::<BTreeMap<_, _>>(),
    )
}

/// The webhook of a valid Zoho Desk extension, as in Zoho's sample (REFERENCE §5).
fn zoho_webhook() -> Value {
    json!({
        "resourceName": "tickets",
        "url": "https://hooks.example.com/zoho",
        "name": "Ticket events",
        "description": "Tells the app about new tickets",
        "subscriptions": {"Ticket_Add": null, "Ticket_Update": {"includePrevState": true}},
        "ignoreSourceId": "2df92c1a-973a-48f5-95b7-5792c68b9c36"
    })
}

/// The valid webhook with some fields replaced.
fn zoho_webhook_with(replaced: Value) -> Value {
    let mut webhook = zoho_webhook();
    for (key, value) in replaced.as_object().expect("an object") {
        webhook[key] = value.clone();
    }
    webhook
}

/// `resources.json` declaring `webhook`, beside a `plugin-manifest.json` that grants the
/// events scope.
fn zoho_files(webhook: Value) -> Vec<(&'static str, String)> {
    vec![
        ("resources.json", json!({ "webhook": webhook }).to_string()),
        ("plugin-manifest.json", PLUGIN_MANIFEST.to_owned()),
    ]
}

/// `config/webhooks.json` with a valid registration first and `broken` after it.
fn registered_webhooks_with(broken: Value) -> Vec<(&'static str, String)> {
    let valid = json!({"id": "notify", "url": "https://api.example.com/notify", "method": "POST"});
    file("config/webhooks.json", &json!([valid, broken]).to_string())
}

fn file(path: &'static str, content: &str) -> Vec<(&'static str, String)> {
    vec![(path, content.to_owned())]
}

// ----- The table -----------------------------------------------------------------------

struct Row {
    name: &'static str,
    /// Files added to the base package, or replacing the base file of the same path.
    files: Vec<(&'static str, String)>,
    /// Base files left out.
    without: &'static [&'static str],
    /// Every problem, as (file, location, message), in the order the parser reports them.
    expected: &'static [(&'static str, &'static str, &'static str)],
}

impl Row {
    fn package(&self) -> Package {
        let mut files: BTreeMap<&str, &str> = BASE_FILES
            .iter()
            .copied()
            .filter(|(path, _)| !self.without.contains(path))
            .collect();
        files.extend(
            self.files
                .iter()
                .map(|(path, content)| (*path, content.as_str())),
        );
        package(&files.into_iter().collect::<Vec<_>>())
    }
}

fn rows() -> Vec<Row> {
    vec![
        // ----- JSON syntax, in every JSON file
        Row {
            name: "manifest.json with a trailing comma",
            files: file(
                "manifest.json",
                "{\n  \"platform-version\": \"2.3\",\n  \"product\": {\"freshdesk\": {}},\n}",
            ),
            without: &[],
            expected: &[("manifest.json", "4:1", "trailing comma")],
        },
        Row {
            name: "iparams.json with a missing comma",
            files: file(
                "config/iparams.json",
                "{\n  \"api_key\": {\"display_name\": \"API key\" \"type\": \"text\"}\n}",
            ),
            without: &[],
            expected: &[("config/iparams.json", "2:41", "expected `,` or `}`")],
        },
        Row {
            // The template is defined; only the file cannot be read. Saying it is "not
            // defined" as well sends the developer looking for a mistake that is not there.
            name: "requests.json cut short does not also make its templates undefined",
            files: file(
                "config/requests.json",
                "{\n  \"getContact\": {\"schema\": {\"method\": \"GET\", \
                 \"host\": \"example.com\"}}\n",
            ),
            without: &[],
            expected: &[("config/requests.json", "3:0", "EOF while parsing an object")],
        },
        Row {
            name: "oauth_config.json with a single-quoted string",
            files: file("config/oauth_config.json", "{\"client_id\": 'abc'}"),
            without: &[],
            expected: &[("config/oauth_config.json", "1:15", "expected value")],
        },
        Row {
            name: "webhooks.json with a trailing comma",
            files: file(
                "config/webhooks.json",
                "[\n  {\"id\": \"notify\", \"url\": \"https://example.com\", \
                 \"method\": \"POST\",}\n]",
            ),
            without: &[],
            expected: &[("config/webhooks.json", "2:67", "trailing comma")],
        },
        Row {
            // The typo of Zoho's own sample (REFERENCE §5): no comma after "subscriptions".
            name: "resources.json with Zoho's missing comma",
            files: vec![
                (
                    "resources.json",
                    "{\"webhook\": {\n  \"resourceName\": \"webhook1\",\n  \"subscriptions\": \
                     {\"Ticket_Add\": null}\n  \"ignoreSourceId\": \"2df92c1a\"\n}}"
                        .to_owned(),
                ),
                ("plugin-manifest.json", PLUGIN_MANIFEST.to_owned()),
            ],
            without: &[],
            expected: &[("resources.json", "4:3", "expected `,` or `}`")],
        },
        Row {
            // The scope may well be granted: the file cannot be read to tell. Only the syntax
            // error is the developer's mistake.
            name: "plugin-manifest.json with a trailing comma does not also lack the events scope",
            files: vec![
                (
                    "resources.json",
                    json!({"webhook": zoho_webhook()}).to_string(),
                ),
                (
                    "plugin-manifest.json",
                    "{\n  \"zohoAuthorisation\": {\"type\": \"connectors\", \"scope\": \
                     [\"Desk.events.ALL\"]},\n}"
                        .to_owned(),
                ),
            ],
            without: &[],
            expected: &[("plugin-manifest.json", "3:1", "trailing comma")],
        },
        Row {
            name: "test data cut short",
            files: file(
                "server/test_data/onTicketCreate.json",
                "{\"data\": {\"ticket\": {\"id\": 1}}",
            ),
            without: &[],
            expected: &[(
                "server/test_data/onTicketCreate.json",
                "1:30",
                "EOF while parsing an object",
            )],
        },
        Row {
            name: "test data in an omni product folder with a missing value",
            files: file(
                "server/test_data/freshdesk/onAppInstall.json",
                "{\"iparams\": }",
            ),
            without: &[],
            expected: &[(
                "server/test_data/freshdesk/onAppInstall.json",
                "1:13",
                "expected value",
            )],
        },
        // ----- Keys given twice
        Row {
            name: "manifest.json declaring an event twice",
            files: file(
                "manifest.json",
                "{\"platform-version\": \"2.3\", \"product\": {\"freshdesk\": {\"events\": {\n  \
                 \"onTicketCreate\": {\"handler\": \"a\"},\n  \
                 \"onTicketCreate\": {\"handler\": \"b\"}\n}}}}",
            ),
            without: &[],
            expected: &[(
                "manifest.json",
                "3:18",
                "the key \"onTicketCreate\" is given twice",
            )],
        },
        Row {
            name: "resources.json subscribing to an event twice",
            files: vec![
                (
                    "resources.json",
                    "{\"webhook\": {\"subscriptions\": {\n  \"Ticket_Add\": null,\n  \
                     \"Ticket_Add\": null\n}}}"
                        .to_owned(),
                ),
                ("plugin-manifest.json", PLUGIN_MANIFEST.to_owned()),
            ],
            without: &[],
            expected: &[(
                "resources.json",
                "3:14",
                "the key \"Ticket_Add\" is given twice",
            )],
        },
        // ----- manifest.json: platform version and shape
        Row {
            name: "no manifest.json",
            files: vec![],
            without: &["manifest.json"],
            expected: &[("manifest.json", "", "missing at the package root")],
        },
        Row {
            name: "manifest.json without platform-version",
            files: file("manifest.json", r#"{"product": {"freshdesk": {}}}"#),
            without: &[],
            expected: &[(
                "manifest.json",
                "",
                "\"platform-version\" is missing (one of: 2.0, 2.1, 2.2, 2.3, 3.0, 3.1)",
            )],
        },
        Row {
            name: "manifest.json with an unknown platform-version",
            files: file(
                "manifest.json",
                r#"{"platform-version": "2.4", "product": {"freshdesk": {}}}"#,
            ),
            without: &[],
            expected: &[(
                "manifest.json",
                "/platform-version",
                "unknown platform version \"2.4\" (one of: 2.0, 2.1, 2.2, 2.3, 3.0, 3.1)",
            )],
        },
        Row {
            // Without a known version the parser cannot tell whether "modules" is right: saying
            // it "is not used by this platform version" blames a version there is not.
            name: "an unknown 3.x platform-version is not told to declare product",
            files: file(
                "manifest.json",
                r#"{"platform-version": "3.2", "modules": {"common": {}, "support_ticket": {}}}"#,
            ),
            without: &[],
            expected: &[(
                "manifest.json",
                "/platform-version",
                "unknown platform version \"3.2\" (one of: 2.0, 2.1, 2.2, 2.3, 3.0, 3.1)",
            )],
        },
        Row {
            name: "modules in a 2.x manifest",
            files: file(
                "manifest.json",
                r#"{"platform-version": "2.3", "modules": {"common": {}, "support_ticket": {}}}"#,
            ),
            without: &[],
            expected: &[(
                "manifest.json",
                "/modules",
                "\"modules\" is not used by platform 2.3; declare \"product\" instead",
            )],
        },
        Row {
            name: "product left over in a 3.x manifest",
            files: file(
                "manifest.json",
                r#"{"platform-version": "3.0", "product": {"freshdesk": {}},
                    "modules": {"common": {}, "support_ticket": {}}}"#,
            ),
            without: &[],
            expected: &[(
                "manifest.json",
                "/product",
                "\"product\" is not used by platform 3.0; declare \"modules\" instead",
            )],
        },
        Row {
            name: "an unknown product",
            files: file(
                "manifest.json",
                r#"{"platform-version": "2.3", "product": {"freshdesk": {}, "freshmarketer": {}}}"#,
            ),
            without: &[],
            expected: &[(
                "manifest.json",
                "/product/freshmarketer",
                "unknown product \"freshmarketer\" (known: freshdesk, freshservice, freshsales, \
                 freshworks_crm, freshteam, freshchat, freshcaller)",
            )],
        },
        Row {
            name: "an unknown 3.x module",
            files: file(
                "manifest.json",
                r#"{"platform-version": "3.0",
                    "modules": {"common": {}, "support_ticket": {}, "ticket": {}}}"#,
            ),
            without: &[],
            expected: &[(
                "manifest.json",
                "/modules/ticket",
                "unknown module \"ticket\" (known: common, support_ticket, support_contact, \
                 support_company, support_agent, support_portal, support_email, service_ticket, \
                 service_asset, service_change, service_user, contact, deal, sales_account, \
                 lead, appointment, task, sales_activities, phone, cpq_document, product, \
                 chat_conversation, chat_user, call, caller_conversation, caller_agent)",
            )],
        },
        Row {
            name: "common without a product module",
            files: file(
                "manifest.json",
                r#"{"platform-version": "3.0", "modules": {"common": {"events": {
                    "onAppInstall": {"handler": "onAppInstallHandler"}}}}}"#,
            ),
            without: &[],
            expected: &[(
                "manifest.json",
                "/modules",
                "needs at least one product module (e.g. \"support_ticket\") beside \"common\"",
            )],
        },
        // ----- manifest.json: events, handlers, functions, domains
        Row {
            name: "an event that is not an event of the product",
            files: file(
                "manifest.json",
                r#"{"platform-version": "2.3", "product": {"freshdesk": {"events": {
                    "onDealCreate": {"handler": "onDealCreateHandler"}}}}}"#,
            ),
            without: &[],
            expected: &[(
                "manifest.json",
                "/product/freshdesk/events/onDealCreate",
                "\"onDealCreate\" is not an event of \"freshdesk\"",
            )],
        },
        Row {
            name: "an app event under a 3.x product module",
            files: file(
                "manifest.json",
                r#"{"platform-version": "3.0", "modules": {"common": {}, "support_ticket": {
                    "events": {"onAppInstall": {"handler": "onAppInstallHandler"}}}}}"#,
            ),
            without: &[],
            expected: &[(
                "manifest.json",
                "/modules/support_ticket/events/onAppInstall",
                "\"onAppInstall\" is not an event of \"support_ticket\"",
            )],
        },
        Row {
            name: "a product event under common",
            files: file(
                "manifest.json",
                r#"{"platform-version": "3.0", "modules": {"support_ticket": {}, "common": {
                    "events": {"onTicketCreate": {"handler": "onTicketCreateHandler"}}}}}"#,
            ),
            without: &[],
            expected: &[(
                "manifest.json",
                "/modules/common/events/onTicketCreate",
                "\"onTicketCreate\" is not an event of \"common\"",
            )],
        },
        Row {
            name: "an event without a handler",
            files: file(
                "manifest.json",
                r#"{"platform-version": "2.3", "product": {"freshdesk": {"events": {
                    "onTicketCreate": {"callback": "onTicketCreateHandler"}}}}}"#,
            ),
            without: &[],
            expected: &[(
                "manifest.json",
                "/product/freshdesk/events/onTicketCreate",
                "needs a \"handler\": the name of a function exported by server.js",
            )],
        },
        Row {
            name: "a handler that is not a JavaScript identifier",
            files: file(
                "manifest.json",
                r#"{"platform-version": "2.3", "product": {"freshdesk": {"events": {
                    "onTicketCreate": {"handler": "on-ticket-create"}}}}}"#,
            ),
            without: &[],
            expected: &[(
                "manifest.json",
                "/product/freshdesk/events/onTicketCreate/handler",
                "\"on-ticket-create\" is not a JavaScript function name",
            )],
        },
        Row {
            name: "a function timeout out of range",
            files: file(
                "manifest.json",
                r#"{"platform-version": "2.3", "product": {"freshdesk": {"functions": {
                    "lookupContact": {"timeout": 60}}}}}"#,
            ),
            without: &[],
            expected: &[(
                "manifest.json",
                "/product/freshdesk/functions/lookupContact/timeout",
                "must be a whole number from 1 to 40",
            )],
        },
        Row {
            name: "a function name that is not a JavaScript name (nor a safe file name)",
            files: file(
                "manifest.json",
                r#"{"platform-version": "2.3", "product": {"freshdesk": {"functions": {
                    "../../escaped": {}}}}}"#,
            ),
            without: &[],
            expected: &[(
                "manifest.json",
                "/product/freshdesk/functions/..~1..~1escaped",
                "\"../../escaped\" is not a JavaScript function name",
            )],
        },
        Row {
            name: "a whitelisted domain without https://",
            files: file(
                "manifest.json",
                r#"{"platform-version": "2.2", "product": {"freshdesk": {}},
                    "whitelisted-domains": ["https://api.example.com", "*.example.com"]}"#,
            ),
            without: &[],
            expected: &[(
                "manifest.json",
                "/whitelisted-domains/1",
                "\"*.example.com\" must start with https:// (e.g. https://*.example.com)",
            )],
        },
        Row {
            name: "handlers declared but server/server.js missing",
            files: vec![],
            without: &["server/server.js"],
            expected: &[(
                "server/server.js",
                "",
                "missing, but manifest.json names handlers or functions in it",
            )],
        },
        // ----- config/requests.json
        Row {
            name: "a request template named in the manifest but not in requests.json",
            files: file(
                "manifest.json",
                r#"{"platform-version": "2.3", "product": {"freshdesk": {
                    "requests": {"getContact": {}, "createNote": {}}}}}"#,
            ),
            without: &[],
            expected: &[(
                "manifest.json",
                "/product/freshdesk/requests/createNote",
                "the request template \"createNote\" is not defined in config/requests.json",
            )],
        },
        Row {
            name: "a request template without host",
            files: file(
                "config/requests.json",
                r#"{"getContact": {"schema": {"method": "GET", "host": "example.com"}},
                    "createNote": {"schema": {"method": "POST", "path": "/api/v2/notes"}}}"#,
            ),
            without: &[],
            expected: &[(
                "config/requests.json",
                "/createNote/schema",
                "needs a \"host\"",
            )],
        },
        Row {
            name: "a request template with an unknown method",
            files: file(
                "config/requests.json",
                r#"{"getContact": {"schema": {"method": "GET", "host": "example.com"}},
                    "createNote": {"schema": {"method": "FETCH", "host": "example.com"}}}"#,
            ),
            without: &[],
            expected: &[(
                "config/requests.json",
                "/createNote/schema/method",
                "unknown method \"FETCH\" (one of: GET, POST, PUT, PATCH, DELETE)",
            )],
        },
        Row {
            name: "a request template path without a leading slash",
            files: file(
                "config/requests.json",
                r#"{"getContact": {"schema": {"method": "GET", "host": "example.com"}},
                    "createNote": {"schema": {"method": "POST", "host": "example.com",
                                              "path": "api/v2/notes"}}}"#,
            ),
            without: &[],
            expected: &[(
                "config/requests.json",
                "/createNote/schema/path",
                "\"api/v2/notes\" must start with /",
            )],
        },
        Row {
            name: "a request template with maxAttempts out of range",
            files: file(
                "config/requests.json",
                r#"{"getContact": {"schema": {"method": "GET", "host": "example.com"}},
                    "createNote": {"schema": {"method": "POST", "host": "example.com"},
                                   "options": {"maxAttempts": 6}}}"#,
            ),
            without: &[],
            expected: &[(
                "config/requests.json",
                "/createNote/options/maxAttempts",
                "must be a whole number from 1 to 5",
            )],
        },
        Row {
            // getContact is defined, only broken: one problem, not a second "not defined" one.
            name: "a broken request template that the manifest names is reported once",
            files: file(
                "config/requests.json",
                r#"{"getContact": {"schema": {"method": "GET"}}}"#,
            ),
            without: &[],
            expected: &[(
                "config/requests.json",
                "/getContact/schema",
                "needs a \"host\"",
            )],
        },
        // ----- config/iparams.json
        Row {
            name: "two installation pages",
            files: file("config/iparams.html", "<html><body></body></html>"),
            without: &[],
            expected: &[(
                "config/iparams.html",
                "",
                "an app has one installation page: config/iparams.json or config/iparams.html, \
                 not both",
            )],
        },
        Row {
            name: "an iparam without display_name",
            files: file(
                "config/iparams.json",
                r#"{"api_key": {"type": "text", "required": true, "secure": true}}"#,
            ),
            without: &[],
            expected: &[(
                "config/iparams.json",
                "/api_key",
                "needs a \"display_name\"",
            )],
        },
        Row {
            name: "an iparam of an unknown type",
            files: file(
                "config/iparams.json",
                r#"{"api_key": {"display_name": "API key", "type": "password", "secure": true}}"#,
            ),
            without: &[],
            expected: &[(
                "config/iparams.json",
                "/api_key/type",
                "unknown type \"password\" (one of: text, paragraph, dropdown, multiselect, \
                 email, phone_number, phonenumber, number, url, date, radio, checkbox, api_key, domain)",
            )],
        },
        Row {
            name: "a dropdown iparam without options",
            files: file(
                "config/iparams.json",
                r#"{"region": {"display_name": "Region", "type": "dropdown"}}"#,
            ),
            without: &[],
            expected: &[(
                "config/iparams.json",
                "/region",
                "a dropdown needs \"options\"",
            )],
        },
        Row {
            name: "an iparam default of the wrong type",
            files: file(
                "config/iparams.json",
                r#"{"retries": {"display_name": "Retries", "type": "number",
                                "default_value": "three"}}"#,
            ),
            without: &[],
            expected: &[(
                "config/iparams.json",
                "/retries/default_value",
                "a number default must be a number",
            )],
        },
        Row {
            name: "an iparam whose secure is not true or false",
            files: file(
                "config/iparams.json",
                r#"{"api_key": {"display_name": "API key", "type": "text", "secure": "yes"}}"#,
            ),
            without: &[],
            expected: &[(
                "config/iparams.json",
                "/api_key/secure",
                "must be true or false",
            )],
        },
        // ----- resources.json and plugin-manifest.json (Zoho Desk)
        Row {
            name: "a Zoho subscription to an unknown event",
            files: zoho_files(zoho_webhook_with(
                json!({"subscriptions": {"Ticket_Add": null, "Ticket_Create": null}}),
            )),
            without: &[],
            expected: &[(
                "resources.json",
                "/webhook/subscriptions/Ticket_Create",
                "\"Ticket_Create\" is not a Zoho Desk event",
            )],
        },
        Row {
            name: "a Zoho subscription option that the event does not take",
            files: zoho_files(zoho_webhook_with(
                json!({"subscriptions": {"Ticket_Add": {"includePrevState": true}}}),
            )),
            without: &[],
            expected: &[(
                "resources.json",
                "/webhook/subscriptions/Ticket_Add/includePrevState",
                "Ticket_Add takes no option \"includePrevState\" (it takes null)",
            )],
        },
        Row {
            name: "a Zoho subscription with departmentIds",
            files: zoho_files(zoho_webhook_with(
                json!({"subscriptions": {"Ticket_Add": {"departmentIds": ["4000000007043"]}}}),
            )),
            without: &[],
            expected: &[(
                "resources.json",
                "/webhook/subscriptions/Ticket_Add/departmentIds",
                "leave departmentIds out: deliveries are filtered by the departments chosen at \
                 installation",
            )],
        },
        Row {
            name: "a Zoho webhook url over 100 characters",
            files: zoho_files(zoho_webhook_with(json!({
                "url": "https://hooks.example.com/zoho/ticket-events/ticket-events/ticket-events/\
                        ticket-events/ticket-events/"
            }))),
            without: &[],
            expected: &[(
                "resources.json",
                "/webhook/url",
                "is 101 characters long; Zoho allows 100",
            )],
        },
        Row {
            name: "a Zoho webhook url that is not http or https",
            files: zoho_files(zoho_webhook_with(
                json!({"url": "ftp://hooks.example.com/zoho"}),
            )),
            without: &[],
            expected: &[(
                "resources.json",
                "/webhook/url",
                "\"ftp://hooks.example.com/zoho\" must be an http or https URL with a host",
            )],
        },
        Row {
            // A subscription the API would refuse is refused at upload, not at install.
            name: "a Zoho webhook url without a host",
            files: zoho_files(zoho_webhook_with(json!({"url": "https://"}))),
            without: &[],
            expected: &[(
                "resources.json",
                "/webhook/url",
                "\"https://\" is not a URL: empty host",
            )],
        },
        Row {
            name: "a Zoho ignoreSourceId that is not a UUID",
            files: zoho_files(zoho_webhook_with(json!({"ignoreSourceId": "weir-app-1"}))),
            without: &[],
            expected: &[(
                "resources.json",
                "/webhook/ignoreSourceId",
                "\"weir-app-1\" is not a UUID",
            )],
        },
        Row {
            name: "a Zoho resourceName used twice",
            files: zoho_files(json!([
                zoho_webhook(),
                zoho_webhook_with(json!({"url": "https://hooks.example.com/other"})),
            ])),
            without: &[],
            expected: &[(
                "resources.json",
                "/webhook/1/resourceName",
                "the resourceName \"tickets\" is used twice",
            )],
        },
        Row {
            name: "Zoho extension webhooks without the Desk.events.ALL scope",
            files: vec![
                (
                    "resources.json",
                    json!({"webhook": zoho_webhook()}).to_string(),
                ),
                (
                    "plugin-manifest.json",
                    json!({"zohoAuthorisation": {"type": "connectors",
                                                 "scope": ["Desk.tickets.READ"]}})
                    .to_string(),
                ),
            ],
            without: &[],
            expected: &[(
                "plugin-manifest.json",
                "/zohoAuthorisation/scope",
                "extension webhooks need the Desk.events.ALL scope here",
            )],
        },
        Row {
            // Issue 16: the missing scope used to wait until the event was fixed.
            name: "a Zoho subscription to an unknown event, without the Desk.events.ALL scope",
            files: vec![
                (
                    "resources.json",
                    json!({"webhook": zoho_webhook_with(
                        json!({"subscriptions": {"Ticket_Add": null, "Ticket_Create": null}}),
                    )})
                    .to_string(),
                ),
                (
                    "plugin-manifest.json",
                    json!({"zohoAuthorisation": {"type": "connectors",
                                                 "scope": ["Desk.tickets.READ"]}})
                    .to_string(),
                ),
            ],
            without: &[],
            expected: &[
                (
                    "resources.json",
                    "/webhook/subscriptions/Ticket_Create",
                    "\"Ticket_Create\" is not a Zoho Desk event",
                ),
                (
                    "plugin-manifest.json",
                    "/zohoAuthorisation/scope",
                    "extension webhooks need the Desk.events.ALL scope here",
                ),
            ],
        },
        Row {
            name: "a Zoho Ticket_Update subscription with more than 5 fields",
            files: zoho_files(zoho_webhook_with(
                json!({"subscriptions": {"Ticket_Update": {
                    "fields": ["status", "priority", "assigneeId", "dueDate", "category", "subject"]
                }}}),
            )),
            without: &[],
            expected: &[(
                "resources.json",
                "/webhook/subscriptions/Ticket_Update/fields",
                "names 6 fields; Zoho allows at most 5",
            )],
        },
        Row {
            name: "a Zoho Ticket_Thread_Add direction other than in or out",
            files: zoho_files(zoho_webhook_with(
                json!({"subscriptions": {"Ticket_Thread_Add": {"direction": "both"}}}),
            )),
            without: &[],
            expected: &[(
                "resources.json",
                "/webhook/subscriptions/Ticket_Thread_Add/direction",
                "\"both\" must be \"in\" or \"out\"",
            )],
        },
        // ----- config/webhooks.json (registered outbound webhooks)
        Row {
            name: "a registered webhook id used twice",
            files: registered_webhooks_with(
                json!({"id": "notify", "url": "https://api.example.com/other", "method": "GET"}),
            ),
            without: &[],
            expected: &[(
                "config/webhooks.json",
                "/1/id",
                "the webhook id \"notify\" is registered twice",
            )],
        },
        Row {
            name: "a registered webhook with an unknown method",
            files: registered_webhooks_with(
                json!({"id": "patch", "url": "https://api.example.com/x", "method": "PATCH"}),
            ),
            without: &[],
            expected: &[(
                "config/webhooks.json",
                "/1/method",
                "unknown method \"PATCH\" (one of: GET, POST, PUT, DELETE)",
            )],
        },
        Row {
            name: "a registered webhook with an unknown field",
            files: registered_webhooks_with(json!({
                "id": "upload", "url": "https://api.example.com/x", "method": "POST",
                "body": "{}"
            })),
            without: &[],
            expected: &[(
                "config/webhooks.json",
                "/1/body",
                "unknown field \"body\" (expected one of: id, url, method, headers, queryParams, \
                 payload_encoding, then)",
            )],
        },
        Row {
            name: "a base64 registered webhook without a Content-Type header",
            files: registered_webhooks_with(json!({
                "id": "photo", "url": "https://api.example.com/photo", "method": "PUT",
                "headers": {"Authorization": "Bearer <%= iparam.token %>"},
                "payload_encoding": "base64"
            })),
            without: &[],
            expected: &[(
                "config/webhooks.json",
                "/1/payload_encoding",
                "base64 payloads need a Content-Type header (e.g. image/jpeg)",
            )],
        },
        Row {
            name: "a registered webhook with a payload_encoding other than base64",
            files: registered_webhooks_with(json!({
                "id": "photo", "url": "https://api.example.com/photo", "method": "PUT",
                "headers": {"Content-Type": "image/jpeg"},
                "payload_encoding": "binary"
            })),
            without: &[],
            expected: &[(
                "config/webhooks.json",
                "/1/payload_encoding",
                "the only payload_encoding is \"base64\"",
            )],
        },
        Row {
            name: "a dependency that is not in the package",
            files: vec![
                (
                    "manifest.json",
                    r#"{"platform-version": "2.3", "product": {"freshdesk": {}},
                    "dependencies": {"axios": "1.6.0", "lodash": "4.17.21"}}"#
                        .to_owned(),
                ),
                ("server/node_modules/lodash/lodash.js", String::new()),
                (
                    "server/package.json",
                    r#"{"dependencies": {"lodash": "4", "moment": "2"},
                        "devDependencies": {"jest": "29"}}"#
                        .to_owned(),
                ),
            ],
            without: &[],
            expected: &[
                (
                    "manifest.json",
                    "/dependencies/axios",
                    "server/node_modules/axios is not installed (run npm install in server/ and \
                     ship server/node_modules with the app: Weir cannot install npm packages)",
                ),
                (
                    "server/package.json",
                    "/dependencies/moment",
                    "server/node_modules/moment is not installed (run npm install in server/ \
                     and ship server/node_modules with the app: Weir cannot install npm \
                     packages)",
                ),
            ],
        },
        Row {
            name: "a dependency whose name would leave server/node_modules",
            files: vec![
                (
                    "manifest.json",
                    r#"{"platform-version": "2.3", "product": {"freshdesk": {}},
                    "dependencies": {"../../etc": "1.0.0", "@scope/ok-name": "2.0.0"}}"#
                        .to_owned(),
                ),
                (
                    "server/node_modules/@scope/ok-name/package.json",
                    "{}".to_owned(),
                ),
            ],
            without: &[],
            expected: &[(
                "manifest.json",
                "/dependencies/..~1..~1etc",
                "\"../../etc\" is not an npm package name",
            )],
        },
        // ----- Several files broken at once: all reported together
        Row {
            name: "problems in five files are all reported",
            files: vec![
                (
                    "manifest.json",
                    r#"{"platform-version": "2.3", "product": {"freshdesk": {"events": {
                        "onTicketCreate": {"handler": "on-ticket-create"},
                        "onAppInstall": {"handler": "onAppInstallHandler"}}}}}"#
                        .to_owned(),
                ),
                (
                    "config/iparams.json",
                    r#"{"api_key": {"type": "text"}}"#.to_owned(),
                ),
                (
                    "config/webhooks.json",
                    json!([{"id": "notify", "url": "https://example.com", "method": "SEND"}])
                        .to_string(),
                ),
                (
                    "server/test_data/onTicketCreate.json",
                    "{\"data\": ".to_owned(),
                ),
            ],
            without: &["server/server.js"],
            expected: &[
                (
                    "manifest.json",
                    "/product/freshdesk/events/onTicketCreate/handler",
                    "\"on-ticket-create\" is not a JavaScript function name",
                ),
                (
                    "config/iparams.json",
                    "/api_key",
                    "needs a \"display_name\"",
                ),
                (
                    "config/webhooks.json",
                    "/0/method",
                    "unknown method \"SEND\" (one of: GET, POST, PUT, DELETE)",
                ),
                (
                    "server/test_data/onTicketCreate.json",
                    "1:9",
                    "EOF while parsing a value",
                ),
                (
                    "server/server.js",
                    "",
                    "missing, but manifest.json names handlers or functions in it",
                ),
            ],
        },
        // ----- config/entities.json (entity storage)
        Row {
            name: "entities.json with a trailing comma",
            files: file(
                "config/entities.json",
                "{\"rooms\": {\"fields\": [{\"name\": \"n\", \"type\": \"text\"},]}}",
            ),
            without: &[],
            expected: &[("config/entities.json", "1:53", "trailing comma")],
        },
        Row {
            name: "an entity field of an unknown type, and an enum without choices",
            files: file(
                "config/entities.json",
                &json!({"rooms": {"fields": [
                    {"name": "number", "type": "text", "filterable": true},
                    {"name": "floor", "type": "number"},
                    {"name": "kind", "type": "enum"}
                ]}})
                .to_string(),
            ),
            without: &[],
            expected: &[
                (
                    "config/entities.json",
                    "/rooms/fields/1/type",
                    "unknown type \"number\" (one of: text, paragraph, integer, float, \
                     datetime, boolean, enum, date, section)",
                ),
                (
                    "config/entities.json",
                    "/rooms/fields/2",
                    "an enum field needs \"choices\", its options",
                ),
            ],
        },
    ]
}

/// The problems of one row, for the failure report.
fn describe(problems: &[(&str, &str, &str)]) -> String {
    if problems.is_empty() {
        return "      (none)\n".to_owned();
    }
    problems
        .iter()
        .map(|(file, location, message)| format!("      ({file:?}, {location:?}, {message:?})\n"))
        .collect()
}

#[test]
fn each_broken_package_reports_exactly_its_problems() {
    let rows = rows();
    let mut failures = Vec::new();
    for row in &rows {
        let problems: Vec<PackageProblem> = match AppDefinition::parse(&row.package()) {
            Ok(_) => Vec::new(),
            Err(problems) => problems,
        };
        let actual: Vec<(&str, &str, &str)> = problems
            .iter()
            .map(|p| (p.file.as_str(), p.location.as_str(), p.message.as_str()))
            .collect();
        if actual != row.expected {
            failures.push(format!(
                "  {}\n    expected:\n{}    reported:\n{}",
                row.name,
                describe(row.expected),
                describe(&actual)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

#[test]
fn the_rows_have_distinct_names_and_each_expects_a_problem() {
    let rows = rows();
    let mut names: Vec<&str> = rows.iter().map(|r| r.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), rows.len(), "two rows share a name");
    assert!(rows.iter().all(|r| !r.expected.is_empty()));
}

#[test]
fn the_base_package_is_valid() {
    let app = AppDefinition::parse(&package(BASE_FILES)).expect("the base package parses");
    assert_eq!(app.platform_version, Some(PlatformVersion::V2_3));
    assert!(
        app.entities.is_empty(),
        "entity storage is for apps that declare it"
    );
}

// ----- Zip-level refusals --------------------------------------------------------------

/// A zip archive of these entries, in this order.
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, content) in entries {
        writer
            .start_file(*name, SimpleFileOptions::default())
            .expect("a zip entry");
        writer.write_all(content).expect("zip content");
    }
    writer.finish().expect("a zip archive").into_inner()
}

const SMALL_MANIFEST: &[u8] = br#"{"platform-version": "2.0", "product": {"freshdesk": {}}}"#;

#[test]
fn a_zip_entry_that_climbs_out_with_dot_dot_is_refused() {
    let bytes = zip_of(&[
        ("manifest.json", SMALL_MANIFEST),
        ("server/../../server.js", b"exports = {};"),
    ]);
    assert_eq!(
        Package::from_zip(&bytes, PackageLimits::default()),
        Err(PackageError::UnsafePath {
            path: "server/../../server.js".to_owned()
        })
    );
}

#[test]
fn a_zip_entry_that_climbs_out_with_backslashes_is_refused() {
    // Windows archivers write `\`; the package turns it into `/`, so `..\x` is `../x`.
    let bytes = zip_of(&[
        ("manifest.json", SMALL_MANIFEST),
        ("..\\server.js", b"exports = {};"),
    ]);
    assert_eq!(
        Package::from_zip(&bytes, PackageLimits::default()),
        Err(PackageError::UnsafePath {
            path: "..\\server.js".to_owned()
        })
    );
}

#[test]
fn a_zip_entry_with_an_absolute_path_is_refused() {
    let bytes = zip_of(&[
        ("manifest.json", SMALL_MANIFEST),
        ("/etc/cron.d/weir", b"* * * * * root true"),
    ]);
    assert_eq!(
        Package::from_zip(&bytes, PackageLimits::default()),
        Err(PackageError::UnsafePath {
            path: "/etc/cron.d/weir".to_owned()
        })
    );
}

#[test]
fn a_zip_symlink_entry_is_refused() {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    writer
        .start_file("manifest.json", SimpleFileOptions::default())
        .expect("a zip entry");
    writer.write_all(SMALL_MANIFEST).expect("zip content");
    writer
        .add_symlink(
            "server/server.js",
            "/etc/passwd",
            SimpleFileOptions::default(),
        )
        .expect("a symlink entry");
    let bytes = writer.finish().expect("a zip archive").into_inner();
    assert_eq!(
        Package::from_zip(&bytes, PackageLimits::default()),
        Err(PackageError::Link {
            path: "server/server.js".to_owned()
        })
    );
}

#[test]
fn a_zip_with_too_many_files_is_refused() {
    let bytes = zip_of(&[
        ("manifest.json", SMALL_MANIFEST),
        ("server/server.js", b"exports = {};"),
        ("server/lib/a.js", b""),
        ("server/lib/b.js", b""),
    ]);
    let limits = PackageLimits {
        max_files: 3,
        ..PackageLimits::default()
    };
    assert_eq!(
        Package::from_zip(&bytes, limits),
        Err(PackageError::TooManyFiles { limit: 3 })
    );
}

#[test]
fn a_zip_that_unpacks_too_large_is_refused() {
    // Zeros compress to almost nothing: the limit is on what the archive unpacks to.
    let padding = vec![0u8; 4096];
    let bytes = zip_of(&[
        ("manifest.json", SMALL_MANIFEST),
        ("server/padding.bin", &padding),
    ]);
    assert!(bytes.len() < 1024, "the archive itself is small");
    let limits = PackageLimits {
        max_unpacked_bytes: 1024,
        ..PackageLimits::default()
    };
    assert_eq!(
        Package::from_zip(&bytes, limits),
        Err(PackageError::TooLarge { limit: 1024 })
    );
}

#[test]
fn a_zip_of_the_app_folder_parses() {
    let bytes = zip_of(&[
        ("my-app/manifest.json", BASE_MANIFEST.as_bytes()),
        ("my-app/server/server.js", BASE_SERVER_JS.as_bytes()),
        ("my-app/config/requests.json", BASE_REQUESTS.as_bytes()),
    ]);
    let package = Package::from_zip(&bytes, PackageLimits::default()).expect("a package");
    let app = AppDefinition::parse(&package).expect("a valid app");
    assert_eq!(app.platform_version, Some(PlatformVersion::V2_3));
    assert_eq!(app.request_templates[0].name, "getContact");
}

// ----- Valid packages, and what they parse into ----------------------------------------

fn handler(event: &str, function: &str) -> Handler {
    Handler {
        event: event.to_owned(),
        function: function.to_owned(),
    }
}

fn function(name: &str, timeout_secs: Option<u32>) -> ServerFunction {
    ServerFunction {
        name: name.to_owned(),
        timeout_secs,
    }
}

fn pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_2_3_omni_app_for_freshsales_and_freshworks_crm() {
    let app = AppDefinition::parse(&package(&[
        (
            "manifest.json",
            r#"{
              "platform-version": "2.3",
              "name": "Deal notifier",
              "product": {
                "freshsales": {
                  "events": {
                    "onContactCreate": {"handler": "onContactCreateHandler"},
                    "onDealUpdate": {"handler": "onDealUpdateHandler"}
                  },
                  "requests": {"getDeal": {}}
                },
                "freshworks_crm": {
                  "events": {"onContactCreate": {"handler": "onContactCreateHandler"}},
                  "functions": {"syncContact": {"timeout": 15}, "ping": {}},
                  "requests": {"getDeal": {}}
                }
              },
              "engines": {"node": "18.20.8", "fdk": "9.7.4"},
              "dependencies": {"axios": "1.6.0"}
            }"#,
        ),
        ("server/server.js", "exports = {};"),
        (
            "server/node_modules/axios/package.json",
            r#"{"main": "index.js"}"#,
        ),
        (
            "config/requests.json",
            r#"{"getDeal": {
              "schema": {
                "method": "get",
                "host": "<%= iparam.domain %>",
                "path": "/crm/sales/api/deals/<%= context.id %>",
                "headers": {"Authorization": "Token token=<%= iparam.api_key %>",
                            "Content-Type": "application/json"},
                "query": {"include": "owner"}
              },
              "options": {"maxAttempts": 3, "retryDelay": 500}
            }}"#,
        ),
        (
            "config/iparams.json",
            r#"{
              "domain": {"display_name": "Domain", "type": "domain", "required": true,
                         "type_attributes": {"product": "freshsales"}},
              "api_key": {"display_name": "API key", "type": "api_key", "required": true,
                          "secure": true, "description": "Profile settings, API key"},
              "region": {"display_name": "Region", "type": "dropdown", "options": ["US", "EU"],
                         "default_value": "EU"}
            }"#,
        ),
        ("server/test_data/freshsales/onDealUpdate.json", "{}"),
    ]))
    .expect("a valid omni app");

    assert_eq!(app.name.as_ref().map(|n| n.as_str()), Some("Deal notifier"));
    assert_eq!(app.platform_version, Some(PlatformVersion::V2_3));
    assert_eq!(
        app.scopes,
        [
            EventScope {
                kind: ScopeKind::Product,
                name: "freshsales".to_owned(),
                handlers: Some(vec![
                    handler("onContactCreate", "onContactCreateHandler"),
                    handler("onDealUpdate", "onDealUpdateHandler"),
                ]),
                functions: vec![],
                requests: strings(&["getDeal"]),
            },
            EventScope {
                kind: ScopeKind::Product,
                name: "freshworks_crm".to_owned(),
                handlers: Some(vec![handler("onContactCreate", "onContactCreateHandler")]),
                functions: vec![function("syncContact", Some(15)), function("ping", None)],
                requests: strings(&["getDeal"]),
            },
        ]
    );
    assert_eq!(
        app.request_templates,
        [RequestTemplate {
            name: "getDeal".to_owned(),
            method: "GET".to_owned(),
            protocol: "https".to_owned(),
            host: "<%= iparam.domain %>".to_owned(),
            path: "/crm/sales/api/deals/<%= context.id %>".to_owned(),
            headers: pairs(&[
                ("Authorization", "Token token=<%= iparam.api_key %>"),
                ("Content-Type", "application/json"),
            ]),
            query: pairs(&[("include", "owner")]),
            max_attempts: Some(3),
            retry_delay_ms: Some(500),
            is_oauth: false,
            oauth: None,
        }]
    );
    assert_eq!(
        app.iparams,
        [
            IparamSpec {
                display_name: "Domain".to_owned(),
                kind: "domain".to_owned(),
                ..IparamSpec::text("domain", true, false)
            },
            IparamSpec {
                display_name: "API key".to_owned(),
                description: Some("Profile settings, API key".to_owned()),
                kind: "api_key".to_owned(),
                ..IparamSpec::text("api_key", true, true)
            },
            IparamSpec {
                display_name: "Region".to_owned(),
                kind: "dropdown".to_owned(),
                default_value: Some(json!("EU")),
                options: vec![json!("US"), json!("EU")],
                ..IparamSpec::text("region", false, false)
            },
        ]
    );
    assert_eq!(app.engines, pairs(&[("node", "18.20.8"), ("fdk", "9.7.4")]));
    assert_eq!(app.dependencies, pairs(&[("axios", "1.6.0")]));
    assert_eq!(
        app.test_data,
        [TestPayload {
            scope: Some("freshsales".to_owned()),
            event: "onDealUpdate".to_owned(),
            path: "server/test_data/freshsales/onDealUpdate.json".to_owned(),
        }]
    );
}

#[test]
fn a_3_0_app_with_common_and_support_ticket() {
    let app = AppDefinition::parse(&package(&[
        (
            "manifest.json",
            r#"{
              "platform-version": "3.0",
              "modules": {
                "common": {
                  "events": {
                    "onAppInstall": {"handler": "onAppInstallHandler"},
                    "onExternalEvent": {"handler": "onExternalEventHandler"},
                    "onScheduledEvent": {"handler": "onScheduledEventHandler"}
                  },
                  "functions": {"lookupRequester": {"timeout": 20}},
                  "requests": {"getTicket": {}}
                },
                "support_ticket": {
                  "events": {
                    "onTicketCreate": {"handler": "onTicketHandler"},
                    "onTicketUpdate": {"handler": "onTicketHandler"}
                  }
                }
              },
              "engines": {"node": "18.20.8", "fdk": "9.7.4"}
            }"#,
        ),
        ("server/server.js", "exports = {};"),
        (
            "config/requests.json",
            r#"{"getTicket": {
              "schema": {"method": "GET", "protocol": "http", "host": "tickets.example.com",
                         "path": "/tickets"},
              "options": {"isOAuth": true}
            }}"#,
        ),
        (
            "config/oauth_config.json",
            r#"{"client_id": "abc", "client_secret": "xyz"}"#,
        ),
        ("server/test_data/common/onAppInstall.json", "{}"),
        ("server/test_data/support_ticket/onTicketCreate.json", "{}"),
        (
            "server/test_data/support_ticket/fixtures/big.json",
            "not read: too deep",
        ),
    ]))
    .expect("a valid global app");

    assert_eq!(app.platform_version, Some(PlatformVersion::V3_0));
    assert_eq!(
        app.scopes,
        [
            EventScope {
                kind: ScopeKind::Module,
                name: "common".to_owned(),
                handlers: Some(vec![
                    handler("onAppInstall", "onAppInstallHandler"),
                    handler("onExternalEvent", "onExternalEventHandler"),
                    handler("onScheduledEvent", "onScheduledEventHandler"),
                ]),
                functions: vec![function("lookupRequester", Some(20))],
                requests: strings(&["getTicket"]),
            },
            EventScope {
                kind: ScopeKind::Module,
                name: "support_ticket".to_owned(),
                handlers: Some(vec![
                    handler("onTicketCreate", "onTicketHandler"),
                    handler("onTicketUpdate", "onTicketHandler"),
                ]),
                functions: vec![],
                requests: vec![],
            },
        ]
    );
    let template = &app.request_templates[..];
    assert_eq!(template.len(), 1);
    assert_eq!(
        (template[0].protocol.as_str(), template[0].is_oauth),
        ("http", true)
    );
    assert_eq!(
        app.oauth_config,
        Some(json!({"client_id": "abc", "client_secret": "xyz"}))
    );
    let test_events: Vec<(Option<&str>, &str)> = app
        .test_data
        .iter()
        .map(|t| (t.scope.as_deref(), t.event.as_str()))
        .collect();
    assert_eq!(
        test_events,
        [
            (Some("common"), "onAppInstall"),
            (Some("support_ticket"), "onTicketCreate")
        ]
    );
}

#[test]
fn a_2_0_app_declares_its_events_in_server_js() {
    let app = AppDefinition::parse(&package(&[
        (
            "manifest.json",
            r#"{"platform-version": "2.0", "product": {"freshdesk": {}},
                "whitelisted-domains": ["https://*.freshdesk.com"]}"#,
        ),
        (
            "server/server.js",
            "exports = { events: [{event: 'onTicketCreate', callback: 'onTicketCreateHandler'}],\
             onTicketCreateHandler(args) {} };",
        ),
        ("server/test_data/onTicketCreate.json", "{}"),
    ]))
    .expect("a valid 2.0 app");

    assert_eq!(app.platform_version, Some(PlatformVersion::V2_0));
    assert_eq!(
        app.scopes,
        [EventScope {
            kind: ScopeKind::Product,
            name: "freshdesk".to_owned(),
            handlers: None,
            functions: vec![],
            requests: vec![],
        }]
    );
    assert_eq!(
        app.whitelisted_domains,
        strings(&["https://*.freshdesk.com"])
    );
    assert_eq!(app.test_data[0].scope, None);
}

#[test]
fn a_zoho_extension_with_webhooks_and_the_events_scope() {
    let resources = json!({"webhook": [
        {
            "resourceName": "tickets",
            "url": "https://hooks.example.com/zoho",
            "name": "Ticket events",
            "description": "Tells the app about tickets",
            "subscriptions": {
                "Ticket_Add": null,
                "Ticket_Update": {"includePrevState": true, "fields": ["status", "priority"]},
                "Ticket_Thread_Add": {"direction": "in"},
                "Ticket_Attachment_Add": {}
            },
            "ignoreSourceId": "2df92c1a-973a-48f5-95b7-5792c68b9c36"
        },
        {
            "resourceName": "contacts",
            "url": "http://hooks.example.com/contacts",
            "name": "Contact events",
            "subscriptions": {"Contact_Update": {"includePrevState": false}},
            "ignoreSourceId": "0b6a2f0e-1c1d-4e8f-9a7b-3c2d1e0f9a8b"
        }
    ]});
    let app = AppDefinition::parse(&package(&[
        ("plugin-manifest.json", PLUGIN_MANIFEST),
        ("resources.json", &resources.to_string()),
    ]))
    .expect("a valid Zoho Desk extension");

    let subscription = |event: &str| ZohoSubscription {
        event: event.to_owned(),
        include_prev_state: false,
        fields: vec![],
        direction: None,
    };
    assert_eq!(app.platform_version, None);
    assert!(app.scopes.is_empty());
    assert_eq!(
        app.authorisation_scopes,
        strings(&["Desk.tickets.READ", "Desk.events.ALL"])
    );
    assert_eq!(
        app.extension_webhooks,
        [
            ExtensionWebhook {
                resource_name: "tickets".to_owned(),
                url: SubscriptionUrl::parse("https://hooks.example.com/zoho").unwrap(),
                name: "Ticket events".to_owned(),
                description: Some("Tells the app about tickets".to_owned()),
                subscriptions: vec![
                    subscription("Ticket_Add"),
                    ZohoSubscription {
                        include_prev_state: true,
                        fields: strings(&["status", "priority"]),
                        ..subscription("Ticket_Update")
                    },
                    ZohoSubscription {
                        direction: Some("in".to_owned()),
                        ..subscription("Ticket_Thread_Add")
                    },
                    subscription("Ticket_Attachment_Add"),
                ],
                ignore_source_id: "2df92c1a-973a-48f5-95b7-5792c68b9c36".to_owned(),
            },
            ExtensionWebhook {
                resource_name: "contacts".to_owned(),
                url: SubscriptionUrl::parse("http://hooks.example.com/contacts").unwrap(),
                name: "Contact events".to_owned(),
                description: None,
                subscriptions: vec![subscription("Contact_Update")],
                ignore_source_id: "0b6a2f0e-1c1d-4e8f-9a7b-3c2d1e0f9a8b".to_owned(),
            },
        ]
    );
}

#[test]
fn a_zoho_free_form_event_keeps_its_options() {
    // Zoho's schema gives Ticket_Attachment_Add an object with no listed properties
    // (REFERENCE §5), and the catalogue marks it `free_form`: whatever it holds is kept.
    let webhook = zoho_webhook_with(json!({"subscriptions": {
        "Ticket_Attachment_Add": {"fileTypes": ["pdf"]}
    }}));
    let result = AppDefinition::parse(&package(&[
        ("plugin-manifest.json", PLUGIN_MANIFEST),
        ("resources.json", &json!({ "webhook": webhook }).to_string()),
    ]));
    assert_eq!(
        result.map(|app| app.extension_webhooks[0].subscriptions.len()),
        Ok(1)
    );
}

#[test]
fn registered_webhooks_in_config_webhooks_json() {
    let webhooks = json!([
        {
            "id": "addons-demo-webhook",
            "url": "https://api.example.com/hooks/<%= iparam.tenant %>",
            "method": "post",
            "headers": {"X-Api-Key": "<%= iparam.api_key %>", "Accept": "application/json"},
            "queryParams": ["pageNum", "pageSize"]
        },
        {
            "id": "upload.photo",
            "url": "https://files.example.com/photos",
            "method": "PUT",
            "headers": {"content-type": "image/jpeg"},
            "payload_encoding": "base64"
        }
    ]);
    let app = AppDefinition::parse(&package(&[
        ("manifest.json", BASE_MANIFEST),
        ("server/server.js", BASE_SERVER_JS),
        ("config/requests.json", BASE_REQUESTS),
        ("config/webhooks.json", &webhooks.to_string()),
    ]))
    .expect("a valid app with registered webhooks");

    assert_eq!(
        app.registered_webhooks,
        [
            RegisteredWebhook {
                id: "addons-demo-webhook".to_owned(),
                url: "https://api.example.com/hooks/<%= iparam.tenant %>".to_owned(),
                method: Some(HttpMethod::Post),
                headers: pairs(&[
                    ("X-Api-Key", "<%= iparam.api_key %>"),
                    ("Accept", "application/json"),
                ]),
                query_params: strings(&["pageNum", "pageSize"]),
                base64_payload: false,
                then: None,
            },
            RegisteredWebhook {
                id: "upload.photo".to_owned(),
                url: "https://files.example.com/photos".to_owned(),
                method: Some(HttpMethod::Put),
                headers: pairs(&[("content-type", "image/jpeg")]),
                query_params: vec![],
                base64_payload: true,
                then: None,
            },
        ]
    );
}

#[test]
fn every_documented_iparam_type_is_accepted() {
    // The Freshworks installation-parameter docs list these types; note `phone_number`.
    let types = [
        "text",
        "paragraph",
        "dropdown",
        "email",
        "number",
        "phone_number",
        "date",
        "url",
        "radio",
        "checkbox",
        "multiselect",
        "domain",
        "api_key",
    ];
    let iparams: serde_json::Map<String, Value> = types
        .iter()
        .map(|kind| {
            let spec = json!({"display_name": kind, "type": kind, "options": ["a", "b"]});
            (format!("p_{kind}"), spec)
        })
        .collect();
    let result = AppDefinition::parse(&package(&[
        ("manifest.json", BASE_MANIFEST),
        ("server/server.js", BASE_SERVER_JS),
        ("config/requests.json", BASE_REQUESTS),
        ("config/iparams.json", &Value::Object(iparams).to_string()),
    ]));
    let kinds: Vec<String> = result
        .expect("every documented type is accepted")
        .iparams
        .into_iter()
        .map(|spec| spec.kind)
        .collect();
    assert_eq!(kinds.len(), types.len());
}

#[test]
fn a_custom_installation_page_app_declares_no_iparams() {
    let app = AppDefinition::parse(&package(&[
        (
            "manifest.json",
            r#"{"platform-version": "2.3", "product": {"freshdesk": {}}}"#,
        ),
        ("config/iparams.html", "<html><body>…</body></html>"),
        (
            "config/assets/iparams.js",
            "function postConfigs() { return {}; }",
        ),
    ]))
    .unwrap();
    assert_eq!(app.iparams_page, IparamsPage::Custom);
    assert!(app.iparams.is_empty());
    let plain = AppDefinition::parse(&package(&[(
        "manifest.json",
        r#"{"platform-version": "2.3", "product": {"freshdesk": {}}}"#,
    )]))
    .unwrap();
    assert_eq!(plain.iparams_page, IparamsPage::Declared);
}

/// Events and modules the catalogue learnt from the documentation parse, where they
/// belong only.
#[test]
fn leads_portal_and_suite_modules_parse() {
    let app = AppDefinition::parse(&package(&[
        (
            "manifest.json",
            r#"{"platform-version": "2.3", "product": {
                "freshsales": {"events": {"onLeadCreate": {"handler": "lead"}}},
                "freshworks_crm": {"events": {"onLeadCreate": {"handler": "lead"},
                                              "onCpqDocumentCreate": {"handler": "cpq"}}},
                "freshdesk": {"events": {"onArticleCreate": {"handler": "article"}}}}}"#,
        ),
        (
            "server/server.js",
            "exports = { lead: function () {}, cpq: function () {}, article: function () {} };",
        ),
    ]));
    assert!(app.is_ok(), "{app:?}");
    let global = AppDefinition::parse(&package(&[
        (
            "manifest.json",
            r#"{"platform-version": "3.0", "modules": {"common": {},
                "lead": {"events": {"onLeadUpdate": {"handler": "lead"}}},
                "support_company": {"events": {"onCompanyCreate": {"handler": "company"}}},
                "service_change": {"events": {"onChangeCreate": {"handler": "change"}}},
                "chat_user": {"events": {"onUserCreate": {"handler": "user"}}},
                "support_email": {}}}"#,
        ),
        (
            "server/server.js",
            "exports = { lead: function () {}, company: function () {}, change: function () {}, \
             user: function () {} };",
        ),
    ]));
    assert!(global.is_ok(), "{global:?}");
    let misplaced = AppDefinition::parse(&package(&[(
        "manifest.json",
        r#"{"platform-version": "2.3", "product": {
            "freshsales": {"events": {"onCpqDocumentCreate": {"handler": "cpq"}}}}}"#,
    )]));
    assert_eq!(
        misplaced.unwrap_err()[0].message,
        "\"onCpqDocumentCreate\" is not an event of \"freshsales\""
    );
}
