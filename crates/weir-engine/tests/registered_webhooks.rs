//! `$webhooks.trigger` as apps use it (seed 003): a real handler in the sandbox, the real
//! store and outbound client, and real endpoints on loopback behind host overrides. Each
//! rule that rejects, each outcome that resolves, binary bodies, and that neither the app
//! nor the records ever see the URL or a secret header.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};
use support::World;
use weir_core::ReferenceId;
use weir_engine::PlatformSettings;
use weir_testkit::{FakeThirdParty, json_reply};

const SECRET_TOKEN: &str = "s3cret-partner-token";

fn files() -> Vec<(&'static str, String)> {
    let manifest = json!({"platform-version": "2.3",
        "product": {"freshdesk": {"events": {"onTicketCreate": {"handler": "call"}}}}});
    let webhooks = json!([
        {"id": "notes", "url": "https://api.partner.test/notes", "method": "POST",
         "headers": {"Authorization": "Bearer <%= iparam.partner_token %>"},
         "queryParams": ["pageNum"]},
        {"id": "lookup", "url": "https://api.partner.test/lookup", "method": "GET",
         "queryParams": ["q"]},
        {"id": "photo", "url": "https://api.partner.test/photos", "method": "POST",
         "headers": {"Content-Type": "image/jpeg"}, "payload_encoding": "base64"},
        {"id": "failing", "url": "https://api.partner.test/fail", "method": "POST"},
        {"id": "missing", "url": "https://api.partner.test/missing", "method": "POST"},
        {"id": "slow", "url": "https://api.slow.test/", "method": "POST"},
        {"id": "down", "url": "https://api.down.test/", "method": "POST"},
    ]);
    // The handler triggers what the event's data says and returns the outcome, or the
    // rejection.
    let code = "exports = { call: async function (payload) {
        const d = payload.data;
        try { return { resolved: await $webhooks.trigger(d.id, d.body, d.headers, d.query) }; }
        catch (e) { return { rejected: e }; }
    } };";
    vec![
        ("manifest.json", manifest.to_string()),
        ("config/webhooks.json", webhooks.to_string()),
        ("server/server.js", code.to_owned()),
    ]
}

/// An address nothing listens on.
async fn closed_port() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

struct Setup {
    world: World,
    installation: std::sync::Arc<weir_core::Installation>,
    partner: FakeThirdParty,
}

async fn setup(settings: PlatformSettings) -> Setup {
    let partner = FakeThirdParty::start(|request| match request.path.as_str() {
        "/fail" => json_reply(503, json!({"error": "maintenance"})),
        "/missing" => json_reply(404, json!({"error": "no such thing"})),
        "/lookup" => (200, "text/plain", "found it".into(), Duration::ZERO),
        _ => json_reply(201, json!({"id": 7})),
    })
    .await;
    let slow = FakeThirdParty::start(|_| json_reply_after(Duration::from_secs(3))).await;
    let down = closed_port().await;
    let world = World::new(
        &[
            ("api.partner.test", partner.address),
            ("api.slow.test", slow.address),
            ("api.down.test", down),
        ],
        settings,
    )
    .await;
    let files = files();
    let borrowed: Vec<(&str, &str)> = files.iter().map(|(p, c)| (*p, c.as_str())).collect();
    let installation = world
        .install(&borrowed, json!({}), json!({"partner_token": SECRET_TOKEN}))
        .await;
    Setup {
        world,
        installation,
        partner,
    }
}

fn json_reply_after(delay: Duration) -> weir_testkit::Reply {
    (200, "application/json", "{}".into(), delay)
}

/// Runs the handler with `data` and returns what it returned, and the run's record.
async fn trigger(setup: &Setup, data: Value) -> (Value, weir_core::InvocationRecord) {
    let account = setup
        .world
        .store
        .account(&setup.installation.account_id)
        .await
        .unwrap()
        .unwrap();
    let mut payload = weir_engine::envelope::base(&account, &setup.installation, "onTicketCreate");
    payload["data"] = data;
    let record = setup
        .world
        .run_with(&setup.installation, "onTicketCreate", payload)
        .await;
    assert_eq!(
        record.status,
        weir_core::InvocationStatus::Success,
        "{record:?}"
    );
    (record.result.clone().unwrap(), record)
}

