//! What `weir serve` writes to stderr: JSON lines with the fields of the spans they come
//! from, for log collectors, and a clear word on a `WEIR_LOG` that is not a filter.

mod support;

use serde_json::{Value, json};
use support::{Server, Storage};

#[tokio::test]
async fn json_logs_carry_the_fields_of_their_spans() {
    let envs = [("WEIR_LOG_FORMAT", "json"), ("WEIR_LOG", "info")];
    let server = Server::start_logged(&Storage::sqlite(), &[], &envs).await;
    server.listening_account().await;
    let event = json!({"event": "onContactCreate", "data": {"contact": {"id": 1}}});
    let posted = server.post("/api/v1/accounts/acme/events", event).await;
    let event_id = posted.body["id"].as_str().unwrap().to_owned();
    server.settled(&event_id).await;
    let log = server.stop_and_read_log().await;

    let lines: Vec<Value> = log
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "weir is serving" && l["level"] == "INFO"),
        "{log}"
    );
    let ran = lines
        .iter()
        .find(|l| l["fields"]["message"] == "handler ran")
        .unwrap_or_else(|| panic!("no run logged: {log}"));
    assert_eq!(ran["span"]["name"], "job", "{ran}");
    assert_eq!(ran["span"]["event"], event_id.as_str(), "{ran}");
}

#[tokio::test]
async fn a_log_setting_that_is_not_a_filter_is_said_and_logs_go_on() {
    let envs = [("WEIR_LOG", "json")];
    let server = Server::start_logged(&Storage::sqlite(), &[], &envs).await;
    let log = server.stop_and_read_log().await;
    assert!(
        log.contains("WEIR_LOG=\"json\" is not a log filter"),
        "{log}"
    );
    assert!(
        log.contains("weir is serving"),
        "logs at info, not muted: {log}"
    );
}
