//! Product events over real HTTP, on both storage backends: the host posts events, the
//! installed apps' handlers run with the envelopes of seed 001, and the lifecycle
//! handlers have their say in installs, uninstalls and updates.

mod support;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Server, Storage};

on_both_backends!(
    every_freshsales_event_reaches_an_omni_app_with_its_envelope,
    unknown_events_duplicates_and_batches,
    events_reach_only_their_own_account,
    a_refused_install_leaves_nothing_behind_but_why,
    a_refused_uninstall_blocks_unless_forced,
    a_refused_update_keeps_the_installed_version,
    an_acknowledged_event_survives_sigkill,
    failed_handlers_are_retried_only_when_the_app_opts_in,
    platform_3_apps_get_the_current_host_and_changes_in_the_record,
    an_installation_hears_nothing_until_its_app_agrees,
    a_custom_install_page_app_takes_the_iparams_it_is_given,
    events_a_platform_2_0_script_lists_fan_out_to_it,
    an_account_changed_here_is_read_afresh_by_the_next_event,
);

/// Handles every sampled Freshsales event (seed 001's and the leads) in both CRM products, with one handler per
/// product, and returns what it got so that the invocation record shows it.
fn omni_app(version_note: &str) -> Vec<u8> {
    let events = weir_core::payloads::sampled_events("freshsales");
    let handlers = |handler: &str| -> Value {
        let mut map = serde_json::Map::new();
        for event in &events {
            map.insert((*event).into(), json!({"handler": handler}));
        }
        map.insert("onAppInstall".into(), json!({"handler": "onInstall"}));
        Value::Object(map)
    };
    let manifest = json!({
        "name": "omni",
        "platform-version": "2.3",
        "product": {
            "freshsales": {"events": handlers("onSales")},
            "freshworks_crm": {"events": handlers("onCrm")},
        },
    });
    let code = format!(
        "// {version_note}
        exports = {{
          onSales: function (payload) {{ return {{ via: 'freshsales', payload: payload }}; }},
          onCrm: function (payload) {{ return {{ via: 'freshworks_crm', payload: payload }}; }},
          onInstall: function (payload) {{ renderData(); }},
        }};"
    );
    weir_testkit::zip(&[
        ("manifest.json", &manifest.to_string()),
        (
            "config/iparams.json",
            r#"{"api_key": {"display_name": "API key", "type": "text", "secure": true},
                "region": {"display_name": "Region", "type": "text"}}"#,
        ),
        ("server/server.js", &code),
    ])
}

/// An app whose lifecycle handlers answer as `server_js` says. Its manifest declares the
/// handlers that `server_js` defines (`install: …`), as a real app's does: a package
/// naming a handler its code does not export is refused.
fn lifecycle_app(server_js: &str) -> Vec<u8> {
    let handlers = [
        ("onAppInstall", "install"),
        ("onAppUninstall", "uninstall"),
        ("afterAppUpdate", "update"),
        ("onContactCreate", "contact"),
        ("onScheduledEvent", "scheduled"),
        ("onExternalEvent", "external"),
    ];
    let events: serde_json::Map<String, Value> = handlers
        .iter()
        .filter(|(_, function)| defines(server_js, function))
        .map(|(event, function)| (event.to_string(), json!({"handler": function})))
        .collect();
    let manifest = json!({
        "name": "careful",
        "platform-version": "2.3",
        "product": {"freshsales": {"events": events}},
    });
    weir_testkit::zip(&[
        ("manifest.json", &manifest.to_string()),
        ("server/server.js", server_js),
    ])
}

/// Whether `server_js` defines `name: …` (not merely a longer name ending in it).
fn defines(server_js: &str, name: &str) -> bool {
    let key = format!("{name}:");
    server_js.match_indices(&key).any(|(at, _)| {
        let before = server_js[..at].chars().next_back();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
    })
}

async fn upload(server: &Server, zip: Vec<u8>) -> String {
    let app = server.upload_app("/api/v1/apps", zip).await;
    assert_eq!(app.status, StatusCode::CREATED, "{}", app.body);
    app.body["id"].as_str().unwrap().to_owned()
}

async fn account(server: &Server, id: &str) {
    let account = json!({"id": id, "domain": "acme.myfreshworks.com", "region": "US",
        "product": "freshsales"});
    let created = server.post("/api/v1/accounts", account).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
}

