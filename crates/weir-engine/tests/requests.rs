//! `$request` and `invokeTemplate` as apps use them: real handlers in the sandbox, a real
//! store, Weir's outbound client, and a fake third party on loopback reached through
//! host overrides (REFERENCE §8). Every platform text an app can observe is checked.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use support::World;
use weir_core::InvocationStatus;
use weir_engine::PlatformSettings;
use weir_testkit::{FakeThirdParty, json_reply};

fn example_files(dir: &str) -> Vec<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(dir);
    let mut files = Vec::new();
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let name = path
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                files.push((name, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    files
}

fn borrowed(files: &[(String, String)]) -> Vec<(&str, &str)> {
    files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_external_events_example_registers_and_removes_its_webhook() {
    let tracker = FakeThirdParty::start(|request| match request.method.as_str() {
        "POST" => json_reply(201, json!({"id": 42})),
        _ => json_reply(204, json!(null)),
    })
    .await;
    let world = World::new(
        &[("tracker.example.com", tracker.address)],
        PlatformSettings::default(),
    )
    .await;
    let files = example_files("freshteam-external-events");
    let installation = world
        .install(
            &borrowed(&files),
            json!({"tracker_domain": "tracker.example.com"}),
            json!({"tracker_api_key": "s3cret"}),
        )
        .await;

    let installed = world.run(&installation, "onAppInstall").await;
    assert_eq!(installed.status, InvocationStatus::Success, "{installed:?}");
    assert_eq!(installed.render, Some(json!({"status": 200})));
    let register = &tracker.received()[0];
    assert_eq!(register.method, "POST");
    assert_eq!(register.path, "/rest/webhooks/1.0/webhook");
    assert_eq!(register.headers["authorization"], "Basic czNjcmV0");
    assert_eq!(register.headers["host"], "tracker.example.com");
    let body: Value = serde_json::from_str(&register.body).unwrap();
    let target = format!(
        "https://weir.example.com/in/{}",
        installation.target_token.as_str()
    );
    assert_eq!(body["url"], json!(target));
    let stored = world
        .store
        .app_data(&installation.id, "tracker-webhook", weir_core::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.value, json!({"id": 42}));

    let uninstalled = world.run(&installation, "onAppUninstall").await;
    assert_eq!(
        uninstalled.status,
        InvocationStatus::Success,
        "{uninstalled:?}"
    );
    let deregister = &tracker.received()[1];
    assert_eq!(deregister.method, "DELETE");
    assert_eq!(deregister.path, "/rest/webhooks/1.0/webhook/42");
    assert_eq!(deregister.headers["authorization"], "Basic czNjcmV0");
}

const MANIFEST_2_2: &str = r#"{
  "platform-version": "2.2",
  "product": { "freshdesk": { "events": {
    "onAppInstall": { "handler": "install" },
    "onAppUninstall": { "handler": "uninstall" },
    "onExternalEvent": { "handler": "external" },
    "onTicketCreate": { "handler": "call" }
  }, "requests": { "lookup": {} } } },
  "whitelisted-domains": ["https://*.thirdparty.example", "https://<%= iparam.custom_host %>"]
}"#;

const IPARAMS: &str = r#"{
  "subdomain": { "display_name": "Subdomain", "type": "text", "required": true },
  "custom_host": { "display_name": "Custom host", "type": "text" },
  "api_key": { "display_name": "API key", "type": "api_key", "secure": true, "required": true }
}"#;

const REQUESTS: &str = r#"{
  "lookup": {
    "schema": {
      "method": "GET",
      "host": "<%= iparam.subdomain %>.thirdparty.example",
      "path": "/people/<%= context.id %>",
      "headers": { "Authorization": "Bearer <%= iparam.api_key %>" },
      "query": { "fields": "name" }
    }
  },
  "unlisted": { "schema": { "method": "GET", "host": "acme.thirdparty.example" } }
}"#;

const SERVER_JS: &str = r#"
var util = require('./lib/util');
var leftPad = require('left-pad');
exports = {
  install: function (args) {
    generateTargetUrl()
      .then(function (url) {
        return $request.post('https://' + args.iparams.subdomain + '.thirdparty.example/hooks', {
          headers: { Authorization: 'Basic <%= encode(iparam.api_key + ":X") %>' },
          json: { url: url, label: util.label(args.event) }
        });
      })
      .then(function (data) { return $db.set('hook', { id: data.response.id }); })
      .then(function () { renderData(); }, function (err) { renderData({ message: 'failed: ' + err.status }); });
  },
  external: function (args) {
    return $request.put('https://<%= iparam.subdomain %>.thirdparty.example/ack/' + leftPad(args.data.n, 5, '0'), {
      headers: { 'X-Key': '<%= encode(iparam.api_key) %>' },
      body: 'received'
    }).then(function (answer) { return answer.response; });
  },
  uninstall: function () {
    return $db.get('hook')
      .then(function (hook) {
        return $request.delete('https://acme.thirdparty.example/hooks/' + hook.id, {
          headers: { Authorization: 'Basic <%= encode(iparam.api_key + ":X") %>' }
        });
      })
      .then(function () { return $db.delete('hook'); })
      .then(function () { renderData(); });
  },
  call: function (args) {
    var c = args.data;
    var pending = c.template
      ? $request.invokeTemplate(c.template, c.options)
      : $request[c.method](c.url, c.options);
    return pending.then(function (ok) { return { ok: ok }; }, function (err) { return { err: err }; });
  }
};"#;

