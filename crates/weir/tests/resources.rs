//! Accounts, apps and installations over real HTTP, on both storage backends.

mod support;

use reqwest::StatusCode;
use serde_json::json;
use support::{Server, Storage, sample_app};

on_both_backends!(
    accounts_round_trip,
    accounts_paginate_with_a_cursor,
    apps_upload_as_new_versions,
    installations_round_trip_and_hide_secure_iparams,
    data_survives_a_restart,
    granted_scopes_are_those_the_app_asks_for,
    target_urls_use_the_public_url_and_differ_per_installation,
);

async fn target_urls_use_the_public_url_and_differ_per_installation(storage: Storage) {
    let server = Server::start_configured(
        &storage,
        Some(support::ADMIN_TOKEN),
        &["--public-url", "https://events.example.com/"],
    )
    .await;
    let app = server
        .upload_app("/api/v1/apps", sample_app("pomodoro"))
        .await
        .body;
    let mut urls = Vec::new();
    for id in ["a1", "a2"] {
        let account = json!({"id": id, "domain": "x.io", "region": "US", "product": "freshsales"});
        server.post("/api/v1/accounts", account).await;
        let install = json!({"app_id": app["id"], "iparams": {"api_key": "k"}});
        let created = server
            .post(&format!("/api/v1/accounts/{id}/installations"), install)
            .await
            .body;
        let url = created["target_url"].as_str().unwrap().to_owned();
        assert!(url.starts_with("https://events.example.com/in/"), "{url}");
        let shown = server
            .get(&format!(
                "/api/v1/installations/{}",
                created["id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(
            shown.body["target_url"],
            url.as_str(),
            "stable for the installation's life"
        );
        urls.push(url);
    }
    assert_ne!(urls[0], urls[1]);
    server.stop().await;
}

async fn granted_scopes_are_those_the_app_asks_for(storage: Storage) {
    // The extension webhook's URL is not reachable from here; scopes are what is tested.
    let server = Server::start_configured(
        &storage,
        Some(support::ADMIN_TOKEN),
        &["--no-extension-url-check"],
    )
    .await;
    server.post("/api/v1/accounts", acme()).await;
    let extension = weir_testkit::zip(&[
        (
            "plugin-manifest.json",
            r#"{"zohoAuthorisation": {"scope": ["Desk.tickets.READ", "Desk.events.ALL"]}}"#,
        ),
        (
            "resources.json",
            r#"{"webhook": {"resourceName": "sync", "url": "https://sync.example.com/hook",
                "name": "Sync", "subscriptions": {"Ticket_Add": null},
                "ignoreSourceId": "2df92c1a-973a-48f5-95b7-5792c68b9c36"}}"#,
        ),
    ]);
    let app = server
        .upload_app("/api/v1/apps?name=desk-sync", extension)
        .await;
    assert_eq!(app.status, StatusCode::CREATED, "{}", app.body);
    let install = |scopes: serde_json::Value| {
        server.post(
            "/api/v1/accounts/12345/installations",
            json!({"app_id": app.body["id"], "scopes": scopes}),
        )
    };
    let unknown = install(json!(["Desk.settings.ALL"])).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        unknown.message(),
        r#"scopes: the app does not ask for "Desk.settings.ALL" (it asks for: Desk.tickets.READ, Desk.events.ALL)"#
    );
    let granted = install(json!(["Desk.events.ALL", "Desk.events.ALL"])).await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.body);
    assert_eq!(granted.body["scopes"], json!(["Desk.events.ALL"]));
    server.stop().await;
}

fn acme() -> serde_json::Value {
    json!({"id": "12345", "domain": "acme.freshsales.io", "region": "US",
           "product": "freshsales", "departments": ["sales", "support"]})
}

