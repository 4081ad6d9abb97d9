//! `weir validate` and `weir pack` on real folders: the examples, a broken app, and what a
//! pack keeps and leaves out.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use weir_testkit::TempDir;

fn weir(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(args)
        .arg(dir)
        .output()
        .expect("run weir")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

fn write(root: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
}

#[test]
fn every_example_validates_clean() {
    let expected = [
        (
            "freshteam-external-events",
            "product freshteam: onAppInstall → onAppInstallHandler",
        ),
        (
            "freshsales-product-events",
            "product freshworks_crm: onContactCreate → onContactCreateHandler",
        ),
        (
            "chat-connector",
            "connector events: message-posted (global-webhook) → onMessagePosted",
        ),
        (
            "registered-webhooks",
            "registered webhooks: crm-create-case (POST), crm-search-cases (GET), upload-photo (POST)",
        ),
        (
            "zoho-desk-extension",
            "extension webhooks: ticketSync → Ticket_Add Ticket_Update Ticket_Thread_Add Ticket_Comment_Add",
        ),
    ];
    for (name, line) in expected {
        let output = weir(&["validate"], &example(name));
        let text = stdout(&output);
        assert!(output.status.success(), "{name} is not valid:\n{text}");
        assert!(text.starts_with(&format!("{name} (")), "{name}:\n{text}");
        assert!(text.contains(line), "{name} lacks {line:?}:\n{text}");
    }
}

#[test]
fn a_broken_app_lists_every_problem_and_fails() {
    let dir = TempDir::new();
    write(
        dir.path(),
        &[
            (
                "manifest.json",
                r#"{"platform-version": "2.3", "product": {"freshsales": {"events": {"onTicketCreate": {"handler": "h"}}}}}"#,
            ),
            (
                "config/iparams.json",
                r#"{"key": {"display_name": "Key", "type": "secret"}}"#,
            ),
            (
                "server/server.js",
                "exports = { h: function () { return ( } };",
            ),
        ],
    );
    let output = weir(&["validate"], dir.path());
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stdout(&output).lines().collect::<Vec<_>>()[..3],
        [
            "manifest.json /product/freshsales/events/onTicketCreate: \"onTicketCreate\" is not an event of \"freshsales\"",
            "config/iparams.json /key/type: unknown type \"secret\" (one of: text, paragraph, dropdown, multiselect, email, phone_number, phonenumber, number, url, date, radio, checkbox, api_key, domain)",
            "server/server.js 1:39: syntax error: unexpected token in expression: '}'",
        ]
    );
    assert!(
        stdout(&output).ends_with(&format!("3 problem(s) found in {}\n", dir.path().display()))
    );
}

/// npm hoists what a dependency depends on to the top of `node_modules` (and nests a
/// version that conflicts): pack brings both along, as Node would find them, and
/// nothing else.
#[test]
fn pack_brings_the_dependencies_of_dependencies_where_npm_put_them() {
    let dir = TempDir::new();
    write(
        dir.path(),
        &[
            (
                "manifest.json",
                r#"{"name": "deep", "version": "1.0.0", "platform-version": "2.3",
                    "product": {"freshsales": {"events": {"onDealCreate": {"handler": "h"}}}},
                    "dependencies": {"client": "1.0.0"}}"#,
            ),
            (
                "server/server.js",
                "exports = { h: function () { return require('client'); } };",
            ),
            (
                "server/node_modules/client/package.json",
                r#"{"dependencies": {"hoisted": "1", "nested": "2"}, "optionalDependencies": {"absent": "1"}}"#,
            ),
            (
                "server/node_modules/client/index.js",
                "module.exports = [require('hoisted'), require('nested')];",
            ),
            (
                "server/node_modules/client/node_modules/nested/index.js",
                "module.exports = 'nested 2';",
            ),
            (
                "server/node_modules/hoisted/package.json",
                r#"{"dependencies": {"leaf": "1"}}"#,
            ),
            (
                "server/node_modules/hoisted/index.js",
                "module.exports = require('leaf');",
            ),
            (
                "server/node_modules/leaf/index.js",
                "module.exports = 'leaf';",
            ),
            (
                "server/node_modules/nested/index.js",
                "module.exports = 'nested 1, not needed';",
            ),
            (
                "server/node_modules/unrelated/index.js",
                "module.exports = 1;",
            ),
        ],
    );
    let output = weir(&["pack"], dir.path());
    assert!(output.status.success(), "{}", stdout(&output));
    let zip = std::fs::read(dir.path().join("dist/deep-1.0.0.zip")).expect("the packed zip");
    let package = weir_core::Package::from_zip(&zip, weir_core::PackageLimits::default()).unwrap();
    assert_eq!(
        package.paths().collect::<Vec<_>>(),
        [
            "manifest.json",
            "server/node_modules/client/index.js",
            "server/node_modules/client/node_modules/nested/index.js",
            "server/node_modules/client/package.json",
            "server/node_modules/hoisted/index.js",
            "server/node_modules/hoisted/package.json",
            "server/node_modules/leaf/index.js",
            "server/server.js",
        ]
    );
}

