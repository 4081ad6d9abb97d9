//! Black-box test support: the real `weir` binary on a random loopback port, and a small
//! HTTP client speaking to it.

#![allow(dead_code)] // each test file uses its own part of this module

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStderr, Command};
use tokio::task::JoinHandle;
use weir_testkit::TempDir;
pub mod dev_server;
pub mod doc_script;
pub mod signatures;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// How long the polling helpers below wait for what they wait for.
const PATIENCE: Duration = Duration::from_secs(60);
const NOT_LOGGED: &str = "start the server with Server::start_logged to read its log";

/// Where a server keeps its data; shared by the servers of one test to test restarts.
#[derive(Clone)]
pub enum Storage {
    Sqlite(Arc<TempDir>),
    Postgres { url: String, data_dir: Arc<TempDir> },
}

impl Storage {
    pub fn sqlite() -> Self {
        Storage::Sqlite(Arc::new(TempDir::new()))
    }

    pub async fn postgres() -> Self {
        let url = weir_testkit::fresh_postgres_database().await;
        Storage::Postgres {
            url,
            data_dir: Arc::new(TempDir::new()),
        }
    }

    /// The same storage; on PostgreSQL, every statement is run by the generic plan made
    /// when it was first prepared, as the server may choose by itself after five runs.
    /// Issue #14 came from such a plan: a claim planned while nothing was due took every
    /// due row.
    pub fn with_generic_plans(self) -> Self {
        match self {
            Storage::Postgres { url, data_dir } => {
                let separator = if url.contains('?') { '&' } else { '?' };
                let options = "options=-c%20plan_cache_mode%3Dforce_generic_plan";
                let url = format!("{url}{separator}{options}");
                Storage::Postgres { url, data_dir }
            }
            sqlite => sqlite,
        }
    }

    pub fn data_dir(&self) -> &std::path::Path {
        match self {
            Storage::Sqlite(dir) | Storage::Postgres { data_dir: dir, .. } => dir.path(),
        }
    }
}

pub struct Server {
    child: Child,
    /// Held so that a temporary data directory lives as long as the server.
    _storage: Storage,
    pub base: String,
    client: reqwest::Client,
    /// Its stderr, when started with [`Server::start_logged`].
    log: Option<Log>,
}

/// A server's stderr, kept line by line (and echoed to the test's stderr, so that a
/// failing test still shows it), for tests about what the server logged.
struct Log {
    lines: Arc<Mutex<Vec<String>>>,
    /// Reads until the server's stderr closes, i.e. until the process has exited.
    reader: JoinHandle<()>,
}

impl Log {
    fn capture(stderr: ChildStderr) -> Log {
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let kept = lines.clone();
        let reader = tokio::spawn(async move {
            let mut stderr = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = stderr.next_line().await {
                eprintln!("{line}");
                kept.lock().unwrap().push(line);
            }
        });
        Log { lines, reader }
    }

    fn text(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }
}

/// A reply: its status and its body as JSON (`Value::Null` when empty).
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The response, read whole. A body that is not JSON fails the test, unless `text_ok`
    /// (pages): then it is kept as a JSON string.
    pub async fn read(response: reqwest::Response, text_ok: bool) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let url = response.url().clone();
        let bytes = response.bytes().await.unwrap();
        let body = match serde_json::from_slice(&bytes) {
            _ if bytes.is_empty() => Value::Null,
            Ok(body) => body,
            Err(_) if text_ok => Value::String(String::from_utf8_lossy(&bytes).into_owned()),
            Err(e) => panic!("{url} answered non-JSON ({e}): {bytes:?}"),
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    /// The error message of an API error reply.
    pub fn message(&self) -> &str {
        self.body["error"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("not an error: {}", self.body))
    }
}

impl Server {
    /// Starts `weir serve` with the admin token set.
    pub async fn start(storage: &Storage) -> Server {
        Server::start_with(storage, Some(ADMIN_TOKEN)).await
    }

    pub async fn start_with(storage: &Storage, admin_token: Option<&str>) -> Server {
        Server::start_configured(storage, admin_token, &[]).await
    }

    /// Starts `weir serve` with extra flags, e.g. `--public-url`.
    pub async fn start_configured(
        storage: &Storage,
        admin_token: Option<&str>,
        flags: &[&str],
    ) -> Server {
        Server::spawn(storage, admin_token, flags, &[], false).await
    }