const UTIL_JS: &str = "exports = { label: function (event) { return 'weir:' + event; } };";
const LEFT_PAD: &str = r#"module.exports = function leftPad(value, length, fill) {
  var text = String(value);
  while (text.length < length) text = fill + text;
  return text;
};"#;

fn app_files() -> Vec<(&'static str, &'static str)> {
    vec![
        ("manifest.json", MANIFEST_2_2),
        ("config/iparams.json", IPARAMS),
        ("config/requests.json", REQUESTS),
        ("server/server.js", SERVER_JS),
        ("server/lib/util.js", UTIL_JS),
        (
            "server/node_modules/left-pad/package.json",
            r#"{"main": "index.js"}"#,
        ),
        ("server/node_modules/left-pad/index.js", LEFT_PAD),
    ]
}

fn iparams() -> (Value, Value) {
    (
        json!({"subdomain": "acme", "custom_host": "hooks.custom.example"}),
        json!({"api_key": "k3y"}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_style_app_registers_calls_back_and_cleans_up() {
    let fake = FakeThirdParty::start(|request| match request.method.as_str() {
        "POST" => json_reply(201, json!({"id": "hook-7"})),
        "PUT" => (200, "text/plain", "thanks".into(), Duration::ZERO),
        _ => json_reply(200, json!({})),
    })
    .await;
    let world = World::new(
        &[("acme.thirdparty.example", fake.address)],
        PlatformSettings::default(),
    )
    .await;
    let (public, secure) = iparams();
    let installation = world.install(&app_files(), public, secure).await;

    let installed = world.run(&installation, "onAppInstall").await;
    assert_eq!(
        installed.render,
        Some(json!({"status": 200})),
        "{installed:?}"
    );
    let register = &fake.received()[0];
    assert_eq!(
        (register.method.as_str(), register.path.as_str()),
        ("POST", "/hooks")
    );
    // base64("k3y:X")
    assert_eq!(register.headers["authorization"], "Basic azN5Olg=");
    assert_eq!(register.headers["content-type"], "application/json");
    let target = format!(
        "https://weir.example.com/in/{}",
        installation.target_token.as_str()
    );
    assert_eq!(
        serde_json::from_str::<Value>(&register.body).unwrap(),
        json!({"url": target, "label": "weir:onAppInstall"})
    );
    let hook = world
        .store
        .app_data(&installation.id, "hook", weir_core::now())
        .await
        .unwrap();
    assert_eq!(hook.unwrap().value, json!({"id": "hook-7"}));

    let mut payload = weir_engine::envelope::base(
        &world
            .store
            .account(&installation.account_id)
            .await
            .unwrap()
            .unwrap(),
        &installation,
        "onExternalEvent",
    );
    payload["data"] = json!({"n": 42});
    let external = world
        .run_with(&installation, "onExternalEvent", payload)
        .await;
    assert_eq!(external.result, Some(json!("thanks")), "{external:?}");
    let ack = &fake.received()[1];
    assert_eq!(
        (ack.method.as_str(), ack.path.as_str()),
        ("PUT", "/ack/00042")
    );
    assert_eq!(ack.headers["x-key"], "azN5"); // base64("k3y")
    assert_eq!(ack.body, "received");

    let uninstalled = world.run(&installation, "onAppUninstall").await;
    assert_eq!(
        uninstalled.render,
        Some(json!({"status": 200})),
        "{uninstalled:?}"
    );
    let remove = &fake.received()[2];
    assert_eq!(
        (remove.method.as_str(), remove.path.as_str()),
        ("DELETE", "/hooks/hook-7")
    );
    let gone = world
        .store
        .app_data(&installation.id, "hook", weir_core::now())
        .await
        .unwrap();
    assert_eq!(gone, None);
}

/// Runs the `call` handler with `data` and returns what the request resolved or
/// rejected with: `{ok}` or `{err}`.
async fn call(
    world: &World,
    installation: &std::sync::Arc<weir_core::Installation>,
    data: Value,
) -> Value {
    let mut payload = json!({"data": data});
    payload["iparams"] = json!({});
    let record = world
        .run_with(installation, "onTicketCreate", payload)
        .await;
    assert_eq!(record.status, InvocationStatus::Success, "{record:?}");
    record.result.unwrap()
}

fn platform_error(status: u16, message: &str) -> Value {
    json!({"err": {"status": status, "headers": {}, "response": message, "errorSource": "APP"}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_answer_with_the_platform_shapes_and_texts() {
    let flaky = std::sync::Arc::new(AtomicUsize::new(0));
    let seen = flaky.clone();
    let fake = FakeThirdParty::start(move |request| match request.path.as_str() {
        "/json" => json_reply(200, json!({"name": "Ada"})),
        "/missing" => json_reply(404, json!({"error": "no such thing"})),
        "/csv" => (200, "text/csv", "a,b".into(), Duration::ZERO),
        "/slow" => (200, "text/plain", "late".into(), Duration::from_secs(3)),
        "/flaky" if seen.fetch_add(1, Ordering::SeqCst) < 2 => json_reply(503, json!({})),
        "/people/7" => json_reply(
            200,
            json!({"query": request.query, "auth": request.headers["authorization"]}),
        ),
        _ => (200, "text/plain", "fine".into(), Duration::ZERO),
    })
    .await;
    let settings = PlatformSettings {
        request_timeout: Duration::from_millis(500),
        ..PlatformSettings::default()
    };
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let world = World::new(
        &[
            ("acme.thirdparty.example", fake.address),
            ("hooks.custom.example", fake.address),
            ("down.thirdparty.example", closed_port),
        ],
        settings,
    )
    .await;
    let (public, secure) = iparams();
    let installation = world.install(&app_files(), public, secure).await;
    let get = |url: &str, options: Value| json!({"method": "get", "url": url, "options": options});
    let base = "https://acme.thirdparty.example";

    let ok = call(
        &world,
        &installation,
        get(&format!("{base}/json"), json!({"json": {}})),
    )
    .await;
    assert_eq!(ok["ok"]["status"], 200);
    assert_eq!(ok["ok"]["response"], json!({"name": "Ada"}));
    assert_eq!(ok["ok"]["attempts"], 1);
    assert_eq!(ok["ok"]["headers"]["content-type"], "application/json");
    let text = call(
        &world,
        &installation,
        get(&format!("{base}/json"), json!({})),
    )
    .await;
    assert_eq!(
        text["ok"]["response"],
        json!("{\"name\":\"Ada\"}"),
        "without json the response stays a string"
    );
    // A whitelist entry written with an iparam template.
    let custom = call(
        &world,
        &installation,
        get("https://hooks.custom.example/x", json!({})),
    )
    .await;
    assert_eq!(custom["ok"]["response"], "fine");

    let missing = call(
        &world,
        &installation,
        get(&format!("{base}/missing"), json!({"json": {}})),
    )
    .await;
    assert_eq!(missing["err"]["status"], 404);
    assert_eq!(
        missing["err"]["response"],
        json!({"error": "no such thing"})
    );
    assert_eq!(missing["err"]["errorSource"], "APP");

    let cases = [
        (
            get("http://other.thirdparty.example/x", json!({})),
            platform_error(400, "Invalid URL - Must be HTTPS"),
        ),
        (
            get("https://93.184.216.34/x", json!({})),
            platform_error(400, "Invalid URL - IP is disallowed"),
        ),
        (
            get("https://intranet/x", json!({})),
            platform_error(400, "Invalid URL - Must be FQDN"),
        ),
        (
            get("https://api.other.example/x", json!({})),
            platform_error(400, "This domain has not been whitelisted"),
        ),
        (
            get(&format!("{base}/<%= iparam. %>"), json!({})),
            platform_error(400, "Error while substituting the templates"),
        ),
        (
            get(&format!("{base}/csv"), json!({})),
            platform_error(415, "Unsupported content type"),
        ),
        (
            get("https://down.thirdparty.example/x", json!({})),
            platform_error(502, "Error in establishing connection"),
        ),
        (
            get(&format!("{base}/slow"), json!({})),
            platform_error(504, "Timeout error while processing the request"),
        ),
        (
            get(&format!("{base}/x"), json!({"maxAttempts": 9})),
            platform_error(400, "maxAttempts must be a whole number from 1 to 5"),
        ),
        (
            get(&format!("{base}/x"), json!({"retryDelay": 5000})),
            platform_error(
                400,
                "retryDelay must be a whole number of milliseconds from 0 to 1500",
            ),
        ),
        (
            get(&format!("{base}/x"), json!({"isOAuth": true})),
            platform_error(
                400,
                "OAuth is not available: the app has no config/oauth_config.json",
            ),
        ),
        (
            json!({"template": "nope"}),
            platform_error(404, "Request template not found"),
        ),
        (
            json!({"template": "unlisted"}),
            platform_error(404, "Request template not found"),
        ),
    ];
    for (data, expected) in cases {
        assert_eq!(
            call(&world, &installation, data.clone()).await,
            expected,
            "{data}"
        );
    }

    let retried = call(
        &world,
        &installation,
        get(
            &format!("{base}/flaky"),
            json!({"maxAttempts": 3, "retryDelay": 10}),
        ),
    )
    .await;
    assert_eq!(retried["ok"]["status"], 200, "{retried}");
    assert_eq!(retried["ok"]["attempts"], 3);

    let template = call(
        &world,
        &installation,
        json!({"template": "lookup", "options": {"context": {"id": 7}, "query": {"page": "2"}}}),
    )
    .await;
    assert_eq!(template["ok"]["status"], 200, "{template}");
    let answered: Value =
        serde_json::from_str(template["ok"]["response"].as_str().unwrap()).unwrap();
    assert_eq!(
        answered,
        json!({"query": "fields=name&page=2", "auth": "Bearer k3y"})
    );
}
