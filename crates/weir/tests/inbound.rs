//! Third parties' webhooks over real HTTP, on both storage backends: target URLs (seed
//! 000) and connector global webhooks (seed 002), with real senders and a fake third
//! party on loopback.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Server, Storage};
use weir_testkit::{FakeThirdParty, json_reply};

on_both_backends!(
    the_external_events_example_runs_end_to_end,
    target_urls_take_each_content_type_and_refuse_bad_bodies,
    target_urls_limit_each_installation_per_minute,
    global_webhooks_route_by_selector_and_answer_with_handle,
    connector_webhook_events_subscribe_handle_refresh_and_unsubscribe,
);

/// The Jira-style app of seed 000: `onAppInstall` registers its target URL with the
/// tracker, `onExternalEvent` returns what it got, `onAppUninstall` deregisters.
fn tracker_app() -> Vec<u8> {
    let manifest = json!({
        "name": "tracker-sync",
        "platform-version": "2.3",
        "whitelisted-domains": ["https://api.tracker.test"],
        "product": {"freshdesk": {"events": {
            "onAppInstall": {"handler": "install"},
            "onExternalEvent": {"handler": "external"},
            "onAppUninstall": {"handler": "uninstall"},
        }}},
    });
    let code = "exports = {
      install: async function (payload) {
        const url = await generateTargetUrl();
        const created = await $request.post('https://api.tracker.test/webhooks',
          { json: { url: url, events: ['issue_updated'] } });
        await $db.set('webhook', { id: created.response.id });
        renderData();
      },
      external: function (payload) { return payload; },
      uninstall: async function () {
        const hook = await $db.get('webhook');
        await $request.delete('https://api.tracker.test/webhooks/' + hook.id);
        renderData();
      },
    };";
    weir_testkit::zip(&[
        ("manifest.json", &manifest.to_string()),
        ("server/server.js", code),
    ])
}

async fn desk_account(server: &Server, id: &str) {
    let account = json!({"id": id, "domain": "acme.freshdesk.com", "region": "US",
        "product": "freshdesk"});
    let created = server.post("/api/v1/accounts", account).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
}

async fn upload(server: &Server, zip: Vec<u8>) -> String {
    let app = server.upload_app("/api/v1/apps", zip).await;
    assert_eq!(app.status, StatusCode::CREATED, "{}", app.body);
    app.body["id"].as_str().unwrap().to_owned()
}

async fn install(server: &Server, account: &str, app: &str, iparams: Value) -> Value {
    let path = format!("/api/v1/accounts/{account}/installations");
    let installed = server
        .post(&path, json!({"app_id": app, "iparams": iparams}))
        .await;
    assert_eq!(installed.status, StatusCode::CREATED, "{}", installed.body);
    installed.body
}

