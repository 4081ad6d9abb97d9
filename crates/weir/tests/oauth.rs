//! OAuth apps end to end: an app with `config/oauth_config.json` installs without a token,
//! the operator authorizes the installation against a fake authorization server on
//! loopback, a handler's `isOAuth` request and `isOAuth` template reach a fake API with the
//! bearer token, a 401 has the token refreshed and the call sent again, the tokens are not
//! in the database in clear, and tokens set directly are never shown back.

mod support;

use std::collections::HashMap;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{ADMIN_TOKEN, Server, Storage};
use weir_testkit::{FakeThirdParty, Received, json_reply};

on_both_backends!(an_oauth_app_is_authorized_refreshed_and_keeps_its_tokens_sealed);

/// Tokens the fake authorization server grants: long and distinct, so that finding one of
/// them in the database's bytes cannot be a coincidence.
const FIRST_ACCESS: &str = "access-first-5b8e2c7a91d04f63";
const FIRST_REFRESH: &str = "refresh-first-0c4d9e1b7a2f8356";
const SECOND_ACCESS: &str = "access-second-e7f1a3b5c9d20468";
const SECOND_REFRESH: &str = "refresh-second-9a8b7c6d5e4f3021";
const DIRECT_ACCESS: &str = "access-direct-3c1e5a7f9b2d4068";
const DIRECT_REFRESH: &str = "refresh-direct-6f4e2d0c8b1a9375";
const CLIENT_SECRET: &str = "client-secret-for-weir";

fn form(body: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

/// The authorization server's token endpoint and the API, on one loopback server: the
/// code `good-code` buys the first tokens, the first refresh token the second ones; the
/// API takes only the second access token (so the first call is refused) and tokens set
/// directly.
fn third_party(request: &Received) -> weir_testkit::Reply {
    match request.path.as_str() {
        "/oauth/token" => {
            let asked = form(&request.body);
            let grant = |access: &str, refresh: &str| {
                json_reply(
                    200,
                    json!({"access_token": access, "refresh_token": refresh,
                        "expires_in": 3600, "token_type": "bearer"}),
                )
            };
            let get = |key: &str| asked.get(key).map(String::as_str);
            match (get("grant_type"), get("code"), get("refresh_token")) {
                (Some("authorization_code"), Some("good-code"), _) => {
                    grant(FIRST_ACCESS, FIRST_REFRESH)
                }
                (Some("refresh_token"), _, Some(FIRST_REFRESH)) => {
                    grant(SECOND_ACCESS, SECOND_REFRESH)
                }
                _ => json_reply(400, json!({"error": "invalid_grant"})),
            }
        }
        "/me" => {
            let auth = request.headers.get("authorization").cloned();
            let accepted = [SECOND_ACCESS, DIRECT_ACCESS]
                .iter()
                .any(|token| auth.as_deref() == Some(&format!("Bearer {token}")));
            match accepted {
                true => json_reply(200, json!({"me": "ada", "query": request.query})),
                false => json_reply(401, json!({"error": "invalid_token"})),
            }
        }
        _ => json_reply(404, json!({})),
    }
}

/// A 2.3 app whose `onContactCreate` calls the API with `isOAuth`, then through an
/// `isOAuth` template that writes `<%= access_token %>` and an `oauth_iparams` value.
fn oauth_app() -> Vec<u8> {
    let manifest = json!({
        "name": "oauth-app",
        "platform-version": "2.3",
        "whitelisted-domains": ["https://api.example.test"],
        "product": {"freshsales": {
            "events": {
                "onAppInstall": {"handler": "install"},
                "onContactCreate": {"handler": "contact"},
            },
            "requests": {"me": {}},
        }},
    });
    let oauth_config = json!({
        "client_id": "weir-client",
        "client_secret": CLIENT_SECRET,
        "authorize_url": "https://auth.example.test/oauth/authorize",
        "token_url": "https://auth.example.test/oauth/token",
        "options": {"scope": "contacts.read"},
        "token_type": "account",
        "oauth_iparams": {"tenant": {"display_name": "Tenant", "type": "text", "required": true}},
    });
    let requests = json!({"me": {
        "schema": {"method": "GET", "host": "api.example.test", "path": "/me",
                   "query": {"tenant": "<%= oauth_iparams.tenant %>"},
                   "headers": {"Authorization": "Bearer <%= access_token %>"}},
        "options": {"isOAuth": true},
    }});
    let code = "exports = {
      install: function () { renderData(); },
      contact: async function () {
        const seen = {};
        const outcome = (answer) => ({ status: answer.status, response: answer.response });
        try { seen.direct = outcome(await $request.get('https://api.example.test/me', { isOAuth: true })); }
        catch (e) { seen.direct = outcome(e); }
        try { seen.template = outcome(await $request.invokeTemplate('me', {})); }
        catch (e) { seen.template = outcome(e); }
        return seen;
      },
    };";
    weir_testkit::zip(&[
        ("manifest.json", &manifest.to_string()),
        ("config/oauth_config.json", &oauth_config.to_string()),
        ("config/requests.json", &requests.to_string()),
        ("server/server.js", code),
    ])
}