    /// Starts `weir serve` with the admin token, extra flags and environment variables
    /// (e.g. `WEIR_FAIL_POINTS`), keeping its stderr for [`Server::log`].
    pub async fn start_logged(storage: &Storage, flags: &[&str], envs: &[(&str, &str)]) -> Server {
        Server::spawn(storage, Some(ADMIN_TOKEN), flags, envs, true).await
    }

    async fn spawn(
        storage: &Storage,
        admin_token: Option<&str>,
        flags: &[&str],
        envs: &[(&str, &str)],
        logged: bool,
    ) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_weir"));
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(storage.data_dir())
            .env_remove("WEIR_ADMIN_TOKEN")
            .env_remove("WEIR_DATABASE_URL")
            .env_remove("WEIR_FAIL_POINTS")
            .env("WEIR_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(if logged {
                Stdio::piped()
            } else {
                Stdio::inherit()
            })
            .kill_on_drop(true);
        if let Storage::Postgres { url, .. } = storage {
            command.args(["--database-url", url]);
        }
        if let Some(token) = admin_token {
            command.env("WEIR_ADMIN_TOKEN", token);
        }
        command.args(flags).env_remove("WEIR_PUBLIC_URL");
        command.envs(envs.iter().copied());
        let mut child = command.spawn().expect("start weir");
        let log = child.stderr.take().map(Log::capture);
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let Some(line) = lines.next_line().await.unwrap() else {
                let log = log.as_ref().map(Log::text).unwrap_or_default();
                panic!("weir exited before listening\n{log}");
            };
            if let Some(url) = line.strip_prefix("weir listening on ") {
                break url.to_owned();
            }
        };
        Server {
            _storage: storage.clone(),
            child,
            base,
            client: reqwest::Client::new(),
            log,
        }
    }

    /// SIGTERM, then wait for a clean exit.
    pub async fn stop(mut self) {
        self.terminate().await;
    }

    /// [`Server::stop`], then everything the server wrote on stderr in its life (a server
    /// started with [`Server::start_logged`]): the whole log, with nothing still on its way.
    pub async fn stop_and_read_log(mut self) -> String {
        self.terminate().await;
        let mut log = self.log.take().expect(NOT_LOGGED);
        (&mut log.reader).await.unwrap();
        log.text()
    }

    async fn terminate(&mut self) {
        let pid = self.child.id().expect("running").to_string();
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = self.child.wait().await.unwrap();
        assert!(status.success(), "weir exited with {status}");
    }

    /// What the server wrote on stderr so far (a server started with
    /// [`Server::start_logged`]). A line the server wrote a moment ago may not be here
    /// yet: wait for it with [`Server::log_until`].
    pub fn log(&self) -> String {
        self.log.as_ref().expect(NOT_LOGGED).text()
    }

    /// The server's stderr once it contains `needle` (at most 60 s).
    pub async fn log_until(&self, needle: &str) -> String {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let log = self.log();
            if log.contains(needle) {
                return log;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{needle:?} not logged:\n{log}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// SIGKILL: no draining, no flushing; what was acknowledged must already be durable.
    pub async fn kill(mut self) {
        self.child.start_kill().expect("running");
        self.child.wait().await.unwrap();
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Reply {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        Reply::read(request.send().await.unwrap(), false).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.get_as(path, ADMIN_TOKEN).await
    }

    /// A GET with another bearer token than the admin's.
    pub async fn get_as(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None, vec![])
            .await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.call(Method::DELETE, path, Some(ADMIN_TOKEN), None, vec![])
            .await
    }

    pub async fn post(&self, path: &str, json: Value) -> Reply {
        self.send_json(Method::POST, path, ADMIN_TOKEN, json).await
    }

    pub async fn patch(&self, path: &str, json: Value) -> Reply {
        self.send_json(Method::PATCH, path, ADMIN_TOKEN, json).await
    }

    pub async fn send_json(&self, method: Method, path: &str, token: &str, json: Value) -> Reply {
        let body = serde_json::to_vec(&json).unwrap();
        self.call(method, path, Some(token), Some("application/json"), body)
            .await
    }

    /// `GET path` (with the admin token) until `done` holds of the answer's body, at most
    /// 60 s; returns that body.
    pub async fn get_until(&self, path: &str, done: impl Fn(&Value) -> bool) -> Value {
        self.reply_until(path, |reply| done(&reply.body)).await.body
    }

    /// `GET path` (with the admin token) until `done` holds of the whole answer, status
    /// included, at most 60 s; returns that answer.
    pub async fn reply_until(&self, path: &str, done: impl Fn(&Reply) -> bool) -> Reply {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let reply = self.get(path).await;
            if done(&reply) {
                return reply;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{path}: {} {}",
                reply.status,
                reply.body
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// `/metrics`, the Prometheus text.
    pub async fn metrics(&self) -> String {
        let answer = self
            .client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        answer.text().await.unwrap()
    }

    /// `/metrics` once it has every one of `lines` (whole lines, e.g.
    /// `weir_queue_depth{queue="deliveries"} 0`), at most 60 s; returns that text.
    pub async fn metrics_until(&self, lines: &[&str]) -> String {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let text = self.metrics().await;
            let missing: Vec<&&str> = lines
                .iter()
                .filter(|line| !text.lines().any(|l| l == **line))
                .collect();
            if missing.is_empty() {
                return text;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{missing:?} not in /metrics:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The event (`GET /api/v1/events/{id}`) once none of its jobs is pending any more.
    pub async fn settled(&self, event: &str) -> Value {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let shown = self.get(&format!("/api/v1/events/{event}")).await;
            assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
            let jobs = shown.body["jobs"].as_array().unwrap();
            if jobs.iter().all(|job| job["status"] != "pending") {
                return shown.body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "jobs still pending: {}",
                shown.body
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// The invocation record of the event's one job, which must have succeeded.
    pub async fn only_run(&self, event: &str) -> Value {
        let settled = self.settled(event).await;
        let jobs = settled["jobs"].as_array().unwrap();
        assert_eq!(jobs.len(), 1, "{settled}");
        assert_eq!(jobs[0]["status"], "done", "{settled}");
        let record = jobs[0]["last_invocation"].as_str().unwrap();
        self.get(&format!("/api/v1/invocations/{record}"))
            .await
            .body
    }

    /// An account `acme` (Freshsales) with an app whose `onContactCreate` handler does
    /// nothing, installed.
    pub async fn listening_account(&self) {
        let account = json!({"id": "acme", "domain": "acme.myfreshworks.com", "region": "US",
            "product": "freshsales"});
        let created = self.post("/api/v1/accounts", account).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let manifest = json!({"name": "quiet", "platform-version": "2.3",
            "product": {"freshsales": {"events": {"onContactCreate": {"handler": "contact"}}}}});
        let package = weir_testkit::zip(&[
            ("manifest.json", &manifest.to_string()),
            ("server/server.js", "exports = { contact: function () {} };"),
        ]);
        let app = self.upload_app("/api/v1/apps", package).await;
        let install = json!({"app_id": app.body["id"]});
        let installed = self
            .post("/api/v1/accounts/acme/installations", install)
            .await;
        assert_eq!(installed.status, StatusCode::CREATED, "{}", installed.body);
    }

    pub async fn upload_app(&self, path: &str, zip: Vec<u8>) -> Reply {
        self.call(
            Method::POST,
            path,
            Some(ADMIN_TOKEN),
            Some("application/zip"),
            zip,
        )
        .await
    }
}

/// A minimal valid app with a required secure iparam and a public one.
pub fn sample_app(name: &str) -> Vec<u8> {
    let manifest = format!(
        r#"{{"name": "{name}", "platform-version": "2.3", "product": {{"freshsales": {{}}}}}}"#
    );
    weir_testkit::zip(&[
        ("manifest.json", &manifest),
        (
            "config/iparams.json",
            r#"{"api_key": {"display_name": "API key", "type": "text", "required": true, "secure": true},
                "subdomain": {"display_name": "Subdomain", "type": "text"}}"#,
        ),
        ("server/server.js", "exports = {};"),
    ])
}

/// Runs each named async test once on SQLite and once on PostgreSQL; each takes a
/// `Storage`.
#[macro_export]
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod on_sqlite {$(
            #[tokio::test]
            async fn $test() { super::$test(super::support::Storage::sqlite()).await }
        )*}
        mod on_postgres {$(
            #[tokio::test]
            async fn $test() { super::$test(super::support::Storage::postgres().await).await }
        )*}
    };
}
