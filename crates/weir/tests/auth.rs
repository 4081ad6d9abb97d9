//! Who may do what: the admin token, per-account API keys, and a generated admin token.

mod support;

use reqwest::{Method, StatusCode};
use serde_json::json;
use support::{ADMIN_TOKEN, Server, Storage};

async fn with_two_accounts(server: &Server) {
    for id in ["mine", "theirs"] {
        let account = json!({"id": id, "domain": "x.io", "region": "US", "product": "freshsales"});
        assert_eq!(
            server.post("/api/v1/accounts", account).await.status,
            StatusCode::CREATED
        );
    }
}

#[tokio::test]
async fn missing_or_wrong_tokens_are_401() {
    let server = Server::start(&Storage::sqlite()).await;
    let none = server
        .call(Method::GET, "/api/v1/accounts", None, None, vec![])
        .await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.headers["www-authenticate"], "Bearer");
    assert_eq!(none.body["error"]["code"], "unauthorized");
    assert_eq!(
        none.message(),
        "missing credentials: send Authorization: Bearer <token>"
    );

    let wrong = server
        .call(
            Method::GET,
            "/api/v1/accounts",
            Some("not-the-token"),
            None,
            vec![],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.message(), "the token is not valid");

    let near_miss = &ADMIN_TOKEN[..ADMIN_TOKEN.len() - 1];
    let near = server.get_as("/api/v1/accounts", near_miss).await;
    assert_eq!(near.status, StatusCode::UNAUTHORIZED);

    let health = server
        .call(Method::GET, "/healthz", None, None, vec![])
        .await;
    assert_eq!(health.status, StatusCode::OK, "health needs no token");
    server.stop().await;
}

#[tokio::test]
async fn an_account_key_acts_on_its_own_account_only() {
    let server = Server::start(&Storage::sqlite()).await;
    with_two_accounts(&server).await;
    let created = server
        .post("/api/v1/accounts/mine/api-keys", json!({"name": "backend"}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let key = created.body["token"].as_str().unwrap().to_owned();
    assert!(key.starts_with("weir_ak_"));
    let key_id = created.body["id"].as_str().unwrap().to_owned();

    let own = server.get_as("/api/v1/accounts/mine", &key).await;
    assert_eq!(own.status, StatusCode::OK);
    let own_installs = server
        .get_as("/api/v1/accounts/mine/installations", &key)
        .await;
    assert_eq!(own_installs.status, StatusCode::OK);

    let other = server.get_as("/api/v1/accounts/theirs", &key).await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    assert_eq!(
        other.message(),
        "the API key given belongs to account mine and may not act on account theirs"
    );
    let other_installs = server
        .get_as("/api/v1/accounts/theirs/installations", &key)
        .await;
    assert_eq!(other_installs.status, StatusCode::FORBIDDEN);

    let admin_only = server.get_as("/api/v1/accounts", &key).await;
    assert_eq!(admin_only.status, StatusCode::FORBIDDEN);
    let account = json!({"domain": "y.io", "region": "US", "product": "freshsales"});
    let create = server
        .send_json(Method::POST, "/api/v1/accounts", &key, account)
        .await;
    assert_eq!(create.status, StatusCode::FORBIDDEN);

    let upload = server
        .call(
            Method::POST,
            "/api/v1/apps",
            Some(&key),
            Some("application/zip"),
            support::sample_app("a"),
        )
        .await;
    assert_eq!(
        upload.status,
        StatusCode::FORBIDDEN,
        "uploads are the admin's"
    );
    let new_key = server
        .send_json(
            Method::POST,
            "/api/v1/accounts/mine/api-keys",
            &key,
            json!({}),
        )
        .await;
    assert_eq!(
        new_key.status,
        StatusCode::FORBIDDEN,
        "keys are made by the admin"
    );

    // Another account's installation does not exist, as far as this key can tell.
    let app = server
        .upload_app("/api/v1/apps", support::sample_app("pomodoro"))
        .await
        .body;
    let theirs = server
        .post(
            "/api/v1/accounts/theirs/installations",
            json!({"app_id": app["id"], "iparams": {"api_key": "k"}}),
        )
        .await
        .body;
    let path = format!("/api/v1/installations/{}", theirs["id"].as_str().unwrap());
    for method in [Method::GET, Method::DELETE] {
        let foreign = server.call(method, &path, Some(&key), None, vec![]).await;
        assert_eq!(foreign.status, StatusCode::NOT_FOUND);
        assert!(
            !foreign.message().contains("theirs"),
            "{}",
            foreign.message()
        );
    }
    assert_eq!(
        server.get(&path).await.body["status"],
        "active",
        "the DELETE did nothing"
    );

    let listed = server.get("/api/v1/accounts/mine/api-keys").await;
    assert_eq!(listed.body["data"][0]["id"], key_id.as_str());
    assert!(
        listed.body["data"][0].get("token").is_none(),
        "a key is shown once only"
    );

    let revoked = server
        .delete(&format!("/api/v1/accounts/mine/api-keys/{key_id}"))
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let after = server.get_as("/api/v1/accounts/mine", &key).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    server.stop().await;
}

#[tokio::test]
async fn a_generated_admin_token_is_kept_in_the_data_directory() {
    let storage = Storage::sqlite();
    let server = Server::start_with(&storage, None).await;
    let path = storage.data_dir().join("admin-token");
    let token = std::fs::read_to_string(&path)
        .expect("the token file")
        .trim()
        .to_owned();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "only the owner may read the token file");
    }
    let ok = server.get_as("/api/v1/accounts", &token).await;
    assert_eq!(ok.status, StatusCode::OK);
    server.stop().await;

    let restarted = Server::start_with(&storage, None).await;
    let still = restarted
        .call(Method::GET, "/api/v1/accounts", Some(&token), None, vec![])
        .await;
    assert_eq!(
        still.status,
        StatusCode::OK,
        "the same token works after a restart"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap().trim(), token);
    restarted.stop().await;
}
