//! Client mistakes get the right 4xx and a message that names the problem; nothing is
//! half-stored.

mod support;

use reqwest::{Method, StatusCode};
use serde_json::json;
use support::{ADMIN_TOKEN, Server, Storage, sample_app};

const UNNAMED_MANIFEST: &str = r#"{"platform-version": "2.3", "product": {"freshsales": {}}}"#;

#[tokio::test]
async fn json_bodies_are_checked_strictly() {
    let server = Server::start(&Storage::sqlite()).await;
    let post_raw = |body: &'static str, content_type: Option<&'static str>| {
        server.call(
            Method::POST,
            "/api/v1/accounts",
            Some(ADMIN_TOKEN),
            content_type,
            body.into(),
        )
    };

    let malformed = post_raw(r#"{"domain": "x.io", "#, Some("application/json")).await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert!(
        malformed.message().starts_with("malformed JSON: "),
        "{}",
        malformed.message()
    );

    let unknown = post_raw(
        r#"{"domain": "x.io", "region": "US", "product": "freshsales", "colour": "red"}"#,
        Some("application/json"),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown.message().contains("unknown field `colour`"),
        "{}",
        unknown.message()
    );

    let missing = post_raw(
        r#"{"domain": "x.io", "region": "US"}"#,
        Some("application/json"),
    )
    .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        missing.message().contains("missing field `product`"),
        "{}",
        missing.message()
    );

    let bad_region = post_raw(
        r#"{"domain": "x.io", "region": "Mars", "product": "freshsales"}"#,
        Some("application/json"),
    )
    .await;
    assert_eq!(bad_region.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad_region
            .message()
            .starts_with("region: unknown variant `Mars`"),
        "{}",
        bad_region.message()
    );

    let bad_domain = post_raw(
        r#"{"domain": "https://x.io/", "region": "US", "product": "freshsales"}"#,
        Some("application/json"),
    )
    .await;
    assert_eq!(bad_domain.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad_domain
            .message()
            .starts_with("domain: domain must be a host name"),
        "{}",
        bad_domain.message()
    );

    let bad_department = post_raw(
        r#"{"domain": "x.io", "region": "US", "product": "freshsales", "departments": ["a", 7]}"#,
        Some("application/json"),
    )
    .await;
    assert_eq!(bad_department.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad_department
            .message()
            .starts_with("departments[1]: invalid type"),
        "{}",
        bad_department.message()
    );

    let form = post_raw("domain=x.io", Some("application/x-www-form-urlencoded")).await;
    assert_eq!(form.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        form.message(),
        "expected Content-Type: application/json, got \"application/x-www-form-urlencoded\""
    );
    let untyped = post_raw("{}", None).await;
    assert_eq!(untyped.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let huge = format!(
        r#"{{"domain": "x.io", "region": "US", "product": "freshsales", "departments": ["{}"]}}"#,
        "d".repeat(2 << 20)
    );
    let too_large = server
        .call(
            Method::POST,
            "/api/v1/accounts",
            Some(ADMIN_TOKEN),
            Some("application/json"),
            huge.into(),
        )
        .await;
    assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        too_large.message(),
        "the request body is larger than the limit of 1048576 bytes"
    );

    let listed = server.get("/api/v1/accounts").await;
    assert_eq!(
        listed.body["data"],
        json!([]),
        "no rejected request stored anything"
    );
    server.stop().await;
}

