//! docs/api.md's examples, run as written against a live server with a real receiver for
//! the subscription they make, so that the API's docs cannot drift from what Weir does.

mod support;

use std::path::Path;

use support::{Server, Storage, doc_script};
use weir_testkit::TempDir;
use weir_testkit::{FakeThirdParty, json_reply};

/// How long the examples may take; they wait for a delivery, which they poll for.
const PATIENCE: u32 = 120;
/// The receiver the examples' subscription names.
const DOCUMENTED_RECEIVER: &str = "https://hooks.globex.example/weir";

fn examples() -> String {
    doc_script::sh_block_after(include_str!("../../../docs/api.md"), "## Examples")
}

on_both_backends!(the_api_examples_work_as_written);

async fn the_api_examples_work_as_written(storage: Storage) {
    let receiver = FakeThirdParty::start(|_| json_reply(200, serde_json::json!({}))).await;
    let server = Server::start_configured(
        &storage,
        None,
        &["--allow-private-destinations", "127.0.0.0/8"],
    )
    .await;
    let work = TempDir::new();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let script = examples()
        .replace("http://127.0.0.1:8080", &server.base)
        .replace(
            "weir-data/admin-token",
            &storage.data_dir().join("admin-token").to_string_lossy(),
        )
        .replace("cd examples/", &format!("cd {}/examples/", repo.display()))
        .replace(
            "../../app.zip",
            &work.path().join("app.zip").to_string_lossy(),
        )
        .replace(
            "@app.zip",
            &format!("@{}", work.path().join("app.zip").display()),
        )
        .replace(
            DOCUMENTED_RECEIVER,
            &format!("http://{}/weir", receiver.address),
        );
    let output = doc_script::run(&script, work.path(), PATIENCE).await;
    let printed = doc_script::printed(&output);
    for expected in [
        r#""openapi": "3.1.0""#,
        r#""id":"globex","domain":"globex.freshsales.io","region":"EU""#,
        r#""status":"active""#,
        r#""secure_iparams":["chat_webhook_path"]"#,
        r#""type":"CUSTOMER_WEBHOOK""#,
        r#""secret":"whsec_"#,
        r#""duplicate":false,"jobs":0,"deliveries":1}"#,
        r#""status":"delivered""#,
        r#""attempts_made":[{"number":1"#,
        r#""status":"pending"}"#,
        r#"{"error":{"code":"forbidden","message":"the API key given belongs to account globex"#,
    ] {
        assert!(
            printed.contains(expected),
            "the examples did not print {expected}:\n{printed}"
        );
    }
    assert!(
        !printed.contains("s3cret"),
        "a secure iparam was shown:\n{printed}"
    );
    let delivered = receiver
        .wait_until("the delivery and its replay", |got| got.len() >= 2)
        .await;
    assert_eq!(delivered.len(), 2, "{delivered:?}");
    assert!(delivered.iter().all(|r| r.body.contains("Grace")));
    assert_eq!(
        delivered[0].headers.get("webhook-id"),
        delivered[1].headers.get("webhook-id"),
        "a replay carries the delivery's webhook-id"
    );
}
