//! Outbound deliveries over real HTTP, on both storage backends, to real receivers on
//! loopback: signing, retries, 410, Retry-After, isolation of a slow receiver, rotation,
//! a SIGKILL in the middle of a stream, and fan-out under concurrent load.

mod support;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::signatures::verifies;
use support::{Server, Storage};
use weir_testkit::{FakeThirdParty, Received, WebhookTally, json_reply};

on_both_backends!(
    deliveries_are_signed_and_recorded,
    a_receiver_that_fails_gets_every_event_once_it_recovers,
    a_410_disables_the_subscription,
    events_posted_while_disabled_are_recovered_in_order,
    retry_after_is_honoured,
    a_slow_receiver_does_not_delay_a_fast_one,
    rotated_secrets_each_sign_until_their_own_time,
    v1a_deliveries_verify_with_the_public_key,
    subscriptions_are_checked_and_replays_resend,
    every_acknowledged_event_is_delivered_after_sigkill,
    a_fifo_subscription_gets_events_in_order,
    a_rate_limit_spreads_the_attempts,
    a_subscription_failing_for_too_long_is_disabled,
    a_batching_subscription_gets_several_events_in_one_call,
    internal_addresses_are_refused_unless_allowed,
    ten_subscriptions_get_every_event_of_concurrent_batches,
);

/// REFERENCE §7's test-vector secret: the receiver below verifies with it independently.
const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
/// A secret no subscription has: verification with it must fail.
const OTHER_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

async fn start(storage: &Storage) -> Server {
    Server::start_configured(
        storage,
        Some(support::ADMIN_TOKEN),
        &["--allow-private-destinations", "127.0.0.0/8"],
    )
    .await
}

async fn account(server: &Server, id: &str) {
    let body = json!({"id": id, "domain": "acme.freshsales.io", "region": "US",
        "product": "freshsales"});
    assert_eq!(
        server.post("/api/v1/accounts", body).await.status,
        StatusCode::CREATED
    );
}

async fn subscribe(
    server: &Server,
    account: &str,
    receiver: &FakeThirdParty,
    body: Value,
) -> Value {
    let mut body = body;
    body["url"] = json!(format!("http://{}/hook", receiver.address));
    let created = server
        .post(&format!("/api/v1/accounts/{account}/subscriptions"), body)
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    created.body
}

async fn post_event(server: &Server, account: &str, n: u64) -> Value {
    let event = json!({"event": "onContactCreate", "data": {"contact": {"id": n}}});
    let posted = server
        .post(&format!("/api/v1/accounts/{account}/events"), event)
        .await;
    assert_eq!(posted.status, StatusCode::ACCEPTED, "{}", posted.body);
    posted.body
}

/// The account's first delivery, once it has been attempted, with its attempts.
async fn first_attempted(server: &Server, account: &str) -> Value {
    let listed = server
        .get_until(&format!("/api/v1/deliveries?account={account}"), |l| {
            l["data"][0]["id"].is_string()
        })
        .await;
    let id = listed["data"][0]["id"].as_str().unwrap();
    server
        .get_until(&format!("/api/v1/deliveries/{id}"), |d| {
            d["attempts_made"].get(0).is_some()
        })
        .await
}

async fn delivery(server: &Server, id: &str) -> Value {
    let shown = server.get(&format!("/api/v1/deliveries/{id}")).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
    shown.body
}

async fn deliveries_are_signed_and_recorded(storage: Storage) {
    let receiver = FakeThirdParty::start(|_| json_reply(200, json!({"ok": true}))).await;
    let server = start(&storage).await;
    account(&server, "acme").await;
    let subscription = subscribe(
        &server,
        "acme",
        &receiver,
        json!({"events": ["onContactCreate"], "secret": SECRET}),
    )
    .await;
    assert_eq!(subscription["secret"], SECRET, "shown when made");
    let shown = server
        .get(&format!(
            "/api/v1/subscriptions/{}",
            subscription["id"].as_str().unwrap()
        ))
        .await;
    assert!(
        shown.body.get("secret").is_none(),
        "never again: {}",
        shown.body
    );

    let posted = post_event(&server, "acme", 7).await;
    assert_eq!(posted["deliveries"], 1);
    receiver
        .wait_until("one delivery", |got| got.len() == 1)
        .await;
    let request = &receiver.received()[0];
    assert_eq!(request.method, "POST");
    assert!(verifies(request, SECRET), "{request:?}");
    assert!(request.headers["user-agent"].starts_with("Weir/"));
    let timestamp: i64 = request.headers["webhook-timestamp"].parse().unwrap();
    assert!((weir_core::now().as_second() - timestamp).abs() < 300);
    let body: Value = serde_json::from_str(&request.body).unwrap();
    assert_eq!(body[0]["eventType"], "onContactCreate");
    assert_eq!(body[0]["payload"], json!({"contact": {"id": 7}}));
    assert_eq!(body[0]["orgId"], "acme");
    assert!(body[0]["eventTime"].is_string());

    let id = request.headers["webhook-id"].clone();
    let recorded = server
        .get_until(&format!("/api/v1/deliveries/{id}"), |d| {
            d["status"] == "delivered"
        })
        .await;
    assert_eq!(recorded["event_id"], posted["id"]);
    let attempts = recorded["attempts_made"].as_array().unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["status_code"], 200);
    assert_eq!(attempts[0]["response"], r#"{"ok":true}"#);
    let listed = server
        .get("/api/v1/deliveries?account=acme&status=delivered")
        .await;
    assert_eq!(listed.body["data"][0]["id"], id.as_str(), "{}", listed.body);

    let metrics = reqwest::get(format!("{}/metrics", server.base))
        .await
        .unwrap();
    assert_eq!(metrics.status(), StatusCode::OK);
    let text = metrics.text().await.unwrap();
    for line in [
        "weir_queue_depth{queue=\"deliveries\"} 0",
        "weir_delivery_attempts_total{outcome=\"delivered\"} 1",
        "weir_delivery_latency_seconds_count 1",
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} not in:\n{text}");
    }
    server.stop().await;
}

