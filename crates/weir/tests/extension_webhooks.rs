//! Zoho Desk extension webhooks over real HTTP, on both storage backends: made at
//! install from `resources.json`, filtered as Zoho filters, delivered with `orgId` and
//! `securityContext`, out of the API's reach, and gone with the uninstall.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Server, Storage};
use weir_testkit::{FakeThirdParty, Received, json_reply};

on_both_backends!(
    an_extension_webhook_needs_the_events_scope_and_an_answering_url,
    extension_webhooks_deliver_what_their_filters_let_through,
    events_come_in_batches_and_only_a_200_delivers,
);

const IGNORED_SOURCE: &str = "2df92c1a-973a-48f5-95b7-5792c68b9c36";

fn desk_sync(url: &str) -> Vec<u8> {
    let resources = json!({"webhook": {
        "resourceName": "sync",
        "url": url,
        "name": "Sync",
        "subscriptions": {
            "Ticket_Add": null,
            "Ticket_Update": {"includePrevState": true, "fields": ["status"]},
            "Ticket_Thread_Add": {"direction": "in"},
        },
        "ignoreSourceId": IGNORED_SOURCE,
    }});
    weir_testkit::zip(&[
        (
            "plugin-manifest.json",
            r#"{"zohoAuthorisation": {"scope": ["Desk.tickets.READ", "Desk.events.ALL"]}}"#,
        ),
        ("resources.json", &resources.to_string()),
    ])
}

async fn start(storage: &Storage, flags: &[&str]) -> Server {
    let mut all = vec!["--allow-private-destinations", "127.0.0.0/8"];
    all.extend_from_slice(flags);
    Server::start_configured(storage, Some(support::ADMIN_TOKEN), &all).await
}

async fn desk(server: &Server) {
    let account = json!({"id": "600", "domain": "acme.zohodesk.com", "region": "US",
        "product": "zoho_desk", "departments": ["d1", "d2"]});
    let created = server.post("/api/v1/accounts", account).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
}

async fn upload(server: &Server, url: &str) -> String {
    let app = server
        .upload_app("/api/v1/apps?name=desk-sync", desk_sync(url))
        .await;
    assert_eq!(app.status, StatusCode::CREATED, "{}", app.body);
    app.body["id"].as_str().unwrap().to_owned()
}

fn receiver_url(receiver: &FakeThirdParty) -> String {
    format!("http://{}/zoho/callback", receiver.address)
}

async fn an_extension_webhook_needs_the_events_scope_and_an_answering_url(storage: Storage) {
    // GET is not allowed, POST answers 200: the check passes on the POST.
    let posts_only = FakeThirdParty::start(|request| match request.method.as_str() {
        "GET" => json_reply(405, json!({})),
        _ => json_reply(200, json!({})),
    })
    .await;
    let dead = FakeThirdParty::start(|_| json_reply(500, json!({}))).await;
    let server = start(&storage, &[]).await;
    desk(&server).await;
    let path = "/api/v1/accounts/600/installations";

    let app = upload(&server, &receiver_url(&posts_only)).await;
    let unscoped = server.post(path, json!({"app_id": app})).await;
    assert_eq!(
        unscoped.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unscoped.body
    );
    assert!(
        unscoped
            .message()
            .contains("need the scope Desk.events.ALL"),
        "{}",
        unscoped.message()
    );
    assert_eq!(
        server.get(path).await.body["data"],
        json!([]),
        "nothing left"
    );

    let dead_app = upload(&server, &receiver_url(&dead)).await;
    let scoped = json!({"app_id": dead_app, "scopes": ["Desk.events.ALL"]});
    let refused = server.post(path, scoped).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = refused.message();
    assert!(
        message.contains(&receiver_url(&dead)) && message.contains("GET: 500; POST: 500"),
        "{message}"
    );

    let scoped = json!({"app_id": app, "scopes": ["Desk.events.ALL"]});
    let installed = server.post(path, scoped).await;
    assert_eq!(installed.status, StatusCode::CREATED, "{}", installed.body);
    let methods: Vec<String> = posts_only
        .received()
        .iter()
        .map(|r| r.method.clone())
        .collect();
    assert_eq!(methods, ["GET", "POST"], "checked with a GET, then a POST");
    server.stop().await;

    // With the check off (development), a dead URL does not stop the install.
    let unchecked = Storage::sqlite();
    let server = start(&unchecked, &["--no-extension-url-check"]).await;
    desk(&server).await;
    let dead_app = upload(&server, &receiver_url(&dead)).await;
    let scoped = json!({"app_id": dead_app, "scopes": ["Desk.events.ALL"]});
    assert_eq!(server.post(path, scoped).await.status, StatusCode::CREATED);
    server.stop().await;
}

async fn post(server: &Server, event: Value) -> Value {
    let posted = server.post("/api/v1/accounts/600/events", event).await;
    assert_eq!(posted.status, StatusCode::ACCEPTED, "{}", posted.body);
    posted.body
}

