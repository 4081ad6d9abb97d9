//! Background workers that panic, on both storage backends (issue #14: a panicking
//! deliverer stopped delivering for good while `/healthz` said ok). `WEIR_FAIL_POINTS`
//! makes a named place panic; the node must restart the worker, lose no work, count the
//! panics in `/metrics`, log them, and say on `/readyz` while a worker is not working.

mod support;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Server, Storage};
use weir_testkit::WebhookTally;

on_both_backends!(
    a_panicking_deliverer_is_restarted_and_delivers,
    a_worker_that_keeps_panicking_makes_the_node_unready,
    a_panicking_dispatcher_is_restarted_and_runs_the_handler,
    a_job_whose_run_panicked_is_retried_when_the_app_opts_in,
);

/// Starts a node whose fail points are `fail_points`, allowed to deliver to loopback.
async fn start(storage: &Storage, fail_points: &str) -> Server {
    Server::start_logged(
        storage,
        &["--allow-private-destinations", "127.0.0.0/8"],
        &[("WEIR_FAIL_POINTS", fail_points)],
    )
    .await
}

async fn account(server: &Server, id: &str) {
    let body = json!({"id": id, "domain": "acme.freshsales.io", "region": "US",
        "product": "freshsales"});
    let created = server.post("/api/v1/accounts", body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
}

async fn subscribe(server: &Server, account: &str, receiver: &WebhookTally) {
    let body = json!({"url": receiver.url(), "events": ["onContactCreate"]});
    let path = format!("/api/v1/accounts/{account}/subscriptions");
    let created = server.post(&path, body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
}

/// Posts one contact event, which must be accepted; returns the answer's body.
async fn post_contact(server: &Server, account: &str, n: u64) -> Value {
    let event = json!({"event": "onContactCreate", "data": {"contact": {"id": n}}});
    let posted = server
        .post(&format!("/api/v1/accounts/{account}/events"), event)
        .await;
    assert_eq!(posted.status, StatusCode::ACCEPTED, "{}", posted.body);
    posted.body
}

/// `weir_worker_panics_total` and `weir_worker_up` of `worker`, as `/metrics` shows them.
fn worker_lines(worker: &str, panics: u64, up: u8) -> [String; 2] {
    [
        format!("weir_worker_panics_total{{worker=\"{worker}\"}} {panics}"),
        format!("weir_worker_up{{worker=\"{worker}\"}} {up}"),
    ]
}

/// The value of the sample `series` (name and labels, as printed) in Prometheus text.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        value.parse().ok()
    })
}

/// Whether a line of the log says that `worker` panicked (the supervisor's ERROR line).
fn logged_panic_of(log: &str, worker: &str) -> bool {
    log.lines()
        .any(|line| line.contains("worker panicked") && line.contains(worker))
}

/// An app whose contact handler succeeds, with `retry` in its manifest when given.
fn contact_app(retry: Option<Value>) -> Vec<u8> {
    let mut manifest = json!({
        "name": "contacts",
        "platform-version": "2.3",
        "product": {"freshsales": {"events": {"onContactCreate": {"handler": "contact"}}}},
    });
    if let Some(retry) = retry {
        manifest["retry"] = retry;
    }
    weir_testkit::zip(&[
        ("manifest.json", &manifest.to_string()),
        (
            "server/server.js",
            "exports = { contact: function (payload) { return { seen: payload.data.contact.id }; } };",
        ),
    ])
}

/// Uploads and installs `zip` in `account`.
async fn install(server: &Server, account: &str, zip: Vec<u8>) {
    let app = server.upload_app("/api/v1/apps", zip).await;
    assert_eq!(app.status, StatusCode::CREATED, "{}", app.body);
    let body = json!({"app_id": app.body["id"], "iparams": {}});
    let path = format!("/api/v1/accounts/{account}/installations");
    let installed = server.post(&path, body).await;
    assert_eq!(installed.status, StatusCode::CREATED, "{}", installed.body);
}