async fn a_receiver_that_fails_gets_every_event_once_it_recovers(storage: Storage) {
    // Down for the first three requests, then up.
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let receiver = FakeThirdParty::start(move |_| {
        match calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
            0..3 => json_reply(503, json!({"error": "maintenance"})),
            _ => json_reply(200, json!({})),
        }
    })
    .await;
    let server = start(&storage).await;
    account(&server, "acme").await;
    subscribe(
        &server,
        "acme",
        &receiver,
        json!({"events": ["onContactCreate"]}),
    )
    .await;
    for n in 0..3 {
        post_event(&server, "acme", n).await;
    }
    // The first retry comes about 5 s later (DESIGN.md's schedule).
    receiver
        .wait_until("every event delivered", |got| {
            let delivered: std::collections::BTreeSet<&str> = got[3.min(got.len())..]
                .iter()
                .map(|r| r.headers["webhook-id"].as_str())
                .collect();
            delivered.len() == 3
        })
        .await;
    let first = &receiver.received()[0];
    let again = receiver
        .received()
        .into_iter()
        .skip(3)
        .find(|r| r.headers["webhook-id"] == first.headers["webhook-id"])
        .unwrap();
    assert_ne!(
        first.headers["webhook-timestamp"], again.headers["webhook-timestamp"],
        "each attempt has its own time, the same id"
    );
    server.stop().await;
}

async fn a_410_disables_the_subscription(storage: Storage) {
    let receiver = FakeThirdParty::start(|_| json_reply(410, json!({}))).await;
    let server = start(&storage).await;
    account(&server, "acme").await;
    let subscription = subscribe(
        &server,
        "acme",
        &receiver,
        json!({"events": ["onContactCreate"]}),
    )
    .await;
    let path = format!(
        "/api/v1/subscriptions/{}",
        subscription["id"].as_str().unwrap()
    );
    post_event(&server, "acme", 1).await;
    receiver.wait_until("the 410", |got| got.len() == 1).await;
    let shown = server.get_until(&path, |s| s["enabled"] == false).await;
    assert_eq!(shown["disabled_reason"], "the receiver answered 410 Gone");
    let id = &receiver.received()[0].headers["webhook-id"];
    assert_eq!(delivery(&server, id).await["status"], "dead");
    let later = post_event(&server, "acme", 2).await;
    assert_eq!(
        later["deliveries"], 1,
        "a disabled subscription's delivery is kept, skipped"
    );
    let replay = server
        .post(&format!("/api/v1/deliveries/{id}/replay"), json!({}))
        .await;
    assert_eq!(replay.status, StatusCode::CONFLICT, "{}", replay.body);
    assert!(
        replay.message().contains("is disabled"),
        "{}",
        replay.message()
    );

    let enabled = server.post(&format!("{path}/enable"), json!({})).await;
    assert_eq!(enabled.body["enabled"], true);
    assert_eq!(post_event(&server, "acme", 3).await["deliveries"], 1);
    server.stop().await;
}

