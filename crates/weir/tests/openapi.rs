//! The OpenAPI document: served without a token, equal to the committed
//! `docs/openapi.json` (regenerate it with `WEIR_BLESS=1 cargo test -p weir --test
//! openapi`), describing every route and method the server answers and no other, and true
//! of the live server by schemathesis (PyPI; `.ci/run` installs the pinned version).

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{ADMIN_TOKEN, Server, Storage};
use weir_testkit::TempDir;

/// The methods a route could have; HEAD is GET's, answered by axum wherever GET is.
const METHODS: [Method; 6] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
];

fn committed_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")
}

async fn served_document(server: &Server) -> Value {
    let reply = server
        .call(Method::GET, "/api/v1/openapi.json", None, None, vec![])
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body
}

#[tokio::test]
async fn the_served_document_is_the_committed_one() {
    let server = Server::start(&Storage::sqlite()).await;
    let served = served_document(&server).await;
    assert_eq!(served["openapi"], "3.1.0");
    let text = serde_json::to_string_pretty(&served).unwrap() + "\n";
    let path = committed_path();
    if std::env::var_os("WEIR_BLESS").is_some() {
        std::fs::write(&path, &text).expect("write docs/openapi.json");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != text {
        let first_difference = committed
            .lines()
            .zip(text.lines())
            .position(|(a, b)| a != b)
            .map_or("at the end".to_owned(), |line| {
                format!("at line {}", line + 1)
            });
        panic!(
            "docs/openapi.json is not the document the server serves (first difference \
             {first_difference}); regenerate it with `WEIR_BLESS=1 cargo test -p weir --test \
             openapi` and review the diff"
        );
    }
}

/// Each documented path, with a stand-in for each parameter.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|segment| match segment.starts_with('{') {
            true => "x",
            false => segment,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether the router has a route for the method on the path: anything but the answers
/// of its fallbacks ("no route for …", "… is not allowed on …").
async fn routed(client: &reqwest::Client, server: &Server, method: Method, path: &str) -> bool {
    let response = client
        .request(method, format!("{}{path}", server.base))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let message = body["error"]["message"].as_str().unwrap_or("");
    let fallback = (status == StatusCode::NOT_FOUND && message.starts_with("no route for"))
        || (status == StatusCode::METHOD_NOT_ALLOWED && message.contains("is not allowed on"));
    !fallback
}

/// The API's routes are built from the table the document is made of; this checks what a
/// client sees: every documented method of every documented path is routed, and no other
/// method of those paths is. (That no `/api/v1` path is served undocumented is checked by
/// a unit test in weir-http, which reads the router's paths.)
#[tokio::test]
async fn every_documented_method_is_served_and_no_other() {
    let server = Server::start(&Storage::sqlite()).await;
    let document = served_document(&server).await;
    let paths = document["paths"].as_object().expect("paths");
    assert!(paths.len() > 30, "only {} paths documented", paths.len());
    let client = reqwest::Client::new();
    let mut wrong = Vec::new();
    for (template, item) in paths {
        let path = concrete(template);
        for method in METHODS {
            let documented = item.get(method.as_str().to_ascii_lowercase()).is_some();
            if routed(&client, &server, method.clone(), &path).await != documented {
                wrong.push(format!("{method} {template}: documented {documented}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the router and the document disagree:\n{}",
        wrong.join("\n")
    );
}

/// Every operation says who may call it and has an answer for success; ids are unique
/// (client generators name methods by them).
#[tokio::test]
async fn every_operation_names_its_callers_and_answers() {
    let server = Server::start(&Storage::sqlite()).await;
    let document = served_document(&server).await;
    let mut ids = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let at = format!("{method} {path}");
            assert!(operation["security"].is_array(), "{at}: no security");
            let api = path.starts_with("/api/v1/") && path != "/api/v1/openapi.json";
            let preflight = method == "options";
            assert_eq!(
                api && !preflight,
                !operation["security"].as_array().unwrap().is_empty(),
                "{at}: every /api/v1 route but the document and preflights needs a token"
            );
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|status| status.starts_with('2')),
                "{at}: no success answer"
            );
            let id = operation["operationId"].as_str().unwrap().to_owned();
            assert!(ids.insert(id.clone()), "{at}: operationId {id} twice");
        }
    }
}

on_both_backends!(schemathesis_finds_no_problem);

/// How long schemathesis may run, per backend: bounded examples and bounded time.
const SCHEMATHESIS_SECONDS: &str = "60";
const SCHEMATHESIS_EXAMPLES: &str = "15";
const SCHEMATHESIS_PATIENCE: Duration = Duration::from_secs(240);

/// schemathesis against the live server (API role only: fuzzed subscriptions must not
/// send anything anywhere), with an account, an app and an installation to find: no
/// server error, and every answer of a status, content type and shape the document
/// gives for that route.
async fn schemathesis_finds_no_problem(storage: Storage) {
    let server = Server::start_configured(&storage, Some(ADMIN_TOKEN), &["--role", "api"]).await;
    let seeded = seed(&server).await;
    let work = TempDir::new();
    let config = work.path().join("schemathesis.toml");
    std::fs::write(&config, schemathesis_config(&seeded)).unwrap();
    let mut command = tokio::process::Command::new("schemathesis");
    command
        .arg("--config-file")
        .arg(&config)
        .args(["run", &format!("{}/api/v1/openapi.json", server.base)])
        .args(["--url", &server.base])
        .args(["--header", &format!("Authorization: Bearer {ADMIN_TOKEN}")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        ])
        .args(["--max-examples", SCHEMATHESIS_EXAMPLES])
        .args(["--max-time", SCHEMATHESIS_SECONDS])
        .args(["--workers", "2", "--seed", "1", "--no-color"])
        // Health checks judge schemathesis's own generation (too many examples filtered
        // out, too slow on a busy machine), not the API: they failed CI at random.
        .args(["--suppress-health-check", "all"])
        .args(["--generation-database", "none"])
        .current_dir(work.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command.spawn().unwrap_or_else(|e| {
        panic!("this test needs schemathesis ({e}): pip install it as .ci/run does")
    });
    let output = tokio::time::timeout(SCHEMATHESIS_PATIENCE, child.wait_with_output())
        .await
        .expect("schemathesis ran past its time budget")
        .expect("schemathesis ran");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("{said}"); // seen with --nocapture: what was covered, and the warnings
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{said}"
    );
    assert!(
        said.contains("passed"),
        "schemathesis tested nothing:\n{said}"
    );
}

/// The ids schemathesis is given for some path parameters, so that it reaches real
/// things and not only 404s.
struct Seeded {
    account: String,
    app: String,
    installation: String,
    subscription: String,
    event: String,
    delivery: String,
}

/// An account with an app installed, a subscription and an event for it (its delivery
/// stays pending: an API-only node sends nothing).
async fn seed(server: &Server) -> Seeded {
    let account = json!({"id": "acme", "domain": "acme.freshsales.io", "region": "US",
        "product": "freshsales"});
    let created = server.post("/api/v1/accounts", account).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let app = server
        .upload_app("/api/v1/apps", support::sample_app("fuzzed"))
        .await;
    assert_eq!(app.status, StatusCode::CREATED, "{}", app.body);
    let app_id = app.body["id"].as_str().unwrap().to_owned();
    let installed = server
        .post(
            "/api/v1/accounts/acme/installations",
            json!({"app_id": app_id, "iparams": {"api_key": "k"}}),
        )
        .await;
    assert_eq!(installed.status, StatusCode::CREATED, "{}", installed.body);
    let subscription = server
        .post(
            "/api/v1/accounts/acme/subscriptions",
            json!({"url": "https://hooks.acme.example/weir", "events": ["onContactCreate"]}),
        )
        .await;
    assert_eq!(
        subscription.status,
        StatusCode::CREATED,
        "{}",
        subscription.body
    );
    let event = server
        .post(
            "/api/v1/accounts/acme/events",
            json!({"event": "onContactCreate", "data": {"contact": {"id": 1}}}),
        )
        .await;
    assert_eq!(event.status, StatusCode::ACCEPTED, "{}", event.body);
    let deliveries = server.get("/api/v1/deliveries?account=acme").await;
    Seeded {
        account: "acme".to_owned(),
        app: app_id,
        installation: installed.body["id"].as_str().unwrap().to_owned(),
        subscription: subscription.body["id"].as_str().unwrap().to_owned(),
        event: event.body["id"].as_str().unwrap().to_owned(),
        delivery: deliveries.body["data"][0]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("a delivery: {}", deliveries.body))
            .to_owned(),
    }
}

/// The operations that read or change a seeded thing get its id (deleting it is left to
/// the operations' own fuzzed ids, so that the seed stays for the others). App uploads
/// are not fuzzed: a zip is not something schemathesis can make (the seed uploads one).
fn schemathesis_config(seeded: &Seeded) -> String {
    let mut config = String::from(
        "[[operations]]\ninclude-operation-id = \"apps.uploadAnApp\"\nenabled = false\n\n",
    );
    for (prefix, id) in [
        ("/api/v1/accounts/", &seeded.account),
        ("/api/v1/apps/", &seeded.app),
        ("/api/v1/installations/", &seeded.installation),
        ("/api/v1/subscriptions/", &seeded.subscription),
        ("/api/v1/events/", &seeded.event),
        ("/api/v1/deliveries/", &seeded.delivery),
    ] {
        config.push_str(&format!(
            "[[operations]]\ninclude-path-regex = \"^{prefix}\\\\{{id\\\\}}\"\nexclude-method = \"DELETE\"\nparameters = {{ \"path.id\" = \"{id}\" }}\n\n"
        ));
    }
    config
}
