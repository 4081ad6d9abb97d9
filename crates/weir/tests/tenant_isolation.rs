//! One tenant's handlers cannot make another tenant's fail (issue 16), over real HTTP on
//! both storage backends: while one installation holds a JavaScript thread with a long
//! timer and floods the other with a million timers, another account's handlers all
//! succeed; the flood and a huge result fail with reasons that say what they passed.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Server, Storage};

on_both_backends!(a_flooding_and_holding_tenant_leaves_the_others_alone);

/// The tenant of issue 16: a handler that waits on a long timer, one that creates
/// 1,000,000 timers, and one that returns 30 MB.
const GREEDY: &str = r#"exports = {
  hold: function () {
    return new Promise(function (resolve) { setTimeout(function () { resolve('held'); }, 10000); });
  },
  flood: function () {
    for (var i = 0; i < 1000000; i++) setTimeout(function () {}, 3600000);
    return 'flooded';
  },
  huge: function () { return new Array(30 * 1024 * 1024).join('z'); }
};"#;

const MODEST: &str = r#"exports = {
  onContactCreate: function (payload) { return 'hello ' + payload.data.contact.id; }
};"#;

fn app(name: &str, handlers: Value, server_js: &str) -> Vec<u8> {
    let manifest = json!({
        "name": name,
        "platform-version": "2.3",
        "product": {"freshsales": {"events": handlers}},
    });
    weir_testkit::zip(&[
        ("manifest.json", &manifest.to_string()),
        ("server/server.js", server_js),
    ])
}

/// Uploads the app and installs it in a new account named `account`.
async fn tenant(server: &Server, account: &str, zip: Vec<u8>) {
    let uploaded = server.upload_app("/api/v1/apps", zip).await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.body);
    let body = json!({"id": account, "domain": format!("{account}.myfreshworks.com"),
        "region": "US", "product": "freshsales"});
    let created = server.post("/api/v1/accounts", body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let path = format!("/api/v1/accounts/{account}/installations");
    let installed = server
        .post(&path, json!({"app_id": uploaded.body["id"]}))
        .await;
    assert_eq!(installed.status, StatusCode::CREATED, "{}", installed.body);
}

/// Posts events (one or a batch) for `account`; returns their ids.
async fn post(server: &Server, account: &str, events: Value) -> Vec<String> {
    let path = format!("/api/v1/accounts/{account}/events");
    let posted = server.post(&path, events).await;
    assert_eq!(posted.status, StatusCode::ACCEPTED, "{}", posted.body);
    let ids = match posted.body.get("events") {
        Some(batch) => batch.as_array().unwrap().iter().map(|e| &e["id"]).collect(),
        None => vec![&posted.body["id"]],
    };
    ids.iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect()
}

/// The invocation record of the event's one job, once it has run.
async fn record(server: &Server, event: &str) -> Value {
    let settled = server.settled(event).await;
    let jobs = settled["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 1, "{settled}");
    let invocation = jobs[0]["last_invocation"].as_str().unwrap();
    server
        .get(&format!("/api/v1/invocations/{invocation}"))
        .await
        .body
}

fn contact(id: usize) -> Value {
    json!({"event": "onContactCreate", "data": {"contact": {"id": id}}})
}

async fn a_flooding_and_holding_tenant_leaves_the_others_alone(storage: Storage) {
    let server = Server::start(&storage).await;
    let greedy = json!({
        "onContactCreate": {"handler": "hold"},
        "onDealCreate": {"handler": "flood"},
        "onTaskCreate": {"handler": "huge"},
    });
    tenant(&server, "greedy", app("greedy", greedy, GREEDY)).await;
    let modest = json!({"onContactCreate": {"handler": "onContactCreate"}});
    tenant(&server, "modest", app("modest", modest, MODEST)).await;

    // The hold takes one JavaScript thread (there is one per core) for 10 s; the flood
    // runs on another and is over before the modest tenant's events are posted, so
    // that they run where it ran.
    let held = post(&server, "greedy", contact(0)).await;
    let deal = json!({"event": "onDealCreate", "data": {"deal": {"id": 1}}});
    let flooded = post(&server, "greedy", deal).await;
    let flood = record(&server, &flooded[0]).await;
    let task = json!({"event": "onTaskCreate", "data": {"task": {"id": 2}}});
    let huge = post(&server, "greedy", task).await;
    let batch: Vec<Value> = (1..=20).map(contact).collect();
    let modest_events = post(&server, "modest", Value::Array(batch)).await;

    for (n, event) in modest_events.iter().enumerate() {
        let run = record(&server, event).await;
        assert_eq!(
            (&run["status"], &run["result"]),
            (&json!("success"), &json!(format!("hello {}", n + 1))),
            "{run}"
        );
    }
    assert_eq!(
        (&flood["status"], &flood["error"]),
        (
            &json!("error"),
            &json!("too many timers: 10001, the limit is 10000")
        ),
        "{flood}"
    );
    let huge = record(&server, &huge[0]).await;
    assert_eq!(huge["status"], "error", "{huge}");
    assert_eq!(
        huge["error"],
        "the handler's result is too large: at least 31457294 characters of JSON, \
         the limit is 1048576",
        "{huge}"
    );
    let held = record(&server, &held[0]).await;
    assert_eq!(
        (&held["status"], &held["result"]),
        (&json!("success"), &json!("held")),
        "{held}"
    );
    server.stop().await;
}
