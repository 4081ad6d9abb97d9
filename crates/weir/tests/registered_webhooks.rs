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
    a_chain_runs_its_handler_and_records_every_link_under_the_first_call,
    a_registration_without_a_method_posts_a_body_and_gets_without_one,
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
    let redirected = send(mine, json!({"headers": {"Host": "elsewhere.example.com"}})).await;
    assert_eq!(redirected.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        redirected.message(),
        "headers.Host: this header is set by Weir, not by the caller"
    );
    let preflight = reqwest::Client::new()
        .request(
            reqwest::Method::OPTIONS,
            format!(
                "{}/api/v1/installations/{mine}/webhooks/notify/trigger",
                server.base
            ),
        )
        .header("origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    assert_eq!(triggered.headers["access-control-allow-origin"], "*");
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

async fn a_chain_runs_its_handler_and_records_every_link_under_the_first_call(storage: Storage) {
    let partner = FakeThirdParty::start(|request| match request.path.as_str() {
        "/first" => json_reply(200, json!({"ticket": 41})),
        _ => json_reply(201, json!({"linked": true})),
    })
    .await;
    let server = start(&storage, &partner).await;
    let account = json!({"id": "acme", "domain": "x.freshsales.io", "region": "US",
        "product": "freshsales"});
    server.post("/api/v1/accounts", account).await;
    let manifest = json!({"name": "chained", "platform-version": "2.3",
        "product": {"freshsales": {"events": {"onContactCreate": {"handler": "noop"}}}}});
    let webhooks = json!([
        {"id": "first", "url": "https://api.partner.test/first", "method": "POST",
         "then": "onFirst"},
        {"id": "second", "url": "https://api.partner.test/second", "method": "POST"},
    ]);
    let code = "exports = {
      noop: function () {},
      onFirst: async function (payload) {
        const ticket = payload.data.data.ticket;
        return await $webhooks.trigger('second', { ticket: ticket + 1 });
      },
    };";
    let app = weir_testkit::zip(&[
        ("manifest.json", &manifest.to_string()),
        ("config/webhooks.json", &webhooks.to_string()),
        ("server/server.js", code),
    ]);
    let app = server.upload_app("/api/v1/apps", app).await.body["id"].clone();
    let installed = server
        .post(
            "/api/v1/accounts/acme/installations",
            json!({"app_id": app}),
        )
        .await;
    let installation = installed.body["id"].as_str().unwrap().to_owned();

    let path = format!("/api/v1/installations/{installation}/webhooks/first/trigger");
    let result = server.post(&path, json!({"data": {"go": true}})).await;
    assert_eq!(result.status, StatusCode::OK, "{}", result.body);
    assert_eq!(
        result.body["status"], 201,
        "the client sees the final link: {}",
        result.body
    );
    assert_eq!(result.body["data"], json!({"linked": true}));
    let paths: Vec<String> = partner.received().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, ["/first", "/second"]);
    let second: serde_json::Value = serde_json::from_str(&partner.received()[1].body).unwrap();
    assert_eq!(
        second,
        json!({"ticket": 42}),
        "the handler saw the first response"
    );

    let records = server
        .get(&format!(
            "/api/v1/installations/{installation}/webhook-invocations"
        ))
        .await
        .body;
    let records = records["data"].as_array().unwrap();
    assert_eq!(records.len(), 2);
    let first_ref = &records[0]["reference_id"];
    assert_eq!(records[0]["webhook_id"], "first");
    assert_eq!(&records[0]["chain_id"], first_ref);
    assert_eq!(records[1]["webhook_id"], "second");
    assert_eq!(
        &records[1]["chain_id"], first_ref,
        "recorded under the first call"
    );
    server.stop().await;
}

/// Coviu's own `send-jpeg` example registers no `method`: it is accepted, and a call with a
/// body is a POST (here the JPEG's bytes, decoded from base64), one without a GET.
async fn a_registration_without_a_method_posts_a_body_and_gets_without_one(storage: Storage) {
    let partner = FakeThirdParty::start(|_| json_reply(200, json!({"ok": true}))).await;
    let server = start(&storage, &partner).await;
    let account = json!({"id": "acme", "domain": "x.freshsales.io", "region": "US",
        "product": "freshsales"});
    server.post("/api/v1/accounts", account).await;
    let manifest = json!({"name": "jpeg", "platform-version": "2.3",
        "product": {"freshsales": {"events": {"onContactCreate": {"handler": "call"}}}}});
    let webhooks = json!([
        {"id": "send-jpeg", "url": "https://api.partner.test/photo",
         "headers": {"Content-Type": "image/jpeg"}, "payload_encoding": "base64"},
        {"id": "status", "url": "https://api.partner.test/status"},
    ]);
    // The bytes of a JPEG's start: FF D8 FF E0.
    let code = "exports = { call: async function () {
        await $webhooks.trigger('send-jpeg', '/9j/4A==');
        return await $webhooks.trigger('status');
    } };";
    let package = weir_testkit::zip(&[
        ("manifest.json", &manifest.to_string()),
        ("config/webhooks.json", &webhooks.to_string()),
        ("server/server.js", code),
    ]);
    let app = server.upload_app("/api/v1/apps", package).await;
    assert_eq!(app.status, StatusCode::CREATED, "{}", app.body);
    let installed = server
        .post(
            "/api/v1/accounts/acme/installations",
            json!({"app_id": app.body["id"]}),
        )
        .await;
    assert_eq!(installed.status, StatusCode::CREATED, "{}", installed.body);
    let event = json!({"event": "onContactCreate", "data": {"contact": {"id": 1}}});
    let posted = server.post("/api/v1/accounts/acme/events", event).await;
    let record = server.only_run(posted.body["id"].as_str().unwrap()).await;
    assert_eq!(record["result"]["status"], 200, "{record}");
    let got = partner.received();
    assert_eq!(got[0].method, "POST");
    assert_eq!(got[0].path, "/photo");
    assert_eq!(got[0].raw, [0xFF, 0xD8, 0xFF, 0xE0]);
    assert_eq!(got[0].headers["content-type"], "image/jpeg");
    assert_eq!(got[1].method, "GET");
    assert_eq!(got[1].path, "/status");
    server.stop().await;
}
