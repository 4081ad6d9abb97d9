//! `validate_package` runs the top level of an app's code to learn what it exports, and
//! reports every function the package names that the code does not offer, each at the
//! file and place that names it; code that fails at top level is reported at its file
//! and line, and code that never finishes is stopped.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use weir_core::Package;
use weir_sandbox::{AppCode, TopLevelError, TopLevelLimits, server_exports, validate_package};

fn package(files: &[(&str, &str)]) -> Package {
    Package::from_files(
        files
            .iter()
            .map(|(path, text)| (path.to_string(), text.as_bytes().to_vec()))
            .collect::<BTreeMap<_, _>>(),
    )
}

/// Every problem `validate_package` finds, as printed; empty when the package is valid.
fn problems(files: &[(&str, &str)]) -> Vec<String> {
    match validate_package(&package(files)) {
        Ok(_) => Vec::new(),
        Err(problems) => problems.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn every_kind_of_name_for_server_code_is_checked_where_it_is_given() {
    let manifest = r#"{"platform-version": "3.1", "modules": {
        "common": {"events": {"onAppInstall": {"handler": "onInstall"}},
                   "functions": {"sendPhoto": {}}},
        "support_ticket": {"events": {"onTicketCreate": {"handler": "onTicketCreateHandler"}}}},
        "connectorEvents": {"message-posted": {"handler": "onMessagePostd"}}}"#;
    let webhooks = r#"[
        {"id": "create-case", "url": "https://crm.example.com/cases", "method": "POST", "then": "afterCreate"},
        {"id": "search", "url": "https://crm.example.com/search", "method": "GET", "then": "afterSearch"}]"#;
    let server_js = "exports = {\n  onInstall: function () {},\n  onTicketCreateHandler: function () {},\n  onMessagePosted: function () {},\n  afterCreate: function () {}\n};";
    let spec = "name: Message posted\nimplementationType: global-webhook\nmethods:\n  getEventSelector:\n    implementationType: mapping\n";
    let found = problems(&[
        ("manifest.json", manifest),
        ("config/webhooks.json", webhooks),
        ("server/server.js", server_js),
        (
            "global-webhooks/all/spec.yml",
            "name: All\nmethods:\n  handle: {}\n",
        ),
        (
            "global-webhooks/all/handle.js",
            "export default async function () { return { events: [] } }",
        ),
        ("events/message-posted/spec.yml", spec),
        (
            "events/message-posted/getEventSelector.map.yml",
            "globalWebhookKey: all\nglobalWebhookEventSelector: messages\n",
        ),
    ]);
    let exports = "it exports: afterCreate, onInstall, onMessagePosted, onTicketCreateHandler";
    assert_eq!(
        found,
        [
            format!(
                "manifest.json /modules/common/functions/sendPhoto: \"sendPhoto\" is not a function that server/server.js exports ({exports})"
            ),
            format!(
                "manifest.json /connectorEvents/message-posted/handler: \"onMessagePostd\" is not a function that server/server.js exports ({exports})"
            ),
            format!(
                "config/webhooks.json /1/then: \"afterSearch\" is not a function that server/server.js exports ({exports})"
            ),
        ]
    );
}

#[test]
fn handlers_may_be_built_in_any_way_the_platform_finds_them() {
    let manifest = r#"{"platform-version": "2.3", "product": {"freshdesk": {"events": {
        "onTicketCreate": {"handler": "onTicketCreateHandler"},
        "onTicketUpdate": {"handler": "onTicketUpdate"},
        "onAppInstall": {"handler": "installed"}}}}}"#;
    // A class instance (methods on its prototype), a handler found through
    // `exports.events` by its event's name, and npm code required at top level.
    let server_js = "var pad = require('left-pad');\nfunction Handlers() {}\nHandlers.prototype.onTicketCreateHandler = function () { return pad('x', 3); };\nHandlers.prototype.installed = function () {};\nexports = new Handlers();\nexports.events = [{ event: 'onTicketUpdate', callback: 'installed' }];";
    assert_eq!(
        problems(&[
            ("manifest.json", manifest),
            ("server/server.js", server_js),
            (
                "server/node_modules/left-pad/index.js",
                "module.exports = function (s, n) { return s; };"
            ),
        ]),
        Vec::<String>::new()
    );
}

#[test]
fn platform_2_0_exports_events_are_checked_entry_by_entry() {
    let manifest = r#"{"platform-version": "2.0", "product": {"freshdesk": {}}}"#;
    let server_js = "exports = {\n  events: [\n    { event: 'onTicketCreate', callback: 'onTicketCreateHandler' },\n    { event: 'onTicketCreat', callback: 'onTicketCreateHandler' },\n    { event: 'onAppInstall', callback: 'onInstal' },\n    { event: 'onAppUninstall', callback: function () {} },\n    { event: 'onTicketUpdate' }\n  ],\n  onTicketCreateHandler: function () {}\n};";
    assert_eq!(
        problems(&[("manifest.json", manifest), ("server/server.js", server_js)]),
        [
            "server/server.js exports.events[1]: \"onTicketCreat\" is not an event of freshdesk",
            "server/server.js exports.events[2]: the callback \"onInstal\" is not a function that server/server.js exports (it exports: onTicketCreateHandler)",
            "server/server.js exports.events[4]: needs \"callback\": a function, or the name of one that server.js exports",
        ]
    );
    let not_a_list = "exports = { events: { onTicketCreate: 'h' }, h: function () {} };";
    assert_eq!(
        problems(&[
            ("manifest.json", manifest),
            ("server/server.js", not_a_list)
        ]),
        ["server/server.js exports.events: must be an array of {event, callback}, not an object"]
    );
}

