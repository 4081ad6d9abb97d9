//! `weir dev` as a developer uses it: the real binary on an app folder, its simulator API,
//! its target URL, edits without restarts, and state kept in `.weir/` across restarts.

mod support;

use std::path::Path;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::dev_server::{DevServer, weir_dev_output};
use weir_testkit::{FakeThirdParty, TempDir, json_reply};

fn write(root: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// A Freshdesk app (platform 2.3) with a product event, the external event and the
/// scheduled event, allowed to call `https://api.thirdparty.test`.
const DESK_MANIFEST: &str = r#"{
  "platform-version": "2.3",
  "whitelisted-domains": ["https://api.thirdparty.test"],
  "product": {"freshdesk": {"events": {
    "onTicketCreate": {"handler": "onTicketCreateHandler"},
    "onExternalEvent": {"handler": "onExternalEventHandler"},
    "onScheduledEvent": {"handler": "onScheduledEventHandler"}
  }}}
}"#;

/// The desk app in a new folder, with this `server/server.js`.
fn desk_app(server_js: &str) -> TempDir {
    let dir = TempDir::new();
    write(
        dir.path(),
        &[
            ("manifest.json", DESK_MANIFEST),
            ("server/server.js", server_js),
        ],
    );
    dir
}

/// The desk app's handlers: `onTicketCreate` remembers `data.remember` in `$db`, or
/// recalls it when the payload has none; `onExternalEvent` keeps what the third party
/// sent under `last-external`.
const REMEMBERING: &str = r#"
exports = {
  onTicketCreateHandler: async function (payload) {
    if (payload.data && payload.data.remember !== undefined) {
      await $db.set('remembered', { value: payload.data.remember });
      console.log('remembered', payload.data.remember);
    } else {
      const saved = await $db.get('remembered');
      console.log('recalled', JSON.stringify(saved));
    }
  },
  onExternalEventHandler: async function (payload) {
    await $db.set('last-external', { data: payload.data });
    console.log('external', payload.data.issue);
  },
  onScheduledEventHandler: async function () {
    const saved = await $db.get('last-external');
    console.log('scheduled saw', JSON.stringify(saved));
  },
};
"#;

/// The texts of a run's console lines.
fn console(run: &Value) -> Vec<String> {
    run["console"]
        .as_array()
        .unwrap_or_else(|| panic!("no console: {run}"))
        .iter()
        .map(|line| line["text"].as_str().unwrap().to_owned())
        .collect()
}

