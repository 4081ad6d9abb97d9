//! Durable acknowledgements on a target URL against the ceiling of this machine.
//!
//! The same client (64 connections, a 1 KB JSON body each time) posts for 5 s to:
//! - the ceiling: a bare HTTP server in this process that reads the body and answers 200;
//! - `weir serve --role api` (embedded SQLite, `synchronous=FULL`): each 200 means the
//!   event and its job are committed, so this is the acknowledgement path alone;
//! - `weir serve` with workers: the same, while the handlers run on the same two cores.
//!
//! `cargo bench -p weir --bench target_url` prints requests per second and the ratio of
//! each to the ceiling.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::process::Child;
use weir_testkit::TempDir;

const CONNECTIONS: usize = 64;
const SECONDS: u64 = 5;
const ADMIN_TOKEN: &str = "bench-admin-token-0123456789";

fn body() -> String {
    json!({"issue": {"key": "FD-1", "summary": "x".repeat(900)}}).to_string()
}

/// Requests per second that got a 200 from `url`.
async fn load(url: &str) -> f64 {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()
        .unwrap();
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(SECONDS);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CONNECTIONS {
        let (client, url, done, body) = (client.clone(), url.to_owned(), done.clone(), body());
        tasks.spawn(async move {
            while Instant::now() < deadline {
                let sent = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(sent.status(), 200, "{}", sent.text().await.unwrap());
                done.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    tasks.join_all().await;
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

async fn bare_server() -> String {
    let app = axum::Router::new().fallback(|_body: axum::body::Bytes| async { "ok" });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}/in/anything")
}

/// A running `weir serve` and its base URL.
async fn weir(dir: &TempDir, role: &str) -> (Child, String) {
    let bin = env!("CARGO_BIN_EXE_weir");
    let args = ["--role", role, "--external-events-per-minute", "100000000"];
    weir_testkit::serve_weir(bin, dir.path(), &args, ADMIN_TOKEN).await
}

/// An account with an app whose `onExternalEvent` does nothing; returns its target URL.
async fn target_url(base: &str) -> String {
    let client = reqwest::Client::new();
    let post = |path: &str, body: reqwest::Body, content_type: &str| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(ADMIN_TOKEN)
            .header("content-type", content_type)
            .body(body)
    };
    let account = json!({"id": "bench", "domain": "bench.freshdesk.com", "region": "US",
        "product": "freshdesk"});
    post(
        "/api/v1/accounts",
        account.to_string().into(),
        "application/json",
    )
    .send()
    .await
    .unwrap();
    let manifest = json!({"name": "bench", "platform-version": "2.3",
        "product": {"freshdesk": {"events": {"onExternalEvent": {"handler": "external"}}}}});
    let package = weir_testkit::zip(&[
        ("manifest.json", &manifest.to_string()),
        (
            "server/server.js",
            "exports = { external: function (payload) {} };",
        ),
    ]);
    let app: Value = post("/api/v1/apps", package.into(), "application/zip")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let install = json!({"app_id": app["id"]});
    let installation: Value = post(
        "/api/v1/accounts/bench/installations",
        install.to_string().into(),
        "application/json",
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    installation["target_url"].as_str().unwrap().to_owned()
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let ceiling_url = bare_server().await;
        load(&ceiling_url).await; // warm up
        let ceiling = load(&ceiling_url).await;
        let mut results = Vec::new();
        for role in ["api", "api,worker"] {
            let dir = TempDir::new();
            let (child, base) = weir(&dir, role).await;
            let url = target_url(&base).await;
            results.push((role, load(&url).await));
            drop(child);
        }
        println!(
            "target URL acknowledgements, {CONNECTIONS} connections, 1 KB JSON, {SECONDS} s each; {cores} logical CPUs ({}):",
            weir_testkit::cpu_model()
        );
        println!("  ceiling, a bare HTTP server answering 200:     {ceiling:>8.0}/s");
        for (role, rate) in results {
            println!(
                "  weir --role {role:<11} (SQLite, fsynced):   {rate:>8.0}/s  ({:.2} x ceiling)",
                rate / ceiling
            );
        }
    });
}