fn fast_settings() -> PlatformSettings {
    PlatformSettings {
        request_timeout: Duration::from_millis(500),
        ..PlatformSettings::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_is_made_server_side_and_recorded_without_url_or_secrets() {
    let setup = setup(fast_settings()).await;
    let (got, record) = trigger(
        &setup,
        json!({"id": "notes", "body": {"text": "hello"}, "headers": {"X-Trace": "t-1"},
               "query": {"pageNum": 2}}),
    )
    .await;
    let resolved = &got["resolved"];
    assert_eq!(resolved["status"], 201, "{got}");
    assert_eq!(resolved["data"], json!({"id": 7}));
    assert_eq!(resolved["error"], false);
    let reference = resolved["referenceId"].as_str().unwrap();
    assert!(reference.starts_with("ref_"), "{reference}");

    let sent = &setup.partner.received()[0];
    assert_eq!(
        (sent.method.as_str(), sent.path.as_str()),
        ("POST", "/notes")
    );
    assert_eq!(sent.query.as_deref(), Some("pageNum=2"));
    assert_eq!(
        sent.headers["authorization"],
        format!("Bearer {SECRET_TOKEN}")
    );
    assert_eq!(sent.headers["x-trace"], "t-1");
    assert_eq!(
        serde_json::from_str::<Value>(&sent.body).unwrap(),
        json!({"text": "hello"})
    );

    let audit = setup
        .world
        .store
        .webhook_invocation(&ReferenceId::parse(reference).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(audit.webhook_id, "notes");
    assert_eq!(audit.target_host, "api.partner.test");
    assert_eq!((audit.status, audit.error), (Some(201), false));
    assert_eq!(audit.chain_id.as_str(), reference);
    assert!(audit.request_bytes > 0 && audit.response_bytes > 0);
    for seen in [
        serde_json::to_string(&audit).unwrap(),
        serde_json::to_string(&record).unwrap(),
        got.to_string(),
    ] {
        assert!(!seen.contains(SECRET_TOKEN), "a secret leaked: {seen}");
        assert!(!seen.contains("/notes"), "the URL leaked: {seen}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_and_no_answer_resolves() {
    let setup = setup(fast_settings()).await;
    let outcome = |got: Value| {
        let resolved = &got["resolved"];
        (
            resolved["status"].clone(),
            resolved["error"].clone(),
            resolved["data"].clone(),
        )
    };
    let (got, _) = trigger(&setup, json!({"id": "failing", "body": {"a": 1}})).await;
    assert_eq!(
        outcome(got),
        (json!(503), json!(true), json!({"error": "maintenance"}))
    );
    let (got, _) = trigger(&setup, json!({"id": "missing", "body": {"a": 1}})).await;
    assert_eq!(
        outcome(got),
        (json!(404), json!(true), json!({"error": "no such thing"}))
    );
    let (got, _) = trigger(&setup, json!({"id": "lookup", "query": {"q": "x"}})).await;
    assert_eq!(
        outcome(got),
        (json!(200), json!(false), json!("found it")),
        "text stays text"
    );
    let (got, _) = trigger(&setup, json!({"id": "down", "body": "ping"})).await;
    assert_eq!(
        outcome(got),
        (
            json!(502),
            json!(true),
            json!("Error in establishing connection")
        )
    );
    let (got, _) = trigger(&setup, json!({"id": "slow", "body": "ping"})).await;
    assert_eq!(
        outcome(got),
        (
            json!(504),
            json!(true),
            json!("Timeout error while processing the request")
        )
    );
    let listed = setup
        .world
        .store
        .webhook_invocations(&setup.installation.id, &weir_store::PageRequest::first(10))
        .await
        .unwrap();
    let statuses: Vec<Option<u16>> = listed.items.iter().map(|i| i.status).collect();
    assert_eq!(
        statuses,
        [Some(503), Some(404), Some(200), Some(502), Some(504)],
        "each call recorded"
    );
    assert!(
        listed.items[3]
            .error_message
            .as_deref()
            .unwrap()
            .starts_with("Error in establishing connection")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_that_break_the_registration_reject() {
    let setup = setup(fast_settings()).await;
    for (data, status, message) in [
        (
            json!({"id": "nope"}),
            404,
            "no webhook \"nope\" is registered for this app (config/webhooks.json)",
        ),
        (
            json!({"id": "notes", "headers": {"X-Count": 3}}),
            400,
            "headers.X-Count: a header value must be a string, not 3",
        ),
        (
            json!({"id": "notes", "headers": {"Transfer-Encoding": "chunked"}}),
            400,
            "headers.Transfer-Encoding: this header is set by Weir, not by the caller",
        ),
        (
            json!({"id": "notes", "query": {"page": "2"}}),
            400,
            "queryParams.page: not a query parameter webhook \"notes\" declares (it declares: pageNum)",
        ),
        (
            json!({"id": "lookup", "body": {"a": 1}}),
            400,
            "data: webhook \"lookup\" is a GET, which sends no body",
        ),
        (
            json!({"id": "photo", "body": "not base64!"}),
            400,
            "data: not valid base64: Invalid symbol 32, offset 3.",
        ),
        (
            json!({"id": "photo", "body": {"a": 1}}),
            400,
            "data: this webhook takes its body base64-encoded, as a string",
        ),
    ] {
        let (got, _) = trigger(&setup, data.clone()).await;
        assert_eq!(
            got["rejected"],
            json!({"status": status, "message": message}),
            "{data}"
        );
    }
    assert!(setup.partner.received().is_empty(), "nothing was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_base64_body_arrives_byte_for_byte() {
    let setup = setup(fast_settings()).await;
    let bytes: Vec<u8> = (0..=255u8).rev().chain([0xff, 0xd8, 0x00]).collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
    let (got, _) = trigger(&setup, json!({"id": "photo", "body": encoded})).await;
    assert_eq!(got["resolved"]["status"], 201, "{got}");
    let sent = &setup.partner.received()[0];
    assert_eq!(sent.raw, bytes);
    assert_eq!(sent.headers["content-type"], "image/jpeg");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_are_limited_per_installation() {
    let setup = setup(PlatformSettings {
        webhook_calls_per_minute: 2,
        ..fast_settings()
    })
    .await;
    for _ in 0..2 {
        let (got, _) = trigger(&setup, json!({"id": "notes"})).await;
        assert_eq!(got["resolved"]["status"], 201);
    }
    let (got, _) = trigger(&setup, json!({"id": "notes"})).await;
    assert_eq!(got["rejected"]["status"], 429);
    let message = got["rejected"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("more than 2 webhook calls a minute for this installation"),
        "{message}"
    );
}
