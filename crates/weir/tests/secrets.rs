//! Secrets at rest, black-box, on both backends: what `weir serve` writes holds no secret in
//! clear (SQLite's files with the WAL; every text column on PostgreSQL); keys rotate from
//! one to another with deliveries still verifying; a missing or wrong key stops Weir with
//! one line naming the keys; secrets an older version wrote in clear are sealed.

mod support;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use support::signatures::verifies;
use support::{Server, Storage};
use weir_testkit::{FakeThirdParty, json_reply};

on_both_backends!(
    no_secret_is_stored_in_clear,
    keys_rotate_with_deliveries_still_verifying,
    a_missing_or_wrong_key_stops_weir_with_the_key_ids,
    secrets_an_older_version_wrote_in_clear_are_sealed,
);

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const IPARAM: &str = "iparam-t0ken-5a1b9c";
const CONNECTOR_SECRET: &str = "connector-s3cret-77b1e0";
/// Three keys (base64 of 32 bytes), as `openssl rand -base64 32` makes them.
const KEY_A: &str = "q2mG2DmJ3e0wA0H4b7r2nZ0m6cVQyWn3d4y1S0yE1lM=";
const KEY_B: &str = "Xb4mS9e8U2Y7v1kWq0Hn3r5tZc6dLf8gPj2oA4iEw7s=";
const KEY_C: &str = "mT3qZ8vK1wN6yB0rC5xF9hJ2lP7sD4gA1eU6oI3tR0k=";

fn key_id(key: &str) -> String {
    weir_core::SealingKey::from_base64(key)
        .unwrap()
        .id()
        .to_owned()
}

async fn start(storage: &Storage, envs: &[(&str, &str)]) -> Server {
    Server::start_logged(
        storage,
        &["--allow-private-destinations", "127.0.0.0/8"],
        &[&[("WEIR_LOG", "info")], envs].concat(),
    )
    .await
}

/// An app whose handler sends its installation's secure `token` to a partner (a
/// registered webhook): the partner receiving it proves the iparam opened.
fn notify_app() -> Vec<u8> {
    let manifest = json!({"name": "notify", "platform-version": "2.3",
        "product": {"freshsales": {"events": {"onContactCreate": {"handler": "call"}}}}});
    let webhooks = json!([{"id": "notify", "url": "https://api.partner.test/notify",
        "method": "POST", "headers": {"Authorization": "Bearer <%= iparam.token %>"}}]);
    weir_testkit::zip(&[
        ("manifest.json", &manifest.to_string()),
        ("config/webhooks.json", &webhooks.to_string()),
        (
            "config/iparams.json",
            r#"{"token": {"display_name": "Token", "type": "text", "secure": true}}"#,
        ),
        (
            "server/server.js",
            "exports = { call: async function (p) { return await $webhooks.trigger('notify', p.data); } };",
        ),
    ])
}

/// An account with a subscription signed with [`SECRET`] to `receiver`, the app
/// installed with [`IPARAM`], and [`CONNECTOR_SECRET`] among the app's parameters.
async fn set_up(server: &Server, receiver: &FakeThirdParty) -> String {
    let account = json!({"id": "acme", "domain": "acme.freshsales.io", "region": "US",
        "product": "freshsales"});
    assert_eq!(
        server.post("/api/v1/accounts", account).await.status,
        StatusCode::CREATED
    );
    let subscription = json!({"url": format!("http://{}/hook", receiver.address),
        "events": ["onContactCreate"], "secret": SECRET});
    let created = server
        .post("/api/v1/accounts/acme/subscriptions", subscription)
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let app = server.upload_app("/api/v1/apps", notify_app()).await;
    assert_eq!(app.status, StatusCode::CREATED, "{}", app.body);
    let app = app.body["id"].as_str().unwrap().to_owned();
    let installed = server
        .post(
            "/api/v1/accounts/acme/installations",
            json!({"app_id": app, "iparams": {"token": IPARAM}}),
        )
        .await;
    assert_eq!(installed.status, StatusCode::CREATED, "{}", installed.body);
    let parameters = server
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/apps/{app}/parameters"),
            support::ADMIN_TOKEN,
            json!({"public": {}, "secure": {"client_secret": CONNECTOR_SECRET}}),
        )
        .await;
    assert_eq!(parameters.status, StatusCode::OK, "{}", parameters.body);
    created.body["id"].as_str().unwrap().to_owned()
}

