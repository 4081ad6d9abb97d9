//! Outbound delivery on both storage backends, embedded SQLite (`synchronous=FULL`) and
//! PostgreSQL, to a receiver on loopback that answers 200 at once, beside a bare HTTP
//! baseline measured once in the same run:
//!
//! - baseline: the same kind of client POSTing 1 KB bodies straight to the receiver, 64 in
//!   flight: what this machine does with no queue at all;
//! - per backend, deliveries/s at fan-out 1 (5,000 events, one subscription) and fan-out 10
//!   (1,000 events, ten subscriptions), and their ratio to the baseline: 4 posters store
//!   events through `ingest_events` 100 a call (as the API's array posts do) while the
//!   deliverer runs, until every delivery came. Each run also says whether every delivery
//!   came exactly once: distinct `webhook-id`s against the number expected, and how many
//!   came more than once;
//! - per backend, publish→receive latency at 1,000 events/s for 5 s (fan-out 1, one event
//!   a call, as they happen), from the event's receipt (its `eventTime`) to the receiver's
//!   clock;
//! - SQL statements per delivery and per event in the fan-out 10 run: SQLite only, the one
//!   store that counts its statements.
//!
//! A wait that sees no new delivery for 30 s reports a stall and the run goes on. The
//! engine's warnings and errors go to stderr.
//!
//! `cargo bench -p weir-engine --bench delivery`
//!
//! PostgreSQL is the server of `WEIR_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`), in a fresh database each run.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::HeaderMap;
use serde_json::{Value, json};
use weir_core::{
    Account, AccountId, Departments, Domain, EventId, Product, ProductEvent, Region,
    SubscriptionId, SubscriptionKind, WebhookSecret, WebhookSubscription,
};
use weir_engine::outbound::{Cidr, Outbound, OutboundSettings};
use weir_engine::{Platform, PlatformSettings, deliverer};
use weir_store::{PgStore, SqliteStore, Store};
use weir_testkit::TempDir;

/// Requests in flight for the baseline.
const IN_FLIGHT: usize = 64;
/// Concurrent posters in the throughput runs…
const POSTERS: usize = 4;
/// …each storing this many events a call.
const BATCH: usize = 100;
/// No new delivery for this long is a stall.
const STALL: Duration = Duration::from_secs(30);
/// How long to keep counting after the last delivery came, for late repeats.
const SETTLE: Duration = Duration::from_millis(250);
/// The latency run: one event a millisecond for this many.
const PACED_EVENTS: usize = 5_000;

#[derive(Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite (synchronous=FULL, temp dir)",
            Backend::Postgres => "PostgreSQL",
        }
    }

    /// A new, empty store, with the directory it lives in if it has one.
    async fn open(self) -> (Arc<dyn Store>, Option<TempDir>) {
        let (store, dir): (Arc<dyn Store>, _) = match self {
            Backend::Sqlite => {
                let dir = TempDir::new();
                let store = SqliteStore::open(dir.path()).await.unwrap();
                (Arc::new(store), Some(dir))
            }
            Backend::Postgres => {
                let url = weir_testkit::fresh_postgres_database().await;
                (Arc::new(PgStore::connect(&url).await.unwrap()), None)
            }
        };
        let key = weir_core::SealingKey::generate().unwrap();
        store
            .unlock(weir_core::Keyring::new(key, vec![]))
            .await
            .unwrap();
        (store, dir)
    }

    /// The statements this backend's stores ran so far in this process, if it counts them.
    fn statements_run(self) -> Option<u64> {
        match self {
            Backend::Sqlite => Some(SqliteStore::statements_run()),
            Backend::Postgres => None,
        }
    }
}

/// A receiver on loopback that answers 200 at once and notes what it got.
struct Receiver {
    url: String,
    arrivals: Mutex<Arrivals>,
}

/// What the receiver got since it was last cleared.
#[derive(Default)]
struct Arrivals {
    /// How many times each `webhook-id` came.
    times: HashMap<String, u32>,
    /// Each delivery's wait from its event's receipt (`eventTime`) to its arrival.
    latencies_ms: Vec<f64>,
}

/// How the deliveries a run expected came.
struct Arrived {
    expected: usize,
    /// Distinct `webhook-id`s.
    distinct: usize,
    /// `webhook-id`s that came more than once.
    repeated: usize,
    /// From the start of the run to the last new delivery (or to the stall).
    elapsed: Duration,
    stalled: bool,
}