/// A new account and a key of its own, which acts on it alone.
async fn account_key(server: &Server, id: &str) -> String {
    account(server, id).await;
    let created = server
        .post(
            &format!("/api/v1/accounts/{id}/api-keys"),
            json!({"name": "backend"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    created.body["token"].as_str().unwrap().to_owned()
}

/// Installs the app, with the iparams of `omni_app` when it has them.
async fn install(server: &Server, account: &str, app: &str) -> String {
    let shown = server.get(&format!("/api/v1/apps/{app}")).await.body;
    let iparams = match shown["name"].as_str() {
        Some("omni") => json!({"api_key": "k-secret", "region": "eu"}),
        _ => json!({}),
    };
    let body = json!({"app_id": app, "iparams": iparams});
    let path = format!("/api/v1/accounts/{account}/installations");
    let installed = server.post(&path, body).await;
    assert_eq!(installed.status, StatusCode::CREATED, "{}", installed.body);
    installed.body["id"].as_str().unwrap().to_owned()
}

async fn post_events(server: &Server, account: &str, body: Value) -> support::Reply {
    server
        .post(&format!("/api/v1/accounts/{account}/events"), body)
        .await
}

async fn invocation_count(server: &Server, installation: &str, event: &str) -> usize {
    let path = format!("/api/v1/installations/{installation}/invocations?event={event}");
    let listed = server.get(&path).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    listed.body["data"].as_array().unwrap().len()
}

async fn every_freshsales_event_reaches_an_omni_app_with_its_envelope(storage: Storage) {
    let server = Server::start(&storage).await;
    account(&server, "acme").await;
    let app = upload(&server, omni_app("v1")).await;
    let installation = install(&server, "acme", &app).await;
    assert_eq!(
        invocation_count(&server, &installation, "onAppInstall").await,
        1
    );

    let events = weir_core::payloads::sampled_events("freshsales");
    assert_eq!(
        events.len(),
        14,
        "seed 001's 12 Freshsales events and Classic's 2 lead events"
    );
    for event in events {
        let sample = weir_core::payloads::sample("freshsales", event).unwrap();
        let posted = post_events(&server, "acme", sample.clone()).await;
        assert_eq!(
            posted.status,
            StatusCode::ACCEPTED,
            "{event}: {}",
            posted.body
        );
        assert_eq!(posted.body["jobs"], 1, "{event}");
        let record = server.only_run(posted.body["id"].as_str().unwrap()).await;
        assert_eq!(record["status"], "success", "{event}: {record}");
        assert_eq!(record["handler"], "onSales");
        let got = &record["result"];
        assert_eq!(got["via"], "freshsales");
        let envelope = &got["payload"];
        assert_eq!(envelope["event"], event);
        assert_eq!(envelope["account_id"], "acme");
        assert_eq!(envelope["domain"], "acme.myfreshworks.com");
        assert_eq!(envelope["region"], "US");
        assert_eq!(envelope["version"], "2.0");
        assert!(envelope["timestamp"].is_number(), "{envelope}");
        assert_eq!(
            envelope["productContext"],
            json!({"url": "https://acme.myfreshworks.com/crm", "name": "freshsales"})
        );
        assert_eq!(
            envelope["iparams"],
            json!({"api_key": "k-secret", "region": "eu"}),
            "secure iparams too"
        );
        // The record as posted, with the actor beside it, as seed 001 shows.
        let record_name = sample["data"].as_object().unwrap().keys().next().unwrap();
        assert_eq!(envelope["data"][record_name], sample["data"][record_name]);
        assert_eq!(envelope["data"]["actor"], sample["actor"]);
        if event.ends_with("Update") {
            assert_eq!(envelope["data"]["changes"], sample["changes"], "{event}");
            assert!(envelope["data"]["changes"]["model_changes"].is_object());
        }
    }

    // The same event for the other product of the omni app runs that product's handler.
    let mut crm = weir_core::payloads::sample("freshsales", "onDealCreate").unwrap();
    crm["product"] = json!("freshworks_crm");
    let posted = post_events(&server, "acme", crm).await;
    let record = server.only_run(posted.body["id"].as_str().unwrap()).await;
    assert_eq!(record["handler"], "onCrm");
    assert_eq!(
        record["result"]["payload"]["productContext"]["name"],
        "freshworks_crm"
    );
    server.stop().await;
}

/// A node reads the account it is posted to at most once a second; a change made on the
/// node is seen by the very next event: the account's product is its events' default.
async fn an_account_changed_here_is_read_afresh_by_the_next_event(storage: Storage) {
    let server = Server::start(&storage).await;
    account(&server, "acme").await;
    let ticket = json!({"event": "onTicketCreate", "data": {"ticket": {"id": 1}}});
    let as_freshsales = post_events(&server, "acme", ticket.clone()).await;
    assert_eq!(as_freshsales.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        as_freshsales
            .message()
            .starts_with("event: \"onTicketCreate\" is not an event of freshsales"),
        "{}",
        as_freshsales.message()
    );
    let changed = server
        .patch("/api/v1/accounts/acme", json!({"product": "freshdesk"}))
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    let as_freshdesk = post_events(&server, "acme", ticket.clone()).await;
    assert_eq!(
        as_freshdesk.status,
        StatusCode::ACCEPTED,
        "{}",
        as_freshdesk.body
    );

    let deleted = server.delete("/api/v1/accounts/acme").await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    let gone = post_events(&server, "acme", ticket).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "{}", gone.body);
    assert_eq!(gone.message(), "account acme not found");
}

async fn unknown_events_duplicates_and_batches(storage: Storage) {
    let server = Server::start(&storage).await;
    account(&server, "acme").await;
    let app = upload(&server, omni_app("v1")).await;
    let installation = install(&server, "acme", &app).await;

    let unknown = post_events(
        &server,
        "acme",
        json!({"event": "onContactDelete", "data": {}}),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown
            .message()
            .starts_with("event: \"onContactDelete\" is not an event of freshsales; its events are: onContactCreate, onContactUpdate,"),
        "{}",
        unknown.message()
    );
    let lifecycle = post_events(
        &server,
        "acme",
        json!({"event": "onAppInstall", "data": {}}),
    )
    .await;
    assert_eq!(
        lifecycle.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        lifecycle.body
    );
    let no_data = post_events(&server, "acme", json!({"event": "onContactCreate"})).await;
    assert_eq!(no_data.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(no_data.message(), "missing field `data`");
    let stray = json!({"event": "onContactCreate", "data": {}, "colour": "red"});
    let stray = post_events(&server, "acme", stray).await;
    assert_eq!(stray.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        stray.message().contains("unknown field `colour`"),
        "{}",
        stray.message()
    );

    // A bad event anywhere in a batch refuses the whole batch, naming its place.
    let batch = json!([
        {"event": "onContactCreate", "data": {"contact": {"id": 1}}},
        {"event": "onDealCreate", "data": {}, "occurred_at": "yesterday"},
    ]);
    let refused = post_events(&server, "acme", batch).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.message().starts_with("[1].occurred_at: "),
        "{}",
        refused.message()
    );
    assert_eq!(
        invocation_count(&server, &installation, "onContactCreate").await,
        0
    );

    let batch = json!([
        {"event": "onContactCreate", "data": {"contact": {"id": 1}}, "idempotency_key": "c-1"},
        {"event": "onDealCreate", "data": {"deal": {"id": 2}}},
        {"event": "onContactCreate", "data": {"contact": {"id": 1}}, "idempotency_key": "c-1"},
    ]);
    let accepted = post_events(&server, "acme", batch).await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.body);
    let ids: Vec<&Value> = accepted.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["id"])
        .collect();
    assert_eq!(ids[0], ids[2], "the repeat names the first");
    assert_ne!(ids[0], ids[1]);
    assert_eq!(accepted.body["events"][2]["duplicate"], true);

    let again = json!({"event": "onContactCreate", "data": {"contact": {"id": 1}},
        "idempotency_key": "c-1"});
    let again = post_events(&server, "acme", again).await;
    assert_eq!(again.status, StatusCode::ACCEPTED);
    assert_eq!(&again.body["id"], ids[0]);
    assert_eq!(again.body["duplicate"], true);
    assert_eq!(again.body["jobs"], 0);

    for id in [ids[0], ids[1]] {
        server.settled(id.as_str().unwrap()).await;
    }
    assert_eq!(
        invocation_count(&server, &installation, "onContactCreate").await,
        1,
        "one fan-out for one key"
    );
    assert_eq!(
        invocation_count(&server, &installation, "onDealCreate").await,
        1
    );

    let empty = post_events(&server, "acme", json!([])).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    let too_many: Vec<Value> = (0..101)
        .map(|_| json!({"event": "onTaskCreate", "data": {}}))
        .collect();
    let too_many = post_events(&server, "acme", Value::Array(too_many)).await;
    assert_eq!(too_many.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        too_many.message(),
        "a batch holds 1 to 100 events; this one has 101"
    );
    let nowhere = post_events(
        &server,
        "nobody",
        json!({"event": "onTaskCreate", "data": {}}),
    )
    .await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
    server.stop().await;
}