/// `GET /web/api/activity` until one of its runs satisfies `found`; returns that run.
async fn activity_until(server: &DevServer, found: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let reply = server.get("/web/api/activity").await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let runs = reply.body["invocations"].as_array().unwrap();
        if let Some(run) = runs.iter().find(|run| found(run)) {
            return run.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no such run in the activity: {}",
            reply.body
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_to_the_target_url_runs_on_external_event() {
    let dir = desk_app(REMEMBERING);
    let server = DevServer::start(dir.path()).await;
    let printed = server.target_url();
    assert!(
        printed.starts_with(&format!(
            "http://localhost:{}/in/",
            server.base.rsplit(':').next().unwrap()
        )),
        "{printed} (listening on {})",
        server.base
    );
    let app = server.get("/web/api/app").await;
    assert_eq!(app.body["target_url"], printed.as_str(), "{}", app.body);

    let sent = server
        .post_raw(
            &server.target_path(),
            "application/json",
            r#"{"issue": "FD-7"}"#,
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);

    let run = activity_until(&server, |run| run["event"] == "onExternalEvent").await;
    assert_eq!(run["status"], "success", "{run}");
    assert_eq!(run["handler"], "onExternalEventHandler", "{run}");
    assert_eq!(console(&run), ["external FD-7"], "{run}");

    // What the handler kept in $db, as another handler reads it.
    let scheduled = server
        .simulate("onScheduledEvent", json!({"data": {}}))
        .await;
    assert_eq!(scheduled["ok"], true, "{scheduled}");
    assert_eq!(
        console(&scheduled),
        [r#"scheduled saw {"data":{"issue":"FD-7"}}"#],
        "{scheduled}"
    );
    // The simulated run is in the activity too, newest first.
    let activity = server.get("/web/api/activity").await.body;
    let events: Vec<&str> = activity["invocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|run| run["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        ["onScheduledEvent", "onExternalEvent"],
        "{activity}"
    );
    server.stop().await;
}

/// Handlers that log `version` when run.
fn versioned(version: &str) -> String {
    format!(
        "exports = {{
  onTicketCreateHandler: function () {{ console.log('{version}'); }},
  onExternalEventHandler: function (payload) {{ console.log('{version}', payload.data.n); }},
  onScheduledEventHandler: function () {{}},
}};
"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_takes_effect_at_once_and_a_broken_one_keeps_the_last_good_version() {
    let dir = desk_app(&versioned("v1"));
    let server_js = dir.path().join("server/server.js");
    let server = DevServer::start(dir.path()).await;
    let first = server.simulate("onTicketCreate", json!({})).await;
    assert_eq!(console(&first), ["v1"], "{first}");

    std::fs::write(&server_js, versioned("v2")).unwrap();
    let second = server.simulate("onTicketCreate", json!({})).await;
    assert_eq!(
        console(&second),
        ["v2"],
        "the edit is taken at once: {second}"
    );
    // Real traffic runs the edited code too.
    let sent = server
        .post_raw(&server.target_path(), "application/json", r#"{"n": 1}"#)
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    let run = activity_until(&server, |run| run["event"] == "onExternalEvent").await;
    assert_eq!(console(&run), ["v2 1"], "{run}");

    // A syntax error: the last good version keeps running, and the app shows why.
    std::fs::write(
        &server_js,
        "exports = { onTicketCreateHandler: function () { return ( } };",
    )
    .unwrap();
    let meanwhile = server.simulate("onTicketCreate", json!({})).await;
    assert_eq!(meanwhile["ok"], true, "{meanwhile}");
    assert_eq!(console(&meanwhile), ["v2"], "{meanwhile}");
    let app = server.get("/web/api/app").await.body;
    let problems = app["problems"].as_array().unwrap();
    assert!(!problems.is_empty(), "{app}");
    assert!(
        problems.iter().all(|p| p["file"] == "server/server.js"),
        "{app}"
    );
    assert!(
        problems[0]["message"]
            .as_str()
            .unwrap()
            .contains("syntax error"),
        "{app}"
    );

    // Fixed: the new version runs and the problems are gone.
    std::fs::write(&server_js, versioned("v3 fixed")).unwrap();
    let fixed = server.simulate("onTicketCreate", json!({})).await;
    assert_eq!(console(&fixed), ["v3 fixed"], "{fixed}");
    let app = server.get("/web/api/app").await.body;
    assert_eq!(app["problems"], json!([]), "{app}");
    server.stop().await;

    // An edit made while weir dev was not running is taken when it starts.
    std::fs::write(&server_js, versioned("v4 offline")).unwrap();
    let server = DevServer::start(dir.path()).await;
    let restarted = server.simulate("onTicketCreate", json!({})).await;
    assert_eq!(console(&restarted), ["v4 offline"], "{restarted}");
    server.stop().await;
}

/// `server/lib/dist/` is part of the app (`weir pack` keeps it: only the app folder's own
/// `dist/` is left out), so an edit there must be taken like any other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_in_a_nested_dist_folder_is_taken_too() {
    let dir = TempDir::new();
    write(
        dir.path(),
        &[
            ("manifest.json", DESK_MANIFEST),
            (
                "server/server.js",
                "var helpers = require('./lib/dist/helpers');
exports = {
  onTicketCreateHandler: function () { console.log(helpers.version); },
  onExternalEventHandler: function () {},
  onScheduledEventHandler: function () {},
};",
            ),
            ("server/lib/dist/helpers.js", "exports.version = 'h1';"),
        ],
    );
    let server = DevServer::start(dir.path()).await;
    let first = server.simulate("onTicketCreate", json!({})).await;
    assert_eq!(console(&first), ["h1"], "{first}");
    std::fs::write(
        dir.path().join("server/lib/dist/helpers.js"),
        "exports.version = 'h2 edited';",
    )
    .unwrap();
    let second = server.simulate("onTicketCreate", json!({})).await;
    assert_eq!(console(&second), ["h2 edited"], "{second}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn db_and_the_target_url_survive_a_restart() {
    let dir = desk_app(REMEMBERING);
    let first = DevServer::start(dir.path()).await;
    let target = first.target_url();
    let set = first
        .simulate("onTicketCreate", json!({"data": {"remember": 42}}))
        .await;
    assert_eq!(set["ok"], true, "{set}");
    assert_eq!(console(&set), ["remembered 42"], "{set}");
    first.stop().await;
    assert!(dir.path().join(".weir").is_dir());

    // Started again (this time behind a tunnel): the same installation, so the same
    // token, under the public URL given.
    let token = target.rsplit('/').next().unwrap();
    let second =
        DevServer::start_with(dir.path(), &["--public-url", "https://tunnel.example.dev"]).await;
    assert_eq!(
        second.target_url(),
        format!("https://tunnel.example.dev/in/{token}"),
        "{:?}",
        second.printed
    );
    // The pages stay on loopback: a tunnel carries webhooks, not the simulator.
    let port = second.base.rsplit(':').next().unwrap();
    assert_eq!(
        second.printed_value("simulator"),
        Some(format!("http://localhost:{port}/web/test")),
        "{:?}",
        second.printed
    );
    let got = second.simulate("onTicketCreate", json!({"data": {}})).await;
    assert_eq!(got["ok"], true, "{got}");
    assert_eq!(console(&got), [r#"recalled {"value":42}"#], "{got}");
    // The target URL still reaches the installation.
    let sent = second
        .post_raw(
            &second.target_path(),
            "application/json",
            r#"{"issue": "after-restart"}"#,
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    let run = activity_until(&second, |run| run["event"] == "onExternalEvent").await;
    assert_eq!(console(&run), ["external after-restart"], "{run}");
    // Through the tunnel (its Host), the target URL answers but the pages do not: they
    // show secure iparams and run handlers, for the developer at this machine only.
    let client = reqwest::Client::new();
    let through_tunnel = |path: String| {
        client
            .post(format!("{}{path}", second.base))
            .header("host", "tunnel.example.dev")
            .header("content-type", "application/json")
            .body(r#"{"issue": "tunnelled"}"#)
            .send()
    };
    let webhook = through_tunnel(second.target_path()).await.unwrap();
    assert_eq!(webhook.status(), StatusCode::OK);
    let page = through_tunnel("/web/api/iparams".into()).await.unwrap();
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulate_shows_outbound_requests_db_changes_and_errors() {
    let third_party = FakeThirdParty::start(|_| json_reply(200, json!({"id": 7}))).await;
    let dir = desk_app(
        r#"
exports = {
  onTicketCreateHandler: async function (payload) {
    const id = payload.data.ticket.id;
    await $db.set('ticket-' + id, { synced: true });
    const answer = await $request.post('https://api.thirdparty.test/tickets',
      { json: { id: id } });
    console.log('third party said', answer.status);
  },
  onExternalEventHandler: function () {
    throw new Error('boom from the handler');
  },
  onScheduledEventHandler: function () {},
};
"#,
    );
    let host_override = format!("api.thirdparty.test={}", third_party.address);
    let server = DevServer::start_with(dir.path(), &["--host-override", &host_override]).await;

    let run = server
        .simulate("onTicketCreate", json!({"data": {"ticket": {"id": 5}}}))
        .await;
    assert_eq!(run["ok"], true, "{run}");
    assert_eq!(run["status"], "success", "{run}");
    assert_eq!(run["handler"], "onTicketCreateHandler", "{run}");
    assert_eq!(console(&run), ["third party said 200"], "{run}");
    let requests = run["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 1, "{run}");
    assert_eq!(requests[0]["call"], "request.url", "{run}");
    assert_eq!(
        requests[0]["summary"], "POST https://api.thirdparty.test/tickets",
        "{run}"
    );
    assert_eq!(requests[0]["status"], 200, "{run}");
    assert_eq!(requests[0]["error"], Value::Null, "{run}");
    assert_eq!(
        run["db_changes"],
        json!([{"op": "set", "key": "ticket-5", "value": {"synced": true}}]),
        "{run}"
    );
    assert!(
        run["invocation_id"].as_str().unwrap().starts_with("inv_"),
        "{run}"
    );
    let received = third_party.received();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].method, "POST");
    assert_eq!(received[0].path, "/tickets");
    assert_eq!(
        serde_json::from_str::<Value>(&received[0].body).unwrap(),
        json!({"id": 5})
    );

    // A handler that throws: a 200 telling of the failure.
    let failed = server
        .simulate("onExternalEvent", json!({"data": {}}))
        .await;
    assert_eq!(failed["ok"], false, "{failed}");
    assert_eq!(failed["status"], "error", "{failed}");
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("boom from the handler"),
        "{failed}"
    );
    assert_eq!(failed["requests"], json!([]), "{failed}");
    assert_eq!(failed["db_changes"], json!([]), "{failed}");

    // Bad requests are not runs.
    let unknown = server
        .post_json(
            "/web/simulate",
            json!({"event": "onDealCreate", "payload": {}}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.body);
    assert!(
        unknown.message().contains("onDealCreate"),
        "{}",
        unknown.body
    );
    let not_an_object = server
        .post_json(
            "/web/simulate",
            json!({"event": "onTicketCreate", "payload": [1]}),
        )
        .await;
    assert_eq!(
        not_an_object.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        not_an_object.body
    );
    assert!(
        not_an_object.message().contains("JSON object"),
        "{}",
        not_an_object.body
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payloads_come_from_flat_test_data_else_the_default_and_save_and_reset_write_the_file() {
    let dir = desk_app(REMEMBERING);
    let ticket = json!({"data": {"ticket": {"id": 11, "subject": "from test_data"}}});
    write(
        dir.path(),
        &[("server/test_data/onTicketCreate.json", &ticket.to_string())],
    );
    let server = DevServer::start(dir.path()).await;

    let found = server
        .get("/web/events/onTicketCreate?product=freshdesk")
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert_eq!(found.body["source"], "test_data", "{}", found.body);
    assert_eq!(found.body["payload"], ticket, "{}", found.body);
    assert_eq!(found.body["path"], "server/test_data/onTicketCreate.json");
    assert_eq!(found.body["product"], "freshdesk");

    // No file: the built-in default, without iparams; Save would write the flat file.
    let default = server.get("/web/events/onExternalEvent").await;
    assert_eq!(default.status, StatusCode::OK, "{}", default.body);
    assert_eq!(default.body["source"], "default", "{}", default.body);
    assert_eq!(
        default.body["path"],
        "server/test_data/onExternalEvent.json"
    );
    let payload = &default.body["payload"];
    assert_eq!(payload["event"], "onExternalEvent", "{payload}");
    assert_eq!(payload["account_id"], "dev", "{payload}");
    assert!(payload["data"].is_object(), "{payload}");
    assert!(payload.get("iparams").is_none(), "{payload}");

    // Save writes the file, which is then what the simulator reads.
    let mine = json!({"data": {"issue": "saved-one"}, "headers": {"x-kind": "test"}});
    let saved = server
        .post_json(
            "/web/events/onExternalEvent?product=freshdesk",
            mine.clone(),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(saved.body["path"], "server/test_data/onExternalEvent.json");
    assert_eq!(
        read_json(&dir.path().join("server/test_data/onExternalEvent.json")),
        mine
    );
    let again = server.get("/web/events/onExternalEvent").await.body;
    assert_eq!(again["source"], "test_data", "{again}");
    assert_eq!(again["payload"], mine, "{again}");

    // Reset writes the default over the file.
    let reset = server
        .post_raw(
            "/web/events/reset/onTicketCreate?product=freshdesk",
            "application/json",
            "",
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    assert_eq!(reset.body["path"], "server/test_data/onTicketCreate.json");
    assert_eq!(
        reset.body["payload"]["event"], "onTicketCreate",
        "{}",
        reset.body
    );
    assert_ne!(reset.body["payload"], ticket);
    assert_eq!(
        read_json(&dir.path().join("server/test_data/onTicketCreate.json")),
        reset.body["payload"]
    );

    // A body that is not JSON: a 400 saying where, and the file is left alone.
    let broken = server
        .post_raw(
            "/web/events/onExternalEvent?product=freshdesk",
            "application/json",
            "{\n  \"data\": {\"issue\": }\n}",
        )
        .await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST, "{}", broken.body);
    assert!(
        broken.message().contains("line 2 column"),
        "{}",
        broken.body
    );
    assert_eq!(
        read_json(&dir.path().join("server/test_data/onExternalEvent.json")),
        mine
    );
    let not_an_object = server
        .post_raw("/web/events/onExternalEvent", "application/json", "[1, 2]")
        .await;
    assert_eq!(
        not_an_object.status,
        StatusCode::BAD_REQUEST,
        "{}",
        not_an_object.body
    );

    // Events the app has no handler for, and products it does not declare.
    for path in [
        "/web/events/onDealCreate?product=freshdesk",
        "/web/events/onNothingAtAll",
    ] {
        let unknown = server.get(path).await;
        assert_eq!(
            unknown.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            unknown.body
        );
        let event = path
            .trim_start_matches("/web/events/")
            .split('?')
            .next()
            .unwrap();
        assert!(
            unknown.message().contains(event) && unknown.message().contains("no handler"),
            "{path}: {}",
            unknown.body
        );
    }
    let unknown_save = server
        .post_json("/web/events/onNothingAtAll", json!({}))
        .await;
    assert_eq!(
        unknown_save.status,
        StatusCode::NOT_FOUND,
        "{}",
        unknown_save.body
    );
    assert!(
        !dir.path()
            .join("server/test_data/onNothingAtAll.json")
            .exists()
    );
    let other_product = server
        .get("/web/events/onTicketCreate?product=freshsales")
        .await;
    assert_eq!(
        other_product.status,
        StatusCode::NOT_FOUND,
        "{}",
        other_product.body
    );
    assert!(
        other_product.message().contains("freshsales"),
        "{}",
        other_product.body
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payloads_of_an_omni_app_are_per_product() {
    let dir = TempDir::new();
    write(
        dir.path(),
        &[
            (
                "manifest.json",
                r#"{"platform-version": "2.3", "product": {
                    "freshdesk": {"events": {"onTicketCreate": {"handler": "ticket"}}},
                    "freshsales": {"events": {
                        "onContactCreate": {"handler": "contact"},
                        "onDealCreate": {"handler": "deal"}}}}}"#,
            ),
            (
                "server/server.js",
                "exports = { ticket: function () {}, contact: function (p) { console.log(p.data.contact.id); }, deal: function () {} };",
            ),
            (
                "server/test_data/freshsales/onContactCreate.json",
                r#"{"data": {"contact": {"id": 31}}}"#,
            ),
        ],
    );
    let server = DevServer::start(dir.path()).await;
    let app = server.get("/web/api/app").await.body;
    assert_eq!(app["products"], json!(["freshdesk", "freshsales"]), "{app}");

    let contact = server
        .get("/web/events/onContactCreate?product=freshsales")
        .await
        .body;
    assert_eq!(contact["source"], "test_data", "{contact}");
    assert_eq!(
        contact["path"],
        "server/test_data/freshsales/onContactCreate.json"
    );
    assert_eq!(contact["payload"]["data"]["contact"]["id"], 31, "{contact}");

    // The product's sample when there is no file; Save would write the product's folder.
    let deal = server
        .get("/web/events/onDealCreate?product=freshsales")
        .await
        .body;
    assert_eq!(deal["source"], "default", "{deal}");
    assert_eq!(
        deal["path"],
        "server/test_data/freshsales/onDealCreate.json"
    );
    let data = deal["payload"]["data"].as_object().unwrap();
    assert!(!data.is_empty(), "freshsales has a built-in sample: {deal}");

    // freshdesk has no onContactCreate here.
    let elsewhere = server
        .get("/web/events/onContactCreate?product=freshdesk")
        .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::NOT_FOUND,
        "{}",
        elsewhere.body
    );

    let saved = server
        .post_json(
            "/web/events/onTicketCreate?product=freshdesk",
            json!({"data": {"ticket": {"id": 1}}}),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(
        saved.body["path"],
        "server/test_data/freshdesk/onTicketCreate.json"
    );
    assert_eq!(
        read_json(
            &dir.path()
                .join("server/test_data/freshdesk/onTicketCreate.json")
        ),
        json!({"data": {"ticket": {"id": 1}}})
    );

    let simulated = server
        .post_json(
            "/web/simulate",
            json!({"event": "onContactCreate", "product": "freshsales", "payload": contact["payload"]}),
        )
        .await;
    assert_eq!(simulated.status, StatusCode::OK, "{}", simulated.body);
    assert_eq!(console(&simulated.body), ["31"], "{}", simulated.body);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payloads_of_a_3x_app_read_common_for_app_events() {
    let dir = TempDir::new();
    write(
        dir.path(),
        &[
            (
                "manifest.json",
                r#"{"platform-version": "3.0", "modules": {
                    "common": {"events": {"onAppInstall": {"handler": "onAppInstallHandler"}}},
                    "support_ticket": {"events": {"onTicketCreate": {"handler": "onTicketCreateHandler"}}}}}"#,
            ),
            (
                "server/server.js",
                "exports = { onAppInstallHandler: function (p) { console.log(p.data.from); renderData(); }, onTicketCreateHandler: function () {} };",
            ),
            (
                "server/test_data/common/onAppInstall.json",
                r#"{"data": {"from": "common"}}"#,
            ),
        ],
    );
    let server = DevServer::start(dir.path()).await;
    let install = server
        .get("/web/events/onAppInstall?product=support_ticket")
        .await
        .body;
    assert_eq!(install["source"], "test_data", "{install}");
    assert_eq!(install["path"], "server/test_data/common/onAppInstall.json");
    assert_eq!(install["payload"], json!({"data": {"from": "common"}}));

    let ticket = server
        .get("/web/events/onTicketCreate?product=support_ticket")
        .await
        .body;
    assert_eq!(ticket["source"], "default", "{ticket}");
    assert_eq!(
        ticket["path"],
        "server/test_data/support_ticket/onTicketCreate.json"
    );

    let simulated = server
        .post_json(
            "/web/simulate",
            json!({"event": "onAppInstall", "product": "support_ticket", "payload": install["payload"]}),
        )
        .await;
    assert_eq!(simulated.status, StatusCode::OK, "{}", simulated.body);
    assert_eq!(simulated.body["ok"], true, "{}", simulated.body);
    assert_eq!(console(&simulated.body), ["common"], "{}", simulated.body);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iparams_are_checked_saved_in_dot_weir_and_seen_by_handlers() {
    let dir = desk_app(
        "exports = {
  onTicketCreateHandler: function (payload) { console.log(JSON.stringify(payload.iparams)); },
  onExternalEventHandler: function () {},
  onScheduledEventHandler: function () {},
};",
    );
    write(
        dir.path(),
        &[(
            "config/iparams.json",
            r#"{"api_key": {"display_name": "API key", "type": "text", "required": true, "secure": true},
                "subdomain": {"display_name": "Subdomain", "type": "text"}}"#,
        )],
    );
    let server = DevServer::start(dir.path()).await;
    let form = server.get("/web/api/iparams").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let fields: Vec<(&str, bool, bool)> = form.body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap(),
                f["required"].as_bool().unwrap(),
                f["secure"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        fields,
        [("api_key", true, true), ("subdomain", false, false)],
        "{}",
        form.body
    );

    let missing = server
        .post_json("/web/api/iparams", json!({"values": {"subdomain": "acme"}}))
        .await;
    assert_eq!(
        missing.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        missing.body
    );
    assert!(
        missing.message().contains("iparams.api_key"),
        "{}",
        missing.body
    );
    assert!(!dir.path().join(".weir/iparams.json").exists());

    let values = json!({"api_key": "k-123", "subdomain": "acme"});
    let saved = server
        .post_json("/web/api/iparams", json!({"values": values}))
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(saved.body["values"], values, "{}", saved.body);
    assert_eq!(read_json(&dir.path().join(".weir/iparams.json")), values);
    assert_eq!(server.get("/web/api/iparams").await.body["values"], values);

    let run = server.simulate("onTicketCreate", json!({})).await;
    assert_eq!(run["ok"], true, "{run}");
    let seen: Value = serde_json::from_str(&console(&run)[0]).unwrap();
    assert_eq!(seen, values, "{run}");
    server.stop().await;
}

#[test]
fn an_invalid_app_is_refused_at_once_with_the_problems_weir_validate_prints() {
    let broken_json = TempDir::new();
    write(
        broken_json.path(),
        &[
            (
                "manifest.json",
                r#"{"platform-version": "2.3", "product": "#,
            ),
            ("server/server.js", "exports = {};"),
        ],
    );
    let broken_js = desk_app("exports = { onTicketCreateHandler: function () { return ( } };");
    for dir in [broken_json.path(), broken_js.path()] {
        let started = std::time::Instant::now();
        let output = weir_dev_output(dir, &[]);
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert_eq!(output.status.code(), Some(1), "{stdout}");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "took {:?}",
            started.elapsed()
        );
        assert!(!stdout.contains("weir listening on"), "{stdout}");
        let validated = std::process::Command::new(env!("CARGO_BIN_EXE_weir"))
            .arg("validate")
            .arg(dir)
            .output()
            .unwrap();
        assert_eq!(validated.status.code(), Some(1));
        assert_eq!(
            stdout,
            String::from_utf8_lossy(&validated.stdout),
            "as weir validate"
        );
        assert!(
            stdout.ends_with(&format!("problem(s) found in {}\n", dir.display())),
            "{stdout}"
        );
    }
    let output = weir_dev_output(broken_json.path(), &[]);
    assert!(
        String::from_utf8_lossy(&output.stdout).starts_with("manifest.json "),
        "{output:?}"
    );
    let output = weir_dev_output(broken_js.path(), &[]);
    assert!(
        String::from_utf8_lossy(&output.stdout).starts_with("server/server.js 1:"),
        "{output:?}"
    );
}

/// The simulator's page, the iparams form and their assets: embedded, no CDN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_and_their_assets_are_served() {
    let dir = desk_app(REMEMBERING);
    let server = DevServer::start(dir.path()).await;
    for (path, content_type) in [
        ("/web/test", "text/html"),
        ("/custom_configs", "text/html"),
        ("/web/assets/weir.css", "text/css"),
        ("/web/assets/simulator.js", "text/javascript"),
        ("/web/assets/custom_configs.js", "text/javascript"),
    ] {
        let page = server.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        let served = page.headers["content-type"].to_str().unwrap();
        assert!(served.starts_with(content_type), "{path}: {served}");
        assert!(!page.body.as_str().unwrap().is_empty(), "{path}");
    }
    let missing = server.get("/web/assets/nothing.js").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.body);
    server.stop().await;
}

/// A 3.x app of Freshsales modules runs in a Freshsales-like account and starts from
/// Freshsales' samples, as a 2.x Freshsales app does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_3x_sales_app_gets_a_sales_account_and_the_sales_samples() {
    let dir = TempDir::new();
    write(
        dir.path(),
        &[
            (
                "manifest.json",
                r#"{"platform-version": "3.0", "modules": {"common": {},
                    "deal": {"events": {"onDealCreate": {"handler": "deal"}}}}}"#,
            ),
            ("server/server.js", "exports = { deal: function () {} };"),
        ],
    );
    let server = DevServer::start(dir.path()).await;
    let deal = server.get("/web/events/onDealCreate?product=deal").await;
    assert_eq!(deal.status, StatusCode::OK, "{}", deal.body);
    let payload = &deal.body["payload"];
    assert_eq!(deal.body["source"], "default", "{payload}");
    let domain = payload["domain"].as_str().unwrap();
    assert!(!domain.contains("freshdesk"), "{payload}");
    let data = payload["data"].as_object().unwrap();
    assert!(!data.is_empty(), "the Freshsales sample: {payload}");
    server.stop().await;
}

/// A schedule an app makes fires on time and runs `onScheduledEvent` with its data, as
/// real traffic (a recurring schedule may start at once; a one-time one only 5 minutes
/// ahead, as on the platform).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_fires_on_time_and_runs_the_scheduled_event() {
    let dir = desk_app(
        r#"
exports = {
  onTicketCreateHandler: async function () {
    const at = new Date(Date.now() + 1500).toISOString();
    await $schedule.create({ name: 'tick', data: { lap: 1 }, schedule_at: at,
                             repeat: { time_unit: 'minutes', frequency: 5 } });
    console.log('scheduled for', at);
  },
  onExternalEventHandler: function () {},
  onScheduledEventHandler: function (payload) {
    console.log('tick lap', payload.data.lap);
  },
};
"#,
    );
    let server = DevServer::start(dir.path()).await;
    let made = server.simulate("onTicketCreate", json!({})).await;
    assert_eq!(made["status"], "success", "{made}");
    let fired = activity_until(&server, |run| {
        run["event"] == "onScheduledEvent" && run["status"] == "success"
    })
    .await;
    assert_eq!(fired["console"][0]["text"], "tick lap 1", "{fired}");
    server.stop().await;
}

/// Pages of other sites cannot drive the simulator through the developer's browser: a
/// foreign `Host` (DNS rebinding) or `Origin` is refused, and so is a write that is not
/// JSON (a cross-site form post); nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_sites_cannot_drive_the_simulator() {
    let dir = desk_app(REMEMBERING);
    let server = DevServer::start(dir.path()).await;
    let client = reqwest::Client::new();
    let simulate = format!("{}/web/simulate", server.base);
    let body = r#"{"event": "onTicketCreate", "payload": {"data": {"remember": "evil"}}}"#;
    let send = |host: Option<&str>, origin: Option<&str>, content_type: &str| {
        let mut request = client
            .post(&simulate)
            .header("content-type", content_type)
            .body(body);
        if let Some(host) = host {
            request = request.header("host", host);
        }
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send()
    };
    let rebound = send(Some("evil.example:10001"), None, "application/json")
        .await
        .unwrap();
    assert_eq!(rebound.status(), StatusCode::FORBIDDEN);
    let message = rebound.text().await.unwrap();
    assert!(message.contains("evil.example:10001"), "{message}");
    let foreign = send(None, Some("https://evil.example"), "application/json")
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    let form = send(None, None, "text/plain").await.unwrap();
    assert_eq!(form.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let reset = client
        .post(format!("{}/web/events/reset/onTicketCreate", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(
        !dir.path().join("server/test_data").exists(),
        "nothing written"
    );
    // Nor frame the pages (clickjacking), whose answers load nothing but their own.
    let page = server.get("/web/test").await;
    assert_eq!(page.headers["x-frame-options"], "DENY");
    let policy = page.headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(policy.contains("default-src 'self'"), "{policy}");

    let activity = server.get("/web/api/activity").await;
    assert_eq!(activity.body["invocations"], json!([]), "nothing ran");
    // The page's own requests pass: same host, same origin, JSON.
    let own_origin = server.base.clone();
    let own = send(None, Some(&own_origin), "application/json")
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::OK);
    server.stop().await;
}

/// Copies a folder of `examples/` into a new temporary folder.
fn example_copy(name: &str) -> TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            match entry.file_type().unwrap().is_dir() {
                true => copy(&entry.path(), &target),
                false => {
                    std::fs::copy(entry.path(), &target).unwrap();
                }
            }
        }
    }
    let dir = TempDir::new();
    let example = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name);
    copy(&example, dir.path());
    dir
}