/// Posts an event and waits for its delivery and its handler's call to the partner; both
/// must carry what only opened secrets give: a signature that verifies with [`SECRET`],
/// and the bearer [`IPARAM`].
async fn event_goes_through(
    server: &Server,
    receiver: &FakeThirdParty,
    partner: &FakeThirdParty,
    n: usize,
) {
    let event = json!({"event": "onContactCreate", "data": {"contact": {"id": n}}});
    let posted = server.post("/api/v1/accounts/acme/events", event).await;
    assert_eq!(posted.status, StatusCode::ACCEPTED, "{}", posted.body);
    receiver
        .wait_until("a delivery", |got| got.len() >= n)
        .await;
    assert!(verifies(&receiver.received()[n - 1], SECRET));
    partner
        .wait_until("the handler's call", |got| got.len() >= n)
        .await;
    assert_eq!(
        partner.received()[n - 1].headers["authorization"],
        format!("Bearer {IPARAM}")
    );
}

async fn fakes() -> (FakeThirdParty, FakeThirdParty) {
    (
        FakeThirdParty::start(|_| json_reply(204, json!({}))).await,
        FakeThirdParty::start(|_| json_reply(200, json!({"ok": true}))).await,
    )
}

fn partner_override(partner: &FakeThirdParty) -> String {
    format!("api.partner.test={}", partner.address)
}

/// What someone with a copy of the database reads: SQLite's files (the WAL too), or every
/// text column of every table on PostgreSQL (what `pg_dump` would write of them).
async fn database_text(storage: &Storage) -> Vec<u8> {
    match storage {
        Storage::Sqlite(dir) => ["weir.db", "weir.db-wal"]
            .iter()
            .filter_map(|file| std::fs::read(dir.path().join(file)).ok())
            .flatten()
            .collect(),
        Storage::Postgres { url, .. } => {
            use sqlx::{Connection, Row};
            let mut db = sqlx::PgConnection::connect(url).await.unwrap();
            let columns = sqlx::query(
                "SELECT table_name::text AS t, column_name::text AS c \
                 FROM information_schema.columns WHERE table_schema = 'public' \
                 AND data_type IN ('text', 'character varying', 'json', 'jsonb', 'bytea')",
            )
            .fetch_all(&mut db)
            .await
            .unwrap();
            let mut text = Vec::new();
            for column in columns {
                let (table, name): (String, String) = (column.get("t"), column.get("c"));
                let values: Vec<Option<Vec<u8>>> = sqlx::query_scalar(&format!(
                    "SELECT convert_to(\"{name}\"::text, 'UTF8') FROM \"{table}\""
                ))
                .fetch_all(&mut db)
                .await
                .unwrap();
                for value in values.into_iter().flatten() {
                    text.extend_from_slice(&value);
                    text.push(b'\n');
                }
            }
            text
        }
    }
}

async fn assert_nothing_in_clear(storage: &Storage, secrets: &[&str]) {
    let text = database_text(storage).await;
    assert!(text.len() > 1000, "the database was read");
    let contains = |needle: &str| text.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(
        contains("acme.freshsales.io"),
        "what is not secret is there to see"
    );
    for secret in secrets {
        assert!(!contains(secret), "{secret} is in the database in clear");
    }
}