async fn events_reach_only_their_own_account(storage: Storage) {
    let server = Server::start(&storage).await;
    let app = upload(&server, omni_app("v1")).await;
    account(&server, "acme").await;
    account(&server, "globex").await;
    account(&server, "empty").await;
    let acme = install(&server, "acme", &app).await;
    let globex = install(&server, "globex", &app).await;

    let contact = json!({"event": "onContactCreate", "data": {"contact": {"id": 5}}});
    let posted = post_events(&server, "acme", contact.clone()).await;
    server.only_run(posted.body["id"].as_str().unwrap()).await;
    assert_eq!(invocation_count(&server, &acme, "onContactCreate").await, 1);
    assert_eq!(
        invocation_count(&server, &globex, "onContactCreate").await,
        0
    );

    let unheard = post_events(&server, "empty", contact).await;
    assert_eq!(unheard.status, StatusCode::ACCEPTED, "{}", unheard.body);
    assert_eq!(unheard.body["jobs"], 0);
    let shown = server
        .get(&format!(
            "/api/v1/events/{}",
            unheard.body["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(shown.body["event"], "onContactCreate");
    assert_eq!(shown.body["jobs"], json!([]));
    assert_eq!(invocation_count(&server, &acme, "onContactCreate").await, 1);
    server.stop().await;
}

/// A refused install leaves nothing behind but the records of its handler runs, which say
/// why: the refusal names the record, readable by its id and under the installation's.
async fn a_refused_install_leaves_nothing_behind_but_why(storage: Storage) {
    let server = Server::start(&storage).await;
    account(&server, "acme").await;
    let refusing = lifecycle_app(
        "exports = {
          install: async function (payload) {
            await $db.set('seen', { at: payload.timestamp });
            await $schedule.create({ name: 'later', data: {},
              schedule_at: new Date(Date.now() + 3600000).toISOString() });
            const url = await generateTargetUrl();
            renderData({ message: 'The API key is not valid; ' + url });
          },
          scheduled: function () {},
          external: function () {},
        };",
    );
    let app = upload(&server, refusing).await;
    let path = "/api/v1/accounts/acme/installations";
    let refused = server.post(path, json!({"app_id": app})).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    let message = refused.message();
    let prefix = "the app refused the install (onAppInstall): The API key is not valid; ";
    assert!(message.starts_with(prefix), "{message}");
    let listed = server.get(path).await;
    assert_eq!(listed.body["data"], json!([]), "no installation is left");
    let (target_url, record) = message[prefix.len()..]
        .split_once(" (invocation ")
        .unwrap_or_else(|| panic!("the refusal names no record: {message}"));
    let record = record.strip_suffix(')').unwrap();
    let shown = server.get(&format!("/api/v1/invocations/{record}")).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
    assert_eq!(shown.body["event"], "onAppInstall");
    assert_eq!(
        shown.body["render"]["message"],
        format!("The API key is not valid; {target_url}")
    );
    let installation = shown.body["installation_id"].as_str().unwrap();
    let gone = server
        .get(&format!("/api/v1/installations/{installation}"))
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let records = server
        .get(&format!("/api/v1/installations/{installation}/invocations"))
        .await;
    assert_eq!(records.status, StatusCode::OK, "{}", records.body);
    assert_eq!(records.body["data"][0]["id"], record, "{}", records.body);
    // Another account sees neither.
    let other_key = account_key(&server, "globex").await;
    let hidden = server
        .get_as(&format!("/api/v1/invocations/{record}"), &other_key)
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    let hidden = server
        .get_as(
            &format!("/api/v1/installations/{installation}/invocations"),
            &other_key,
        )
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    // The target URL the handler was given leads nowhere now.
    assert!(
        target_url.starts_with(&format!("{}/in/", server.base)),
        "{target_url}"
    );
    let answer = reqwest::Client::new()
        .post(target_url)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);

    let throwing =
        lifecycle_app("exports = { install: function () { throw new Error('boom'); } };");
    let app = upload(&server, throwing).await;
    let refused = server.post(path, json!({"app_id": app})).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.message().starts_with(
            "the app refused the install (onAppInstall): Error while executing App server script! - "
        ) && refused.message().contains("boom")
            && refused.message().contains(" (invocation "),
        "{}",
        refused.message()
    );
    let silent = lifecycle_app("exports = { install: function () {} };");
    let app = upload(&server, silent).await;
    let refused = server.post(path, json!({"app_id": app})).await;
    assert!(
        refused.message().starts_with(
            "the app refused the install (onAppInstall): onAppInstall finished without calling renderData() (invocation "
        ),
        "{}",
        refused.message()
    );

    // Nothing of the refused tries is in the way: an agreeing version installs.
    let agreeing = lifecycle_app("exports = { install: function () { renderData(); } };");
    let app = upload(&server, agreeing).await;
    let installed = server.post(path, json!({"app_id": app})).await;
    assert_eq!(installed.status, StatusCode::CREATED, "{}", installed.body);
    assert_eq!(
        server.get(path).await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    server.stop().await;
}

async fn a_refused_uninstall_blocks_unless_forced(storage: Storage) {
    let server = Server::start(&storage).await;
    account(&server, "acme").await;
    let app = lifecycle_app(
        "exports = {
          install: function () { renderData(); },
          uninstall: function () { renderData({ status: 403, message: 'Still syncing' }); },
        };",
    );
    let app = upload(&server, app).await;
    let installation = install(&server, "acme", &app).await;
    let path = format!("/api/v1/installations/{installation}");
    let blocked = server.delete(&path).await;
    assert_eq!(blocked.status, StatusCode::CONFLICT, "{}", blocked.body);
    assert!(
        blocked
            .message()
            .starts_with("the app refused (onAppUninstall): Still syncing (invocation inv_"),
        "{}",
        blocked.message()
    );
    assert_eq!(server.get(&path).await.body["status"], "active");

    let forced = server.delete(&format!("{path}?force=true")).await;
    assert_eq!(forced.status, StatusCode::NO_CONTENT, "{}", forced.body);
    assert_eq!(server.get(&path).await.body["status"], "uninstalled");
    assert_eq!(
        invocation_count(&server, &installation, "onAppUninstall").await,
        2
    );
    let bad_flag = server.delete(&format!("{path}?force=maybe")).await;
    assert_eq!(bad_flag.status, StatusCode::BAD_REQUEST);
    server.stop().await;
}

