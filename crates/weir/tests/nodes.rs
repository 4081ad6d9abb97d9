//! Nodes coming and going: a SIGTERM lets the work in flight finish and record once; a
//! node killed mid-load leaves its claimed work to another node within a lease (seconds,
//! not minutes); an event posted to an API node runs on a worker node.

mod support;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Server, Storage};
use weir_testkit::FakeThirdParty;

on_both_backends!(a_sigterm_lets_a_running_handler_finish_and_it_never_runs_again);

/// An app whose `onContactCreate` handler takes `ms` to answer.
fn slow_app(ms: u64) -> Vec<u8> {
    let manifest = json!({"name": "slow", "platform-version": "2.3",
        "product": {"freshsales": {"events": {"onContactCreate": {"handler": "contact"}}}}});
    let code = format!(
        "exports = {{ contact: function (payload) {{
            return new Promise(function (done) {{ setTimeout(function () {{ done('slept'); }}, {ms}); }});
        }} }};"
    );
    weir_testkit::zip(&[
        ("manifest.json", &manifest.to_string()),
        ("server/server.js", &code),
    ])
}

/// An account `acme` with the app installed; returns the installation's id.
async fn installed(server: &Server, package: Vec<u8>) -> String {
    let account = json!({"id": "acme", "domain": "acme.myfreshworks.com", "region": "US",
        "product": "freshsales"});
    let created = server.post("/api/v1/accounts", account).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let app = server.upload_app("/api/v1/apps", package).await;
    assert_eq!(app.status, StatusCode::CREATED, "{}", app.body);
    let install = json!({"app_id": app.body["id"]});
    let installed = server
        .post("/api/v1/accounts/acme/installations", install)
        .await;
    assert_eq!(installed.status, StatusCode::CREATED, "{}", installed.body);
    installed.body["id"].as_str().unwrap().to_owned()
}

async fn post_contact(server: &Server, n: u64) -> String {
    let event = json!({"event": "onContactCreate", "data": {"contact": {"id": n}}});
    let posted = server.post("/api/v1/accounts/acme/events", event).await;
    assert_eq!(posted.status, StatusCode::ACCEPTED, "{}", posted.body);
    posted.body["id"].as_str().unwrap().to_owned()
}

async fn invocations(server: &Server, installation: &str) -> Vec<Value> {
    let path = format!("/api/v1/installations/{installation}/invocations");
    let listed = server.get(&path).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    listed.body["data"].as_array().unwrap().clone()
}

/// Before, a SIGTERM dropped the handler mid-run; the job stayed claimed and ran again
/// minutes after the restart. Now the worker finishes it within the drain time.
async fn a_sigterm_lets_a_running_handler_finish_and_it_never_runs_again(storage: Storage) {
    let server = Server::start(&storage).await;
    let installation = installed(&server, slow_app(2_000)).await;
    let event = post_contact(&server, 1).await;
    // The job is claimed (its handler runs for two seconds) …
    server
        .get_until(&format!("/api/v1/events/{event}"), |shown| {
            shown["jobs"][0]["attempts"] == 1
        })
        .await;
    // … when the node is told to stop.
    let stopping = Instant::now();
    server.stop().await;
    let stopped_in = stopping.elapsed();
    assert!(
        stopped_in < Duration::from_secs(30),
        "within the drain time: {stopped_in:?}"
    );

    let server = Server::start(&storage).await;
    let shown = server.get(&format!("/api/v1/events/{event}")).await.body;
    assert_eq!(
        shown["jobs"][0]["status"], "done",
        "finished before the exit: {shown}"
    );
    let runs = invocations(&server, &installation).await;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["status"], "success");
    assert_eq!(runs[0]["result"], "slept");
    // A later event runs, and the finished one does not run again alongside it.
    let later = post_contact(&server, 2).await;
    server.settled(&later).await;
    assert_eq!(invocations(&server, &installation).await.len(), 2);
    server.stop().await;
}

