//! Apps that bring npm packages needing Node's built-ins (issue 21): an app whose
//! `server/node_modules` holds `axios` and `jsonwebtoken`, exactly as npm installs them,
//! runs on the real `weir serve`. It signs and verifies a JWT, and calls a third party
//! with axios, which reaches a loopback receiver through the operator's host override,
//! as `$request` does; aimed at an internal address, the same call is refused by the
//! outbound guard, and the invocation record says so.
//!
//! The packages are not in the repository: `tests/fixtures/npm` names their exact
//! versions (package.json, package-lock.json) and `npm ci` there installs them (.ci/run
//! does). Without them these tests fail, saying how to install them.

mod support;

use std::path::{Path, PathBuf};

use base64::Engine;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;
use support::dev_server::DevServer;
use support::{Server, Storage};
use weir_testkit::{FakeThirdParty, TempDir, json_reply};

const SECRET: &str = "weir-test-signing-secret";

const SERVER_JS: &str = r#"
const axios = require('axios');
const jwt = require('jsonwebtoken');
const SECRET = 'weir-test-signing-secret';

exports = {
  // Signs a token for the contact, checks it, and sends it to the third party.
  notify: async function (args) {
    const token = jwt.sign({ sub: 'contact-' + args.data.contact.id }, SECRET, { algorithm: 'HS256', expiresIn: '5m' });
    const claims = jwt.verify(token, SECRET, { algorithms: ['HS256'] });
    let forged;
    try { jwt.verify(token, 'another secret'); } catch (e) { forged = e.message; }
    const res = await axios.post('http://api.thirdparty.test/hooks?source=weir',
      { contact: args.data.contact.id },
      { headers: { Authorization: 'Bearer ' + token } });
    return { sub: claims.sub, forged, token, status: res.status, answer: res.data };
  },
  // The same client, aimed at the cloud metadata address.
  metadata: async function () {
    const res = await axios.get('http://169.254.169.254/latest/meta-data/');
    return res.data;
  },
};
"#;

fn manifest() -> String {
    json!({
        "name": "node-packages",
        "platform-version": "2.3",
        "product": {"freshsales": {"events": {
            "onContactCreate": {"handler": "notify"},
            "onDealCreate": {"handler": "metadata"},
        }}},
        "dependencies": {"axios": "1.21.1", "jsonwebtoken": "9.0.3"},
    })
    .to_string()
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/npm/node_modules")
}