async fn a_refused_update_keeps_the_installed_version(storage: Storage) {
    let server = Server::start(&storage).await;
    account(&server, "acme").await;
    let v1 = upload(
        &server,
        lifecycle_app(
            "exports = { install: function () { renderData(); },
              contact: function () { return 'v1'; } };",
        ),
    )
    .await;
    let installation = install(&server, "acme", &v1).await;
    let v2 = upload(
        &server,
        lifecycle_app(
            "exports = { update: function () { renderData({ message: 'Cannot migrate' }); },
              contact: function () { return 'v2'; } };",
        ),
    )
    .await;
    let path = "/api/v1/accounts/acme/installations";
    let refused = server.post(path, json!({"app_id": v2})).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert_eq!(
        refused.message(),
        "the app refused the update (afterAppUpdate): Cannot migrate; the installation stays on version 1"
    );
    let shown = server
        .get(&format!("/api/v1/installations/{installation}"))
        .await;
    assert_eq!(shown.body["app_id"], v1.as_str());
    let contact = json!({"event": "onContactCreate", "data": {"contact": {"id": 1}}});
    let posted = post_events(&server, "acme", contact.clone()).await;
    let record = server.only_run(posted.body["id"].as_str().unwrap()).await;
    assert_eq!(record["result"], "v1", "the old version's code runs");

    let v3 = upload(
        &server,
        lifecycle_app(
            "exports = { update: function () { renderData(); },
              contact: function () { return 'v3'; } };",
        ),
    )
    .await;
    let updated = server.post(path, json!({"app_id": v3})).await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(
        updated.body["id"],
        installation.as_str(),
        "the same installation"
    );
    assert_eq!(updated.body["app_id"], v3.as_str());
    let posted = post_events(&server, "acme", contact).await;
    let record = server.only_run(posted.body["id"].as_str().unwrap()).await;
    assert_eq!(record["result"], "v3");

    let v4 = upload(
        &server,
        lifecycle_app("exports = { update: function () { renderData(); } };"),
    )
    .await;
    let with_iparams = server
        .post(path, json!({"app_id": v4, "iparams": {"x": 1}}))
        .await;
    assert_eq!(with_iparams.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        with_iparams
            .message()
            .contains("keeps its iparams, scopes and departments"),
        "{}",
        with_iparams.message()
    );
    let older = server.post(path, json!({"app_id": v2})).await;
    assert_eq!(older.status, StatusCode::CONFLICT, "{}", older.body);
    assert!(
        older.message().contains("version 3 is already installed"),
        "{}",
        older.message()
    );
    server.stop().await;
}

