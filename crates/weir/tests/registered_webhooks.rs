//! Registered webhook calls over real HTTP: a product event's handler triggers one, and
//! the audit trail shows it, to the installation's account and nobody else's.

mod support;

use reqwest::StatusCode;
use serde_json::json;
use support::{Server, Storage};
use weir_testkit::{FakeThirdParty, json_reply};

on_both_backends!(
    the_audit_trail_shows_each_call_to_its_own_account_only,
    a_client_token_triggers_its_installations_webhooks_and_nothing_else,
);

async fn start(storage: &Storage, partner: &FakeThirdParty) -> Server {
    let host_override = format!("api.partner.test={}", partner.address);
    Server::start_configured(
        storage,
        Some(support::ADMIN_TOKEN),
        &[
            "--allow-private-destinations",
            "127.0.0.0/8",
            "--host-override",
            &host_override,
        ],
    )
    .await
}

/// An app whose `notify` webhook sends the installation's secure `token` as a bearer.
fn notify_app(server_js: &str) -> Vec<u8> {
    let manifest = json!({"name": "notify", "platform-version": "2.3",
        "product": {"freshsales": {"events": {"onContactCreate": {"handler": "call"}}}}});
    let webhooks = json!([{"id": "notify", "url": "https://api.partner.test/notify",
        "method": "POST", "headers": {"Authorization": "Bearer <%= iparam.token %>"}}]);
    weir_testkit::zip(&[
        ("manifest.json", &manifest.to_string()),
        ("config/webhooks.json", &webhooks.to_string()),
        (
            "config/iparams.json",
            r#"{"token": {"display_name": "Token", "type": "text", "secure": true}}"#,
        ),
        ("server/server.js", server_js),
    ])
}

async fn the_audit_trail_shows_each_call_to_its_own_account_only(storage: Storage) {
    let partner = FakeThirdParty::start(|_| json_reply(200, json!({"ok": true}))).await;
    let server = start(&storage, &partner).await;
    for id in ["acme", "globex"] {
        let account = json!({"id": id, "domain": "x.freshsales.io", "region": "US",
            "product": "freshsales"});
        server.post("/api/v1/accounts", account).await;
    }
    let app = notify_app(
        "exports = { call: async function (p) { return await $webhooks.trigger('notify', p.data); } };",
    );
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

async fn a_client_token_triggers_its_installations_webhooks_and_nothing_else(storage: Storage) {
    let partner = FakeThirdParty::start(|_| json_reply(200, json!({"ok": true}))).await;
    let server = start(&storage, &partner).await;
    let app = notify_app("exports = { call: function () {} };");
    let app = server.upload_app("/api/v1/apps", app).await.body["id"].clone();
    let mut installations = Vec::new();
    for id in ["acme", "globex"] {
        let account = json!({"id": id, "domain": "x.freshsales.io", "region": "US",
            "product": "freshsales"});
        server.post("/api/v1/accounts", account).await;
        let installed = server
            .post(
                &format!("/api/v1/accounts/{id}/installations"),
                json!({"app_id": app, "iparams": {"token": format!("t0ken-{id}")}}),
            )
            .await;
        installations.push(installed.body["id"].as_str().unwrap().to_owned());
    }
    let (mine, theirs) = (&installations[0], &installations[1]);
    let issued = server
        .post(
            &format!("/api/v1/installations/{mine}/client-token"),
            json!({}),
        )
        .await;
    assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.body);
    let token = issued.body["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("wct_"));

    let send = |installation: &str, body: serde_json::Value| {
        let (server, token) = (&server, token.clone());
        let path = format!("/api/v1/installations/{installation}/webhooks/notify/trigger");
        async move {
            server
                .send_json(reqwest::Method::POST, &path, &token, body)
                .await
        }
    };
    let triggered = send(mine, json!({"data": {"hello": "world"}})).await;
    assert_eq!(triggered.status, StatusCode::OK, "{}", triggered.body);
    assert_eq!(triggered.body["status"], 200);
    assert_eq!(triggered.body["data"], json!({"ok": true}));
    assert!(
        triggered.body["referenceId"]
            .as_str()
            .unwrap()
            .starts_with("ref_")
    );
    let sent = &partner.received()[0];
    assert_eq!(sent.headers["authorization"], "Bearer t0ken-acme");
    assert!(!triggered.body.to_string().contains("t0ken"));

    let bad = send(mine, json!({"headers": {"X-Count": 3}})).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad.message(),
        "headers.X-Count: a header value must be a string, not 3"
    );
    let other = send(theirs, json!({})).await;
    assert_eq!(
        other.status,
        StatusCode::NOT_FOUND,
        "another installation's webhooks"
    );
    for path in [
        format!("/api/v1/installations/{mine}"),
        format!("/api/v1/installations/{mine}/webhook-invocations"),
        "/api/v1/accounts/acme".to_owned(),
        "/api/v1/apps".to_owned(),
    ] {
        let refused = server.get_as(&path, &token).await;
        assert!(
            [StatusCode::FORBIDDEN, StatusCode::NOT_FOUND].contains(&refused.status),
            "{path}: {}",
            refused.status
        );
    }
    // A new token replaces the old one.
    server
        .post(
            &format!("/api/v1/installations/{mine}/client-token"),
            json!({}),
        )
        .await;
    let stale = send(mine, json!({})).await;
    assert_eq!(stale.status, StatusCode::UNAUTHORIZED);
    server.stop().await;
}