#[test]
fn connector_methods_need_a_default_export_function() {
    let hook_spec = "name: All events\nmethods:\n  handle: {}\n";
    let event_spec = "name: Message posted\nimplementationType: global-webhook\nmethods:\n  getEventSelector: {}\n";
    let found = problems(&[
        ("global-webhooks/all/spec.yml", hook_spec),
        (
            "global-webhooks/all/handle.js",
            "export async function handle() { return { events: [] } }",
        ),
        ("events/message-posted/spec.yml", event_spec),
        (
            "events/message-posted/getEventSelector.js",
            "import { key } from '../../shared/keys.js';\nexport default async function () { return { globalWebhookKey: key } }",
        ),
        (
            "shared/keys.js",
            "const table = { all: 'all' };\nexport const key = table.missing.name;",
        ),
    ]);
    assert_eq!(
        found,
        [
            "shared/keys.js 2:20: running its top level failed: TypeError: cannot read property 'name' of undefined",
            "global-webhooks/all/handle.js: has no default export function: a connector method runs `export default async function (…)`",
        ]
    );
}

#[test]
fn a_top_level_that_waits_on_the_platform_or_a_timer_is_not_a_problem() {
    // The check answers no platform call and fires no timer: code that starts them at
    // top level (or awaits one, in a module) is not wrong for it.
    let manifest = r#"{"platform-version": "2.3", "product": {"freshdesk": {"events": {"onTicketCreate": {"handler": "h"}}}}}"#;
    let server_js = "$db.get('settings').then(function (s) { throw new Error('never settles here'); });\nsetTimeout(function () { throw new Error('never fires here'); }, 0);\nexports = { h: function () {} };";
    let spec = "name: All events\nmethods:\n  handle: {}\n";
    let handle = "await new Promise((resolve) => setTimeout(resolve, 10));\nexport default async function handle() { return { events: [] } }";
    assert_eq!(
        problems(&[
            ("manifest.json", manifest),
            ("server/server.js", server_js),
            ("global-webhooks/all/spec.yml", spec),
            ("global-webhooks/all/handle.js", handle),
        ]),
        Vec::<String>::new()
    );
}

#[test]
fn a_top_level_that_never_ends_is_stopped_and_its_file_reported() {
    let manifest = r#"{"platform-version": "2.3", "product": {"freshdesk": {"events": {"onTicketCreate": {"handler": "h"}}}}}"#;
    let server_js = "exports = { h: function () {} };\nrequire('./lib/spin');";
    let started = Instant::now();
    let found = problems(&[
        ("manifest.json", manifest),
        ("server/server.js", server_js),
        ("server/lib/spin.js", "var n = 0;\nwhile (true) { n++; }"),
    ]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("server/lib/spin.js: its top level was still running after 2 s"),
        "{found:?}"
    );
}

#[test]
fn running_out_of_memory_at_top_level_is_a_problem_not_a_crash() {
    let manifest = r#"{"platform-version": "2.3", "product": {"freshdesk": {"events": {"onTicketCreate": {"handler": "h"}}}}}"#;
    let server_js =
        "var hoard = [];\nwhile (true) hoard.push(new Array(1 << 20).join('x') + hoard.length);";
    let found = problems(&[("manifest.json", manifest), ("server/server.js", server_js)]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("server/server.js") && found[0].contains("out of memory"),
        "{found:?}"
    );
}

#[test]
fn code_with_syntax_errors_is_reported_once_and_not_run() {
    let manifest = r#"{"platform-version": "2.3", "product": {"freshdesk": {"events": {"onTicketCreate": {"handler": "noSuchHandler"}}}}}"#;
    assert_eq!(
        problems(&[
            ("manifest.json", manifest),
            (
                "server/server.js",
                "exports = { h: function () { return 1 +; } };"
            ),
        ]),
        ["server/server.js 1:40: syntax error: unexpected token in expression: ';'"]
    );
}

#[test]
fn server_exports_lists_what_the_top_level_exported() {
    let code = Arc::new(AppCode::from_package(&package(&[(
        "server/server.js",
        "var n = 2;\nexports = { a: function () {}, b: n, c: () => n };",
    )])));
    let limits = TopLevelLimits {
        deadline: Instant::now() + Duration::from_secs(2),
        memory_bytes: 16 << 20,
    };
    let exports = server_exports(&code, limits).unwrap();
    assert_eq!(exports.functions.iter().collect::<Vec<_>>(), ["a", "c"]);
    assert_eq!(exports.events, None);

    let throws = Arc::new(AppCode::from_package(&package(&[(
        "server/server.js",
        "\nthrow new Error('no config');",
    )])));
    match server_exports(&throws, limits) {
        Err(TopLevelError::Threw(problem)) => assert_eq!(
            problem.to_string(),
            "server/server.js 2:11: running its top level failed: Error: no config"
        ),
        other => panic!("{other:?}"),
    }
}