/// Sends like a third party would: no API token.
async fn send(url: &str, content_type: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .header("x-tracker-event", "issue_updated")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn start_with_tracker(storage: &Storage, tracker: &FakeThirdParty) -> Server {
    let host_override = format!("api.tracker.test={}", tracker.address);
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

async fn the_external_events_example_runs_end_to_end(storage: Storage) {
    let tracker = FakeThirdParty::start(|request| match request.method.as_str() {
        "POST" => json_reply(201, json!({"id": "hook-17"})),
        _ => json_reply(204, json!({})),
    })
    .await;
    let server = start_with_tracker(&storage, &tracker).await;
    desk_account(&server, "acme").await;
    let app = upload(&server, tracker_app()).await;
    let installation = install(&server, "acme", &app, json!({})).await;
    let target_url = installation["target_url"].as_str().unwrap().to_owned();
    let registered = tracker.received();
    assert_eq!(registered.len(), 1);
    let body: Value = serde_json::from_str(&registered[0].body).unwrap();
    assert_eq!(
        body["url"],
        target_url.as_str(),
        "onAppInstall registered the URL"
    );

    let sent = send(
        &target_url,
        "application/json",
        r#"{"issue": {"key": "FD-1"}}"#,
    )
    .await;
    assert_eq!(sent.status(), StatusCode::OK);
    let event: Value = sent.json().await.unwrap();
    let record = server.only_run(event["id"].as_str().unwrap()).await;
    let envelope = &record["result"];
    assert_eq!(envelope["event"], "onExternalEvent");
    assert_eq!(envelope["account_id"], "acme");
    assert_eq!(envelope["domain"], "acme.freshdesk.com");
    assert_eq!(envelope["region"], "US");
    assert!(envelope["timestamp"].is_i64(), "{envelope}");
    assert_eq!(envelope["data"], json!({"issue": {"key": "FD-1"}}));
    assert_eq!(envelope["headers"]["content-type"], "application/json");
    assert_eq!(envelope["headers"]["x-tracker-event"], "issue_updated");
    assert_eq!(envelope["iparams"], json!({}));

    let xml = r#"<issue id="7"><key>FD-2</key><label>a</label><label>b</label></issue>"#;
    let sent = send(&target_url, "application/xml", xml).await;
    assert_eq!(sent.status(), StatusCode::OK);
    let event: Value = sent.json().await.unwrap();
    let record = server.only_run(event["id"].as_str().unwrap()).await;
    let envelope = &record["result"];
    assert_eq!(
        envelope["data"],
        json!({"issue": {"@id": "7", "key": "FD-2", "label": ["a", "b"]}})
    );
    assert_eq!(envelope["raw_body"], xml, "the XML as sent is kept");

    let uninstalled = server
        .delete(&format!(
            "/api/v1/installations/{}",
            installation["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        uninstalled.status,
        StatusCode::NO_CONTENT,
        "{}",
        uninstalled.body
    );
    let deregistered = tracker.received();
    assert_eq!(
        (
            deregistered[1].method.as_str(),
            deregistered[1].path.as_str()
        ),
        ("DELETE", "/webhooks/hook-17")
    );
    let late = send(&target_url, "application/json", "{}").await;
    assert_eq!(late.status(), StatusCode::GONE);
    let handshake = reqwest::get(&target_url).await.unwrap();
    assert_eq!(handshake.status(), StatusCode::GONE);
    server.stop().await;
}

/// An app whose `onExternalEvent` returns what it got.
fn echo_app(name: &str) -> Vec<u8> {
    let manifest = json!({
        "name": name,
        "platform-version": "2.3",
        "product": {"freshdesk": {"events": {"onExternalEvent": {"handler": "external"}}}},
    });
    weir_testkit::zip(&[
        ("manifest.json", &manifest.to_string()),
        (
            "server/server.js",
            "exports = { external: function (payload) { return payload; } };",
        ),
    ])
}

/// The `data` the handler got for one request.
async fn handled_data(server: &Server, sent: reqwest::Response) -> Value {
    assert_eq!(sent.status(), StatusCode::OK);
    let event: Value = sent.json().await.unwrap();
    let record = server.only_run(event["id"].as_str().unwrap()).await;
    record["result"]["data"].clone()
}

async fn error_of(sent: reqwest::Response) -> (StatusCode, String) {
    let status = sent.status();
    let body: Value = sent.json().await.unwrap();
    (
        status,
        body["error"]["message"].as_str().unwrap().to_owned(),
    )
}

async fn target_urls_take_each_content_type_and_refuse_bad_bodies(storage: Storage) {
    let server = Server::start(&storage).await;
    desk_account(&server, "acme").await;
    desk_account(&server, "globex").await;
    let app = upload(&server, echo_app("echo")).await;
    let mine = install(&server, "acme", &app, json!({})).await;
    let theirs = install(&server, "globex", &app, json!({})).await;
    let url = mine["target_url"].as_str().unwrap().to_owned();

    let form = send(
        &url,
        "application/x-www-form-urlencoded",
        "a=1&b=two%20words&a=3",
    )
    .await;
    assert_eq!(
        handled_data(&server, form).await,
        json!({"a": ["1", "3"], "b": "two words"})
    );
    let text = send(&url, "text/plain; charset=utf-8", "hello").await;
    assert_eq!(handled_data(&server, text).await, json!("hello"));
    let multipart = "--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nBroken printer\r\n--XyZ--\r\n";
    let multipart = send(&url, "multipart/form-data; boundary=XyZ", multipart).await;
    assert_eq!(
        handled_data(&server, multipart).await["title"],
        "Broken printer"
    );
    let vendor = send(&url, "application/vnd.api+json", r#"{"ok": true}"#).await;
    assert_eq!(handled_data(&server, vendor).await, json!({"ok": true}));

    let (status, message) = error_of(send(&url, "image/png", vec![0x89, 0x50]).await).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(message.contains("image/png"), "{message}");
    let (status, message) = error_of(send(&url, "application/json", "{\"a\": ").await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.contains("JSON"), "{message}");
    let (status, message) = error_of(send(&url, "text/xml", "<a><b></a>").await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.contains("XML"), "{message}");
    let bomb = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>"#;
    let (status, message) = error_of(send(&url, "application/xml", bomb).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        message.contains("DTD") || message.contains("DOCTYPE"),
        "{message}"
    );
    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(128 * 1024));
    let (status, _) = error_of(send(&url, "application/json", big).await).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    // Nothing of the refused requests was stored: only the four good ones ran.
    let path = format!(
        "/api/v1/installations/{}/invocations",
        mine["id"].as_str().unwrap()
    );
    assert_eq!(
        server.get(&path).await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        4
    );

    // Another installation's token reaches that installation only; a made-up one, none.
    let theirs_url = theirs["target_url"].as_str().unwrap();
    let sent = send(theirs_url, "application/json", r#"{"for": "globex"}"#).await;
    let event: Value = sent.json().await.unwrap();
    let record = server.only_run(event["id"].as_str().unwrap()).await;
    assert_eq!(record["installation_id"], theirs["id"]);
    assert_eq!(record["result"]["account_id"], "globex");
    let made_up = format!("{}/in/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", server.base);
    let (status, _) = error_of(send(&made_up, "application/json", "{}").await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        server.get(&path).await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        4
    );

    // The CRC handshake.
    let plain = reqwest::get(&url).await.unwrap();
    assert_eq!(plain.status(), StatusCode::OK);
    assert_eq!(plain.json::<Value>().await.unwrap(), json!({}));
    let challenge = format!("{url}?crc_strategy=facebook&hub.challenge=c-123&hub.mode=subscribe");
    let echoed = reqwest::get(&challenge).await.unwrap();
    assert_eq!(echoed.status(), StatusCode::OK);
    assert_eq!(echoed.text().await.unwrap(), "c-123");
    server.stop().await;
}

async fn target_urls_limit_each_installation_per_minute(storage: Storage) {
    let server = Server::start_configured(
        &storage,
        Some(support::ADMIN_TOKEN),
        &["--external-events-per-minute", "3"],
    )
    .await;
    desk_account(&server, "acme").await;
    let app = upload(&server, echo_app("echo")).await;
    let limited = install(&server, "acme", &app, json!({})).await;
    let url = limited["target_url"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        assert_eq!(
            send(&url, "application/json", "{}").await.status(),
            StatusCode::OK
        );
    }
    let refused = send(&url, "application/json", "{}").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let (_, message) = error_of(refused).await;
    assert!(
        message.starts_with("more than 3 requests a minute"),
        "{message}"
    );

    // The limit is per installation.
    desk_account(&server, "globex").await;
    let other = install(&server, "globex", &app, json!({})).await;
    let other_url = other["target_url"].as_str().unwrap();
    assert_eq!(
        send(other_url, "application/json", "{}").await.status(),
        StatusCode::OK
    );
    server.stop().await;
}

/// HMAC-SHA256 in plain JavaScript, so that `handle` can check a signature over
/// `rawBody` as real connectors do (the sandbox offers no `crypto`).
const HMAC_JS: &str = r#"
function utf8(text) {
  const bytes = [];
  for (const ch of text) {
    const c = ch.codePointAt(0);
    if (c < 0x80) bytes.push(c);
    else if (c < 0x800) bytes.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) bytes.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else bytes.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return bytes;
}
function rotr(x, n) { return (x >>> n) | (x << (32 - n)); }
function sha256(bytes) {
  const k = [];
  let h = [];
  for (let n = 2, found = 0; found < 64; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) if (n % d === 0) { prime = false; break; }
    if (!prime) continue;
    if (found < 8) h[found] = ((Math.pow(n, 1 / 2) % 1) * 4294967296) | 0;
    k[found++] = ((Math.pow(n, 1 / 3) % 1) * 4294967296) | 0;
  }
  const bits = bytes.length * 8;
  const padded = bytes.concat([0x80]);
  while (padded.length % 64 !== 56) padded.push(0);
  padded.push(0, 0, 0, 0, (bits >>> 24) & 255, (bits >>> 16) & 255, (bits >>> 8) & 255, bits & 255);
  for (let i = 0; i < padded.length; i += 64) {
    const w = [];
    for (let j = 0; j < 16; j++) {
      w[j] = (padded[i + 4 * j] << 24) | (padded[i + 4 * j + 1] << 16) | (padded[i + 4 * j + 2] << 8) | padded[i + 4 * j + 3];
    }
    for (let j = 16; j < 64; j++) {
      const s0 = rotr(w[j - 15], 7) ^ rotr(w[j - 15], 18) ^ (w[j - 15] >>> 3);
      const s1 = rotr(w[j - 2], 17) ^ rotr(w[j - 2], 19) ^ (w[j - 2] >>> 10);
      w[j] = (w[j - 16] + s0 + w[j - 7] + s1) | 0;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let j = 0; j < 64; j++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[j] + w[j]) | 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      hh = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    h = [a, b, c, d, e, f, g, hh].map((x, i) => (h[i] + x) | 0);
  }
  return h.flatMap((x) => [(x >>> 24) & 255, (x >>> 16) & 255, (x >>> 8) & 255, x & 255]);
}
function hmacHex(key, message) {
  let block = key.length > 64 ? sha256(key) : key.slice();
  while (block.length < 64) block.push(0);
  const inner = sha256(block.map((b) => b ^ 0x36).concat(message));
  const outer = sha256(block.map((b) => b ^ 0x5c).concat(inner));
  return outer.map((b) => b.toString(16).padStart(2, '0')).join('');
}
"#;

const CHAT_SECRET: &str = "chat-signing-secret";

/// A chat connector: one global webhook whose `handle` checks the sender's signature with
/// the signing secret the operator set as a secure connector parameter (not baked into
/// the package) and routes each message to the user it is for; each installation's
/// selector is its `userId` parameter (a mapping).
fn chat_connector() -> Vec<u8> {
    let manifest = json!({
        "name": "chat",
        "platform-version": "3.0",
        "modules": {"common": {"events": {"onExternalEvent": {"handler": "onExternal"}}},
                    "support_ticket": {}},
        "connectorEvents": {"message": {"handler": "onMessage"}},
        "engines": {"node": "18.20.0", "fdk": "9.0.0"},
    });
    let handle = format!(
        "{HMAC_JS}
        export default async function handle({{ data, headers, rawBody, parameters }}) {{
          const expected = 'sha256=' + hmacHex(utf8(parameters.signingSecret), utf8(rawBody));
          if (headers['x-chat-signature'] !== expected) {{
            return {{ response: {{ status: 401, data: {{ error: 'bad signature' }} }} }};
          }}
          return {{
            events: data.messages.map((m) => ({{ selector: m.to, payload: m }})),
            response: {{ status: 202, data: 'thanks', headers: {{ 'x-handled-by': 'chat' }} }},
          }};
        }}"
    );
    weir_testkit::zip(&[
        ("manifest.json", &manifest.to_string()),
        (
            "config/iparams.json",
            r#"{"userId": {"display_name": "User id", "type": "text", "required": true}}"#,
        ),
        (
            "server/server.js",
            "exports = { onMessage: function (payload) { return payload; },
                         onExternal: function (payload) { return payload; } };",
        ),
        (
            "global-webhooks/all-events/spec.yml",
            "name: All events\nkey: all-events\nmethods:\n  handle:\n    implementationType: javascript\n",
        ),
        ("global-webhooks/all-events/handle.js", &handle),
        (
            "events/message/spec.yml",
            "name: Message\nimplementationType: global-webhook\nmethods:\n  getEventSelector:\n    implementationType: mapping\n",
        ),
        (
            "events/message/getEventSelector.map.yml",
            "globalWebhookKey: all-events\nglobalWebhookEventSelector:\n  $var: $.parameters.userId\n",
        ),
    ])
}

fn hmac_hex(key: &[u8], message: &[u8]) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(message);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn global_webhooks_route_by_selector_and_answer_with_handle(storage: Storage) {
    let server = Server::start(&storage).await;
    desk_account(&server, "acme").await;
    desk_account(&server, "globex").await;
    let app = upload(&server, chat_connector()).await;
    let ann = install(&server, "acme", &app, json!({"userId": "U-ann"})).await;
    let bob = install(&server, "globex", &app, json!({"userId": "U-bob"})).await;
    let selectors = server
        .get(&format!(
            "/api/v1/installations/{}/event-selectors",
            ann["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        selectors.body["data"][0]["selector"], "U-ann",
        "{}",
        selectors.body
    );

    // The signing secret is the operator's, set for the app, shown by name only.
    let secret = json!({"public": {"team": "T1"}, "secure": {"signingSecret": CHAT_SECRET}});
    let set = server
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/apps/{app}/parameters"),
            support::ADMIN_TOKEN,
            secret,
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    let shown = server.get(&format!("/api/v1/apps/{app}/parameters")).await;
    assert_eq!(
        shown.body,
        json!({"app": "chat", "public": {"team": "T1"}, "secure": ["signingSecret"]})
    );

    let listed = server
        .get(&format!("/api/v1/apps/{app}/global-webhooks"))
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let url = listed.body["data"][0]["url"].as_str().unwrap().to_owned();
    assert_eq!(
        url,
        format!("{}/in/global/chat/all-events", server.base),
        "by name"
    );
    assert_eq!(
        listed.body["data"][0]["version_url"],
        format!("{}/in/global/{app}/all-events", server.base)
    );

    let body = json!({"messages": [
        {"to": "U-ann", "text": "hi Ann"},
        {"to": "U-bob", "text": "hi Bob"},
        {"to": "U-nobody", "text": "lost"},
    ]})
    .to_string();
    let signature = format!(
        "sha256={}",
        hmac_hex(CHAT_SECRET.as_bytes(), body.as_bytes())
    );
    let client = reqwest::Client::new();
    let sent = client
        .post(&url)
        .header("content-type", "application/json")
        .header("x-chat-signature", &signature)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(
        sent.status(),
        StatusCode::ACCEPTED,
        "handle's response status"
    );
    assert_eq!(sent.headers()["x-handled-by"], "chat");
    assert_eq!(sent.text().await.unwrap(), "thanks");

    for (installation, text) in [(&ann, "hi Ann"), (&bob, "hi Bob")] {
        let path = format!(
            "/api/v1/installations/{}/invocations?event=message",
            installation["id"].as_str().unwrap()
        );
        let records = wait_for_records(&server, &path, 1).await;
        assert_eq!(
            records.len(),
            1,
            "each message reaches its own installation only"
        );
        assert_eq!(records[0]["status"], "success", "{}", records[0]);
        assert_eq!(records[0]["handler"], "onMessage");
        let envelope = &records[0]["result"];
        assert_eq!(envelope["data"]["text"], text);
        assert_eq!(envelope["event"], "message");
        assert_eq!(envelope["globalWebhookKey"], "all-events");
    }
    let stats = server
        .get(&format!("/api/v1/apps/{app}/global-webhooks"))
        .await;
    let stats = &stats.body["data"][0];
    assert_eq!(
        (
            &stats["requests"],
            &stats["events_routed"],
            &stats["events_unmatched"]
        ),
        (&json!(1), &json!(2), &json!(1)),
        "{stats}"
    );
    assert_eq!(stats["last_unmatched"], "U-nobody");

    // A forged signature: handle answers 401, and nothing is routed.
    let forged = client
        .post(&url)
        .header("content-type", "application/json")
        .header("x-chat-signature", "sha256=00")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    let stats = server
        .get(&format!("/api/v1/apps/{app}/global-webhooks"))
        .await;
    assert_eq!(stats.body["data"][0]["events_routed"], 2);
    // A new version: the URL by name stays, and now runs the new version's `handle`
    // (with the same parameters); the old version's own URL keeps working.
    let next = upload(&server, chat_connector()).await;
    let signed = |body: &str| {
        format!(
            "sha256={}",
            hmac_hex(CHAT_SECRET.as_bytes(), body.as_bytes())
        )
    };
    let empty = json!({"messages": []}).to_string();
    let version_url = format!("{}/in/global/{app}/all-events", server.base);
    for target in [&url, &version_url] {
        let sent = client
            .post(target)
            .header("content-type", "application/json")
            .header("x-chat-signature", signed(&empty))
            .body(empty.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(sent.status(), StatusCode::ACCEPTED, "{target}");
    }
    for (version, requests) in [(&next, 1), (&app.to_owned(), 3)] {
        let stats = server
            .get(&format!("/api/v1/apps/{version}/global-webhooks"))
            .await;
        assert_eq!(
            stats.body["data"][0]["requests"], requests,
            "{version}: {}",
            stats.body
        );
    }
    let unknown = client
        .post(format!("{}/in/global/{app}/nope", server.base))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    server.stop().await;
}

/// The installation's records at `path` once there are at least `count` of them.
async fn wait_for_records(server: &Server, path: &str, count: usize) -> Vec<Value> {
    let listed = server
        .get_until(path, |l| l["data"].as_array().unwrap().len() >= count)
        .await;
    listed["data"].as_array().unwrap().clone()
}

/// A task-tracker connector whose `task-created` event is a `webhook` event: the app
/// subscribes each installation through the tracker's API.
fn task_connector() -> Vec<u8> {
    let manifest = json!({
        "name": "tasks",
        "platform-version": "3.0",
        "modules": {"common": {"events": {"onExternalEvent": {"handler": "onExternal"}}},
                    "support_ticket": {}},
        "connectorEvents": {"task-created": {"handler": "onTask"}},
        "engines": {"node": "18.20.0", "fdk": "9.0.0"},
    });
    weir_testkit::zip(&[
        ("manifest.json", &manifest.to_string()),
        (
            "config/iparams.json",
            r#"{"base_url": {"display_name": "API", "type": "text", "required": true},
                "api_key": {"display_name": "Key", "type": "text", "secure": true}}"#,
        ),
        (
            "server/server.js",
            "exports = { onTask: function (payload) { return payload; },
                         onExternal: function (payload) { return payload; } };",
        ),
        (
            "events/task-created/spec.yml",
            "name: Task created\nimplementationType: webhook\nmethods:\n  subscribe: {}\n  handle: {}\n  unsubscribe: {}\n  refresh: {}\n",
        ),
        (
            "events/task-created/subscribe.js",
            "export default async function subscribe({ apiClient, webhookUri }) {
               const created = await apiClient.post('/hooks', { url: webhookUri });
               return { state: { hookId: created.id }, nextRefreshTimestamp: Date.now() + 500 };
             }",
        ),
        (
            "events/task-created/handle.js",
            "export default async function handle({ data, state }) {
               return { events: [{ type: 'created', record: data.task }],
                        state: { hookId: state.hookId, seen: (state.seen || 0) + 1 },
                        response: { status: 200, data: { ok: true } } };
             }",
        ),
        (
            "events/task-created/refresh.js",
            "export default async function refresh({ apiClient, state }) {
               await apiClient.post('/hooks/' + state.hookId + '/renew', {});
               return { state: { hookId: state.hookId, renewed: true },
                        nextRefreshTimestamp: Date.now() + 86400000 };
             }",
        ),
        (
            "events/task-created/unsubscribe.js",
            "export default async function unsubscribe({ apiClient, state }) {
               await apiClient.delete('/hooks/' + state.hookId);
             }",
        ),
    ])
}