/// Posts a contact event and answers what the handler saw of its two calls.
async fn contact_calls(server: &Server) -> Value {
    let event = json!({"event": "onContactCreate", "data": {"contact": {"id": 1}}});
    let posted = server.post("/api/v1/accounts/acme/events", event).await;
    assert_eq!(posted.status, StatusCode::ACCEPTED, "{}", posted.body);
    let record = server.only_run(posted.body["id"].as_str().unwrap()).await;
    record["result"].clone()
}

fn api_calls(third_party: &FakeThirdParty) -> Vec<Received> {
    let received = third_party.received();
    received.into_iter().filter(|r| r.path == "/me").collect()
}

fn token_calls(third_party: &FakeThirdParty) -> Vec<HashMap<String, String>> {
    let received = third_party.received();
    let token = received.iter().filter(|r| r.path == "/oauth/token");
    token.map(|r| form(&r.body)).collect()
}

async fn an_oauth_app_is_authorized_refreshed_and_keeps_its_tokens_sealed(storage: Storage) {
    let fake = FakeThirdParty::start(third_party).await;
    let overrides = format!("auth.example.test={0},api.example.test={0}", fake.address);
    let server = Server::start_configured(
        &storage,
        Some(ADMIN_TOKEN),
        &[
            "--allow-private-destinations",
            "127.0.0.0/8",
            "--host-override",
            &overrides,
        ],
    )
    .await;
    let account = json!({"id": "acme", "domain": "acme.myfreshworks.com", "region": "US",
        "product": "freshsales"});
    assert_eq!(
        server.post("/api/v1/accounts", account).await.status,
        StatusCode::CREATED
    );
    let key = server
        .post("/api/v1/accounts/acme/api-keys", json!({"name": "backend"}))
        .await
        .body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let app = server.upload_app("/api/v1/apps", oauth_app()).await;
    assert_eq!(app.status, StatusCode::CREATED, "{}", app.body);

    // The install needs no token: its onAppInstall does not call the API.
    let installed = server
        .post(
            "/api/v1/accounts/acme/installations",
            json!({"app_id": app.body["id"]}),
        )
        .await;
    assert_eq!(installed.status, StatusCode::CREATED, "{}", installed.body);
    let id = installed.body["id"].as_str().unwrap().to_owned();
    let oauth = format!("/api/v1/installations/{id}/oauth");
    let shown = server.get(&oauth).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
    assert_eq!(shown.body["integrations"][0]["authorized"], false);

    // Before the authorization, OAuth calls fail and say what to do.
    let before = contact_calls(&server).await;
    assert_eq!(before["direct"]["status"], 401, "{before}");
    assert_eq!(
        before["direct"]["response"],
        format!(
            "this installation has no OAuth access token yet: the operator authorizes it \
             with POST /api/v1/installations/{id}/oauth/authorize"
        )
    );
    assert!(
        api_calls(&fake).is_empty(),
        "nothing went out without a token"
    );

    // The account starts the authorization (its key may); a required oauth_iparam is
    // asked for.
    let authorize = format!("{oauth}/authorize");
    let without = server
        .send_json(Method::POST, &authorize, &key, json!({}))
        .await;
    assert_eq!(without.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(without.message(), "oauth_iparams: \"tenant\" is required");
    let started = server
        .send_json(
            Method::POST,
            &authorize,
            &key,
            json!({"oauth_iparams": {"tenant": "acme"}}),
        )
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    let redirect_uri = format!("{}/oauth/callback", server.base);
    assert_eq!(started.body["redirect_uri"], redirect_uri.as_str());
    let url = url::Url::parse(started.body["authorize_url"].as_str().unwrap()).unwrap();
    assert_eq!(
        (url.host_str(), url.path()),
        (Some("auth.example.test"), "/oauth/authorize")
    );
    let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["client_id"], "weir-client");
    assert_eq!(query["redirect_uri"], redirect_uri);
    assert_eq!(query["scope"], "contacts.read");
    assert!(!url.as_str().contains(CLIENT_SECRET));
    let state = query["state"].clone();
    assert!(state.len() >= 43, "256 random bits: {state}");

    // The browser comes back with a code; the callback needs no API token.
    let callback = |state: &str, code: &str| {
        let mut url = url::Url::parse(&redirect_uri).unwrap();
        url.query_pairs_mut()
            .append_pair("code", code)
            .append_pair("state", state);
        async move {
            let answer = reqwest::get(url).await.unwrap();
            support::Reply::read(answer, false).await
        }
    };
    let forged = callback("wos_not-a-state-weir-handed-out", "good-code").await;
    assert_eq!(forged.status, StatusCode::UNPROCESSABLE_ENTITY);
    let authorized = callback(&state, "good-code").await;
    assert_eq!(authorized.status, StatusCode::OK, "{}", authorized.body);
    assert_eq!(authorized.body["installation_id"], id.as_str());
    assert_eq!(authorized.body["authorized"], true);
    assert_eq!(authorized.body["refreshable"], true);
    assert!(authorized.body["expires_at"].is_string());
    let replayed = callback(&state, "good-code").await;
    assert_eq!(
        replayed.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a state serves once"
    );
    let exchanged = &token_calls(&fake)[0];
    assert_eq!(exchanged["grant_type"], "authorization_code");
    assert_eq!(exchanged["code"], "good-code");
    assert_eq!(exchanged["redirect_uri"], redirect_uri);
    assert_eq!(exchanged["client_id"], "weir-client");
    assert_eq!(exchanged["client_secret"], CLIENT_SECRET);
    assert_eq!(token_calls(&fake).len(), 1);

    // The API refuses the first token: Weir refreshes it and sends the call again.
    let after = contact_calls(&server).await;
    assert_eq!(after["direct"]["status"], 200, "{after}");
    let calls = api_calls(&fake);
    assert_eq!(
        calls.len(),
        3,
        "refused, sent again, then the template: {calls:?}"
    );
    assert_eq!(
        calls[0].headers["authorization"],
        format!("Bearer {FIRST_ACCESS}")
    );
    assert_eq!(
        calls[1].headers["authorization"],
        format!("Bearer {SECOND_ACCESS}")
    );
    let refreshed = &token_calls(&fake)[1];
    assert_eq!(refreshed["grant_type"], "refresh_token");
    assert_eq!(refreshed["refresh_token"], FIRST_REFRESH);
    // The template writes the refreshed token itself, and sees the oauth_iparams.
    assert_eq!(after["template"]["status"], 200, "{after}");
    assert_eq!(
        calls[2].headers["authorization"],
        format!("Bearer {SECOND_ACCESS}")
    );
    assert_eq!(calls[2].query.as_deref(), Some("tenant=acme"));
    // The refreshed tokens were stored: the next event needs no refresh.
    let again = contact_calls(&server).await;
    assert_eq!(again["direct"]["status"], 200, "{again}");
    assert_eq!(token_calls(&fake).len(), 2);

    // Tokens set directly: the admin only, and never shown back.
    let token = format!("{oauth}/token");
    let direct = json!({"access_token": DIRECT_ACCESS, "refresh_token": DIRECT_REFRESH,
        "expires_at": "2031-01-02T03:04:05Z"});
    let by_account = server
        .send_json(Method::PUT, &token, &key, direct.clone())
        .await;
    assert_eq!(by_account.status, StatusCode::FORBIDDEN);
    let set = server
        .send_json(Method::PUT, &token, ADMIN_TOKEN, direct)
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    assert_eq!(
        (
            &set.body["authorized"],
            &set.body["refreshable"],
            &set.body["expires_at"]
        ),
        (&json!(true), &json!(true), &json!("2031-01-02T03:04:05Z"))
    );
    let shown = server.get(&oauth).await;
    for answer in [&set.body, &shown.body, &authorized.body] {
        let text = answer.to_string();
        for secret in [DIRECT_ACCESS, DIRECT_REFRESH, SECOND_ACCESS, SECOND_REFRESH] {
            assert!(!text.contains(secret), "{secret} shown in {text}");
        }
    }
    assert_eq!(shown.body["integrations"][0]["authorized"], true);
    let with_direct = contact_calls(&server).await;
    assert_eq!(with_direct["template"]["status"], 200, "{with_direct}");
    let last = api_calls(&fake).pop().unwrap();
    assert_eq!(
        last.headers["authorization"],
        format!("Bearer {DIRECT_ACCESS}"),
        "the oauth_iparams were kept: {last:?}"
    );
    assert_eq!(last.query.as_deref(), Some("tenant=acme"));

    server.stop().await;
    let every_token = [
        FIRST_ACCESS,
        FIRST_REFRESH,
        SECOND_ACCESS,
        SECOND_REFRESH,
        DIRECT_ACCESS,
        DIRECT_REFRESH,
    ];
    assert_sealed(&storage, &every_token).await;
}

/// None of `tokens` is in the database in clear: not in any SQLite file's bytes (the WAL
/// included), not in any row of `oauth_tokens` on PostgreSQL; and a row is there.
async fn assert_sealed(storage: &Storage, tokens: &[&str]) {
    match storage {
        Storage::Sqlite(dir) => {
            let mut looked_at = 0;
            for entry in std::fs::read_dir(dir.path()).unwrap() {
                let path = entry.unwrap().path();
                let bytes = std::fs::read(&path).unwrap();
                looked_at += bytes.len();
                for token in tokens {
                    let found = bytes
                        .windows(token.len())
                        .any(|window| window == token.as_bytes());
                    assert!(!found, "{token} is in clear in {}", path.display());
                }
            }
            assert!(looked_at > 0);
        }
        Storage::Postgres { url, .. } => {
            use sqlx::Connection;
            let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
            let rows: Vec<(String,)> = sqlx::query_as("SELECT t::text FROM oauth_tokens t")
                .fetch_all(&mut connection)
                .await
                .unwrap();
            assert_eq!(rows.len(), 1);
            for token in tokens {
                assert!(
                    !rows[0].0.contains(token),
                    "{token} is in clear: {}",
                    rows[0].0
                );
            }
        }
    }
}
