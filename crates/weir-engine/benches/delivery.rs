//! Outbound delivery on embedded SQLite (`synchronous=FULL`) to a receiver on loopback
//! that answers 200 at once, beside a bare HTTP baseline measured in the same run:
//!
//! - baseline: the same kind of client POSTing 1 KB bodies straight to the receiver, 64 in
//!   flight: what this machine does with no queue at all;
//! - deliveries/s at fan-out 1 (5,000 events, one subscription) and fan-out 10 (1,000
//!   events, ten subscriptions), events stored 64 at a time, until every delivery came;
//! - publish→receive latency at 1,000 events/s for 5 s (fan-out 1), from the event's
//!   receipt (its `eventTime`) to the receiver's clock;
//! - SQL statements per delivery and per event in the fan-out 10 run.
//!
//! `cargo bench -p weir-engine --bench delivery`

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use weir_core::{
    Account, AccountId, Departments, Domain, EventId, Product, ProductEvent, Region,
    SubscriptionId, SubscriptionKind, WebhookSecret, WebhookSubscription,
};
use weir_engine::outbound::{Cidr, Outbound, OutboundSettings};
use weir_engine::{Platform, PlatformSettings, deliverer};
use weir_store::{SqliteStore, Store};
use weir_testkit::TempDir;

const IN_FLIGHT: usize = 64;

/// Arrival times (and event times) of what the receiver got.
#[derive(Default)]
struct Arrivals {
    count: usize,
    latencies_ms: Vec<f64>,
}

async fn receiver(arrivals: Arc<Mutex<Arrivals>>) -> String {
    let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        let arrivals = arrivals.clone();
        async move {
            let now = weir_core::now();
            let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let mut arrivals = arrivals.lock().unwrap();
            arrivals.count += 1;
            if let Some(sent) = parsed[0]["eventTime"].as_str()
                && let Ok(sent) = sent.parse::<jiff::Timestamp>()
            {
                let waited = now.duration_since(sent).as_secs_f64() * 1000.0;
                arrivals.latencies_ms.push(waited);
            }
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}/hook")
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
        product: "freshsales".into(),
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
                previous_secret: None,
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

/// Stores `events` events (64 at a time) and waits until `expected` deliveries arrived;
/// returns deliveries per second.
async fn run(
    platform: &Arc<Platform>,
    arrivals: &Arc<Mutex<Arrivals>>,
    account: &str,
    events: usize,
    expected: usize,
) -> f64 {
    let before = arrivals.lock().unwrap().count;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..events {
        if tasks.len() == IN_FLIGHT {
            tasks.join_next().await.unwrap().unwrap();
        }
        let (platform, account) = (platform.clone(), account.to_owned());
        tasks.spawn(async move {
            platform
                .store
                .ingest_events(&[event(&account)])
                .await
                .unwrap();
            platform.wake(weir_store::WorkQueue::Deliveries);
        });
    }
    tasks.join_all().await;
    while arrivals.lock().unwrap().count - before < expected {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    expected as f64 / started.elapsed().as_secs_f64()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p) as usize]
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let arrivals = Arc::new(Mutex::new(Arrivals::default()));
        let url = receiver(arrivals.clone()).await;
        baseline(&url, 2_000).await; // warm up
        let ceiling = baseline(&url, 5_000).await;

        let dir = TempDir::new();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).await.unwrap());
        let outbound = Outbound::new(OutboundSettings {
            allow_private: vec!["127.0.0.0/8".parse::<Cidr>().unwrap()],
            ..OutboundSettings::default()
        });
        let platform = Arc::new(Platform::new(store.clone(), outbound, PlatformSettings::default()));
        deliverer::spawn(platform.clone());
        account_with_subscriptions(&store, "one", &url, 1).await;
        account_with_subscriptions(&store, "ten", &url, 10).await;
        account_with_subscriptions(&store, "rate", &url, 1).await;

        run(&platform, &arrivals, "one", 500, 500).await; // warm up
        let fan_out_1 = run(&platform, &arrivals, "one", 5_000, 5_000).await;
        let statements = SqliteStore::statements_run();
        let fan_out_10 = run(&platform, &arrivals, "ten", 1_000, 10_000).await;
        let statements = (SqliteStore::statements_run() - statements) as f64;

        arrivals.lock().unwrap().latencies_ms.clear();
        let before = arrivals.lock().unwrap().count;
        let mut ticker = tokio::time::interval(Duration::from_millis(1));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        for _ in 0..5_000 {
            ticker.tick().await;
            let platform = platform.clone();
            tokio::spawn(async move {
                platform.store.ingest_events(&[event("rate")]).await.unwrap();
                platform.wake(weir_store::WorkQueue::Deliveries);
            });
        }
        while arrivals.lock().unwrap().count - before < 5_000 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let mut latencies = arrivals.lock().unwrap().latencies_ms.clone();
        latencies.sort_by(f64::total_cmp);

        println!(
            "deliveries on SQLite to a receiver on loopback, {cores} logical CPUs ({}):",
            weir_testkit::cpu_model()
        );
        println!("  baseline, 1 KB POSTs straight to the receiver: {ceiling:>8.0}/s");
        println!(
            "  fan-out 1, 5,000 events:                       {fan_out_1:>8.0} deliveries/s ({:.2} x baseline)",
            fan_out_1 / ceiling
        );
        println!(
            "  fan-out 10, 1,000 events:                      {fan_out_10:>8.0} deliveries/s ({:.2} x baseline)",
            fan_out_10 / ceiling
        );
        println!(
            "  SQL statements: {:.2} per delivery, {:.1} per event (fan-out 10)",
            statements / 10_000.0,
            statements / 1_000.0
        );
        println!(
            "  publish -> receive at 1,000 events/s for 5 s: p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99),
            latencies.last().copied().unwrap_or(0.0)
        );
    });
}