/// The deliveries (not the URL checks) the receiver got.
fn deliveries(receiver: &FakeThirdParty) -> Vec<Received> {
    receiver
        .received()
        .into_iter()
        .filter(|r| r.headers.contains_key("webhook-id"))
        .collect()
}

/// Every event element of every delivery call received, in order.
fn elements(got: &[Received]) -> Vec<Value> {
    got.iter()
        .filter(|r| r.headers.contains_key("webhook-id"))
        .flat_map(|r| {
            let body: Value = serde_json::from_str(&r.body).unwrap();
            body.as_array().cloned().unwrap_or_default()
        })
        .collect()
}

async fn extension_webhooks_deliver_what_their_filters_let_through(storage: Storage) {
    let receiver = FakeThirdParty::start(|_| json_reply(200, json!({}))).await;
    let server = start(&storage, &[]).await;
    desk(&server).await;
    let app = upload(&server, &receiver_url(&receiver)).await;
    let install = json!({"app_id": app, "scopes": ["Desk.events.ALL"], "departments": ["d1"]});
    let installation = server
        .post("/api/v1/accounts/600/installations", install)
        .await
        .body;
    let installation_id = installation["id"].as_str().unwrap().to_owned();

    let listed = server.get("/api/v1/accounts/600/subscriptions").await.body;
    let webhook = &listed["data"][0];
    assert_eq!(webhook["type"], "EXTENSION_WEBHOOK");
    assert_eq!(webhook["installation_id"], installation_id.as_str());
    let path = format!("/api/v1/subscriptions/{}", webhook["id"].as_str().unwrap());
    for refused in [
        server
            .patch(&path, json!({"url": "https://elsewhere.example.com/"}))
            .await,
        server.delete(&path).await,
        server
            .post(&format!("{path}/rotate-secret"), json!({}))
            .await,
        server.post(&format!("{path}/enable"), json!({})).await,
    ] {
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(
            refused.message().contains("EXTENSION_WEBHOOK"),
            "{}",
            refused.message()
        );
    }

    // Filtered out: another department, the app's own echo, an unwatched field, the other
    // direction. None of these owes a delivery.
    for (event, why) in [
        (
            json!({"event": "Ticket_Add", "data": {"id": "1"}, "department_id": "d2"}),
            "department",
        ),
        (
            json!({"event": "Ticket_Add", "data": {"id": "2"}, "department_id": "d1",
            "source_id": IGNORED_SOURCE}),
            "ignoreSourceId",
        ),
        (
            json!({"event": "Ticket_Update", "data": {"id": "3", "priority": "High"},
            "prev_state": {"id": "3", "priority": "Low"}, "department_id": "d1"}),
            "fields",
        ),
        (
            json!({"event": "Ticket_Thread_Add", "data": {"id": "4", "direction": "out"},
            "department_id": "d1"}),
            "direction",
        ),
    ] {
        assert_eq!(post(&server, event).await["deliveries"], 0, "{why}");
    }

    let added = json!({"event": "Ticket_Add", "data": {"id": "5", "subject": "Printer"},
        "department_id": "d1", "occurred_at": "2026-11-30T10:00:00Z"});
    assert_eq!(post(&server, added).await["deliveries"], 1);
    let updated = json!({"event": "Ticket_Update", "data": {"id": "5", "status": "Closed"},
        "prev_state": {"id": "5", "status": "Open"}, "department_id": "d1"});
    assert_eq!(post(&server, updated).await["deliveries"], 1);
    // Both may come in one call (Desk batches): each is looked for in every array.
    receiver
        .wait_until("both events", |got| elements(got).len() >= 2)
        .await;
    let got = deliveries(&receiver);
    let by_type = |kind: &str| -> (Received, Value) {
        got.iter()
            .find_map(|request| {
                let body: Value = serde_json::from_str(&request.body).unwrap();
                let element = body
                    .as_array()?
                    .iter()
                    .find(|e| e["eventType"] == kind)?
                    .clone();
                Some((request.clone(), element))
            })
            .unwrap_or_else(|| panic!("no {kind}: {got:?}"))
    };
    let (request, element) = by_type("Ticket_Add");
    assert_eq!(request.path, "/zoho/callback");
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(request.query.as_deref().unwrap().as_bytes())
            .into_owned()
            .collect();
    assert_eq!(query[0], ("orgId".into(), "600".into()));
    assert_eq!(query[1].0, "securityContext");
    assert!(
        query[1].1.starts_with(&format!("wsc_{installation_id}.")),
        "a token naming the installation: {}",
        query[1].1
    );
    assert_eq!(
        element,
        json!({"eventType": "Ticket_Add", "payload": {"id": "5", "subject": "Printer"},
            "eventTime": "2026-11-30T10:00:00.000Z", "orgId": "600"})
    );
    let (_, element) = by_type("Ticket_Update");
    assert_eq!(
        element["prevState"],
        json!({"id": "5", "status": "Open"}),
        "includePrevState"
    );

    // The securityContext is the installation's credential, for its own things only.
    let context = &query[1].1;
    let own = server
        .get_as(&format!("/api/v1/installations/{installation_id}"), context)
        .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    assert_eq!(own.body["id"], installation_id.as_str());
    let account = server.get_as("/api/v1/accounts/600", context).await;
    assert_eq!(account.status, StatusCode::FORBIDDEN);
    assert!(
        account.message().contains("reaches that installation only"),
        "{}",
        account.message()
    );
    let apps = server.get_as("/api/v1/apps", context).await;
    assert_eq!(apps.status, StatusCode::FORBIDDEN);
    let uninstall = server
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/installations/{installation_id}"),
            Some(context),
            None,
            vec![],
        )
        .await;
    assert_eq!(
        uninstall.status,
        StatusCode::FORBIDDEN,
        "it cannot uninstall itself"
    );
    let last = if context.ends_with('A') { 'B' } else { 'A' };
    let tampered = format!("{}{last}", &context[..context.len() - 1]);
    let refused = server
        .get_as(
            &format!("/api/v1/installations/{installation_id}"),
            &tampered,
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);

    // Uninstalling removes the webhook.
    let uninstalled = server
        .delete(&format!("/api/v1/installations/{installation_id}"))
        .await;
    assert_eq!(
        uninstalled.status,
        StatusCode::NO_CONTENT,
        "{}",
        uninstalled.body
    );
    assert_eq!(server.get(&path).await.status, StatusCode::NOT_FOUND);
    let after = json!({"event": "Ticket_Add", "data": {"id": "6"}, "department_id": "d1"});
    assert_eq!(post(&server, after).await["deliveries"], 0);
    server.stop().await;
}