/// Node A claims deliveries to a receiver that takes its time, and is killed mid-load.
/// Node B finishes them once A's leases run out: seconds (a lease is 10 s), where it took
/// two minutes before. Every delivery arrives.
#[tokio::test]
async fn a_killed_nodes_deliveries_are_taken_over_within_a_lease() {
    let storage = Storage::postgres().await;
    let receiver = FakeThirdParty::start(|_| {
        (
            200,
            "application/json",
            "{}".into(),
            Duration::from_millis(1500),
        )
    })
    .await;
    let flags = ["--allow-private-destinations", "127.0.0.0/8"];
    let node_a = Server::start_configured(&storage, Some(support::ADMIN_TOKEN), &flags).await;
    let account = json!({"id": "acme", "domain": "acme.myfreshworks.com", "region": "US",
        "product": "freshsales"});
    node_a.post("/api/v1/accounts", account).await;
    let subscription = json!({"events": ["onContactCreate"], "max_in_flight": 50,
        "url": format!("http://{}/hook", receiver.address)});
    let created = node_a
        .post("/api/v1/accounts/acme/subscriptions", subscription)
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let events: Vec<Value> = (0..20)
        .map(|n| json!({"event": "onContactCreate", "data": {"contact": {"id": n}}}))
        .collect();
    let posted = node_a
        .post("/api/v1/accounts/acme/events", Value::Array(events))
        .await;
    assert_eq!(posted.status, StatusCode::ACCEPTED, "{}", posted.body);
    // A has claimed them and is waiting for the receiver's answers.
    receiver
        .wait_until("A's first calls", |got| !got.is_empty())
        .await;
    node_a.kill().await;
    let killed = Instant::now();

    let node_b = Server::start_configured(&storage, Some(support::ADMIN_TOKEN), &flags).await;
    node_b
        .get_until(
            "/api/v1/deliveries?account=acme&status=delivered&limit=100",
            |listed| listed["data"].as_array().is_some_and(|d| d.len() == 20),
        )
        .await;
    let taken_over_in = killed.elapsed();
    // The lease is 10 s; the old 2-minute lease would not be over by now.
    assert!(taken_over_in < Duration::from_secs(60), "{taken_over_in:?}");
    eprintln!("the dead node's deliveries were finished {taken_over_in:?} after the kill");
    let ids: std::collections::BTreeSet<String> = receiver
        .received()
        .iter()
        .map(|r| r.headers["webhook-id"].clone())
        .collect();
    assert_eq!(ids.len(), 20, "every delivery arrived");
    node_b.stop().await;
}

/// An API node stores the event; a worker node, which serves no API, runs its handler.
#[tokio::test]
async fn an_event_posted_to_an_api_node_runs_on_a_worker_node() {
    let storage = Storage::postgres().await;
    let api =
        Server::start_configured(&storage, Some(support::ADMIN_TOKEN), &["--role", "api"]).await;
    let worker =
        Server::start_configured(&storage, Some(support::ADMIN_TOKEN), &["--role", "worker"]).await;
    let installation = installed(&api, slow_app(0)).await;
    let event = post_contact(&api, 1).await;
    let record = api.only_run(&event).await;
    assert_eq!(record["status"], "success", "{record}");
    assert_eq!(invocations(&api, &installation).await.len(), 1);
    let metrics = reqwest::get(format!("{}/metrics", worker.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("weir_worker_up{worker=\"listener\"} 1"),
        "{metrics}"
    );
    api.stop().await;
    worker.stop().await;
}

/// A node reads the account it is posted to at most once a second, so it may not yet know
/// that another node deleted it: whether it still holds the account or reads it afresh,
/// the event is refused, by name.
#[tokio::test]
async fn an_event_for_an_account_deleted_on_another_node_is_refused() {
    let storage = Storage::postgres().await;
    let one =
        Server::start_configured(&storage, Some(support::ADMIN_TOKEN), &["--role", "api"]).await;
    let two =
        Server::start_configured(&storage, Some(support::ADMIN_TOKEN), &["--role", "api"]).await;
    let account = json!({"id": "acme", "domain": "acme.myfreshworks.com", "region": "US",
        "product": "freshsales"});
    let created = one.post("/api/v1/accounts", account).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    post_contact(&one, 1).await;
    let deleted = two.delete("/api/v1/accounts/acme").await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);

    let event = json!({"event": "onContactCreate", "data": {"contact": {"id": 2}}});
    let refused = one.post("/api/v1/accounts/acme/events", event).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.body);
    assert_eq!(refused.message(), "account acme not found");
    one.stop().await;
    two.stop().await;
}