/// A connector's global webhook is printed by the app's name; a message posted there
/// reaches the installation whose selector (made of its iparams, when they are saved)
/// matches, and the URL holds across an edit of the code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_global_webhook_url_reaches_the_installation_across_edits() {
    let dir = example_copy("chat-connector");
    let server = DevServer::start(dir.path()).await;
    let printed = server
        .printed
        .iter()
        .find(|line| line.starts_with("  global webhook  "))
        .cloned()
        .expect("the global webhook URL is printed");
    let path = "/in/global/chat-connector/chat-events";
    assert!(printed.contains(path), "{printed}");
    let saved = server
        .post_json(
            "/web/api/iparams",
            json!({"values": {"team_id": "T1", "signing_secret": "s3cret"}}),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);

    let message = |text: &str| {
        json!({"events": [{"team_id": "T1", "channel": "C9", "user": "ada", "text": text}]})
            .to_string()
    };
    let posted = server
        .post_raw(path, "application/json", message("first"))
        .await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.body);
    activity_until(&server, |run| {
        run["event"] == "message-posted"
            && run["console"][0]["text"] == "message in C9 from ada: first"
    })
    .await;

    let server_js = dir.path().join("server/server.js");
    let code = std::fs::read_to_string(&server_js).unwrap();
    let edited = code.replace("'message in'", "'edited: message in'");
    assert_ne!(code, edited);
    std::fs::write(&server_js, edited).unwrap();
    let posted = server
        .post_raw(path, "application/json", message("second"))
        .await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.body);
    activity_until(&server, |run| {
        run["console"][0]["text"] == "edited: message in C9 from ada: second"
    })
    .await;
    server.stop().await;
}

