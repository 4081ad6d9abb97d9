//! Traces exported over OTLP/HTTP to a collector on loopback: an HTTP request's span joins
//! the caller's trace (its `traceparent`), and the handler run an event causes is a span
//! with the event's id and the lines logged inside it.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Server, Storage};
use weir_testkit::{FakeThirdParty, Received, json_reply};

on_both_backends!(requests_and_handler_runs_are_exported_as_spans);

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// Every span the collector received, from every batch.
fn spans(received: &[Received]) -> Vec<Value> {
    received
        .iter()
        .filter(|r| r.path == "/v1/traces")
        .flat_map(|r| {
            let batch: Value = serde_json::from_str(&r.body).expect("a JSON export request");
            let resource = &batch["resourceSpans"][0];
            assert_eq!(
                attribute(&resource["resource"], "service.name"),
                Some(json!({"stringValue": "weir"})),
                "{batch}"
            );
            resource["scopeSpans"][0]["spans"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

fn attribute(holder: &Value, key: &str) -> Option<Value> {
    holder["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)
        .map(|a| a["value"].clone())
}

fn named<'a>(spans: &'a [Value], name: &str, holds: impl Fn(&Value) -> bool) -> Option<&'a Value> {
    spans.iter().find(|s| s["name"] == name && holds(s))
}

async fn requests_and_handler_runs_are_exported_as_spans(storage: Storage) {
    let collector = FakeThirdParty::start(|_| json_reply(200, json!({}))).await;
    let endpoint = format!("http://{}", collector.address);
    let server = Server::start_logged(&storage, &["--otlp-endpoint", &endpoint], &[]).await;
    server.listening_account().await;

    let posted = reqwest::Client::new()
        .post(format!("{}/api/v1/accounts/acme/events", server.base))
        .bearer_auth(support::ADMIN_TOKEN)
        .header("traceparent", format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01"))
        .json(&json!({"event": "onContactCreate", "data": {"contact": {"id": 1}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::ACCEPTED);
    let event_id = posted.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    server.settled(&event_id).await;

    let is_the_post = |s: &Value| s["traceId"] == CALLER_TRACE;
    let is_the_run = |s: &Value| attribute(s, "event") == Some(json!({"stringValue": event_id}));
    let received = collector
        .wait_until("the request's and the run's spans", |received| {
            let spans = spans(received);
            named(&spans, "http.request", is_the_post).is_some()
                && named(&spans, "job", is_the_run).is_some()
        })
        .await;
    assert!(received.iter().all(|r| r.method == "POST"
        && r.headers.get("content-type").map(String::as_str) == Some("application/json")));
    let spans = spans(&received);

    let request = named(&spans, "http.request", is_the_post).unwrap();
    assert_eq!(request["parentSpanId"], CALLER_SPAN, "{request}");
    assert_eq!(request["kind"], 2, "a server span: {request}");
    assert_eq!(
        attribute(request, "http.route"),
        Some(json!({"stringValue": "/api/v1/accounts/{id}/events"}))
    );
    assert_eq!(
        attribute(request, "http.response.status_code"),
        Some(json!({"intValue": "202"}))
    );
    let start: u128 = request["startTimeUnixNano"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let end: u128 = request["endTimeUnixNano"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(start > 0 && end >= start, "{request}");
    let other_requests_start_their_own_traces = spans
        .iter()
        .filter(|s| s["name"] == "http.request" && s["traceId"] != CALLER_TRACE)
        .all(|s| s.get("parentSpanId").is_none() && s["traceId"].as_str().unwrap().len() == 32);
    assert!(other_requests_start_their_own_traces);

    let run = named(&spans, "job", is_the_run).unwrap();
    assert_eq!(run["spanId"].as_str().unwrap().len(), 16, "{run}");
    let logged: Vec<&Value> = run["events"].as_array().unwrap().iter().collect();
    assert!(
        logged.iter().any(|e| e["name"] == "handler ran"),
        "the lines logged in the run are its events: {run}"
    );
    server.stop().await;
}
