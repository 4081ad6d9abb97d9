//! A real `weir serve` (the release binary) on one backend, and the API calls the
//! scenarios make of it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use weir_testkit::TempDir;

pub const ADMIN_TOKEN: &str = "bench-admin-token-0123456789";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// Where a node keeps its data: a data directory, and on PostgreSQL a fresh database.
/// Several nodes in turn may share one (a node filled by one, drained by the next).
pub struct Storage {
    pub dir: TempDir,
    pub database_url: Option<String>,
}

impl Storage {
    pub async fn fresh(backend: Backend) -> Storage {
        let database_url = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(weir_testkit::fresh_postgres_database().await),
        };
        Storage {
            dir: TempDir::new(),
            database_url,
        }
    }
}

/// A running node (killed when dropped).
pub struct Node {
    pub base: String,
    child: tokio::process::Child,
    client: reqwest::Client,
}

impl Node {
    /// Starts `weir serve` with `roles` ("api", "api,worker"), letting it deliver to
    /// loopback and sending `$request`s for `api.bench.test` to `third_party`.
    pub async fn start(bin: &Path, storage: &Storage, roles: &str, third_party: &str) -> Node {
        let host_override = format!("api.bench.test={third_party}");
        let mut args = vec![
            "--role",
            roles,
            "--external-events-per-minute",
            "1000000000",
            "--allow-private-destinations",
            "127.0.0.0/8",
            "--host-override",
            &host_override,
        ];
        if let Some(url) = &storage.database_url {
            args.extend(["--database-url", url]);
        }
        let bin = bin.to_str().expect("a UTF-8 path");
        let (child, base) =
            weir_testkit::serve_weir(bin, storage.dir.path(), &args, ADMIN_TOKEN).await;
        Node {
            base,
            child,
            client: reqwest::Client::new(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// Kills the node at once (as kill -9 would) and waits for it to be gone.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<(Vec<u8>, &str)>,
    ) -> Result<Value> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(ADMIN_TOKEN);
        if let Some((body, content_type)) = body {
            request = request.header("content-type", content_type).body(body);
        }
        let answer = request.send().await?;
        let status = answer.status();
        let text = answer.text().await?;
        if !status.is_success() {
            bail!("{path}: {status} {text}");
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: Value) -> Result<Value> {
        let body = Some((body.to_string().into_bytes(), "application/json"));
        self.call(reqwest::Method::POST, path, body).await
    }

    /// A Freshsales account named `id`.
    pub async fn account(&self, id: &str) -> Result<()> {
        let account = json!({"id": id, "domain": format!("{id}.myfreshworks.com"),
            "region": "US", "product": "freshsales"});
        self.post("/api/v1/accounts", account).await.map(drop)
    }

    /// `count` subscriptions of `account` to `onContactCreate`, delivering to `url`.
    pub async fn subscriptions(&self, account: &str, url: &str, count: usize) -> Result<()> {
        for n in 0..count {
            let subscription = json!({"url": format!("{url}/{account}/{n}"),
                "events": ["onContactCreate"]});
            self.post(
                &format!("/api/v1/accounts/{account}/subscriptions"),
                subscription,
            )
            .await?;
        }
        Ok(())
    }

    /// Uploads an app with `manifest` and `server.js`; returns its id.
    pub async fn app(&self, manifest: &Value, server_js: &str) -> Result<String> {
        let package = weir_testkit::zip(&[
            ("manifest.json", &manifest.to_string()),
            ("server/server.js", server_js),
        ]);
        let app = self
            .call(
                reqwest::Method::POST,
                "/api/v1/apps",
                Some((package, "application/zip")),
            )
            .await?;
        Ok(app["id"].as_str().context("the app's id")?.to_owned())
    }

    /// Installs the app in the account; returns the installation.
    pub async fn install(&self, account: &str, app_id: &str) -> Result<Value> {
        self.post(
            &format!("/api/v1/accounts/{account}/installations"),
            json!({"app_id": app_id}),
        )
        .await
    }

    /// The value of a sample on `/metrics` (summed over the family's samples whose
    /// line starts with `prefix`).
    pub async fn metric(&self, prefix: &str) -> Result<f64> {
        let text = self
            .client
            .get(format!("{}/metrics", self.base))
            .send()
            .await?
            .text()
            .await?;
        Ok(text
            .lines()
            .filter(|line| line.starts_with(prefix))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum())
    }

    pub async fn statements(&self) -> Result<f64> {
        self.metric("weir_store_statements_total").await
    }

    /// Handler runs finished on this node, whatever their outcome.
    pub async fn invocations(&self) -> Result<f64> {
        self.metric("weir_invocations_total{").await
    }

    /// Waits until this node ran `expected` handlers in all, or `limit` passed; returns
    /// when the last one it saw finished.
    pub async fn wait_for_invocations(
        &self,
        expected: f64,
        started: Instant,
        limit: Duration,
    ) -> Result<(f64, Duration)> {
        let (mut seen, mut at) = (0.0, started.elapsed());
        while started.elapsed() < limit {
            let now = self.invocations().await?;
            if now > seen {
                (seen, at) = (now, started.elapsed());
            }
            if seen >= expected {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok((seen, at))
    }

    /// Resident memory now and at its peak, in MiB, from `/proc`.
    pub fn memory_mib(&self) -> (f64, f64) {
        memory_mib(self.pid())
    }
}

pub fn memory_mib(pid: u32) -> (f64, f64) {
    let status =
        std::fs::read_to_string(PathBuf::from(format!("/proc/{pid}/status"))).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next()?.parse::<f64>().ok())
            .map_or(f64::NAN, |kib| kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}