/// A folder caught mid-edit (its manifest moved away) is a problem to show, not an error:
/// the pages and the target URL go on with the last good version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_without_its_manifest_keeps_the_last_good_version_running() {
    let dir = desk_app(REMEMBERING);
    let server = DevServer::start(dir.path()).await;
    let manifest = dir.path().join("manifest.json");
    let aside = dir.path().join("manifest.json.moved");
    std::fs::rename(&manifest, &aside).unwrap();
    let app = server.get("/web/api/app").await;
    assert_eq!(app.status, StatusCode::OK, "{}", app.body);
    let problem = app.body["problems"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(problem.contains("manifest.json"), "{}", app.body);
    let sent = server
        .post_raw(
            &server.target_path(),
            "application/json",
            r#"{"issue": "meanwhile"}"#,
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    activity_until(&server, |run| {
        run["console"][0]["text"] == "external meanwhile"
    })
    .await;

    std::fs::rename(&aside, &manifest).unwrap();
    let app = server.get("/web/api/app").await;
    assert_eq!(app.body["problems"], json!([]), "{}", app.body);
    server.stop().await;
}

/// A test_data file that is not JSON is handed back as its text with the parser's
/// complaint, to mend in the page, rather than replaced by a default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_test_data_file_comes_back_as_text_with_its_problem() {
    let dir = desk_app(REMEMBERING);
    let broken = "{\n  \"data\": {\"ticket\": 1},\n}\n";
    let server = DevServer::start(dir.path()).await;
    // Written while it runs (at start, `weir validate`'s rules refuse such a file).
    write(
        dir.path(),
        &[("server/test_data/onTicketCreate.json", broken)],
    );
    let got = server.get("/web/events/onTicketCreate").await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    assert_eq!(got.body["payload"], Value::Null);
    assert_eq!(got.body["text"], broken);
    let problem = got.body["problem"].as_str().unwrap();
    assert!(
        problem.starts_with("server/test_data/onTicketCreate.json is not JSON"),
        "{problem}"
    );
    assert!(problem.contains("line 3"), "{problem}");
    server.stop().await;
}