async fn accounts_round_trip(storage: Storage) {
    let server = Server::start(&storage).await;
    let created = server.post("/api/v1/accounts", acme()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["id"], "12345");
    assert_eq!(created.body["departments"], json!(["sales", "support"]));

    let shown = server.get("/api/v1/accounts/12345").await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_eq!(shown.body, created.body);

    let again = server.post("/api/v1/accounts", acme()).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.message(), "account 12345 already exists");

    let patched = server
        .patch("/api/v1/accounts/12345", json!({"region": "EU"}))
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["region"], "EU");
    assert_eq!(patched.body["domain"], "acme.freshsales.io");
    assert_eq!(
        server.get("/api/v1/accounts/12345").await.body["region"],
        "EU"
    );

    let generated = server
        .post(
            "/api/v1/accounts",
            json!({"domain": "b.io", "region": "IND", "product": "freshdesk"}),
        )
        .await;
    assert_eq!(generated.status, StatusCode::CREATED);
    assert!(generated.body["id"].as_str().unwrap().starts_with("acc_"));

    assert_eq!(
        server.delete("/api/v1/accounts/12345").await.status,
        StatusCode::NO_CONTENT
    );
    let gone = server.get("/api/v1/accounts/12345").await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.message(), "account 12345 not found");
    server.stop().await;
}

async fn accounts_paginate_with_a_cursor(storage: Storage) {
    let server = Server::start(&storage).await;
    for id in ["a1", "a2", "a3"] {
        let account = json!({"id": id, "domain": "x.io", "region": "US", "product": "freshsales"});
        assert_eq!(
            server.post("/api/v1/accounts", account).await.status,
            StatusCode::CREATED
        );
    }
    let first = server.get("/api/v1/accounts?limit=2").await;
    let ids: Vec<&str> = first.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a1", "a2"]);
    let cursor = first.body["next_cursor"].as_str().expect("a next page");
    let rest = server
        .get(&format!("/api/v1/accounts?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(rest.body["data"][0]["id"], "a3");
    assert_eq!(rest.body["data"].as_array().unwrap().len(), 1);
    assert!(rest.body["next_cursor"].is_null());

    let bad = server.get("/api/v1/accounts?limit=500").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.message(), "limit must be between 1 and 200, got 500");
    let bad = server.get("/api/v1/accounts?cursor=%%%").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // "AA" is base64 of a NUL byte: PostgreSQL refuses it in text, so it must not get there.
    let nul = server.get("/api/v1/apps?cursor=AA").await;
    assert_eq!(nul.status, StatusCode::BAD_REQUEST);
    assert_eq!(nul.message(), "cursor: not a cursor this API gave out");
    let nul_name = server
        .post("/api/v1/accounts/a1/api-keys", json!({"name": "x\u{0}y"}))
        .await;
    assert_eq!(nul_name.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        nul_name.message(),
        "name: must be 1 to 100 printable characters"
    );
    server.stop().await;
}

async fn apps_upload_as_new_versions(storage: Storage) {
    let server = Server::start(&storage).await;
    let v1 = server
        .upload_app("/api/v1/apps", sample_app("pomodoro"))
        .await;
    assert_eq!(v1.status, StatusCode::CREATED, "{}", v1.body);
    assert_eq!(
        (v1.body["name"].as_str(), v1.body["version"].as_u64()),
        (Some("pomodoro"), Some(1))
    );
    assert_eq!(v1.body["platform_version"], "2.3");
    let location = v1.headers["location"].to_str().unwrap().to_owned();
    assert_eq!(
        location,
        format!("/api/v1/apps/{}", v1.body["id"].as_str().unwrap())
    );

    let v2 = server
        .upload_app("/api/v1/apps", sample_app("pomodoro"))
        .await;
    assert_eq!(v2.body["version"], 2);
    assert_ne!(v2.body["id"], v1.body["id"]);

    let renamed = server
        .upload_app("/api/v1/apps?name=timer", sample_app("pomodoro"))
        .await;
    assert_eq!(
        (
            renamed.body["name"].as_str(),
            renamed.body["version"].as_u64()
        ),
        (Some("timer"), Some(1))
    );

    let shown = server.get(&location).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_eq!(shown.body, v1.body);
    let listed = server.get("/api/v1/apps").await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 3);
    assert_eq!(
        server.get("/api/v1/apps/app_nope").await.status,
        StatusCode::NOT_FOUND
    );
    server.stop().await;
}