/// The deliverer's loop panics once (at its first round, before anything is posted) and
/// so does the first delivery call: the loop is restarted, the delivery that was claimed
/// is released and sent again, and every event reaches the receiver.
async fn a_panicking_deliverer_is_restarted_and_delivers(storage: Storage) {
    let receiver = WebhookTally::start().await;
    let server = start(&storage, "deliverer.round=1,delivery.call=1").await;
    account(&server, "acme").await;
    subscribe(&server, "acme", &receiver).await;
    for n in 0..5 {
        assert_eq!(post_contact(&server, "acme", n).await["deliveries"], 1);
    }
    receiver.wait_for_distinct(5, Duration::from_secs(60)).await;
    assert_eq!(receiver.problems(), Vec::<String>::new());
    let [panics, up] = worker_lines("deliverer", 2, 1);
    server
        .metrics_until(&[&panics, &up, "weir_queue_depth{queue=\"deliveries\"} 0"])
        .await;
    let log = server.log_until("worker panicked").await;
    assert!(logged_panic_of(&log, "deliverer"), "{log}");
    for point in ["deliverer.round", "delivery.call"] {
        assert!(log.contains(&format!("fail point {point}")), "{log}");
    }
    let ready = server
        .reply_until("/readyz", |r| r.status == StatusCode::OK)
        .await;
    assert_eq!(ready.body, json!({"status": "ready"}));
    server.stop().await;
}

/// A deliverer that panics at every round is restarted again and again: the node says it
/// is not ready, naming the deliverer, while it is alive, and it still takes events.
async fn a_worker_that_keeps_panicking_makes_the_node_unready(storage: Storage) {
    let receiver = WebhookTally::start().await;
    let server = start(&storage, "deliverer.round=always").await;
    let unready = server
        .reply_until("/readyz", |r| r.status == StatusCode::SERVICE_UNAVAILABLE)
        .await;
    assert!(
        unready.body["error"]["code"].is_string(),
        "{}",
        unready.body
    );
    assert!(
        unready.message().contains("deliverer"),
        "{}",
        unready.message()
    );
    let health = server.get("/healthz").await;
    assert_eq!(health.status, StatusCode::OK, "{}", health.body);
    let log = server.log_until("worker panicked").await;
    assert!(logged_panic_of(&log, "deliverer"), "{log}");
    let metrics = server.metrics().await;
    let panics = sample(&metrics, "weir_worker_panics_total{worker=\"deliverer\"}");
    assert!(panics.is_some_and(|n| n >= 1.0), "{metrics}");

    // The request path does not depend on the deliverer.
    account(&server, "acme").await;
    subscribe(&server, "acme", &receiver).await;
    let posted = post_contact(&server, "acme", 1).await;
    assert_eq!(posted["deliveries"], 1);
    let stored = server
        .get(&format!(
            "/api/v1/events/{}",
            posted["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(stored.status, StatusCode::OK, "{}", stored.body);
    let waiting = server.get("/api/v1/deliveries?account=acme").await;
    assert_eq!(
        waiting.body["data"][0]["status"], "pending",
        "{}",
        waiting.body
    );
    server.stop().await;
}

/// The dispatcher's loop panics at its first round; restarted, it runs the handler of an
/// event posted afterwards.
async fn a_panicking_dispatcher_is_restarted_and_runs_the_handler(storage: Storage) {
    let server = start(&storage, "dispatcher.round=1").await;
    account(&server, "acme").await;
    install(&server, "acme", contact_app(None)).await;
    let posted = post_contact(&server, "acme", 7).await;
    assert_eq!(posted["jobs"], 1);
    let record = server.only_run(posted["id"].as_str().unwrap()).await;
    assert_eq!(record["status"], "success", "{record}");
    assert_eq!(record["result"], json!({"seen": 7}));
    let [panics, up] = worker_lines("dispatcher", 1, 1);
    server.metrics_until(&[&panics, &up]).await;
    let log = server.log_until("worker panicked").await;
    assert!(logged_panic_of(&log, "dispatcher"), "{log}");
    assert!(log.contains("fail point dispatcher.round"), "{log}");
    server.stop().await;
}

/// A job whose run panics before the handler starts is released like a run that could
/// not start, so it is tried again when the app opts into retries (about 10 s later), and
/// the panic counts as the dispatcher's.
async fn a_job_whose_run_panicked_is_retried_when_the_app_opts_in(storage: Storage) {
    let server = start(&storage, "job.run=1").await;
    account(&server, "acme").await;
    install(
        &server,
        "acme",
        contact_app(Some(json!({"maxAttempts": 3}))),
    )
    .await;
    let posted = post_contact(&server, "acme", 8).await;
    assert_eq!(posted["jobs"], 1);
    let record = server.only_run(posted["id"].as_str().unwrap()).await;
    assert_eq!(record["status"], "success", "{record}");
    assert_eq!(record["result"], json!({"seen": 8}));
    let [panics, up] = worker_lines("dispatcher", 1, 1);
    server.metrics_until(&[&panics, &up]).await;
    let log = server.log_until("worker panicked").await;
    assert!(logged_panic_of(&log, "dispatcher"), "{log}");
    assert!(log.contains("fail point job.run"), "{log}");
    server.stop().await;
}