/// The node that acknowledges has the api role only, so the handler cannot have run before the
/// kill: only what the 202 made durable can make it run after the restart.
async fn an_acknowledged_event_survives_sigkill(storage: Storage) {
    let api_only =
        Server::start_configured(&storage, Some(support::ADMIN_TOKEN), &["--role", "api"]).await;
    account(&api_only, "acme").await;
    let app = upload(&api_only, omni_app("v1")).await;
    let installation = install(&api_only, "acme", &app).await;
    let contact = json!({"event": "onContactCreate", "data": {"contact": {"id": 9}}});
    let posted = post_events(&api_only, "acme", contact).await;
    assert_eq!(posted.status, StatusCode::ACCEPTED);
    api_only.kill().await;

    let server = Server::start(&storage).await;
    let record = server.only_run(posted.body["id"].as_str().unwrap()).await;
    assert_eq!(record["result"]["payload"]["data"]["contact"]["id"], 9);
    assert_eq!(
        invocation_count(&server, &installation, "onContactCreate").await,
        1
    );
    server.stop().await;
}

/// An app whose contact handler always throws, with `retry` as given in its manifest.
fn failing_app(name: &str, retry: Option<Value>) -> Vec<u8> {
    let mut manifest = json!({
        "name": name,
        "platform-version": "2.3",
        "product": {"freshsales": {"events": {"onContactCreate": {"handler": "contact"}}}},
    });
    if let Some(retry) = retry {
        manifest["retry"] = retry;
    }
    weir_testkit::zip(&[
        ("manifest.json", &manifest.to_string()),
        (
            "server/server.js",
            "exports = { contact: function () { throw new Error('CRM is down'); } };",
        ),
    ])
}

