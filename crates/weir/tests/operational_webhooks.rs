//! Operational webhooks over real HTTP, on both storage backends, to real receivers on
//! loopback: Weir tells the operator's endpoint that a subscription was disabled, that a
//! delivery died, that an app's handler keeps failing, signed and delivered as any
//! delivery is; an operational webhook's own troubles tell nothing.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::signatures::verifies;
use support::{Server, Storage};
use weir_testkit::{FakeThirdParty, Received, json_reply};

on_both_backends!(
    a_subscription_disabled_by_a_410_is_told_once_signed,
    a_dead_delivery_is_told,
    a_failing_handler_is_told_once_per_window,
    operational_webhooks_are_the_admins_alone,
);

/// REFERENCE §7's test-vector secret: the receiver below verifies with it independently.
const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

async fn start(storage: &Storage, flags: &[&str]) -> Server {
    let mut all = vec!["--allow-private-destinations", "127.0.0.0/8"];
    all.extend_from_slice(flags);
    Server::start_configured(storage, Some(support::ADMIN_TOKEN), &all).await
}

async fn account(server: &Server, id: &str) {
    let body = json!({"id": id, "domain": "acme.freshsales.io", "region": "US",
        "product": "freshsales"});
    let created = server.post("/api/v1/accounts", body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
}

fn url_of(receiver: &FakeThirdParty) -> String {
    format!("http://{}/hook", receiver.address)
}

/// An operational webhook to `receiver` for `events`, FIFO so that what it receives comes
/// in the order it was stored.
async fn operational_webhook(
    server: &Server,
    receiver: &FakeThirdParty,
    events: &[&str],
) -> String {
    let body = json!({"url": url_of(receiver), "events": events, "secret": SECRET,
        "fifo": true});
    let created = server.post("/api/v1/operational-webhooks", body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["secret"], SECRET);
    created.body["id"].as_str().unwrap().to_owned()
}

async fn subscribe(server: &Server, account: &str, receiver: &FakeThirdParty) -> String {
    let body = json!({"url": url_of(receiver), "events": ["onContactCreate"]});
    let created = server
        .post(&format!("/api/v1/accounts/{account}/subscriptions"), body)
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    created.body["id"].as_str().unwrap().to_owned()
}

async fn post_event(server: &Server, account: &str, n: u64) -> Value {
    let event = json!({"event": "onContactCreate", "data": {"contact": {"id": n}}});
    let posted = server
        .post(&format!("/api/v1/accounts/{account}/events"), event)
        .await;
    assert_eq!(posted.status, StatusCode::ACCEPTED, "{}", posted.body);
    posted.body
}

/// The payloads received, in order.
fn payloads(received: &[Received]) -> Vec<Value> {
    received
        .iter()
        .map(|request| serde_json::from_str(&request.body).unwrap())
        .collect()
}

fn of_type(payloads: &[Value], kind: &str) -> usize {
    payloads.iter().filter(|p| p["type"] == kind).count()
}

async fn a_subscription_disabled_by_a_410_is_told_once_signed(storage: Storage) {
    let operator = FakeThirdParty::start(|_| json_reply(200, json!({}))).await;
    // A second operational webhook whose own endpoint is gone: its disable tells nothing.
    let gone_operator = FakeThirdParty::start(|_| json_reply(410, json!({}))).await;
    let gone = FakeThirdParty::start(|_| json_reply(410, json!({}))).await;
    let server = start(&storage, &[]).await;
    account(&server, "acme").await;
    let told = operational_webhook(&server, &operator, &["subscription.disabled"]).await;
    let broken = operational_webhook(&server, &gone_operator, &["subscription.disabled"]).await;
    let first = subscribe(&server, "acme", &gone).await;
    post_event(&server, "acme", 1).await;

    let got = operator
        .wait_until("subscription.disabled", |got| !got.is_empty())
        .await;
    let request = &got[0];
    assert!(
        verifies(request, SECRET),
        "signed with the webhook's secret"
    );
    assert!(request.headers["webhook-id"].starts_with("msg_"));
    let payload: Value = serde_json::from_str(&request.body).unwrap();
    assert_eq!(payload["type"], "subscription.disabled");
    let data = &payload["data"];
    assert_eq!(data["subscription_id"], first.as_str());
    assert_eq!(data["account_id"], "acme");
    assert_eq!(data["reason"], "the receiver answered 410 Gone");
    assert_eq!(data["url"], url_of(&gone));
    let at: jiff::Timestamp = payload["timestamp"].as_str().unwrap().parse().unwrap();
    assert!(at <= jiff::Timestamp::now());

    // The broken operational webhook got the same news, answered 410, and is disabled
    // without a word: a second disable reaches the operator next, with nothing between.
    let path = format!("/api/v1/operational-webhooks/{broken}");
    let shown = server.get_until(&path, |w| w["enabled"] == false).await;
    assert_eq!(shown["disabled_reason"], "the receiver answered 410 Gone");
    let second = subscribe(&server, "acme", &gone).await;
    post_event(&server, "acme", 2).await;
    let got = operator
        .wait_until("the second subscription.disabled", |got| got.len() >= 2)
        .await;
    let told_of: Vec<Value> = payloads(&got)
        .iter()
        .map(|p| p["data"]["subscription_id"].clone())
        .collect();
    assert_eq!(told_of, [json!(first), json!(second)]);
    // Listed as deliveries of the operational webhook, with their attempts.
    let listed = server
        .get(&format!("/api/v1/deliveries?subscription={told}"))
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let listed = listed.body["data"].as_array().unwrap().clone();
    assert_eq!(listed.len(), 2, "{listed:?}");
    let id = listed[0]["id"].as_str().unwrap();
    assert_eq!(id, got[0].headers["webhook-id"]);
    let shown = server.get(&format!("/api/v1/deliveries/{id}")).await.body;
    assert_eq!(shown["status"], "delivered");
    assert_eq!(shown["attempts_made"][0]["status_code"], 200);
    // The broken one's events since it was disabled are kept, skipped.
    let skipped = server
        .get(&format!(
            "/api/v1/deliveries?subscription={broken}&status=skipped"
        ))
        .await;
    assert_eq!(skipped.body["data"].as_array().unwrap().len(), 1);
    server.stop().await;
}

async fn a_dead_delivery_is_told(storage: Storage) {
    let operator = FakeThirdParty::start(|_| json_reply(200, json!({}))).await;
    let failing = FakeThirdParty::start(|_| json_reply(500, json!({}))).await;
    // Every attempt failing for a second disables the subscription: the second attempt
    // (about 5 s after the first) is its delivery's last.
    let server = start(&storage, &["--disable-failing-after", "1"]).await;
    account(&server, "acme").await;
    operational_webhook(&server, &operator, &["delivery.dead"]).await;
    subscribe(&server, "acme", &failing).await;
    post_event(&server, "acme", 1).await;

    let got = operator
        .wait_until("delivery.dead", |got| !got.is_empty())
        .await;
    assert!(verifies(&got[0], SECRET));
    let payload: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(payload["type"], "delivery.dead");
    let data = &payload["data"];
    let attempts = failing.received();
    assert_eq!(attempts.len(), 2);
    assert_eq!(
        data["delivery_id"],
        attempts[0].headers["webhook-id"].as_str()
    );
    assert_eq!(data["account_id"], "acme");
    assert_eq!(data["event"], "onContactCreate");
    assert_eq!(data["attempts"], 2);
    assert_eq!(data["last_attempt"]["status_code"], 500);
    let reason = data["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("its subscription is disabled: every attempt has failed since "),
        "{reason}"
    );
    let dead = server
        .get(&format!(
            "/api/v1/deliveries/{}",
            data["delivery_id"].as_str().unwrap()
        ))
        .await
        .body;
    assert_eq!(dead["status"], "dead");
    server.stop().await;
}

/// An app whose contact handler always throws.
fn failing_app() -> Vec<u8> {
    let manifest = json!({
        "name": "broken",
        "platform-version": "2.3",
        "product": {"freshsales": {"events": {"onContactCreate": {"handler": "contact"}}}},
    });
    weir_testkit::zip(&[
        ("manifest.json", &manifest.to_string()),
        (
            "server/server.js",
            "exports = { contact: function () { throw new Error('CRM is down'); } };",
        ),
    ])
}

/// An app whose `onAppInstall` refuses.
fn refusing_app() -> Vec<u8> {
    let manifest = json!({
        "name": "refusing",
        "platform-version": "2.3",
        "product": {"freshsales": {"events": {"onAppInstall": {"handler": "install"}}}},
    });
    weir_testkit::zip(&[
        ("manifest.json", &manifest.to_string()),
        (
            "server/server.js",
            "exports = { install: function () { renderData({message: 'no licence'}); } };",
        ),
    ])
}

async fn upload(server: &Server, zip: Vec<u8>) -> String {
    let app = server.upload_app("/api/v1/apps", zip).await;
    assert_eq!(app.status, StatusCode::CREATED, "{}", app.body);
    app.body["id"].as_str().unwrap().to_owned()
}

async fn a_failing_handler_is_told_once_per_window(storage: Storage) {
    let operator = FakeThirdParty::start(|_| json_reply(200, json!({}))).await;
    let server = start(&storage, &[]).await;
    account(&server, "acme").await;
    operational_webhook(
        &server,
        &operator,
        &["app.handler_failing", "installation.failed"],
    )
    .await;
    let app = upload(&server, failing_app()).await;
    let path = "/api/v1/accounts/acme/installations";
    let installed = server.post(path, json!({"app_id": app})).await;
    assert_eq!(installed.status, StatusCode::CREATED, "{}", installed.body);
    let installation = installed.body["id"].as_str().unwrap().to_owned();

    // Twelve failures in a row: past five, the operator is told, once in the hour.
    for n in 0..12 {
        post_event(&server, "acme", n).await;
    }
    let runs = format!("/api/v1/installations/{installation}/invocations?limit=100");
    server
        .get_until(&runs, |l| l["data"].as_array().unwrap().len() == 12)
        .await;
    // A refused install is told after them; the webhook is FIFO, so what was told before
    // it has arrived when it does.
    let refusing = upload(&server, refusing_app()).await;
    let refused = server.post(path, json!({"app_id": refusing})).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    let got = operator
        .wait_until("installation.failed", |got| {
            of_type(&payloads(got), "installation.failed") == 1
        })
        .await;
    let told = payloads(&got);
    assert_eq!(of_type(&told, "app.handler_failing"), 1, "{told:?}");
    let failing = told
        .iter()
        .find(|p| p["type"] == "app.handler_failing")
        .unwrap();
    assert_eq!(failing["data"]["installation_id"], installation.as_str());
    assert_eq!(failing["data"]["failures_in_a_row"], 5);
    assert!(
        failing["data"]["error"]
            .as_str()
            .unwrap()
            .contains("CRM is down"),
        "{failing}"
    );
    let install = told
        .iter()
        .find(|p| p["type"] == "installation.failed")
        .unwrap();
    assert_eq!(install["data"]["stage"], "install");
    assert_eq!(install["data"]["account_id"], "acme");
    assert!(
        install["data"]["reason"]
            .as_str()
            .unwrap()
            .contains("no licence"),
        "{install}"
    );
    assert!(got.iter().all(|request| verifies(request, SECRET)));
    server.stop().await;
}

async fn operational_webhooks_are_the_admins_alone(storage: Storage) {
    let operator = FakeThirdParty::start(|_| json_reply(200, json!({}))).await;
    let server = start(&storage, &[]).await;
    account(&server, "acme").await;
    let id = operational_webhook(&server, &operator, &["delivery.dead"]).await;
    let path = format!("/api/v1/operational-webhooks/{id}");

    let listed = server.get("/api/v1/operational-webhooks").await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert_eq!(listed.body["data"][0]["id"], id.as_str());
    assert!(listed.body["data"][0].get("secret").is_none(), "shown once");
    let changed = server
        .patch(
            &path,
            json!({"events": ["delivery.dead", "subscription.failing"]}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(
        changed.body["events"],
        json!(["delivery.dead", "subscription.failing"])
    );

    // Precise refusals.
    for (body, status, says) in [
        (
            json!({"url": url_of(&operator), "events": ["onContactCreate"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "events",
        ),
        (
            json!({"url": url_of(&operator), "events": []}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "events",
        ),
        (
            json!({"url": "ftp://x", "events": ["delivery.dead"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "url",
        ),
        (
            json!({"url": url_of(&operator), "events": ["delivery.dead"], "filters": {}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "filters",
        ),
    ] {
        let refused = server.post("/api/v1/operational-webhooks", body).await;
        assert_eq!(refused.status, status, "{}", refused.body);
        assert!(refused.message().contains(says), "{}", refused.message());
    }
    let batching = server
        .patch(
            &format!("/api/v1/subscriptions/{id}"),
            json!({"batch_size": 5}),
        )
        .await;
    assert_eq!(
        batching.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        batching.body
    );
    let unknown = server.get("/api/v1/operational-webhooks/sub_nope").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    // An account's subscription is not an operational webhook, and the instance account
    // is none of the operator's.
    let customer = subscribe(&server, "acme", &operator).await;
    let not_one = server
        .get(&format!("/api/v1/operational-webhooks/{customer}"))
        .await;
    assert_eq!(not_one.status, StatusCode::NOT_FOUND);
    let accounts = server.get("/api/v1/accounts").await.body;
    assert_eq!(accounts["data"].as_array().unwrap().len(), 1, "{accounts}");
    let hidden = server.get("/api/v1/accounts/weir-operational").await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    let taken = server
        .post(
            "/api/v1/accounts",
            json!({"id": "weir-operational",
            "domain": "x.example.com", "region": "US", "product": "freshsales"}),
        )
        .await;
    assert_eq!(
        taken.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        taken.body
    );
    assert!(taken.message().contains("reserved"), "{}", taken.message());

    // An account's key reaches none of it.
    let key = server
        .post("/api/v1/accounts/acme/api-keys", json!({"name": "backend"}))
        .await
        .body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    for path in ["/api/v1/operational-webhooks".to_owned(), path.clone()] {
        let forbidden = server.get_as(&path, &key).await;
        assert_eq!(
            forbidden.status,
            StatusCode::FORBIDDEN,
            "{}",
            forbidden.body
        );
    }
    let deleted = server.delete(&path).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(server.get(&path).await.status, StatusCode::NOT_FOUND);
    server.stop().await;
}