async fn installations_round_trip_and_hide_secure_iparams(storage: Storage) {
    let server = Server::start(&storage).await;
    server.post("/api/v1/accounts", acme()).await;
    let app = server
        .upload_app("/api/v1/apps", sample_app("pomodoro"))
        .await;
    let app_id = app.body["id"].as_str().unwrap();

    let install = json!({"app_id": app_id, "iparams": {"api_key": "s3cret-value", "subdomain": "acme"},
                         "departments": ["sales"]});
    let created = server
        .post("/api/v1/accounts/12345/installations", install.clone())
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["iparams"], json!({"subdomain": "acme"}));
    assert_eq!(created.body["secure_iparams"], json!(["api_key"]));
    assert_eq!(created.body["status"], "active");
    assert!(!created.body.to_string().contains("s3cret-value"));
    let id = created.body["id"].as_str().unwrap().to_owned();

    let target_url = created.body["target_url"].as_str().unwrap().to_owned();
    let token = target_url
        .strip_prefix(&format!("{}/in/", server.base))
        .expect("under /in/");
    assert_eq!(token.len(), 32, "an unguessable token: {target_url}");
    let shown = server.get(&format!("/api/v1/installations/{id}")).await;
    assert_eq!(shown.body, created.body);
    assert!(!shown.body.to_string().contains("s3cret-value"));
    let listed = server.get("/api/v1/accounts/12345/installations").await;
    assert_eq!(listed.body["data"], json!([created.body]));

    let twice = server
        .post("/api/v1/accounts/12345/installations", install)
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert!(
        twice.message().contains("already installed"),
        "{}",
        twice.message()
    );

    let blocked = server.delete("/api/v1/accounts/12345").await;
    assert_eq!(blocked.status, StatusCode::CONFLICT);

    assert_eq!(
        server
            .delete(&format!("/api/v1/installations/{id}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let again = server.delete(&format!("/api/v1/installations/{id}")).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(
        again.message(),
        format!("installation {id} is already uninstalled")
    );
    let uninstalled = server.get(&format!("/api/v1/installations/{id}")).await;
    assert_eq!(uninstalled.body["status"], "uninstalled");
    let listed = server.get("/api/v1/accounts/12345/installations").await;
    assert_eq!(listed.body["data"], json!([]));
    server.stop().await;
}

async fn data_survives_a_restart(storage: Storage) {
    let server = Server::start(&storage).await;
    server.post("/api/v1/accounts", acme()).await;
    let app = server
        .upload_app("/api/v1/apps", sample_app("pomodoro"))
        .await
        .body;
    let install = json!({"app_id": app["id"], "iparams": {"api_key": "k"}});
    let installation = server
        .post("/api/v1/accounts/12345/installations", install)
        .await
        .body;
    let account = server.get("/api/v1/accounts/12345").await.body;
    server.stop().await;

    let restarted = Server::start(&storage).await;
    assert_eq!(restarted.get("/readyz").await.status, StatusCode::OK);
    assert_eq!(restarted.get("/api/v1/accounts/12345").await.body, account);
    assert_eq!(
        restarted
            .get(&format!("/api/v1/apps/{}", app["id"].as_str().unwrap()))
            .await
            .body,
        app
    );
    let path = format!(
        "/api/v1/installations/{}",
        installation["id"].as_str().unwrap()
    );
    // The port (so the default public URL) differs after the restart; the token does not.
    let mut shown = restarted.get(&path).await.body;
    let mut before = installation.clone();
    let token =
        |url: serde_json::Value| url.as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    assert_eq!(
        token(shown["target_url"].take()),
        token(before["target_url"].take())
    );
    assert_eq!(shown, before);
    restarted.stop().await;
}