async fn failed_handlers_are_retried_only_when_the_app_opts_in(storage: Storage) {
    let server = Server::start(&storage).await;
    account(&server, "acme").await;
    let once = upload(&server, failing_app("once", None)).await;
    let twice = upload(
        &server,
        failing_app("twice", Some(json!({"maxAttempts": 3}))),
    )
    .await;
    let once = install(&server, "acme", &once).await;
    let twice = install(&server, "acme", &twice).await;
    let contact = json!({"event": "onContactCreate", "data": {"contact": {"id": 1}}});
    let posted = post_events(&server, "acme", contact).await;
    assert_eq!(posted.body["jobs"], 2);
    let event = posted.body["id"].as_str().unwrap();

    // Wait for both first runs: the opted-out job fails for good, the other waits.
    let shown = server
        .get_until(&format!("/api/v1/events/{event}"), |shown| {
            let jobs = shown["jobs"].as_array().unwrap();
            jobs.iter().all(|job| !job["last_invocation"].is_null())
        })
        .await;
    let jobs = shown["jobs"].as_array().unwrap().clone();
    let job_of = |installation: &str| {
        jobs.iter()
            .find(|job| job["installation_id"] == installation)
            .unwrap()
            .clone()
    };
    let (once, twice) = (job_of(&once), job_of(&twice));
    assert_eq!(
        (&once["status"], &once["attempts"], &once["max_attempts"]),
        (&json!("failed"), &json!(1), &json!(1)),
        "{once}"
    );
    assert_eq!(
        (&twice["status"], &twice["attempts"], &twice["max_attempts"]),
        (&json!("pending"), &json!(1), &json!(3)),
        "{twice}"
    );
    // The retry waits about 10 s (give or take a fifth) after the failed run.
    let record = server
        .get(&format!(
            "/api/v1/invocations/{}",
            twice["last_invocation"].as_str().unwrap()
        ))
        .await
        .body;
    assert_eq!(record["status"], "error");
    assert!(
        record["error"].as_str().unwrap().contains("CRM is down"),
        "{record}"
    );
    let started: jiff::Timestamp = record["started_at"].as_str().unwrap().parse().unwrap();
    let retry_at: jiff::Timestamp = twice["run_at"].as_str().unwrap().parse().unwrap();
    let wait = retry_at.duration_since(started).as_secs_f64();
    assert!((7.9..=12.5).contains(&wait), "retry after {wait} s");
    server.stop().await;
}