/// Events posted while a subscription is disabled are kept as skipped deliveries; after
/// it is enabled again, a recovery sends them (and the one that died), each once, in
/// event order for a FIFO subscription.
async fn events_posted_while_disabled_are_recovered_in_order(storage: Storage) {
    // Gone for the first call, then back.
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let receiver = FakeThirdParty::start(move |_| {
        match calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
            0 => json_reply(410, json!({})),
            _ => json_reply(200, json!({})),
        }
    })
    .await;
    let server = start(&storage).await;
    account(&server, "acme").await;
    let subscription = subscribe(
        &server,
        "acme",
        &receiver,
        json!({"events": ["onContactCreate"], "fifo": true, "secret": SECRET}),
    )
    .await;
    let id = subscription["id"].as_str().unwrap();
    let path = format!("/api/v1/subscriptions/{id}");
    post_event(&server, "acme", 0).await;
    server.get_until(&path, |s| s["enabled"] == false).await;
    for n in 1..=5 {
        assert_eq!(post_event(&server, "acme", n).await["deliveries"], 1);
    }
    let listed = |status: &str| format!("/api/v1/deliveries?subscription={id}&status={status}");
    let skipped = server.get(&listed("skipped")).await.body;
    assert_eq!(skipped["data"].as_array().unwrap().len(), 5, "{skipped}");
    assert_eq!(skipped["data"][0]["attempts"], 0, "never attempted");
    let early = server
        .post(
            &format!("{path}/recover"),
            json!({"since": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
    assert!(
        early.message().contains("is disabled"),
        "{}",
        early.message()
    );

    let enabled = server.post(&format!("{path}/enable"), json!({})).await;
    assert_eq!(enabled.status, StatusCode::OK, "{}", enabled.body);
    let recovered = server
        .post(
            &format!("{path}/recover"),
            json!({"since": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(recovered.status, StatusCode::ACCEPTED, "{}", recovered.body);
    assert_eq!(
        recovered.body["recovered"], 6,
        "the dead one and five skipped"
    );
    let got = receiver
        .wait_until("the recovered deliveries", |got| got.len() == 7)
        .await;
    let contacts: Vec<i64> = got[1..]
        .iter()
        .map(|request| {
            assert!(verifies(request, SECRET), "signed");
            let body: Value = serde_json::from_str(&request.body).unwrap();
            body[0]["payload"]["contact"]["id"].as_i64().unwrap()
        })
        .collect();
    assert_eq!(contacts, [0, 1, 2, 3, 4, 5], "each once, in event order");
    let delivered = server
        .get_until(&listed("delivered"), |l| {
            l["data"].as_array().unwrap().len() == 6
        })
        .await;
    assert_eq!(delivered["data"].as_array().unwrap().len(), 6);
    let none = server.get(&listed("skipped")).await.body;
    assert_eq!(none["data"], json!([]));
    let again = server
        .post(
            &format!("{path}/recover"),
            json!({"since": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(again.body["recovered"], 0, "nothing left to recover");
    let bad = server.get(&listed("lost")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.message().contains("skipped"), "{}", bad.message());
    server.stop().await;
}

async fn retry_after_is_honoured(storage: Storage) {
    // Without Retry-After the schedule's 5 s (±20%) holds; asking for 30 s gets 30 s.
    for (asked, expected) in [(None, 3.9..=6.1), (Some("30"), 29.0..=31.5)] {
        let address = answering_429(asked).await;
        let server = start(&storage).await;
        let account_id = format!("acme{}", asked.unwrap_or("0"));
        account(&server, &account_id).await;
        let url = format!("http://{address}/hook");
        let body = json!({"url": url, "events": ["onContactCreate"]});
        let created = server
            .post(
                &format!("/api/v1/accounts/{account_id}/subscriptions"),
                body,
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        post_event(&server, &account_id, 1).await;
        let shown = first_attempted(&server, &account_id).await;
        assert_eq!(shown["status"], "pending");
        assert_eq!(shown["attempts_made"][0]["status_code"], 429);
        let attempted: jiff::Timestamp = shown["attempts_made"][0]["at"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let next: jiff::Timestamp = shown["run_at"].as_str().unwrap().parse().unwrap();
        let wait = next.duration_since(attempted).as_secs_f64();
        assert!(
            expected.contains(&wait),
            "Retry-After {asked:?}: waited {wait} s"
        );
        server.stop().await;
    }
}

/// A receiver that answers 429, with `Retry-After` when given.
async fn answering_429(retry_after: Option<&'static str>) -> std::net::SocketAddr {
    let app = axum::Router::new().fallback(move || async move {
        let mut response = axum::response::IntoResponse::into_response((
            StatusCode::TOO_MANY_REQUESTS,
            "slow down",
        ));
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert("retry-after", seconds.parse().unwrap());
        }
        response
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

async fn a_slow_receiver_does_not_delay_a_fast_one(storage: Storage) {
    let slow =
        FakeThirdParty::start(|_| (200, "application/json", "{}".into(), Duration::from_secs(3)))
            .await;
    let fast = FakeThirdParty::start(|_| json_reply(200, json!({}))).await;
    let server = start(&storage).await;
    account(&server, "acme").await;
    subscribe(
        &server,
        "acme",
        &slow,
        json!({"events": ["onContactCreate"]}),
    )
    .await;
    subscribe(
        &server,
        "acme",
        &fast,
        json!({"events": ["onContactCreate"]}),
    )
    .await;
    for n in 0..30 {
        post_event(&server, "acme", n).await;
    }
    fast.wait_until("the fast receiver has everything", |got| got.len() == 30)
        .await;
    assert!(
        slow.received().len() <= 16,
        "the slow receiver is still at its first requests: {}",
        slow.received().len()
    );
    server.stop().await;
}

async fn rotate(server: &Server, path: &str, grace_seconds: i64) -> Value {
    let rotated = server
        .post(
            &format!("{path}/rotate-secret"),
            json!({"grace_seconds": grace_seconds}),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    rotated.body
}

/// The `n`th request the receiver got, once it has it.
async fn nth_request(receiver: &FakeThirdParty, n: usize) -> Received {
    receiver
        .wait_until("a delivery", |got| got.len() >= n)
        .await;
    receiver.received()[n - 1].clone()
}

async fn rotated_secrets_each_sign_until_their_own_time(storage: Storage) {
    let receiver = FakeThirdParty::start(|_| json_reply(204, json!({}))).await;
    let server = start(&storage).await;
    account(&server, "acme").await;
    let subscription = subscribe(
        &server,
        "acme",
        &receiver,
        json!({"events": ["onContactCreate"], "secret": SECRET}),
    )
    .await;
    let path = format!(
        "/api/v1/subscriptions/{}",
        subscription["id"].as_str().unwrap()
    );
    // Two rotations in a row: the first secret keeps its hour, the second its two.
    let second = rotate(&server, &path, 3600).await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let third = rotate(&server, &path, 7200).await;
    let third_secret = third["secret"].as_str().unwrap().to_owned();
    assert_eq!(
        third["previous_secrets"].as_array().unwrap().len(),
        2,
        "{third}"
    );
    let shown = server.get(&path).await.body;
    let expiries: Vec<&str> = shown["previous_secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["expires_at"].as_str().unwrap())
        .collect();
    assert_eq!(expiries.len(), 2, "{shown}");
    assert_ne!(expiries[0], expiries[1], "each has its own expiry");
    for secret in [SECRET, &second, &third_secret] {
        assert!(
            !shown.to_string().contains(secret),
            "no secret is shown again"
        );
    }
    post_event(&server, "acme", 1).await;
    let request = nth_request(&receiver, 1).await;
    assert_eq!(request.headers["webhook-signature"].split(' ').count(), 3);
    for secret in [SECRET, &second, &third_secret] {
        assert!(
            verifies(&request, secret),
            "{secret} verifies within its window"
        );
    }
    assert!(!verifies(&request, OTHER_SECRET), "a stranger's does not");

    // A third rotation that ends the third secret at once cuts no other grace short.
    let fourth = rotate(&server, &path, 0).await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    post_event(&server, "acme", 2).await;
    let request = nth_request(&receiver, 2).await;
    assert_eq!(request.headers["webhook-signature"].split(' ').count(), 3);
    assert!(verifies(&request, &fourth));
    assert!(verifies(&request, SECRET) && verifies(&request, &second));
    assert!(!verifies(&request, &third_secret), "its grace was 0");
    server.stop().await;
}

/// Verifies a `v1a` signature with Node's own Ed25519 (`crypto.verify`): not Weir's code,
/// nor the crate Weir signs with. Answers whether Node accepted it.
fn node_verifies(public_key: &str, request: &Received) -> bool {
    let script = r#"
        const crypto = require('crypto');
        const raw = Buffer.from(process.env.PUBLIC_KEY.replace(/^whpk_/, ''), 'base64');
        const key = crypto.createPublicKey({
            key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
        const content = Buffer.from(
            `${process.env.MSG_ID}.${process.env.MSG_TIMESTAMP}.${process.env.BODY}`);
        const ok = process.env.SIGNATURES.split(' ')
            .filter((entry) => entry.startsWith('v1a,'))
            .some((entry) => crypto.verify(null, content,  key, Buffer.from(entry.slice(4), 'base64')));
        process.stdout.write(ok ? 'verified' : 'refused');
    "#;
    let output = std::process::Command::new("node")
        .arg("-e")
        .arg(script)
        .env("PUBLIC_KEY", public_key)
        .env("MSG_ID", &request.headers["webhook-id"])
        .env("MSG_TIMESTAMP", &request.headers["webhook-timestamp"])
        .env("BODY", &request.body)
        .env("SIGNATURES", &request.headers["webhook-signature"])
        .output()
        .expect("node runs (the v1a test verifies with Node's crypto)");
    let said = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        said == "verified" || said == "refused",
        "node: {said} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    said == "verified"
}

async fn v1a_deliveries_verify_with_the_public_key(storage: Storage) {
    let receiver = FakeThirdParty::start(|_| json_reply(204, json!({}))).await;
    let server = start(&storage).await;
    account(&server, "acme").await;
    let subscription = subscribe(
        &server,
        "acme",
        &receiver,
        json!({"events": ["onContactCreate"], "signature_scheme": "v1a"}),
    )
    .await;
    assert_eq!(subscription["signature_scheme"], "v1a");
    assert!(
        subscription["secret"]
            .as_str()
            .unwrap()
            .starts_with("whsk_")
    );
    let public_key = subscription["public_key"].as_str().unwrap().to_owned();
    assert!(public_key.starts_with("whpk_"), "{subscription}");
    let path = format!(
        "/api/v1/subscriptions/{}",
        subscription["id"].as_str().unwrap()
    );
    let shown = server.get(&path).await.body;
    assert_eq!(shown["public_key"], public_key.as_str());
    assert!(
        shown.get("secret").is_none(),
        "the private key is never shown again"
    );

    post_event(&server, "acme", 1).await;
    let request = nth_request(&receiver, 1).await;
    let signature = &request.headers["webhook-signature"];
    assert!(
        signature.starts_with("v1a,") && !signature.contains(' '),
        "{signature}"
    );
    assert!(
        node_verifies(&public_key, &request),
        "Node verifies Weir's signature"
    );
    let mut altered = request.clone();
    altered.body = altered.body.replacen('1', "2", 1);
    assert!(
        !node_verifies(&public_key, &altered),
        "and refuses an altered body"
    );
    let other = subscribe(
        &server,
        "acme",
        &receiver,
        json!({"events": ["onDealCreate"], "signature_scheme": "v1a"}),
    )
    .await;
    let other_key = other["public_key"].as_str().unwrap();
    assert!(!node_verifies(other_key, &request), "and another key");

    // A rotation keeps the scheme; the old key signs beside the new during its grace.
    let rotated = rotate(&server, &path, 3600).await;
    let new_key = rotated["public_key"].as_str().unwrap().to_owned();
    assert_ne!(new_key, public_key);
    assert_eq!(
        rotated["previous_secrets"][0]["public_key"],
        public_key.as_str()
    );
    post_event(&server, "acme", 2).await;
    let request = nth_request(&receiver, 2).await;
    assert_eq!(request.headers["webhook-signature"].split(' ').count(), 2);
    assert!(node_verifies(&new_key, &request) && node_verifies(&public_key, &request));

    let mismatched = server
        .post(
            "/api/v1/accounts/acme/subscriptions",
            json!({"url": format!("http://{}/hook", receiver.address),
                   "events": ["onContactCreate"], "signature_scheme": "v1a", "secret": SECRET}),
        )
        .await;
    assert_eq!(
        mismatched.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        mismatched.body
    );
    let unknown = server
        .post(
            "/api/v1/accounts/acme/subscriptions",
            json!({"url": format!("http://{}/hook", receiver.address),
                   "events": ["onContactCreate"], "signature_scheme": "v2"}),
        )
        .await;
    assert!(unknown.status.is_client_error(), "{}", unknown.body);
    assert!(
        unknown.message().contains("signature_scheme"),
        "{}",
        unknown.body
    );
    server.stop().await;
}

async fn subscriptions_are_checked_and_replays_resend(storage: Storage) {
    let receiver = FakeThirdParty::start(|_| json_reply(200, json!({}))).await;
    let server = start(&storage).await;
    account(&server, "acme").await;
    let path = "/api/v1/accounts/acme/subscriptions";
    for (body, expected) in [
        (
            json!({"url": "ftp://x.io/hook", "events": ["onContactCreate"]}),
            "url: \"ftp://x.io/hook\" must be an http or https URL with a host",
        ),
        (
            json!({"url": "https://x.io/hook", "events": []}),
            "events: name at least one event",
        ),
        (
            json!({"url": "https://x.io/hook", "events": ["onContactCreate"], "secret": "hunter2"}),
            "secret: a secret is whsec_ followed by base64",
        ),
        (
            json!({"url": "https://x.io/hook", "events": ["onContactCreate"], "filters": {"onDealCreate": {}}}),
            "filters: \"onDealCreate\" is not one of the subscription's events",
        ),
    ] {
        let refused = server.post(path, body).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(refused.message(), expected);
    }
    let unknown = server
        .post(
            path,
            json!({"url": "https://x.io/hook", "events": ["Ticket_Add"]}),
        )
        .await;
    assert!(
        unknown
            .message()
            .starts_with("events: \"Ticket_Add\" is not an event of freshsales"),
        "{}",
        unknown.message()
    );

    subscribe(
        &server,
        "acme",
        &receiver,
        json!({"events": ["onContactCreate"]}),
    )
    .await;
    post_event(&server, "acme", 1).await;
    receiver
        .wait_until("a delivery", |got| got.len() == 1)
        .await;
    let id = receiver.received()[0].headers["webhook-id"].clone();
    let path = format!("/api/v1/deliveries/{id}");
    server
        .get_until(&path, |d| d["status"] == "delivered")
        .await;
    let replayed = server
        .post(&format!("/api/v1/deliveries/{id}/replay"), json!({}))
        .await;
    assert_eq!(replayed.status, StatusCode::ACCEPTED, "{}", replayed.body);
    receiver
        .wait_until("the replay", |got| got.len() == 2)
        .await;
    assert_eq!(
        receiver.received()[1].headers["webhook-id"],
        id,
        "the same webhook-id"
    );
    let missing = server.get("/api/v1/deliveries/msg_nope").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    // Naming no account, the admin lists every account's (tests/console.rs has more).
    let unnamed = server.get("/api/v1/deliveries").await;
    assert_eq!(unnamed.status, StatusCode::OK, "{}", unnamed.body);
    let listed = unnamed.body["data"].as_array().unwrap();
    assert!(
        listed.iter().any(|d| d["id"] == json!(id)),
        "{}",
        unnamed.body
    );
    server.stop().await;
}

/// The node that takes the stream has the api role only (so nothing is delivered before
/// the kill); it is killed in the middle of the stream, and a node with workers, started
/// on the same storage, must deliver every event that was answered 202.
async fn every_acknowledged_event_is_delivered_after_sigkill(storage: Storage) {
    let receiver = FakeThirdParty::start(|_| json_reply(200, json!({}))).await;
    let api_only = Server::start_configured(
        &storage,
        Some(support::ADMIN_TOKEN),
        &[
            "--role",
            "api",
            "--allow-private-destinations",
            "127.0.0.0/8",
        ],
    )
    .await;
    account(&api_only, "acme").await;
    subscribe(
        &api_only,
        "acme",
        &receiver,
        json!({"events": ["onContactCreate"]}),
    )
    .await;
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u64>::new()));
    let stream = {
        let (base, acknowledged) = (api_only.base.clone(), acknowledged.clone());
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            for n in 0.. {
                let event = json!({"event": "onContactCreate", "data": {"contact": {"id": n}}});
                let sent = client
                    .post(format!("{base}/api/v1/accounts/acme/events"))
                    .bearer_auth(support::ADMIN_TOKEN)
                    .json(&event)
                    .send()
                    .await;
                match sent {
                    Ok(answer) if answer.status() == StatusCode::ACCEPTED => {
                        acknowledged.lock().unwrap().push(n)
                    }
                    _ => break,
                }
            }
        })
    };
    while acknowledged.lock().unwrap().len() < 25 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    api_only.kill().await;
    stream.await.unwrap();
    let acknowledged = acknowledged.lock().unwrap().clone();

    let server = start(&storage).await;
    let contact = |request: &Received| -> u64 {
        let body: Value = serde_json::from_str(&request.body).unwrap();
        body[0]["payload"]["contact"]["id"].as_u64().unwrap()
    };
    receiver
        .wait_until("every acknowledged event", |got| {
            let delivered: std::collections::BTreeSet<u64> = got.iter().map(contact).collect();
            acknowledged.iter().all(|n| delivered.contains(n))
        })
        .await;
    let received = receiver.received();
    let distinct: std::collections::BTreeSet<u64> = received.iter().map(contact).collect();
    println!(
        "after SIGKILL: {} acknowledged, {} delivered, {} duplicate requests",
        acknowledged.len(),
        distinct.len(),
        received.len() - distinct.len()
    );
    server.stop().await;
}

fn contact_id(request: &Received) -> u64 {
    let body: Value = serde_json::from_str(&request.body).unwrap();
    body[0]["payload"]["contact"]["id"].as_u64().unwrap()
}

/// The first attempt fails; a FIFO subscription waits for its retry (about 5 s later)
/// before it sends the events after it.
async fn a_fifo_subscription_gets_events_in_order(storage: Storage) {
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let receiver = FakeThirdParty::start(move |_| {
        match calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
            0 => json_reply(503, json!({})),
            _ => json_reply(200, json!({})),
        }
    })
    .await;
    let server = start(&storage).await;
    account(&server, "acme").await;
    let fifo = subscribe(
        &server,
        "acme",
        &receiver,
        json!({"events": ["onContactCreate"], "fifo": true}),
    )
    .await;
    assert_eq!(fifo["fifo"], true);
    for n in 1..=3 {
        post_event(&server, "acme", n).await;
    }
    receiver.wait_until("all three", |got| got.len() == 4).await;
    let order: Vec<u64> = receiver.received().iter().map(contact_id).collect();
    assert_eq!(
        order,
        [1, 1, 2, 3],
        "the first is retried before the others go"
    );
    server.stop().await;
}

async fn a_rate_limit_spreads_the_attempts(storage: Storage) {
    let receiver = FakeThirdParty::start(|_| json_reply(200, json!({}))).await;
    let server = start(&storage).await;
    account(&server, "acme").await;
    let limited = subscribe(
        &server,
        "acme",
        &receiver,
        json!({"events": ["onContactCreate"], "rate_per_second": 2, "max_in_flight": 1}),
    )
    .await;
    assert_eq!(
        (&limited["rate_per_second"], &limited["max_in_flight"]),
        (&json!(2), &json!(1))
    );
    let started = std::time::Instant::now();
    for n in 0..6 {
        post_event(&server, "acme", n).await;
    }
    receiver.wait_until("all six", |got| got.len() == 6).await;
    // Two at once, then one every half second: the sixth cannot come before 2 s.
    assert!(
        started.elapsed() >= Duration::from_millis(1_900),
        "six attempts at 2 a second took {:?}",
        started.elapsed()
    );
    let refused = server
        .patch(
            &format!("/api/v1/subscriptions/{}", limited["id"].as_str().unwrap()),
            json!({"rate_per_second": 0}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    server.stop().await;
}

async fn a_subscription_failing_for_too_long_is_disabled(storage: Storage) {
    let receiver = FakeThirdParty::start(|_| json_reply(500, json!({}))).await;
    let server = Server::start_configured(
        &storage,
        Some(support::ADMIN_TOKEN),
        &[
            "--allow-private-destinations",
            "127.0.0.0/8",
            "--disable-failing-after",
            "1",
        ],
    )
    .await;
    account(&server, "acme").await;
    let subscription = subscribe(
        &server,
        "acme",
        &receiver,
        json!({"events": ["onContactCreate"]}),
    )
    .await;
    let path = format!(
        "/api/v1/subscriptions/{}",
        subscription["id"].as_str().unwrap()
    );
    post_event(&server, "acme", 1).await;
    // The first failure starts the clock; the retry (about 5 s later) fails past it.
    let shown = server.get_until(&path, |s| s["enabled"] == false).await;
    let reason = shown["disabled_reason"].as_str().unwrap();
    assert!(
        reason.starts_with("every attempt has failed since "),
        "{reason}"
    );
    assert_eq!(receiver.received().len(), 2);
    let enabled = server.post(&format!("{path}/enable"), json!({})).await;
    assert_eq!(enabled.body["failing_since"], Value::Null);

    // Recover what died while it was disabled (the receiver is still failing, so the
    // delivery is attempted again, and the count shows it was taken up).
    let recovered = server
        .post(
            &format!("{path}/recover"),
            json!({"since": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(recovered.status, StatusCode::ACCEPTED, "{}", recovered.body);
    assert_eq!(recovered.body["recovered"], 1);
    receiver
        .wait_until("the recovered attempt", |got| got.len() == 3)
        .await;
    let bad = server
        .post(&format!("{path}/recover"), json!({"since": "yesterday"}))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    server.stop().await;
}

async fn a_batching_subscription_gets_several_events_in_one_call(storage: Storage) {
    let receiver = FakeThirdParty::start(|_| json_reply(200, json!({}))).await;
    let server = start(&storage).await;
    account(&server, "acme").await;
    let batching = subscribe(
        &server,
        "acme",
        &receiver,
        json!({"events": ["onContactCreate"], "batch_size": 3, "linger_ms": 200,
               "secret": SECRET}),
    )
    .await;
    assert_eq!(
        (&batching["batch_size"], &batching["linger_ms"]),
        (&json!(3), &json!(200))
    );
    let events: Vec<Value> = (1..=4)
        .map(|n| json!({"event": "onContactCreate", "data": {"contact": {"id": n}}}))
        .collect();
    let posted = server
        .post("/api/v1/accounts/acme/events", Value::Array(events))
        .await;
    assert_eq!(posted.status, StatusCode::ACCEPTED, "{}", posted.body);
    receiver
        .wait_until("two calls", |got| {
            got.iter()
                .map(|r| {
                    serde_json::from_str::<Value>(&r.body)
                        .unwrap()
                        .as_array()
                        .unwrap()
                        .len()
                })
                .sum::<usize>()
                == 4
        })
        .await;
    let calls = receiver.received();
    let size = |r: &Received| {
        serde_json::from_str::<Value>(&r.body)
            .unwrap()
            .as_array()
            .unwrap()
            .len()
    };
    let mut sizes: Vec<usize> = calls.iter().map(size).collect();
    sizes.sort();
    assert_eq!(sizes, [1, 3], "at most three in a call (in any order)");
    let batch = calls.iter().find(|r| size(r) == 3).unwrap();
    let first: Value = serde_json::from_str(&batch.body).unwrap();
    let ids: Vec<u64> = first
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["payload"]["contact"]["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2, 3], "in event order");
    assert!(verifies(batch, SECRET), "a batch is signed like one event");
    assert!(
        batch.headers["webhook-id"].starts_with("msg_batch_"),
        "a batch has an id of its own: {}",
        batch.headers["webhook-id"]
    );
    // Each delivery records the call it went in (once the outcome is written, which may
    // come a moment after the receiver answered).
    let listed = server.get("/api/v1/deliveries?account=acme").await.body;
    for item in listed["data"].as_array().unwrap() {
        let path = format!("/api/v1/deliveries/{}", item["id"].as_str().unwrap());
        let shown = server
            .get_until(&path, |d| d["status"] == "delivered")
            .await;
        assert_eq!(shown["attempts_made"][0]["status_code"], 200);
    }
    server.stop().await;
}

/// Without `--allow-private-destinations`, a delivery to a loopback URL never leaves:
/// the attempt records the guard's refusal.
async fn internal_addresses_are_refused_unless_allowed(storage: Storage) {
    let receiver = FakeThirdParty::start(|_| json_reply(200, json!({}))).await;
    let server = Server::start(&storage).await;
    account(&server, "acme").await;
    subscribe(
        &server,
        "acme",
        &receiver,
        json!({"events": ["onContactCreate"]}),
    )
    .await;
    post_event(&server, "acme", 1).await;
    let attempt = first_attempted(&server, "acme").await["attempts_made"][0].clone();
    assert_eq!(attempt["status_code"], Value::Null);
    let error = attempt["error"].as_str().unwrap();
    assert!(error.contains("destination refused"), "{error}");
    assert!(
        receiver.received().is_empty(),
        "nothing reached the receiver"
    );
    server.stop().await;
}

/// Issue #14: on PostgreSQL, a claim under fan-out returned more deliveries than it asked
/// for, the deliverer panicked, and nothing was delivered again. Ten subscriptions make
/// each event ten deliveries, and four posters at once store them while the deliverer
/// claims: every delivery must arrive, none twice at the same time, and nothing may panic.
/// PostgreSQL runs the claims with the plans made while nothing was due, as it did then
/// (with its default plans, the engine of the issue passed this test).
async fn ten_subscriptions_get_every_event_of_concurrent_batches(storage: Storage) {
    const SUBSCRIPTIONS: u64 = 10;
    const BATCHES: u64 = 10;
    const BATCH: u64 = 100;
    let storage = storage.with_generic_plans();
    let receiver = WebhookTally::start().await;
    let server = Server::start_logged(
        &storage,
        &["--allow-private-destinations", "127.0.0.0/8"],
        &[],
    )
    .await;
    account(&server, "acme").await;
    for _ in 0..SUBSCRIPTIONS {
        let body = json!({"url": receiver.url(), "events": ["onContactCreate"]});
        let created = server
            .post("/api/v1/accounts/acme/subscriptions", body)
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    }

    // Poster `p` of four posts batches p, p + 4, p + 8; the four are in flight together.
    let poster = |first: u64| {
        let server = &server;
        async move {
            for batch in (first..BATCHES).step_by(4) {
                let events: Vec<Value> = (0..BATCH)
                    .map(|n| {
                        let contact = json!({"id": batch * BATCH + n});
                        json!({"event": "onContactCreate", "data": {"contact": contact}})
                    })
                    .collect();
                let posted = server
                    .post("/api/v1/accounts/acme/events", Value::Array(events))
                    .await;
                assert_eq!(posted.status, StatusCode::ACCEPTED, "{}", posted.body);
                let accepted = posted.body["events"].as_array().unwrap();
                assert_eq!(accepted.len() as u64, BATCH);
                for event in accepted {
                    assert_eq!(event["deliveries"], SUBSCRIPTIONS, "{event}");
                }
            }
        }
    };
    tokio::join!(poster(0), poster(1), poster(2), poster(3));

    let expected = (SUBSCRIPTIONS * BATCHES * BATCH) as usize;
    receiver
        .wait_for_distinct(expected, Duration::from_secs(120))
        .await;
    assert_eq!(receiver.problems(), Vec::<String>::new());
    server
        .metrics_until(&["weir_queue_depth{queue=\"deliveries\"} 0"])
        .await;
    assert_eq!(receiver.distinct(), expected);
    println!("{expected} deliveries in {} calls", receiver.calls());
    let log = server.stop_and_read_log().await;
    assert!(!log.contains("panicked"), "weir panicked:\n{log}");
}