#[test]
fn pack_keeps_the_declared_dependencies_and_theirs_and_leaves_out_the_rest() {
    let dir = TempDir::new();
    write(
        dir.path(),
        &[
            (
                "manifest.json",
                r#"{"name": "packer", "version": "2.1.0", "platform-version": "2.3",
                    "product": {"freshsales": {"events": {"onDealCreate": {"handler": "h"}}}},
                    "dependencies": {"left-pad": "1.3.0"}}"#,
            ),
            ("server/server.js", "exports = { h: function () {} };"),
            (
                "server/node_modules/left-pad/package.json",
                r#"{"main": "index.js", "dependencies": {"pad-core": "1.0.0"}}"#,
            ),
            (
                "server/node_modules/left-pad/index.js",
                "module.exports = require('pad-core');",
            ),
            (
                "server/node_modules/pad-core/index.js",
                "module.exports = function () {};",
            ),
            (
                "server/node_modules/undeclared/index.js",
                "module.exports = 1;",
            ),
            ("server/lib/dist/helpers.js", "exports.x = 1;"),
            ("coverage/lcov.info", "x"),
            (".weir/state.json", "{}"),
            ("dist/old.zip", "x"),
        ],
    );
    let output = weir(&["pack"], dir.path());
    assert!(output.status.success(), "{}", stdout(&output));
    let zip = std::fs::read(dir.path().join("dist/packer-2.1.0.zip")).expect("the packed zip");
    let package = weir_core::Package::from_zip(&zip, weir_core::PackageLimits::default()).unwrap();
    assert_eq!(
        package.paths().collect::<Vec<_>>(),
        [
            "manifest.json",
            "server/lib/dist/helpers.js",
            "server/node_modules/left-pad/index.js",
            "server/node_modules/left-pad/package.json",
            "server/node_modules/pad-core/index.js",
            "server/server.js",
        ]
    );
}

#[test]
fn pack_refuses_a_missing_dependency() {
    let dir = TempDir::new();
    write(
        dir.path(),
        &[(
            "manifest.json",
            r#"{"platform-version": "2.3", "product": {"freshsales": {}}, "dependencies": {"left-pad": "1.3.0"}}"#,
        )],
    );
    let output = weir(&["pack"], dir.path());
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).starts_with(
            "manifest.json /dependencies/left-pad: server/node_modules/left-pad is not installed (run npm install in server/ and ship server/node_modules with the app: Weir cannot install npm packages)"
        ),
        "{}",
        stdout(&output)
    );
    assert!(!dir.path().join("dist").exists());
}

#[test]
fn a_folder_without_an_app_is_an_error_not_a_panic() {
    let dir = TempDir::new();
    let output = weir(&["validate"], dir.path());
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("holds no manifest.json"), "{stderr}");
}

#[test]
fn a_configuration_mistake_is_one_line_and_no_backtrace_even_with_rust_backtrace() {
    let dir = TempDir::new();
    let output = Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("WEIR_ADMIN_TOKEN", "short")
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("run weir");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("error: WEIR_ADMIN_TOKEN must be at least 16 characters"),
        "{stderr}"
    );
    assert!(!stderr.contains("backtrace"), "{stderr}");
}

#[test]
fn validate_reports_a_handler_that_server_js_does_not_export() {
    let dir = TempDir::new();
    write(
        dir.path(),
        &[
            (
                "manifest.json",
                r#"{"platform-version": "2.3", "product": {"freshdesk": {"events": {
                    "onTicketCreate": {"handler": "noSuchHandler"},
                    "onAppInstall": {"handler": "onAppInstallHandler"}}}}}"#,
            ),
            (
                "server/server.js",
                "var format = require('./lib/format');\nexports = {\n  onTicketCreateHandler: function (args) { return format(args); },\n  onAppInstallHandler: function () { renderData(); }\n};",
            ),
            (
                "server/lib/format.js",
                "exports = function (args) { return args; };",
            ),
        ],
    );
    let output = weir(&["validate"], dir.path());
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert_eq!(
        stdout(&output),
        format!(
            "manifest.json /product/freshdesk/events/onTicketCreate/handler: \"noSuchHandler\" is not a function that server/server.js exports (it exports: onAppInstallHandler, onTicketCreateHandler)\n\
             1 problem(s) found in {}\n",
            dir.path().display()
        )
    );
}