/// A Freshdesk app with the three lifecycle handlers, a product event and a required
/// secure iparam.
const LIFECYCLE_MANIFEST: &str = r#"{
  "platform-version": "2.3",
  "product": {"freshdesk": {"events": {
    "onAppInstall": {"handler": "onAppInstallHandler"},
    "onAppUninstall": {"handler": "onAppUninstallHandler"},
    "afterAppUpdate": {"handler": "afterAppUpdateHandler"},
    "onTicketCreate": {"handler": "onTicketCreateHandler"}
  }}}
}"#;

/// `onAppInstall` refuses with a message when the API key is missing; `onAppUninstall`
/// forgets to answer; `afterAppUpdate` agrees; `onTicketCreate` answers nothing, as
/// product event handlers need not.
const LIFECYCLE_SERVER: &str = r#"
exports = {
  onAppInstallHandler: function (payload) {
    if (!payload.iparams.api_key) {
      renderData({ message: 'Enter the API key of your tracker to install this app' });
      return;
    }
    renderData();
  },
  onAppUninstallHandler: function () { console.log('bye'); },
  afterAppUpdateHandler: function () { renderData(); },
  onTicketCreateHandler: function () { console.log('ticket'); },
};
"#;

fn lifecycle_app() -> TempDir {
    let dir = TempDir::new();
    write(
        dir.path(),
        &[
            ("manifest.json", LIFECYCLE_MANIFEST),
            ("server/server.js", LIFECYCLE_SERVER),
            (
                "config/iparams.json",
                r#"{"api_key": {"display_name": "API key", "type": "text", "required": true, "secure": true},
                    "team": {"display_name": "Team", "type": "text", "required": true}}"#,
            ),
        ],
    );
    dir
}