async fn platform_3_apps_get_the_current_host_and_changes_in_the_record(storage: Storage) {
    let server = Server::start(&storage).await;
    let desk = json!({"id": "desk", "domain": "acme.freshdesk.com", "region": "EU",
        "product": "freshdesk"});
    assert_eq!(
        server.post("/api/v1/accounts", desk).await.status,
        StatusCode::CREATED
    );
    let manifest = json!({
        "name": "tickets",
        "platform-version": "3.0",
        "modules": {
            "common": {},
            "support_ticket": {"events": {"onTicketUpdate": {"handler": "ticket"}}},
        },
        "engines": {"node": "18.20.0", "fdk": "9.0.0"},
    });
    let app = weir_testkit::zip(&[
        ("manifest.json", &manifest.to_string()),
        (
            "server/server.js",
            "exports = { ticket: function (payload) { return payload; } };",
        ),
    ]);
    let app = upload(&server, app).await;
    install(&server, "desk", &app).await;
    let update = json!({
        "event": "onTicketUpdate",
        "data": {"ticket": {"id": 7, "status": 4}, "requester": {"id": 3}},
        "actor": {"id": 99, "type": "agent"},
        "changes": {"status": [2, 4]},
        "department_id": "d-1",
    });
    let posted = post_events(&server, "desk", update).await;
    assert_eq!(posted.status, StatusCode::ACCEPTED, "{}", posted.body);
    let record = server.only_run(posted.body["id"].as_str().unwrap()).await;
    let envelope = &record["result"];
    assert_eq!(
        envelope["currentHost"],
        json!({"endpoint_urls": {"freshdesk": "https://acme.freshdesk.com"},
            "subscribed_modules": ["common", "support_ticket"]}),
        "{envelope}"
    );
    assert_eq!(
        envelope["data"]["ticket"]["changes"],
        json!({"status": [2, 4]})
    );
    assert_eq!(envelope["data"]["actor"]["id"], 99);
    assert_eq!(envelope["region"], "EU");
    assert_eq!(envelope["department_id"], "d-1");
    assert!(envelope["timestamp"].is_i64(), "milliseconds: {envelope}");
    assert_eq!(
        envelope["productContext"],
        json!({"url": "https://acme.freshdesk.com", "name": "freshdesk"})
    );
    server.stop().await;
}

/// While `onAppInstall` waits on a slow third party, events for the account do not reach
/// the installation: it is `installing` until the app agrees.
async fn an_installation_hears_nothing_until_its_app_agrees(storage: Storage) {
    let slow = weir_testkit::FakeThirdParty::start(|_| {
        (200, "application/json", "{}".into(), Duration::from_secs(2))
    })
    .await;
    let host_override = format!("api.slow.test={}", slow.address);
    let server = Server::start_configured(
        &storage,
        Some(support::ADMIN_TOKEN),
        &[
            "--allow-private-destinations",
            "127.0.0.0/8",
            "--host-override",
            &host_override,
        ],
    )
    .await;
    account(&server, "acme").await;
    let manifest = json!({
        "name": "slow-install",
        "platform-version": "2.3",
        "whitelisted-domains": ["https://api.slow.test"],
        "product": {"freshsales": {"events": {
            "onAppInstall": {"handler": "install"},
            "onContactCreate": {"handler": "contact"},
        }}},
    });
    let code = "exports = {
      install: async function () { await $request.get('https://api.slow.test/ready'); renderData(); },
      contact: function () { return 'heard'; },
    };";
    let app = upload(
        &server,
        weir_testkit::zip(&[
            ("manifest.json", &manifest.to_string()),
            ("server/server.js", code),
        ]),
    )
    .await;
    let installing = {
        let base = server.base.clone();
        let app = app.clone();
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(format!("{base}/api/v1/accounts/acme/installations"))
                .bearer_auth(support::ADMIN_TOKEN)
                .json(&json!({"app_id": app}))
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    // Once the third party has the handler's call, the install is under way.
    slow.wait_until("onAppInstall's call", |got| !got.is_empty())
        .await;
    let contact = json!({"event": "onContactCreate", "data": {"contact": {"id": 1}}});
    let early = post_events(&server, "acme", contact.clone()).await;
    assert_eq!(early.body["jobs"], 0, "not installed yet: {}", early.body);
    assert_eq!(installing.await.unwrap(), StatusCode::CREATED);
    let late = post_events(&server, "acme", contact).await;
    assert_eq!(late.body["jobs"], 1);
    let record = server.only_run(late.body["id"].as_str().unwrap()).await;
    assert_eq!(record["result"], "heard");
    server.stop().await;
}