async fn connector_webhook_events_subscribe_handle_refresh_and_unsubscribe(storage: Storage) {
    let tracker =
        FakeThirdParty::start(
            |request| match (request.method.as_str(), request.path.as_str()) {
                ("POST", "/hooks") => json_reply(201, json!({"id": "h-9"})),
                ("POST", _) => json_reply(200, json!({})),
                // Gone already: unsubscribing still counts as done.
                _ => json_reply(404, json!({"error": "no such hook"})),
            },
        )
        .await;
    let host_override = format!("api.tasks.test={}", tracker.address);
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
    desk_account(&server, "acme").await;
    let app = upload(&server, task_connector()).await;
    let iparams = json!({"base_url": "https://api.tasks.test", "api_key": "k-1"});
    let installation = install(&server, "acme", &app, iparams).await;
    let target_url = installation["target_url"].as_str().unwrap();

    let subscribed = tracker.received();
    assert_eq!(
        (subscribed[0].method.as_str(), subscribed[0].path.as_str()),
        ("POST", "/hooks")
    );
    assert_eq!(subscribed[0].headers["authorization"], "Bearer k-1");
    let body: Value = serde_json::from_str(&subscribed[0].body).unwrap();
    let webhook_uri = format!("{target_url}/events/task-created");
    assert_eq!(body["url"], webhook_uri.as_str());

    let sent = send(&webhook_uri, "application/json", r#"{"task": {"id": 5}}"#).await;
    assert_eq!(sent.status(), StatusCode::OK);
    assert_eq!(sent.json::<Value>().await.unwrap(), json!({"ok": true}));
    let path = format!(
        "/api/v1/installations/{}/invocations?event=task-created",
        installation["id"].as_str().unwrap()
    );
    let records = wait_for_records(&server, &path, 1).await;
    let handled = records
        .iter()
        .find(|r| r["handler"] == "onTask")
        .expect("the app's handler ran");
    assert_eq!(
        handled["result"]["data"],
        json!({"type": "created", "record": {"id": 5}})
    );

    // The refresh the subscription asked for runs on its own (due half a second later).
    tracker
        .wait_until("the refresh", |got| {
            got.iter().any(|r| r.path == "/hooks/h-9/renew")
        })
        .await;

    let uninstalled = server
        .delete(&format!(
            "/api/v1/installations/{}",
            installation["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        uninstalled.status,
        StatusCode::NO_CONTENT,
        "{}",
        uninstalled.body
    );
    let last = tracker.received().pop().unwrap();
    assert_eq!(
        (last.method.as_str(), last.path.as_str()),
        ("DELETE", "/hooks/h-9")
    );
    server.stop().await;
}
