//! `/metrics` is valid Prometheus text by Prometheus's own linter (`promtool check
//! metrics`, Debian's `prometheus` package; `.ci/run` installs it), and counts what
//! happened: HTTP requests by route template, inbound webhooks by outcome, handler runs
//! by outcome, the queues and the process.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use reqwest::StatusCode;
use serde_json::json;
use support::{Server, Storage};

on_both_backends!(metrics_pass_promtool_and_count_what_happened);

fn promtool_check(text: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("this test needs promtool ({e}): apt-get install prometheus, as .ci/run does")
        });
    child
        .stdin
        .take()
        .expect("promtool's stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let output = child.wait_with_output().expect("promtool ran");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), said)
}

async fn metrics_pass_promtool_and_count_what_happened(storage: Storage) {
    let server = Server::start(&storage).await;
    let account = json!({"id": "acme", "domain": "acme.freshdesk.com", "region": "US",
        "product": "freshdesk"});
    assert_eq!(
        server.post("/api/v1/accounts", account).await.status,
        StatusCode::CREATED
    );
    let shown = server.get("/api/v1/accounts/acme").await;
    assert_eq!(shown.status, StatusCode::OK);
    let missing = server.get("/api/v1/accounts/nobody").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let no_target = reqwest::Client::new()
        .post(format!("{}/in/no-such-token", server.base))
        .json(&json!({"hello": 1}))
        .send()
        .await
        .expect("post to a target URL");
    assert_eq!(no_target.status(), StatusCode::NOT_FOUND);
    // One handler run, counted by the node that ran it.
    let manifest = json!({"name": "counted", "platform-version": "2.3",
        "product": {"freshdesk": {"events": {"onTicketCreate": {"handler": "ticket"}}}}});
    let app = weir_testkit::zip(&[
        ("manifest.json", &manifest.to_string()),
        (
            "server/server.js",
            "exports = { ticket: function () { return 'ran'; } };",
        ),
    ]);
    let uploaded = server.upload_app("/api/v1/apps", app).await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.body);
    let install = json!({"app_id": uploaded.body["id"]});
    let installed = server
        .post("/api/v1/accounts/acme/installations", install)
        .await;
    assert_eq!(installed.status, StatusCode::CREATED, "{}", installed.body);
    let event = json!({"event": "onTicketCreate", "data": {"ticket": {"id": 1}}});
    let posted = server.post("/api/v1/accounts/acme/events", event).await;
    let record = server.only_run(posted.body["id"].as_str().unwrap()).await;
    assert_eq!(record["result"], "ran", "{record}");

    let text = server.metrics().await;
    let (valid, said) = promtool_check(&text);
    assert!(valid, "promtool check metrics: {said}\n{text}");
    for line in [
        "weir_http_requests_total{route=\"/api/v1/accounts\",method=\"POST\",status=\"201\"} 1",
        "weir_http_requests_total{route=\"/api/v1/accounts/{id}\",method=\"GET\",status=\"200\"} 1",
        "weir_http_requests_total{route=\"/api/v1/accounts/{id}\",method=\"GET\",status=\"404\"} 1",
        "weir_http_request_duration_seconds_count{route=\"/api/v1/accounts/{id}\",method=\"GET\"} 2",
        "weir_inbound_requests_total{kind=\"target_url\",outcome=\"not_found\"} 1",
        "weir_invocations_total{outcome=\"success\"} 1",
        "weir_invocations_total{outcome=\"error\"} 0",
        "weir_invocation_duration_seconds_count{outcome=\"success\"} 1",
        "weir_queue_depth{queue=\"jobs\"} 0",
        "weir_queue_oldest_due_age_seconds{queue=\"deliveries\"} 0",
        "weir_store_writable 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in:\n{text}"
        );
    }
    for family in [
        "# TYPE weir_build_info gauge",
        "# TYPE process_resident_memory_bytes gauge",
        "# TYPE process_cpu_seconds_total counter",
        "# TYPE weir_worker_up gauge",
    ] {
        assert!(text.contains(family), "missing {family:?} in:\n{text}");
    }
    server.stop().await;
}