#[tokio::test]
async fn broken_packages_are_refused_with_the_file_at_fault() {
    let server = Server::start(&Storage::sqlite()).await;

    let not_zip = server
        .upload_app("/api/v1/apps", b"plain text".to_vec())
        .await;
    assert_eq!(not_zip.status, StatusCode::BAD_REQUEST);
    assert!(
        not_zip
            .message()
            .starts_with("the package is not a valid zip archive"),
        "{}",
        not_zip.message()
    );

    let no_manifest = server
        .upload_app(
            "/api/v1/apps?name=x",
            weir_testkit::zip(&[("server/server.js", "")]),
        )
        .await;
    assert_eq!(no_manifest.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        no_manifest.body["error"]["details"],
        json!([{"file": "manifest.json", "location": "", "message": "missing at the package root"}])
    );

    let bad_json = server
        .upload_app(
            "/api/v1/apps?name=x",
            weir_testkit::zip(&[("manifest.json", "{\n\"a\": }")]),
        )
        .await;
    assert_eq!(bad_json.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad_json
            .message()
            .contains("manifest.json 2:6: expected value"),
        "{}",
        bad_json.message()
    );

    let unnamed = server
        .upload_app(
            "/api/v1/apps",
            weir_testkit::zip(&[("manifest.json", UNNAMED_MANIFEST)]),
        )
        .await;
    assert_eq!(unnamed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unnamed.message().contains("?name="),
        "{}",
        unnamed.message()
    );

    let escaping = server
        .upload_app(
            "/api/v1/apps?name=x",
            weir_testkit::zip(&[("manifest.json", UNNAMED_MANIFEST), ("../x.js", "")]),
        )
        .await;
    assert_eq!(escaping.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        escaping.message().contains("\"../x.js\""),
        "{}",
        escaping.message()
    );

    let broken_js = server
        .upload_app(
            "/api/v1/apps",
            weir_testkit::zip(&[
                ("manifest.json", r#"{"name": "x", "platform-version": "2.3", "product": {"freshsales": {"events": {"onDealCreate": {"handler": "h"}}}}}"#),
                ("server/server.js", "exports = {\n  h: function () { return 1 +; }\n};"),
            ]),
        )
        .await;
    assert_eq!(broken_js.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        broken_js.body["error"]["details"],
        json!([{"file": "server/server.js", "location": "2:30",
                "message": "syntax error: unexpected token in expression: ';'"}])
    );

    // Weir installs no npm package: one the manifest declares must be in the package.
    let uninstalled = server
        .upload_app(
            "/api/v1/apps",
            weir_testkit::zip(&[
                ("manifest.json", r#"{"name": "x", "platform-version": "2.3", "product": {"freshsales": {}}, "dependencies": {"axios": "1.6.0"}}"#),
                ("server/server.js", "exports = {};"),
            ]),
        )
        .await;
    assert_eq!(uninstalled.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        uninstalled.body["error"]["details"],
        json!([{"file": "manifest.json", "location": "/dependencies/axios",
                "message": "server/node_modules/axios is not installed (run npm install in server/ and ship server/node_modules with the app: Weir cannot install npm packages)"}])
    );

    let as_json = server
        .call(
            Method::POST,
            "/api/v1/apps",
            Some(ADMIN_TOKEN),
            Some("application/json"),
            sample_app("a"),
        )
        .await;
    assert_eq!(as_json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let oversized = server
        .upload_app("/api/v1/apps", vec![0u8; 5 * 1024 * 1024 + 1])
        .await;
    assert_eq!(oversized.status, StatusCode::PAYLOAD_TOO_LARGE);

    assert_eq!(server.get("/api/v1/apps").await.body["data"], json!([]));
    server.stop().await;
}

#[tokio::test]
async fn a_package_holding_a_path_twice_is_refused_naming_it() {
    let server = Server::start(&Storage::sqlite()).await;
    let manifest = r#"{"name": "twice", "platform-version": "2.3", "product": {"freshsales": {"events": {"onDealCreate": {"handler": "h"}}}}}"#;
    // Which copy a reader keeps depends on the reader: what was checked need not be what
    // runs. Neither is taken.
    let package = weir_testkit::zip_with_a_path_twice(
        &[
            ("manifest.json", manifest),
            ("server/server.js", "exports = { h: function () {} };"),
        ],
        "server/server.js",
        "exports = { h: function () { return $request.post('https://elsewhere.example'); } };",
    );
    let reply = server.upload_app("/api/v1/apps", package).await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
    assert_eq!(
        reply.message(),
        "the package holds \"server/server.js\" twice"
    );
    assert_eq!(server.get("/api/v1/apps").await.body["data"], json!([]));
    server.stop().await;
}

#[tokio::test]
async fn a_package_naming_a_handler_its_code_does_not_export_is_refused() {
    let server = Server::start(&Storage::sqlite()).await;
    let manifest = r#"{"name": "typo", "platform-version": "3.1", "modules": {
        "common": {"events": {"onAppInstall": {"handler": "onAppInstallHandler"}}},
        "support_ticket": {"events": {"onTicketCreate": {"handler": "noSuchHandler"}}}}}"#;
    let server_js = "exports = {\n  onAppInstallHandler: function () { renderData(); },\n  onTicketCreateHandler: function () {}\n};";
    let reply = server
        .upload_app(
            "/api/v1/apps",
            weir_testkit::zip(&[("manifest.json", manifest), ("server/server.js", server_js)]),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
    assert_eq!(
        reply.body["error"]["details"],
        json!([{
            "file": "manifest.json",
            "location": "/modules/support_ticket/events/onTicketCreate/handler",
            "message": "\"noSuchHandler\" is not a function that server/server.js exports (it exports: onAppInstallHandler, onTicketCreateHandler)"
        }])
    );
    assert_eq!(server.get("/api/v1/apps").await.body["data"], json!([]));
    server.stop().await;
}

#[tokio::test]
async fn installations_check_app_iparams_and_departments() {
    let server = Server::start(&Storage::sqlite()).await;
    let account = json!({"id": "acme", "domain": "x.io", "region": "US", "product": "freshsales", "departments": ["sales"]});
    server.post("/api/v1/accounts", account).await;
    let app_id = server
        .upload_app("/api/v1/apps", sample_app("pomodoro"))
        .await
        .body["id"]
        .clone();
    let install =
        |body: serde_json::Value| server.post("/api/v1/accounts/acme/installations", body);

    let no_app = install(json!({"app_id": "app_missing"})).await;
    assert_eq!(no_app.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        no_app.message(),
        "app_id: no app app_missing has been uploaded"
    );

    let missing = install(json!({"app_id": app_id})).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(missing.message(), "iparams.api_key: required by the app");

    let unknown =
        install(json!({"app_id": app_id, "iparams": {"api_key": "k", "colour": "red"}})).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        unknown.message(),
        "iparams.colour: not declared by the app (declared: api_key, subdomain)"
    );

    let foreign =
        install(json!({"app_id": app_id, "iparams": {"api_key": "k"}, "departments": ["hr"]}))
            .await;
    assert_eq!(foreign.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        foreign.message(),
        "departments: \"hr\" is not a department of account acme"
    );

    let no_account = server
        .post(
            "/api/v1/accounts/nobody/installations",
            json!({"app_id": app_id}),
        )
        .await;
    assert_eq!(no_account.status, StatusCode::NOT_FOUND);

    assert_eq!(
        server.get("/api/v1/accounts/acme/installations").await.body["data"],
        json!([])
    );
    server.stop().await;
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_error_shape() {
    let server = Server::start(&Storage::sqlite()).await;
    let route = server.get("/api/v1/nothing-here").await;
    assert_eq!(route.status, StatusCode::NOT_FOUND);
    assert_eq!(route.message(), "no route for GET /api/v1/nothing-here");
    let method = server
        .call(
            Method::PUT,
            "/api/v1/accounts",
            Some(ADMIN_TOKEN),
            None,
            vec![],
        )
        .await;
    assert_eq!(method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(method.body["error"]["code"], "method_not_allowed");
    let bad_path = server.get("/api/v1/accounts/%FF").await;
    assert_eq!(bad_path.status, StatusCode::BAD_REQUEST);
    assert!(
        bad_path.message().starts_with("invalid path: "),
        "{}",
        bad_path.message()
    );
    server.stop().await;
}

/// Slow clients are cut off (issue 16): a body that stalls, a body that trickles on for
/// ever, and headers that trickle in. Meanwhile other clients are served.
#[tokio::test]
async fn slow_clients_are_cut_off_while_others_are_served() {
    let timeouts = [
        "--header-read-timeout",
        "1",
        "--body-idle-timeout",
        "1",
        "--body-timeout",
        "3",
    ];
    let server = Server::start_configured(&Storage::sqlite(), Some(ADMIN_TOKEN), &timeouts).await;
    let address = server.base.trim_start_matches("http://").to_owned();
    let head = format!(
        "POST /api/v1/accounts HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );

    // A chunked body that stops after its first piece.
    let mut stalled = SlowClient::connect(&address).await;
    stalled.send(head.as_bytes()).await;
    stalled.send(b"1\r\n{\r\n").await;
    // Others are served meanwhile.
    let healthy = server.get("/healthz").await;
    assert_eq!(healthy.status, StatusCode::OK);
    let answer = stalled.read_to_end().await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("no part of the request body came for 1 s"),
        "{answer}"
    );

    // A body that keeps coming, a byte at a time, never whole.
    let mut trickling = SlowClient::connect(&address).await;
    trickling.send(head.as_bytes()).await;
    let answer = loop {
        if !trickling.try_send(b"1\r\n \r\n").await {
            break trickling.read_to_end().await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        if let Some(answer) = trickling.answered().await {
            break answer;
        }
    };
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("did not arrive whole within 3 s"),
        "{answer}"
    );

    // Headers a byte every 250 ms: the connection closes before they are whole.
    let mut dripping = SlowClient::connect(&address).await;
    let mut closed = false;
    for byte in head.as_bytes() {
        if !dripping.try_send(std::slice::from_ref(byte)).await {
            closed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        if dripping.answered().await.is_some() {
            closed = true;
            break;
        }
    }
    assert!(closed, "all {} header bytes were taken", head.len());
    assert_eq!(server.get("/healthz").await.status, StatusCode::OK);
}

/// A raw connection, for clients that misbehave on purpose.
struct SlowClient(tokio::net::TcpStream);

impl SlowClient {
    async fn connect(address: &str) -> SlowClient {
        SlowClient(tokio::net::TcpStream::connect(address).await.unwrap())
    }

    async fn send(&mut self, bytes: &[u8]) {
        assert!(
            self.try_send(bytes).await,
            "the server closed the connection"
        );
    }

    /// False once the server has closed the connection.
    async fn try_send(&mut self, bytes: &[u8]) -> bool {
        use tokio::io::AsyncWriteExt;
        self.0.write_all(bytes).await.is_ok()
    }

    /// What the server sent until it closed the connection (at most 30 s).
    async fn read_to_end(&mut self) -> String {
        use tokio::io::AsyncReadExt;
        let mut answer = Vec::new();
        let read = self.0.read_to_end(&mut answer);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(30), read).await;
        String::from_utf8_lossy(&answer).into_owned()
    }

    /// The server's answer and close, if it has answered or closed by now.
    async fn answered(&mut self) -> Option<String> {
        let mut byte = [0u8; 1];
        match self.0.try_read(&mut byte) {
            Ok(0) => Some(String::new()),
            Ok(_) => {
                let rest = self.read_to_end().await;
                Some(format!("{}{rest}", byte[0] as char))
            }
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => None,
            Err(_) => Some(String::new()),
        }
    }
}