/// The installed fixture packages' files (the code and data Node would load: `.js`,
/// `.cjs`, `.json`), by path under `node_modules`. Fails, never skips, when they are
/// not installed.
fn installed_packages() -> Vec<(String, Vec<u8>)> {
    let root = fixtures();
    assert!(
        root.join("axios/package.json").is_file()
            && root.join("jsonwebtoken/package.json").is_file(),
        "the npm fixtures of these tests are not installed at {}: run \
         `npm ci --prefix crates/weir/tests/fixtures/npm` (Node and npm needed; .ci/run does it)",
        root.display()
    );
    let mut files = Vec::new();
    let mut folders = vec![root.clone()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if ["js", "cjs", "json"]
                .iter()
                .any(|ext| path.extension().is_some_and(|e| e == *ext))
            {
                let relative = path
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                files.push((relative, std::fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

/// The app package: manifest, server.js and the packages in `server/node_modules`.
fn app_zip() -> Vec<u8> {
    let packages = installed_packages();
    let mut files: Vec<(String, String)> = vec![
        ("manifest.json".into(), manifest()),
        ("server/server.js".into(), SERVER_JS.into()),
    ];
    for (path, bytes) in packages {
        let text = String::from_utf8(bytes).expect("the fixture packages' files are text");
        files.push((format!("server/node_modules/{path}"), text));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    weir_testkit::zip(&refs)
}

/// The invocation record of the event's one job, once it has run.
async fn record(server: &Server, event: Value) -> Value {
    let posted = server.post("/api/v1/accounts/acme/events", event).await;
    assert_eq!(posted.status, StatusCode::ACCEPTED, "{}", posted.body);
    let settled = server.settled(posted.body["id"].as_str().unwrap()).await;
    let jobs = settled["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 1, "{settled}");
    let invocation = jobs[0]["last_invocation"].as_str().unwrap();
    server
        .get(&format!("/api/v1/invocations/{invocation}"))
        .await
        .body
}

/// Whether `token` is an HS256 JWT signed with `secret`, checked here, outside the sandbox.
fn signed_with(token: &str, secret: &str) -> bool {
    let Some((signed, signature)) = token.rsplit_once('.') else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(signed.as_bytes());
    let expected =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    expected == signature
}

#[tokio::test]
async fn an_app_s_own_axios_and_jsonwebtoken_run_and_their_requests_meet_the_outbound_rules() {
    let third_party = FakeThirdParty::start(|request| {
        json_reply(200, json!({"received": true, "path": request.path}))
    })
    .await;
    let host_override = format!("api.thirdparty.test={}", third_party.address);
    let server = Server::start_configured(
        &Storage::sqlite(),
        Some(support::ADMIN_TOKEN),
        &[
            "--allow-private-destinations",
            "127.0.0.0/8",
            "--host-override",
            &host_override,
        ],
    )
    .await;
    let account = json!({"id": "acme", "domain": "acme.myfreshworks.com", "region": "US", "product": "freshsales"});
    assert_eq!(
        server.post("/api/v1/accounts", account).await.status,
        StatusCode::CREATED
    );
    let uploaded = server.upload_app("/api/v1/apps", app_zip()).await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.body);
    let app = uploaded.body["id"].as_str().unwrap();
    let installed = server
        .post(
            "/api/v1/accounts/acme/installations",
            json!({"app_id": app}),
        )
        .await;
    assert_eq!(installed.status, StatusCode::CREATED, "{}", installed.body);

    let run = record(
        &server,
        json!({"event": "onContactCreate", "data": {"contact": {"id": 42}}}),
    )
    .await;
    assert_eq!(run["status"], "success", "{run}");
    let result = &run["result"];
    assert_eq!(result["sub"], "contact-42", "{run}");
    assert_eq!(result["forged"], "invalid signature", "{run}");
    assert_eq!(result["status"], 200, "{run}");
    assert_eq!(
        result["answer"],
        json!({"received": true, "path": "/hooks"}),
        "{run}"
    );
    let token = result["token"].as_str().unwrap();
    assert!(
        signed_with(token, SECRET),
        "the JWT is HS256 with the app's secret: {token}"
    );
    let received = third_party.received();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].method, "POST");
    assert_eq!(received[0].path, "/hooks");
    assert_eq!(received[0].query.as_deref(), Some("source=weir"));
    assert_eq!(
        received[0].headers["authorization"],
        format!("Bearer {token}")
    );
    assert_eq!(received[0].headers["host"], "api.thirdparty.test");
    assert_eq!(
        serde_json::from_str::<Value>(&received[0].body).unwrap(),
        json!({"contact": 42})
    );

    let refused = record(
        &server,
        json!({"event": "onDealCreate", "data": {"deal": {"id": 7}}}),
    )
    .await;
    assert_eq!(refused["status"], "error", "{refused}");
    assert_eq!(
        refused["error"],
        "Error: GET http://169.254.169.254 was not sent: Weir's outbound guard refuses the destination \
         (169.254.169.254 is an internal address)",
        "{refused}"
    );
    assert_eq!(
        third_party.received().len(),
        1,
        "nothing more reached the receiver"
    );
    server.stop().await;
}

/// `weir dev`, from an app folder with the packages installed in `server/node_modules`
/// (and declared in the manifest, so that they are packed): the simulator lists the
/// handler's axios call as it lists `$request` calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_lists_the_requests_of_npm_packages() {
    let packages = installed_packages();
    let third_party = FakeThirdParty::start(|_| json_reply(201, json!({"id": "made"}))).await;
    let dir = TempDir::new();
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("manifest.json".into(), manifest().into_bytes()),
        ("server/server.js".into(), SERVER_JS.as_bytes().to_vec()),
    ];
    files.extend(
        packages
            .into_iter()
            .map(|(path, bytes)| (format!("server/node_modules/{path}"), bytes)),
    );
    for (path, bytes) in &files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    let host_override = format!("api.thirdparty.test={}", third_party.address);
    let server = DevServer::start_with(dir.path(), &["--host-override", &host_override]).await;
    let run = server
        .simulate("onContactCreate", json!({"data": {"contact": {"id": 5}}}))
        .await;
    assert_eq!(run["status"], "success", "{run}");
    let requests = run["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 1, "{run}");
    assert_eq!(requests[0]["call"], "node.http", "{run}");
    assert_eq!(
        requests[0]["summary"], "POST http://api.thirdparty.test/hooks?source=weir",
        "{run}"
    );
    assert_eq!(requests[0]["status"], 201, "{run}");
    assert_eq!(requests[0]["error"], Value::Null, "{run}");

    let refused = server
        .simulate("onDealCreate", json!({"data": {"deal": {"id": 1}}}))
        .await;
    assert_eq!(refused["status"], "error", "{refused}");
    let requests = refused["requests"].as_array().unwrap();
    assert_eq!(
        requests[0]["summary"], "GET http://169.254.169.254/latest/meta-data/",
        "{refused}"
    );
    assert!(
        requests[0]["error"]
            .as_str()
            .unwrap()
            .contains("outbound guard refuses the destination"),
        "{refused}"
    );
    server.stop().await;
}
