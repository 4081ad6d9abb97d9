//! Registered webhook calls over real HTTP: a product event's handler triggers one, and
//! the audit trail shows it, to the installation's account and nobody else's.

mod support;

use reqwest::StatusCode;
use serde_json::json;
use support::{Server, Storage};
use weir_testkit::{FakeThirdParty, json_reply};

on_both_backends!(the_audit_trail_shows_each_call_to_its_own_account_only,);

async fn the_audit_trail_shows_each_call_to_its_own_account_only(storage: Storage) {
    let partner = FakeThirdParty::start(|_| json_reply(200, json!({"ok": true}))).await;
    let host_override = format!("api.partner.test={}", partner.address);
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
    for id in ["acme", "globex"] {
        let account = json!({"id": id, "domain": "x.freshsales.io", "region": "US",
            "product": "freshsales"});
        server.post("/api/v1/accounts", account).await;
    }
    let manifest = json!({"name": "notify", "platform-version": "2.3",
        "product": {"freshsales": {"events": {"onContactCreate": {"handler": "call"}}}}});
    let webhooks = json!([{"id": "notify", "url": "https://api.partner.test/notify",
        "method": "POST", "headers": {"Authorization": "Bearer <%= iparam.token %>"}}]);
    let app = weir_testkit::zip(&[
        ("manifest.json", &manifest.to_string()),
        ("config/webhooks.json", &webhooks.to_string()),
        (
            "config/iparams.json",
            r#"{"token": {"display_name": "Token", "type": "text", "secure": true}}"#,
        ),
        (
            "server/server.js",
            "exports = { call: async function (p) { return await $webhooks.trigger('notify', p.data); } };",
        ),
    ]);
    let app = server.upload_app("/api/v1/apps", app).await.body["id"].clone();
    let installed = server
        .post(
            "/api/v1/accounts/acme/installations",
            json!({"app_id": app, "iparams": {"token": "t0ken"}}),
        )
        .await;
    assert_eq!(installed.status, StatusCode::CREATED, "{}", installed.body);
    let installation = installed.body["id"].as_str().unwrap().to_owned();
    let event = json!({"event": "onContactCreate", "data": {"contact": {"id": 1}}});
    let posted = server.post("/api/v1/accounts/acme/events", event).await;
    let record = server.only_run(posted.body["id"].as_str().unwrap()).await;
    let reference = record["result"]["referenceId"].as_str().unwrap().to_owned();

    let listed = server
        .get(&format!(
            "/api/v1/installations/{installation}/webhook-invocations"
        ))
        .await;
    assert_eq!(listed.body["data"][0]["reference_id"], reference.as_str());
    let shown = server
        .get(&format!("/api/v1/webhook-invocations/{reference}"))
        .await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_eq!(shown.body["target_host"], "api.partner.test");
    assert_eq!(shown.body["status"], 200);
    assert!(!shown.body.to_string().contains("t0ken"));

    // Another account's key: not found.
    let key = server
        .post("/api/v1/accounts/globex/api-keys", json!({}))
        .await
        .body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let foreign = server
        .get_as(&format!("/api/v1/webhook-invocations/{reference}"), &key)
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    server.stop().await;
}