/// An app with its own installation page (`config/iparams.html`) declares no iparams:
/// the installer gives what the page collected, `__meta.secure` naming the secure ones,
/// and a request template's host made of them (`<%= iparam.subdomain %>.freshdesk.com`)
/// resolves.
async fn a_custom_install_page_app_takes_the_iparams_it_is_given(storage: Storage) {
    let desk = weir_testkit::FakeThirdParty::start(|_| {
        (200, "application/json", "[]".into(), Duration::ZERO)
    })
    .await;
    let host_override = format!("acme.freshdesk.com={}", desk.address);
    let server = Server::start_configured(
        &storage,
        Some(support::ADMIN_TOKEN),
        &[
            "--allow-private-destinations",
            "127.0.0.0/8",
            "--host-override",
            &host_override,
        ],
    )
    .await;
    account(&server, "acme").await;
    let manifest = json!({
        "name": "custom-page",
        "platform-version": "2.3",
        "product": {"freshdesk": {
            "events": {"onAppInstall": {"handler": "install"}},
            "requests": {"tickets": {}},
        }},
    });
    let requests = json!({"tickets": {"schema": {
        "method": "GET",
        "host": "<%= iparam.subdomain %>.freshdesk.com",
        "path": "/api/v2/tickets",
        "headers": {"Authorization": "Basic <%= encode(iparam.api_key) %>"},
    }}});
    let code = "exports = {
      install: async function (payload) {
        const answer = await $request.invokeTemplate('tickets', {});
        console.log('desk said ' + answer.status + ' for ' + payload.iparams.subdomain);
        renderData();
      },
    };";
    let app = upload(
        &server,
        weir_testkit::zip(&[
            ("manifest.json", &manifest.to_string()),
            ("config/requests.json", &requests.to_string()),
            (
                "config/iparams.html",
                "<html><body><input class=\"subdomain\"></body></html>",
            ),
            (
                "config/assets/iparams.js",
                "function postConfigs() { return { __meta: { secure: ['api_key'] } }; }",
            ),
            ("server/server.js", code),
        ]),
    )
    .await;
    let given = json!({
        "__meta": {"secure": ["api_key"], "modules": {}},
        "subdomain": "acme",
        "api_key": "k-secret",
        "routing": {"priority": ["high", "urgent"]},
    });
    let installed = server
        .post(
            "/api/v1/accounts/acme/installations",
            json!({"app_id": app, "iparams": given}),
        )
        .await;
    assert_eq!(installed.status, StatusCode::CREATED, "{}", installed.body);
    assert_eq!(
        installed.body["iparams"],
        json!({"subdomain": "acme", "routing": {"priority": ["high", "urgent"]}})
    );
    assert_eq!(installed.body["secure_iparams"], json!(["api_key"]));
    let received = desk.received();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].path, "/api/v2/tickets");
    let authorization = received[0]
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
        .map(|(_, value)| value.as_str());
    // base64("k-secret")
    assert_eq!(authorization, Some("Basic ay1zZWNyZXQ="), "{received:?}");
    let installation = installed.body["id"].as_str().unwrap();
    let records = server
        .get(&format!("/api/v1/installations/{installation}/invocations"))
        .await;
    let console = &records.body["data"][0]["console"][0]["text"];
    assert_eq!(console, "desk said 200 for acme", "{}", records.body);
    server.stop().await;
}

/// A platform 2.0 app names no handler in its manifest: `server.js` lists its events in
/// `exports.events`. Uploading learns them, and posted events fan out to them.
async fn events_a_platform_2_0_script_lists_fan_out_to_it(storage: Storage) {
    let server = Server::start(&storage).await;
    account(&server, "acme").await;
    let manifest = json!({
        "name": "listed-events",
        "platform-version": "2.0",
        "product": {"freshsales": {}},
    });
    let code = "exports = {
      events: [
        { event: 'onContactCreate', callback: 'contactCreated' },
        { event: 'onDealUpdate', callback: function (payload) { return 'deal ' + payload.data.deal.id; } },
      ],
      contactCreated: function (payload) { return 'contact ' + payload.data.contact.id; },
    };";
    let app = upload(
        &server,
        weir_testkit::zip(&[
            ("manifest.json", &manifest.to_string()),
            ("server/server.js", code),
        ]),
    )
    .await;
    install(&server, "acme", &app).await;
    let contact = json!({"event": "onContactCreate", "data": {"contact": {"id": 7}}});
    let posted = post_events(&server, "acme", contact).await;
    assert_eq!(posted.body["jobs"], 1, "{}", posted.body);
    let record = server.only_run(posted.body["id"].as_str().unwrap()).await;
    assert_eq!(record["result"], "contact 7", "{record}");
    let deal = json!({"event": "onDealUpdate", "data": {"deal": {"id": 9}}});
    let posted = post_events(&server, "acme", deal).await;
    assert_eq!(posted.body["jobs"], 1, "{}", posted.body);
    let record = server.only_run(posted.body["id"].as_str().unwrap()).await;
    assert_eq!(record["result"], "deal 9", "{record}");
    let unlisted = json!({"event": "onContactUpdate", "data": {"contact": {"id": 7}}});
    let posted = post_events(&server, "acme", unlisted).await;
    assert_eq!(
        posted.body["jobs"], 0,
        "the script does not list it: {}",
        posted.body
    );
    server.stop().await;
}