/// A lifecycle handler that says no is shown refused, with the message an install (or
/// uninstall) would fail with, though the handler itself ran without error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_lifecycle_event_is_shown_refused_with_its_message() {
    let dir = lifecycle_app();
    let server = DevServer::start(dir.path()).await;

    let install = server.simulate("onAppInstall", json!({})).await;
    assert_eq!(install["ok"], false, "{install}");
    assert_eq!(install["status"], "success", "the handler ran: {install}");
    assert_eq!(
        install["refused"], "Enter the API key of your tracker to install this app",
        "{install}"
    );
    // A setup handler that never answers refuses too, as the platform would time out.
    let uninstall = server.simulate("onAppUninstall", json!({})).await;
    assert_eq!(uninstall["ok"], false, "{uninstall}");
    assert_eq!(
        uninstall["refused"], "onAppUninstall finished without calling renderData()",
        "{uninstall}"
    );
    // Product event handlers answer nothing, and are not refusals.
    let ticket = server.simulate("onTicketCreate", json!({})).await;
    assert_eq!(ticket["ok"], true, "{ticket}");
    assert_eq!(ticket["refused"], Value::Null, "{ticket}");
    // The recent runs say so too.
    let install_run = activity_until(&server, |run| run["event"] == "onAppInstall").await;
    assert_eq!(
        install_run["refused"], "Enter the API key of your tracker to install this app",
        "{install_run}"
    );
    let ticket_run = activity_until(&server, |run| run["event"] == "onTicketCreate").await;
    assert_eq!(ticket_run.get("refused"), None, "{ticket_run}");

    // With the API key saved, the same handler agrees.
    save_iparams(&server, json!({"api_key": "k-1", "team": "blue"})).await;
    let agreed = server.simulate("onAppInstall", json!({})).await;
    assert_eq!(agreed["ok"], true, "{agreed}");
    assert_eq!(agreed["refused"], Value::Null, "{agreed}");
    let updated = server.simulate("afterAppUpdate", json!({})).await;
    assert_eq!(updated["ok"], true, "{updated}");
    server.stop().await;
}