async fn no_secret_is_stored_in_clear(storage: Storage) {
    let (receiver, partner) = fakes().await;
    let overrides = partner_override(&partner);
    let server = start(&storage, &[("WEIR_HOST_OVERRIDES", &overrides)]).await;
    let subscription = set_up(&server, &receiver).await;
    event_goes_through(&server, &receiver, &partner, 1).await;
    let rotated = server
        .post(
            &format!("/api/v1/subscriptions/{subscription}/rotate-secret"),
            json!({"grace_seconds": 3600}),
        )
        .await;
    let new_secret = rotated.body["secret"].as_str().unwrap().to_owned();
    event_goes_through(&server, &receiver, &partner, 2).await;
    assert!(verifies(&receiver.received()[1], &new_secret));
    server.stop().await;
    assert_nothing_in_clear(
        &storage,
        &[
            SECRET,
            &SECRET[6..],
            &new_secret[6..],
            IPARAM,
            CONNECTOR_SECRET,
        ],
    )
    .await;
}

async fn keys_rotate_with_deliveries_still_verifying(storage: Storage) {
    let (receiver, partner) = fakes().await;
    let overrides = partner_override(&partner);
    let hosts = ("WEIR_HOST_OVERRIDES", overrides.as_str());
    let server = start(&storage, &[hosts, ("WEIR_SECRET_KEY", KEY_A)]).await;
    set_up(&server, &receiver).await;
    event_goes_through(&server, &receiver, &partner, 1).await;
    server.stop().await;

    // B is the new key, A still opens: the background pass seals everything under B.
    let server = start(
        &storage,
        &[
            hosts,
            ("WEIR_SECRET_KEY", KEY_B),
            ("WEIR_PREVIOUS_SECRET_KEYS", KEY_A),
        ],
    )
    .await;
    event_goes_through(&server, &receiver, &partner, 2).await;
    server
        .log_until("secrets are all sealed under the current key")
        .await;
    server.stop().await;
    let status = secrets_command(&storage, "status", &[("WEIR_SECRET_KEY", KEY_B)]);
    assert!(
        status.contains(&format!("sealed: {}: 7 values", key_id(KEY_B))),
        "{status}"
    );

    // A is dropped: everything still opens.
    let server = start(&storage, &[hosts, ("WEIR_SECRET_KEY", KEY_B)]).await;
    event_goes_through(&server, &receiver, &partner, 3).await;
    server.stop().await;

    // From B to C with the command, in a key file this time (current first).
    let key_file = storage.data_dir().join("keys");
    std::fs::write(
        &key_file,
        format!("# current\n{KEY_C}\n# previous\n{KEY_B}\n"),
    )
    .unwrap();
    let file = ("WEIR_SECRET_KEY_FILE", key_file.to_str().unwrap());
    let rotated = secrets_command(&storage, "rotate", &[file]);
    assert!(
        rotated.contains(&format!("re-sealed 7 values under {}", key_id(KEY_C))),
        "{rotated}"
    );
    assert!(
        rotated.contains(&format!("previous key {} seals nothing", key_id(KEY_B))),
        "{rotated}"
    );
    std::fs::write(&key_file, format!("{KEY_C}\n")).unwrap();
    let server = start(&storage, &[hosts, file]).await;
    event_goes_through(&server, &receiver, &partner, 4).await;
    server.stop().await;
}

/// Runs `weir secrets <command>` on the storage; answers its output, which it must have
/// succeeded to write.
fn secrets_command(storage: &Storage, command: &str, envs: &[(&str, &str)]) -> String {
    let mut weir = std::process::Command::new(env!("CARGO_BIN_EXE_weir"));
    weir.args(["secrets", command, "--data-dir"])
        .arg(storage.data_dir())
        .env_remove("WEIR_DATABASE_URL")
        .env_remove("WEIR_SECRET_KEY")
        .env_remove("WEIR_PREVIOUS_SECRET_KEYS")
        .env_remove("WEIR_SECRET_KEY_FILE")
        .envs(envs.iter().copied());
    if let Storage::Postgres { url, .. } = storage {
        weir.args(["--database-url", url]);
    }
    let output = weir.output().unwrap();
    let printed = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    printed
}