#[test]
fn validate_reports_a_top_level_that_throws_at_its_file_and_line() {
    let dir = TempDir::new();
    write(
        dir.path(),
        &[
            (
                "manifest.json",
                r#"{"platform-version": "2.3", "product": {"freshdesk": {"events": {"onTicketCreate": {"handler": "h"}}}}}"#,
            ),
            (
                "server/server.js",
                "var settings = require('./lib/settings');\nexports = { h: function () { return settings; } };",
            ),
            (
                "server/lib/settings.js",
                "var defaults = { retries: 3 };\n\nexports = defaults.colours.primary;",
            ),
        ],
    );
    let output = weir(&["validate"], dir.path());
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert_eq!(
        stdout(&output).lines().next(),
        Some(
            "server/lib/settings.js 3:11: running its top level failed: TypeError: cannot read property 'primary' of undefined"
        )
    );
}

#[test]
fn validate_reports_every_problem_of_a_zoho_extension_in_one_run() {
    let dir = TempDir::new();
    write(
        dir.path(),
        &[
            (
                "resources.json",
                r#"{"webhook": {"resourceName": "ticketSync", "url": "https://sync.example.com/zoho",
                    "name": "Ticket sync", "ignoreSourceId": "2df92c1a-973a-48f5-95b7-5792c68b9c36",
                    "subscriptions": {"Ticket_Add": null, "Ticket_Explode": null}}}"#,
            ),
            (
                "plugin-manifest.json",
                r#"{"service": "DESK", "zohoAuthorisation": {"type": "connectors", "scope": ["Desk.tickets.READ"]}}"#,
            ),
        ],
    );
    let output = weir(&["validate"], dir.path());
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert_eq!(
        stdout(&output),
        format!(
            "resources.json /webhook/subscriptions/Ticket_Explode: \"Ticket_Explode\" is not a Zoho Desk event\n\
             plugin-manifest.json /zohoAuthorisation/scope: extension webhooks need the Desk.events.ALL scope here\n\
             2 problem(s) found in {}\n",
            dir.path().display()
        )
    );
}

#[test]
fn validate_reports_a_missing_dependency_with_the_other_problems() {
    let dir = TempDir::new();
    write(
        dir.path(),
        &[(
            "manifest.json",
            r#"{"platform-version": "2.3", "product": {"freshsales": {"events": {"onTicketCreate": {"handler": "h"}}}},
                "dependencies": {"left-pad": "1.3.0"}}"#,
        )],
    );
    let output = weir(&["validate"], dir.path());
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(
        text.contains(
            "manifest.json /dependencies/left-pad: server/node_modules/left-pad is not installed"
        ),
        "{text}"
    );
    assert!(
        text.contains("\"onTicketCreate\" is not an event of \"freshsales\""),
        "{text}"
    );
}

#[test]
fn validate_shows_entities_and_reports_a_broken_entities_json() {
    let manifest = r#"{"platform-version": "2.3", "product": {"freshsales": {}}}"#;
    let dir = TempDir::new();
    write(
        dir.path(),
        &[
            ("manifest.json", manifest),
            (
                "config/entities.json",
                r#"{"guests": {"fields": [
                    {"name": "city", "label": "City", "type": "text", "filterable": true},
                    {"name": "visits", "label": "Visits", "type": "integer"}]}}"#,
            ),
        ],
    );
    let output = weir(&["validate"], dir.path());
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(
        text.contains("  entities: guests (2 fields; filterable: city)"),
        "{text}"
    );

    let broken = TempDir::new();
    write(
        broken.path(),
        &[
            ("manifest.json", manifest),
            (
                "config/entities.json",
                r#"{"guests": {"fields": [{"name": "city", "type": "string"}]}}"#,
            ),
        ],
    );
    let output = weir(&["validate"], broken.path());
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(
        text.contains(
            "config/entities.json /guests/fields/0/type: unknown type \"string\" (one of: text, "
        ),
        "{text}"
    );
}