/// A run made while required iparams have no value says which, and where to fill them
/// in; once they have one, it says nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_with_required_iparams_unset_warns_which() {
    let dir = lifecycle_app();
    let server = DevServer::start(dir.path()).await;
    let run = server.simulate("onTicketCreate", json!({})).await;
    assert_eq!(run["ok"], true, "the handler still runs: {run}");
    let warnings = run["warnings"]
        .as_array()
        .unwrap_or_else(|| panic!("no warnings: {run}"));
    assert_eq!(warnings.len(), 1, "{run}");
    let warning = warnings[0].as_str().unwrap();
    assert!(
        warning.contains("Required iparams without a value: api_key, team"),
        "{warning}"
    );
    assert!(warning.contains("/custom_configs"), "{warning}");

    save_iparams(&server, json!({"api_key": "k-1", "team": "blue"})).await;
    let quiet = server.simulate("onTicketCreate", json!({})).await;
    assert_eq!(quiet["warnings"], json!([]), "{quiet}");
    server.stop().await;

    // A blank value is no value, as an install counts it. The form refuses one, but a
    // hand-written .weir/iparams.json is taken as it is at the first start.
    let blank = lifecycle_app();
    write(
        blank.path(),
        &[(".weir/iparams.json", r#"{"api_key": "k-1", "team": "  "}"#)],
    );
    let server = DevServer::start(blank.path()).await;
    let run = server.simulate("onTicketCreate", json!({})).await;
    let warning = run["warnings"][0].as_str().unwrap_or_default();
    assert!(
        warning.contains("Required iparams without a value: team."),
        "{run}"
    );
    server.stop().await;
}

/// Saves the iparams through the form's route, which must accept them.
async fn save_iparams(server: &DevServer, values: Value) {
    let saved = server
        .post_json("/web/api/iparams", json!({"values": values}))
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
}

/// A Zoho Desk extension (`resources.json`, no handlers in Weir) is offered the events
/// its extension webhook subscribes to; simulating one shows, without sending it, the
/// body and callback URL the engine would deliver, or that the filter stops it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zoho_desk_extension_simulates_its_events_and_sees_the_body_its_url_would_receive() {
    let dir = example_copy("zoho-desk-extension");
    let server = DevServer::start(dir.path()).await;
    let app = server.get("/web/api/app").await;
    assert_eq!(app.body["products"], json!(["zoho_desk"]), "{}", app.body);
    let listed = server.get("/web/eventsList").await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let events: Vec<(&str, &str, &str)> = listed.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let text = |key: &str| e[key].as_str().unwrap();
            (text("name"), text("kind"), text("handler"))
        })
        .collect();
    assert_eq!(
        events,
        [
            ("Ticket_Add", "extension", "ticketSync"),
            ("Ticket_Update", "extension", "ticketSync"),
            ("Ticket_Thread_Add", "extension", "ticketSync"),
            ("Ticket_Comment_Add", "extension", "ticketSync"),
        ],
        "{}",
        listed.body
    );

    // An update of a watched field, with the record before it: Zoho's array, prevState
    // included as the subscription asks, eventTime in the one form Weir writes.
    let update = json!({
        "data": {"id": "42", "status": "Closed", "priority": "High"},
        "prev_state": {"id": "42", "status": "Open", "priority": "High"},
        "occurred_at": "2026-11-30T10:00:00Z"
    });
    let shown = server.simulate("Ticket_Update", update).await;
    assert_eq!(shown["ok"], true, "{shown}");
    assert_eq!(shown["kind"], "extension", "{shown}");
    assert_eq!(shown["sent"], false, "{shown}");
    let delivery = &shown["deliveries"][0];
    assert_eq!(delivery["webhook"], "ticketSync", "{shown}");
    assert_eq!(delivery["passes"], true, "{shown}");
    assert_eq!(
        delivery["body"],
        json!([{
            "eventType": "Ticket_Update",
            "payload": {"id": "42", "status": "Closed", "priority": "High"},
            "prevState": {"id": "42", "status": "Open", "priority": "High"},
            "eventTime": "2026-11-30T10:00:00.000Z",
            "orgId": "dev"
        }]),
        "{shown}"
    );
    let url = delivery["url"].as_str().unwrap();
    let prefix = "https://sync.example.com/zoho/desk/callback?orgId=dev&securityContext=";
    assert!(url.starts_with(prefix), "{url}");
    // The securityContext is a real one: the installation's credential on the API.
    let context = &url[prefix.len()..];
    let installation = context
        .strip_prefix("wsc_")
        .and_then(|rest| rest.split('.').next())
        .unwrap_or_else(|| panic!("not a securityContext: {context}"));
    let seen = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/installations/{installation}",
            server.base
        ))
        .bearer_auth(context)
        .send()
        .await
        .unwrap();
    assert_eq!(seen.status(), StatusCode::OK);

    // An update of fields the webhook does not watch: its filter stops it.
    let unwatched = json!({
        "data": {"id": "42", "subject": "Printer on fire"},
        "prev_state": {"id": "42", "subject": "Printer"}
    });
    let stopped = server.simulate("Ticket_Update", unwatched).await;
    assert_eq!(stopped["ok"], false, "{stopped}");
    assert_eq!(stopped["deliveries"][0]["passes"], false, "{stopped}");
    assert_eq!(stopped["deliveries"][0]["body"], Value::Null, "{stopped}");
    assert_eq!(
        stopped["deliveries"][0]["filter"]["fields"],
        json!(["status", "priority"]),
        "{stopped}"
    );

    // The default payload passes the app's own filter (here: an incoming thread).
    let default = server
        .get("/web/events/Ticket_Thread_Add?product=zoho_desk")
        .await;
    assert_eq!(default.status, StatusCode::OK, "{}", default.body);
    assert_eq!(default.body["source"], "default", "{}", default.body);
    let thread = server
        .simulate("Ticket_Thread_Add", default.body["payload"].clone())
        .await;
    assert_eq!(thread["ok"], true, "{thread}");
    assert_eq!(
        thread["deliveries"][0]["body"][0]["eventType"],
        "Ticket_Thread_Add"
    );

    // What the API would refuse, the simulator refuses, with the API's words.
    let wrong = server
        .post_json(
            "/web/simulate",
            json!({"event": "Ticket_Add", "payload": {"data": {}, "occurred_at": "yesterday"}}),
        )
        .await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.body
    );
    assert!(
        wrong.message().starts_with("payload: occurred_at:"),
        "{}",
        wrong.body
    );
    let unsubscribed = server
        .post_json(
            "/web/simulate",
            json!({"event": "Contact_Add", "payload": {"data": {}}}),
        )
        .await;
    assert_eq!(
        unsubscribed.status,
        StatusCode::NOT_FOUND,
        "{}",
        unsubscribed.body
    );
    assert_eq!(
        unsubscribed.message(),
        "event: no extension webhook of the app subscribes to \"Contact_Add\"",
        "{}",
        unsubscribed.body
    );
    server.stop().await;
}

/// With no test_data, a product event's default payload is shaped as the platform sends
/// it, with the ids handlers read (`data.ticket.id`, `data.requester.id`), and the dev
/// account's domain passes the FQDN rule: a request template whose host is
/// `payload.domain` reaches the fake the developer maps it to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_payloads_carry_the_ids_handlers_read_and_a_domain_requests_take() {
    let desk = FakeThirdParty::start(|_| json_reply(200, json!([]))).await;
    let dir = TempDir::new();
    write(
        dir.path(),
        &[
            (
                "manifest.json",
                r#"{"platform-version": "2.3", "product": {"freshdesk": {
                    "events": {"onTicketCreate": {"handler": "ticket"},
                               "onTimeEntryCreate": {"handler": "timeEntry"}},
                    "requests": {"tickets": {}}}}}"#,
            ),
            (
                "config/requests.json",
                r#"{"tickets": {"schema": {"method": "GET", "host": "<%= context.domain %>",
                    "path": "/api/v2/tickets/<%= context.id %>"}}}"#,
            ),
            (
                "server/server.js",
                r#"exports = {
  ticket: async function (payload) {
    console.log('ticket ' + payload.data.ticket.id + ' from ' + payload.data.requester.id);
    const answer = await $request.invokeTemplate('tickets',
      { context: { domain: payload.domain, id: payload.data.ticket.id } });
    console.log('desk said ' + answer.status);
  },
  timeEntry: function (payload) { console.log('time entry ' + payload.data.time_entry.id); },
};"#,
            ),
        ],
    );
    let host_override = format!("dev.freshdesk.test={}", desk.address);
    let server = DevServer::start_with(dir.path(), &["--host-override", &host_override]).await;

    let ticket = server.get("/web/events/onTicketCreate").await;
    assert_eq!(ticket.status, StatusCode::OK, "{}", ticket.body);
    assert_eq!(ticket.body["source"], "default", "{}", ticket.body);
    let payload = &ticket.body["payload"];
    assert_eq!(payload["domain"], "dev.freshdesk.test", "{payload}");
    let run = server.simulate("onTicketCreate", payload.clone()).await;
    assert_eq!(run["status"], "success", "{run}");
    assert_eq!(
        console(&run),
        ["ticket 1042 from 5001", "desk said 200"],
        "{run}"
    );
    let received = desk.received();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].path, "/api/v2/tickets/1042");

    // An event without a built-in sample still has its record's id.
    let time_entry = server.get("/web/events/onTimeEntryCreate").await.body;
    let run = server
        .simulate("onTimeEntryCreate", time_entry["payload"].clone())
        .await;
    assert_eq!(console(&run), ["time entry 1"], "{run}");
    server.stop().await;
}

