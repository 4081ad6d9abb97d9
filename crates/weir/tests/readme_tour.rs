//! The README's five-minute tour, run as written (against a server on a random port) so
//! that the README cannot drift from what Weir does.

mod support;

use std::path::Path;

use support::{Server, Storage, doc_script};
use weir_testkit::TempDir;

/// The console line the README says the tour's first run logs: the example's call to
/// its placeholder chat host fails, and the handler logs that.
const CONSOLE_LINE: &str = r#"{"level":"error","text":"chat notification failed with status 502"}"#;
/// How long the tour may take; it waits for the handler's run, which it polls for.
const TOUR_PATIENCE: u32 = 120;

/// The shell block that follows "In another terminal:" in the README.
fn tour_script() -> String {
    doc_script::sh_block_after(include_str!("../../../README.md"), "In another terminal:")
}

#[tokio::test]
async fn the_readme_tour_works_as_written() {
    let storage = Storage::sqlite();
    let server = Server::start_with(&storage, None).await;
    let work = TempDir::new();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let script = tour_script()
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
        );
    let output = doc_script::run(&script, work.path(), TOUR_PATIENCE).await;
    let printed = doc_script::printed(&output);
    for expected in [
        r#"{"status":"ok"}"#,
        r#""id":"12345","domain":"acme.freshsales.io""#,
        r#""name":"freshsales-product-events","version":1,"platform_version":"2.3""#,
        r#""iparams":{"announce_stages":["Won"]},"secure_iparams":["chat_webhook_path"]"#,
        r#""duplicate":false,"jobs":1,"deliveries":0}"#,
        r#""handler":"onContactCreateHandler","status":"success""#,
        CONSOLE_LINE,
        r#""token":"weir_ak_"#,
    ] {
        assert!(
            printed.contains(expected),
            "the tour did not print {expected}:\n{printed}"
        );
    }
    assert!(
        include_str!("../../../README.md").contains(CONSOLE_LINE),
        "the README no longer promises the console line {CONSOLE_LINE}"
    );
    assert!(
        !printed.contains("s3cret"),
        "a secure iparam was shown:\n{printed}"
    );
    server.stop().await;
}