impl Receiver {
    async fn start() -> Arc<Receiver> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Arc::new(Receiver {
            url: format!("http://{}/hook", listener.local_addr().unwrap()),
            arrivals: Mutex::default(),
        });
        let noting = receiver.clone();
        let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
            let receiver = noting.clone();
            async move {
                receiver.note(&headers, &body);
                "ok"
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        receiver
    }

    fn note(&self, headers: &HeaderMap, body: &[u8]) {
        let now = weir_core::now();
        let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let mut arrivals = self.arrivals.lock().unwrap();
        if let Some(id) = headers.get("webhook-id").and_then(|v| v.to_str().ok()) {
            *arrivals.times.entry(id.to_owned()).or_default() += 1;
        }
        if let Some(sent) = parsed[0]["eventTime"].as_str()
            && let Ok(sent) = sent.parse::<jiff::Timestamp>()
        {
            let waited = now.duration_since(sent).as_secs_f64() * 1000.0;
            arrivals.latencies_ms.push(waited);
        }
    }

    fn clear(&self) {
        *self.arrivals.lock().unwrap() = Arrivals::default();
    }

    /// Waits until `expected` distinct deliveries came since the last `clear`, or until
    /// none came for `STALL`.
    async fn await_deliveries(&self, expected: usize, started: Instant) -> Arrived {
        let (mut seen, mut progressed) = (0, Instant::now());
        let (elapsed, stalled) = loop {
            let distinct = self.arrivals.lock().unwrap().times.len();
            if distinct >= expected {
                break (started.elapsed(), false);
            }
            if distinct > seen {
                (seen, progressed) = (distinct, Instant::now());
            } else if progressed.elapsed() >= STALL {
                break (started.elapsed(), true);
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        tokio::time::sleep(SETTLE).await;
        let arrivals = self.arrivals.lock().unwrap();
        Arrived {
            expected,
            distinct: arrivals.times.len(),
            repeated: arrivals.times.values().filter(|n| **n > 1).count(),
            elapsed,
            stalled,
        }
    }
}

impl Arrived {
    fn per_second(&self) -> f64 {
        self.distinct as f64 / self.elapsed.as_secs_f64()
    }

    fn exactly(&self) -> String {
        let verdict = if self.stalled {
            format!("STALLED: nothing new for {} s", STALL.as_secs())
        } else if self.distinct == self.expected && self.repeated == 0 {
            "all, once each".into()
        } else {
            "NOT EXACT".into()
        };
        format!(
            "{} of {} distinct webhook-ids, {} more than once: {verdict}",
            self.distinct, self.expected, self.repeated
        )
    }
}

async fn baseline(url: &str, requests: usize) -> f64 {
    let client = reqwest::Client::new();
    let body =
        json!([{"eventType": "onContactCreate", "payload": {"pad": "x".repeat(900)}}]).to_string();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..requests {
        if tasks.len() == IN_FLIGHT {
            tasks.join_next().await.unwrap().unwrap();
        }
        let (client, url, body) = (client.clone(), url.to_owned(), body.clone());
        tasks.spawn(async move {
            let sent = client
                .post(url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await;
            assert_eq!(sent.unwrap().status(), 200);
        });
    }
    tasks.join_all().await;
    requests as f64 / started.elapsed().as_secs_f64()
}

fn event(account: &str) -> ProductEvent {
    ProductEvent {
        id: EventId::generate(),
        account_id: AccountId::parse(account).unwrap(),
        source: weir_core::EventSource::Product(Product::parse("freshsales").unwrap()),
        name: "onContactCreate".into(),
        body: json!({"data": {"contact": {"id": 42, "pad": "x".repeat(900)}}}),
        idempotency_key: None,
        received_at: weir_core::now(),
    }
}

async fn account_with_subscriptions(store: &Arc<dyn Store>, id: &str, url: &str, fan_out: usize) {
    let now = weir_core::now();
    store
        .insert_account(&Account {
            id: AccountId::parse(id).unwrap(),
            domain: Domain::parse("bench.myfreshworks.com").unwrap(),
            region: Region::US,
            product: Product::parse("freshsales").unwrap(),
            departments: Departments::default(),
            created_at: now,
            updated_at: now,
        })
        .await
        .unwrap();
    for n in 0..fan_out {
        store
            .insert_webhook_subscription(&WebhookSubscription {
                id: SubscriptionId::generate(),
                account_id: AccountId::parse(id).unwrap(),
                installation_id: None,
                kind: SubscriptionKind::CustomerWebhook,
                url: format!("{url}/{n}"),
                events: vec!["onContactCreate".into()],
                filters: serde_json::Map::new(),
                secret: WebhookSecret::generate(),
                previous_secrets: Vec::new(),
                enabled: true,
                disabled_reason: None,
                timeout_ms: 15_000,
                max_in_flight: weir_core::delivery::DEFAULT_MAX_IN_FLIGHT,
                rate_per_second: None,
                fifo: false,
                batch_size: 1,
                linger_ms: 0,
                failing_since: None,
                created_at: now,
                updated_at: now,
            })
            .await
            .unwrap();
    }
}

/// One backend's platform with its deliverer running, and three accounts: `one` (one
/// subscription), `ten` (ten) and `paced` (one, for the latency run). Its deliverer runs
/// until the process ends (it has no shutdown), idle once its runs are over; the store
/// and its directory are kept until then.
struct Node {
    backend: Backend,
    platform: Arc<Platform>,
    _dir: Option<TempDir>,
}

impl Node {
    async fn start(backend: Backend, receiver: &Receiver) -> Node {
        let (store, dir) = backend.open().await;
        let outbound = Outbound::new(OutboundSettings {
            allow_private: vec!["127.0.0.0/8".parse::<Cidr>().unwrap()],
            ..OutboundSettings::default()
        });
        let platform = Arc::new(Platform::new(
            store.clone(),
            outbound,
            PlatformSettings::default(),
        ));
        deliverer::spawn(platform.clone());
        account_with_subscriptions(&store, "one", &receiver.url, 1).await;
        account_with_subscriptions(&store, "ten", &receiver.url, 10).await;
        account_with_subscriptions(&store, "paced", &receiver.url, 1).await;
        Node {
            backend,
            platform,
            _dir: dir,
        }
    }

    /// The deliverer's panics and whether the node would be ready, as `/metrics` and
    /// `/readyz` say.
    fn deliverer_health(&self) -> String {
        let mut metrics = String::new();
        self.platform.workers().render(&mut metrics);
        let panics = metrics
            .lines()
            .find_map(|line| line.strip_prefix("weir_worker_panics_total{worker=\"deliverer\"} "))
            .unwrap_or("?")
            .to_owned();
        let unready = self.platform.workers().unready();
        let readiness = if unready.is_empty() {
            "node ready".to_owned()
        } else {
            format!("NOT READY: {}", unready.join("; "))
        };
        format!("{panics} deliverer panics, {readiness}")
    }
}

/// Wakes the deliverer after storing events with deliveries, as the API does.
fn deliveries_stored(platform: &Platform) {
    platform.wake(weir_store::WorkQueue::Deliveries);
}

/// A throughput run's outcome.
struct Throughput {
    /// Until the posters had stored every event.
    stored: Duration,
    arrived: Arrived,
}

/// Stores `events` events for `account` through `ingest_events`, `BATCH` a call, from
/// `POSTERS` concurrent posters, and waits until `expected` deliveries came.
async fn throughput(
    node: &Node,
    receiver: &Receiver,
    account: &str,
    events: usize,
    expected: usize,
) -> Throughput {
    receiver.clear();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut posters = tokio::task::JoinSet::new();
    for _ in 0..POSTERS {
        let (platform, account, next) = (node.platform.clone(), account.to_owned(), next.clone());
        posters.spawn(async move {
            loop {
                let first = next.fetch_add(BATCH, Ordering::Relaxed);
                if first >= events {
                    break;
                }
                let batch: Vec<ProductEvent> = (first..events.min(first + BATCH))
                    .map(|_| event(&account))
                    .collect();
                platform
                    .store()
                    .ingest_events(&batch)
                    .await
                    .expect("storing a batch of events");
                deliveries_stored(&platform);
            }
        });
    }
    posters.join_all().await;
    let stored = started.elapsed();
    let arrived = receiver.await_deliveries(expected, started).await;
    Throughput { stored, arrived }
}

/// A latency run's outcome.
struct Latency {
    /// Until every event was stored: more than 5 s when the store cannot keep up with the
    /// rate, and the latencies then measure a queue.
    stored: Duration,
    /// Publish→receive, sorted.
    latencies_ms: Vec<f64>,
    arrived: Arrived,
}

/// Stores one event a millisecond for `paced` (fan-out 1), each in its own call, and
/// waits until each was delivered.
async fn latency(node: &Node, receiver: &Receiver) -> Latency {
    receiver.clear();
    let started = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_millis(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut posts = tokio::task::JoinSet::new();
    for _ in 0..PACED_EVENTS {
        ticker.tick().await;
        let platform = node.platform.clone();
        posts.spawn(async move {
            platform
                .store()
                .ingest_events(&[event("paced")])
                .await
                .expect("storing an event");
            deliveries_stored(&platform);
        });
    }
    posts.join_all().await;
    let stored = started.elapsed();
    let arrived = receiver.await_deliveries(PACED_EVENTS, started).await;
    let mut latencies_ms = receiver.arrivals.lock().unwrap().latencies_ms.clone();
    latencies_ms.sort_by(f64::total_cmp);
    Latency {
        stored,
        latencies_ms,
        arrived,
    }
}

/// Everything measured on one backend.
struct Measured {
    fan_out_1: Throughput,
    fan_out_10: Throughput,
    /// Statements during the fan-out 10 run, if the backend counts them.
    statements: Option<u64>,
    latency: Latency,
    health: String,
}

/// Starts a node on `backend` and runs every scenario on it. The node is returned so that
/// its idle deliverer keeps a store to look at until the process ends.
async fn measure(backend: Backend, receiver: &Receiver) -> (Node, Measured) {
    let node = Node::start(backend, receiver).await;
    throughput(&node, receiver, "one", 500, 500).await; // warm up
    let fan_out_1 = throughput(&node, receiver, "one", 5_000, 5_000).await;
    let before = backend.statements_run();
    let fan_out_10 = throughput(&node, receiver, "ten", 1_000, 10_000).await;
    let statements = backend.statements_run().zip(before).map(|(a, b)| a - b);
    let latency = latency(&node, receiver).await;
    let health = node.deliverer_health();
    let measured = Measured {
        fan_out_1,
        fan_out_10,
        statements,
        latency,
        health,
    };
    (node, measured)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p) as usize]
}

fn report(backend: Backend, measured: &Measured, ceiling: f64) {
    println!("  {}:", backend.name());
    for (label, run, events) in [
        ("fan-out 1, 5,000 events: ", &measured.fan_out_1, 5_000.0),
        ("fan-out 10, 1,000 events:", &measured.fan_out_10, 1_000.0),
    ] {
        let rate = run.arrived.per_second();
        println!(
            "    {label} {rate:>8.0} deliveries/s ({:.2} x baseline); stored in {:.2} s ({:.0} events/s)",
            rate / ceiling,
            run.stored.as_secs_f64(),
            events / run.stored.as_secs_f64(),
        );
        println!("      arrived: {}", run.arrived.exactly());
    }
    match measured.statements {
        Some(statements) => {
            let statements = statements as f64;
            println!(
                "    SQL statements (fan-out 10): {:.2} per delivery, {:.1} per event",
                statements / 10_000.0,
                statements / 1_000.0
            );
        }
        None => println!("    SQL statements: not counted (only the SQLite store counts them)"),
    }
    let latencies = &measured.latency.latencies_ms;
    println!(
        "    publish -> receive at 1,000 events/s for 5 s: p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
        percentile(latencies, 0.5),
        percentile(latencies, 0.99),
        percentile(latencies, 1.0),
    );
    println!(
        "      all stored after {:.2} s; arrived: {}",
        measured.latency.stored.as_secs_f64(),
        measured.latency.arrived.exactly()
    );
    println!("    {}", measured.health);
}

/// The machine's load average over the last minute: other work on it skews the figures.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

fn main() {
    let load_before = load_average();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let receiver = Receiver::start().await;
        baseline(&receiver.url, 2_000).await; // warm up
        let ceiling = baseline(&receiver.url, 5_000).await;
        println!(
            "deliveries to a receiver on loopback, {cores} logical CPUs ({}); \
             throughput runs: {POSTERS} posters storing {BATCH} events a call",
            weir_testkit::cpu_model()
        );
        println!("  baseline, 1 KB POSTs straight to the receiver: {ceiling:>8.0}/s");
        let mut nodes = Vec::new();
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let (node, measured) = measure(backend, &receiver).await;
            report(node.backend, &measured, ceiling);
            nodes.push(node);
        }
        println!(
            "  load average (1 min): {load_before} before the run, {} after",
            load_average()
        );
    });
}