/// Starts `weir serve`, which must exit at once with an error; answers its stderr.
async fn refused_start(storage: &Storage, envs: &[(&str, &str)]) -> String {
    let mut weir = tokio::process::Command::new(env!("CARGO_BIN_EXE_weir"));
    weir.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(storage.data_dir())
        .env_remove("WEIR_DATABASE_URL")
        .env_remove("WEIR_SECRET_KEY")
        .env_remove("WEIR_PREVIOUS_SECRET_KEYS")
        .env_remove("WEIR_SECRET_KEY_FILE")
        .env("WEIR_ADMIN_TOKEN", support::ADMIN_TOKEN)
        .env("RUST_BACKTRACE", "1")
        .envs(envs.iter().copied())
        .kill_on_drop(true);
    if let Storage::Postgres { url, .. } = storage {
        weir.args(["--database-url", url]);
    }
    let output = tokio::time::timeout(Duration::from_secs(60), weir.output())
        .await
        .expect("weir exits instead of serving")
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "one error line: {stderr}");
    errors[0].to_owned()
}

async fn a_missing_or_wrong_key_stops_weir_with_the_key_ids(storage: Storage) {
    let (receiver, _partner) = fakes().await;
    let server = start(&storage, &[("WEIR_SECRET_KEY", KEY_A)]).await;
    set_up(&server, &receiver).await;
    server.stop().await;

    let missing = refused_start(&storage, &[]).await;
    assert!(
        missing.contains("no key is configured") && missing.contains(&key_id(KEY_A)),
        "{missing}"
    );
    let wrong = refused_start(&storage, &[("WEIR_SECRET_KEY", KEY_B)]).await;
    assert!(
        wrong.contains(&key_id(KEY_A)) && wrong.contains(&key_id(KEY_B)),
        "names the key that sealed and the one configured: {wrong}"
    );
    let unusable = refused_start(&storage, &[("WEIR_SECRET_KEY", "c2hvcnQ=")]).await;
    assert!(
        unusable.contains("WEIR_SECRET_KEY is not usable"),
        "{unusable}"
    );
    // Nothing was sealed under the wrong key meanwhile: the right one still serves.
    let server = start(&storage, &[("WEIR_SECRET_KEY", KEY_A)]).await;
    let listed = server.get("/api/v1/accounts/acme/subscriptions").await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    server.stop().await;
}

async fn secrets_an_older_version_wrote_in_clear_are_sealed(storage: Storage) {
    let (receiver, partner) = fakes().await;
    let overrides = partner_override(&partner);
    let hosts = ("WEIR_HOST_OVERRIDES", overrides.as_str());
    let server = start(&storage, &[hosts]).await;
    set_up(&server, &receiver).await;
    server.stop().await;
    // As versions before sealing wrote them.
    let clear = [
        format!("UPDATE webhook_subscriptions SET secret = '{SECRET}'"),
        format!("UPDATE installations SET secure_iparams = '{{\"token\": \"{IPARAM}\"}}'"),
        format!(
            "UPDATE app_parameters SET secure = '{{\"client_secret\": \"{CONNECTOR_SECRET}\"}}'"
        ),
    ];
    raw_sql(&storage, &clear).await;
    assert!(
        String::from_utf8_lossy(&database_text(&storage).await).contains(IPARAM),
        "the test wrote them in clear"
    );

    let server = start(&storage, &[hosts]).await;
    server.log_until("sealed secrets stored in clear").await;
    event_goes_through(&server, &receiver, &partner, 1).await;
    server.stop().await;
    assert_nothing_in_clear(&storage, &[SECRET, IPARAM, CONNECTOR_SECRET]).await;
}

async fn raw_sql(storage: &Storage, statements: &[String]) {
    match storage {
        Storage::Sqlite(dir) => {
            let db = rusqlite::Connection::open(dir.path().join("weir.db")).unwrap();
            for statement in statements {
                db.execute(statement, []).unwrap();
            }
        }
        Storage::Postgres { url, .. } => {
            use sqlx::Connection;
            let mut db = sqlx::PgConnection::connect(url).await.unwrap();
            for statement in statements {
                sqlx::query(statement).execute(&mut db).await.unwrap();
            }
        }
    }
}