/// As Desk does: events close together come in one array (a receiver that reads only
/// `body[0]` misses some), every `eventTime` has one form, and only a 200 counts: a 202
/// is retried.
async fn events_come_in_batches_and_only_a_200_delivers(storage: Storage) {
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let receiver = FakeThirdParty::start(move |request| {
        let delivery = request.headers.contains_key("webhook-id");
        match delivery && calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            true => json_reply(202, json!({"queued": true})),
            false => json_reply(200, json!({})),
        }
    })
    .await;
    let server = start(&storage, &[]).await;
    desk(&server).await;
    let app = upload(&server, &receiver_url(&receiver)).await;
    let install = json!({"app_id": app, "scopes": ["Desk.events.ALL"]});
    let installed = server
        .post("/api/v1/accounts/600/installations", install)
        .await;
    assert_eq!(installed.status, StatusCode::CREATED, "{}", installed.body);

    let events: Vec<Value> = (0..5)
        .map(|n| json!({"event": "Ticket_Add", "data": {"id": n.to_string()}}))
        .collect();
    let posted = server
        .post("/api/v1/accounts/600/events", Value::Array(events))
        .await;
    assert_eq!(posted.status, StatusCode::ACCEPTED, "{}", posted.body);

    // The 202 is not success: the same batch comes again, and then all five are in.
    let got = receiver
        .wait_until("a second call after the 202", |got| {
            got.iter()
                .filter(|r| r.headers.contains_key("webhook-id"))
                .count()
                >= 2
        })
        .await;
    let calls: Vec<&Received> = got
        .iter()
        .filter(|r| r.headers.contains_key("webhook-id"))
        .collect();
    assert_eq!(
        calls[0].headers["webhook-id"], calls[1].headers["webhook-id"],
        "the batch the 202 answered, again"
    );
    // One call carried all five: a receiver reading only body[0] would have missed four.
    let delivered = elements(std::slice::from_ref(calls[1]));
    let mut ids: Vec<&str> = delivered
        .iter()
        .map(|e| e["payload"]["id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, ["0", "1", "2", "3", "4"], "{delivered:?}");
    for element in &delivered {
        let at = element["eventTime"].as_str().unwrap();
        assert!(
            at.len() == 24 && at.ends_with('Z') && at.as_bytes()[19] == b'.',
            "one form, milliseconds in UTC: {at}"
        );
    }
    let listed = server
        .get_until(
            "/api/v1/deliveries?account=600&status=delivered",
            |listed| listed["data"].as_array().is_some_and(|d| d.len() == 5),
        )
        .await;
    let attempts = server
        .get(&format!(
            "/api/v1/deliveries/{}",
            listed["data"][0]["id"].as_str().unwrap()
        ))
        .await
        .body;
    let codes: Vec<&Value> = attempts["attempts_made"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["status_code"])
        .collect();
    assert_eq!(codes, [&json!(202), &json!(200)], "{attempts}");
    server.stop().await;
}