/// Freshservice's and Freshsales' defaults are their products' samples; a Freshworks CRM
/// app gets a dev account too (its product's name, with its `_`, is no host name).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_and_crm_apps_get_their_products_defaults() {
    let dir = TempDir::new();
    write(
        dir.path(),
        &[
            (
                "manifest.json",
                r#"{"platform-version": "2.3", "product": {"freshservice": {
                    "events": {"onTicketCreate": {"handler": "ticket"}}}}}"#,
            ),
            ("server/server.js", "exports = { ticket: function () {} };"),
        ],
    );
    let server = DevServer::start(dir.path()).await;
    let ticket = server.get("/web/events/onTicketCreate").await.body;
    let data = &ticket["payload"]["data"];
    assert_eq!(data["ticket"]["id"], 2051, "{ticket}");
    assert!(data["requester"]["id"].is_u64(), "{ticket}");
    assert_eq!(ticket["payload"]["domain"], "dev.freshservice.test");
    server.stop().await;

    let dir = TempDir::new();
    write(
        dir.path(),
        &[
            (
                "manifest.json",
                r#"{"platform-version": "2.3", "product": {"freshworks_crm": {
                    "events": {"onLeadCreate": {"handler": "lead"},
                               "onCpqDocumentCreate": {"handler": "cpq"}}}}}"#,
            ),
            (
                "server/server.js",
                "exports = { lead: function (p) { console.log('lead ' + p.data.lead.id); }, \
                 cpq: function () {} };",
            ),
        ],
    );
    let server = DevServer::start(dir.path()).await;
    let lead = server.get("/web/events/onLeadCreate").await.body;
    assert_eq!(lead["payload"]["domain"], "dev.myfreshworks.test", "{lead}");
    let run = server
        .simulate("onLeadCreate", lead["payload"].clone())
        .await;
    assert_eq!(console(&run), ["lead 917263"], "{run}");
    let cpq = server.get("/web/events/onCpqDocumentCreate").await.body;
    assert_eq!(cpq["payload"]["data"]["cpq_document"]["id"], 1, "{cpq}");
    server.stop().await;
}

/// An npm package the app declares needs another, which npm installed beside it (hoisted)
/// and the app does not declare: `weir dev` ships both, as an upload of the folder would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transitive_npm_dependency_loads() {
    let dir = TempDir::new();
    write(
        dir.path(),
        &[
            (
                "manifest.json",
                r#"{"platform-version": "2.3",
                    "product": {"freshdesk": {"events": {"onTicketCreate": {"handler": "ticket"}}}},
                    "dependencies": {"outer": "1.0.0"}}"#,
            ),
            (
                "server/server.js",
                "const outer = require('outer');
exports = { ticket: function (payload) { console.log(outer.greet(payload.data.ticket.id)); } };",
            ),
            (
                "server/node_modules/outer/package.json",
                r#"{"name": "outer", "main": "index.js", "dependencies": {"@inner/prefix": "1.0.0"}}"#,
            ),
            (
                "server/node_modules/outer/index.js",
                "const inner = require('@inner/prefix');
module.exports = { greet: function (id) { return inner.prefix() + id; } };",
            ),
            (
                "server/node_modules/@inner/prefix/package.json",
                r#"{"name": "@inner/prefix", "main": "lib/prefix.js"}"#,
            ),
            (
                "server/node_modules/@inner/prefix/lib/prefix.js",
                "module.exports = { prefix: function () { return 'ticket #'; } };",
            ),
            // Not needed by the server code: left behind.
            ("server/node_modules/jest/index.js", "module.exports = {};"),
        ],
    );
    let server = DevServer::start(dir.path()).await;
    let run = server
        .simulate("onTicketCreate", json!({"data": {"ticket": {"id": 7}}}))
        .await;
    assert_eq!(run["status"], "success", "{run}");
    assert_eq!(console(&run), ["ticket #7"], "{run}");
    server.stop().await;
}

/// An OAuth app under `weir dev`: the printed link (and the page's) starts the
/// authorization, the callback on the dev server completes it, and the page says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oauth_app_is_authorized_from_the_printed_link() {
    let authority = FakeThirdParty::start(|request| match request.path.as_str() {
        "/token" => json_reply(200, json!({"access_token": "dev-access", "expires_in": 60})),
        _ => json_reply(404, json!({})),
    })
    .await;
    let dir = desk_app(
        "exports = { onTicketCreateHandler() {}, onExternalEventHandler() {}, \
         onScheduledEventHandler() {} };",
    );
    let oauth_config = json!({"client_id": "dev-client", "client_secret": "dev-secret",
        "authorize_url": "https://auth.example.test/authorize",
        "token_url": "https://auth.example.test/token",
        "options": {"scope": "tickets"},
        "oauth_iparams": {"tenant": {"display_name": "Tenant", "required": true}}});
    write(
        dir.path(),
        &[("config/oauth_config.json", &oauth_config.to_string())],
    );
    let host_override = format!("auth.example.test={}", authority.address);
    let server = DevServer::start_with(dir.path(), &["--host-override", &host_override]).await;
    let link = server
        .printed_value("OAuth")
        .unwrap_or_else(|| panic!("no OAuth link printed:\n{}", server.printed.join("\n")));
    let port = server.base.rsplit(':').next().unwrap().to_owned();
    assert_eq!(link, format!("http://localhost:{port}/web/oauth/authorize"));
    let callback = format!("http://localhost:{port}/oauth/callback");
    assert_eq!(
        server.printed_value("OAuth callback").as_deref(),
        Some(format!("{callback}  (the redirect URI to register)").as_str())
    );
    let app = server.get("/web/api/app").await.body;
    assert_eq!(app["oauth"][0]["authorized"], false, "{app}");
    assert_eq!(app["oauth"][0]["authorize_url"], link.as_str(), "{app}");

    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let start = |query: &str| {
        let url = format!("{}/web/oauth/authorize{query}", server.base);
        let browser = browser.clone();
        async move { browser.get(url).send().await.unwrap() }
    };
    let without_tenant = start("").await;
    assert_eq!(without_tenant.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let sent_on = start("?tenant=acme").await;
    assert_eq!(sent_on.status(), StatusCode::SEE_OTHER);
    let location = sent_on.headers()["location"].to_str().unwrap();
    let location = url::Url::parse(location).unwrap();
    assert_eq!(location.host_str(), Some("auth.example.test"));
    let query: std::collections::HashMap<String, String> =
        location.query_pairs().into_owned().collect();
    assert_eq!(query["redirect_uri"], callback);
    assert_eq!(query["scope"], "tickets");

    let back = format!("/oauth/callback?code=dev-code&state={}", query["state"]);
    let authorized = server.get(&back).await;
    assert_eq!(authorized.status, StatusCode::OK, "{}", authorized.body);
    assert_eq!(authorized.body["authorized"], true);
    let app = server.get("/web/api/app").await.body;
    assert_eq!(app["oauth"][0]["authorized"], true, "{app}");
    server.stop().await;
}
