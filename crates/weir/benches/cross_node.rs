//! How soon a handler starts after its event is acknowledged, from the event's
//! `received_at` to its invocation's `started_at` (one clock: both nodes run here), on
//! PostgreSQL:
//!
//! - baseline: one node with both roles, whose workers are woken in memory;
//! - two nodes: the event posted to `--role api`, the handler run by `--role worker`,
//!   which hears of it through PostgreSQL's `NOTIFY` (without it, it would find the job
//!   at its next look, up to 2 s later).
//!
//! Events are posted one at a time, each once the last one's handler has run, so the
//! figures are the wake-up path alone, not a queue.
//!
//! `cargo bench -p weir --bench cross_node` prints p50, p95 and p99 for each.

use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Value, json};
use tokio::process::Child;
use weir_testkit::TempDir;

const EVENTS: usize = 200;
const ADMIN_TOKEN: &str = "bench-admin-token-0123456789";

/// A running `weir serve` on the database, with `role`, and its base URL.
async fn weir(database: &str, dir: &TempDir, role: &str) -> (Child, String) {
    let bin = env!("CARGO_BIN_EXE_weir");
    let args = ["--role", role, "--database-url", database];
    weir_testkit::serve_weir(bin, dir.path(), &args, ADMIN_TOKEN).await
}

struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<(Vec<u8>, &str)>,
    ) -> Value {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(ADMIN_TOKEN);
        if let Some((body, content_type)) = body {
            request = request.header("content-type", content_type).body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let body = Some((body.to_string().into_bytes(), "application/json"));
        self.send(reqwest::Method::POST, path, body).await
    }

    async fn get(&self, path: &str) -> Value {
        self.send(reqwest::Method::GET, path, None).await
    }
}

/// An account with an app whose `onContactCreate` does nothing.
async fn set_up(api: &Api) {
    let account = json!({"id": "bench", "domain": "bench.myfreshworks.com", "region": "US",
        "product": "freshsales"});
    api.post("/api/v1/accounts", account).await;
    let manifest = json!({"name": "bench", "platform-version": "2.3",
        "product": {"freshsales": {"events": {"onContactCreate": {"handler": "contact"}}}}});
    let package = weir_testkit::zip(&[
        ("manifest.json", &manifest.to_string()),
        (
            "server/server.js",
            "exports = { contact: function (payload) {} };",
        ),
    ]);
    let body = Some((package, "application/zip"));
    let app = api.send(reqwest::Method::POST, "/api/v1/apps", body).await;
    api.post(
        "/api/v1/accounts/bench/installations",
        json!({"app_id": app["id"]}),
    )
    .await;
}

/// Milliseconds from each event's acknowledgement to its handler's start.
async fn latencies(api: &Api) -> Vec<f64> {
    let mut waited = Vec::with_capacity(EVENTS);
    for n in 0..EVENTS {
        let event = json!({"event": "onContactCreate", "data": {"contact": {"id": n}}});
        let posted = api.post("/api/v1/accounts/bench/events", event).await;
        let id = posted["id"].as_str().unwrap();
        let (received, invocation) = loop {
            let shown = api.get(&format!("/api/v1/events/{id}")).await;
            if let Some(invocation) = shown["jobs"][0]["last_invocation"].as_str() {
                break (timestamp(&shown["received_at"]), invocation.to_owned());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        let record = api.get(&format!("/api/v1/invocations/{invocation}")).await;
        let started = timestamp(&record["started_at"]);
        waited.push(started.duration_since(received).as_secs_f64() * 1000.0);
    }
    waited.sort_by(f64::total_cmp);
    waited
}

fn timestamp(value: &Value) -> Timestamp {
    value.as_str().unwrap().parse().unwrap()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let mut results = Vec::new();
        for (name, roles) in [
            ("one node, api,worker", &["api,worker"][..]),
            ("two nodes, api → worker", &["api", "worker"][..]),
        ] {
            let database = weir_testkit::fresh_postgres_database().await;
            let dirs: Vec<TempDir> = roles.iter().map(|_| TempDir::new()).collect();
            let mut nodes = Vec::new();
            for (role, dir) in roles.iter().zip(&dirs) {
                nodes.push(weir(&database, dir, role).await);
            }
            let api = Api {
                client: client.clone(),
                base: nodes[0].1.clone(),
            };
            set_up(&api).await;
            results.push((name, latencies(&api).await));
        }
        println!(
            "event acknowledged → handler started, PostgreSQL, {EVENTS} events one at a time; {} logical CPUs ({}):",
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            weir_testkit::cpu_model()
        );
        let baseline = percentile(&results[0].1, 0.5);
        for (name, waited) in &results {
            println!(
                "  {name:<26} p50 {:>6.1} ms  p95 {:>6.1} ms  p99 {:>6.1} ms  (p50 {:.2} x one node)",
                percentile(waited, 0.5),
                percentile(waited, 0.95),
                percentile(waited, 0.99),
                percentile(waited, 0.5) / baseline
            );
        }
    });
}
