//! Product events from ingest to handler, on embedded SQLite (`synchronous=FULL`), with a
//! trivial handler, one listening installation, and the real dispatcher:
//!
//! - baseline: the same handler run directly by the runner (sandbox and invocation
//!   record, no ingest, no dispatch), 64 in flight;
//! - throughput: events ingested one per call, 64 in flight, until every job is done;
//!   the ratio to the baseline is what ingest and dispatch cost;
//! - latency: events posted at a fixed rate (an open loop: one every 2 ms, 500/s) for
//!   10 s; ingest→handler-start is the handler's record start minus the event's
//!   receipt, both in milliseconds;
//! - SQL statements per event during the throughput run (transaction control aside).
//!
//! `cargo bench -p weir-engine --bench fan_out`

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use weir_core::{Installation, ProductEvent};
use weir_engine::outbound::{Outbound, OutboundSettings};
use weir_engine::{Platform, PlatformSettings, Runner, RunnerSettings, dispatcher};
use weir_sandbox::{Limits, Sandbox};
use weir_store::{SqliteStore, Store};
use weir_testkit::TempDir;

const EVENTS: usize = 3_000;
const IN_FLIGHT: usize = 64;
const RATE_PER_SECOND: u64 = 500;
const RATE_SECONDS: u64 = 10;

struct Bench {
    runner: Arc<Runner>,
    store: Arc<dyn Store>,
    installation: Arc<Installation>,
    _dir: TempDir,
}

async fn set_up(threads: usize) -> Bench {
    let dir = TempDir::new();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).await.unwrap());
    let key = weir_core::SealingKey::generate().unwrap();
    store
        .unlock(weir_core::Keyring::new(key, vec![]))
        .await
        .unwrap();
    let platform = Platform::new(
        store.clone(),
        Outbound::new(OutboundSettings::default()),
        PlatformSettings::default(),
    );
    let settings = RunnerSettings {
        public_url: "https://weir.example.com".into(),
        limits: Limits::default(),
        env: "production",
    };
    let sandbox = Sandbox::start(threads).unwrap();
    let runner = Arc::new(Runner::new(Arc::new(platform), sandbox, settings));
    let installation = support::install_listening_app(store.as_ref()).await;
    Bench {
        runner,
        store,
        installation: Arc::new(installation),
        _dir: dir,
    }
}

fn event() -> ProductEvent {
    support::contact_event(json!({"contact": {"id": 42, "first_name": "Ada"}}))
}

/// Handler runs per second with no ingest and no dispatch.
async fn baseline(bench: &Bench) -> f64 {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..EVENTS {
        if tasks.len() == IN_FLIGHT {
            tasks.join_next().await.unwrap().unwrap();
        }
        let (runner, installation) = (bench.runner.clone(), bench.installation.clone());
        tasks.spawn(async move {
            let payload = json!({"data": {"contact": {"id": 42}}});
            let record = runner
                .run_handler(installation, "onContactCreate", "onContact", payload)
                .await
                .unwrap();
            assert_eq!(record.status, weir_core::InvocationStatus::Success);
        });
    }
    tasks.join_all().await;
    EVENTS as f64 / started.elapsed().as_secs_f64()
}

/// Waits until no job is pending.
async fn drained(store: &Arc<dyn Store>) {
    while store.next_job_due().await.unwrap().is_some() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Events per second from the first ingest to the last handler's end, and the SQL
/// statements each event cost.
async fn throughput(bench: &Bench) -> (f64, f64) {
    let statements = SqliteStore::statements_run();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..EVENTS {
        if tasks.len() == IN_FLIGHT {
            tasks.join_next().await.unwrap().unwrap();
        }
        let (store, runner) = (bench.store.clone(), bench.runner.clone());
        tasks.spawn(async move {
            store.ingest_events(&[event()]).await.unwrap();
            runner.platform().wake(weir_store::WorkQueue::Jobs);
        });
    }
    tasks.join_all().await;
    drained(&bench.store).await;
    let per_second = EVENTS as f64 / started.elapsed().as_secs_f64();
    let per_event = (SqliteStore::statements_run() - statements) as f64 / EVENTS as f64;
    (per_second, per_event)
}

/// Ingest→handler-start latencies (ms) of events posted at `RATE_PER_SECOND`.
async fn latencies_at_rate(bench: &Bench) -> Vec<i64> {
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / RATE_PER_SECOND));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..RATE_PER_SECOND * RATE_SECONDS {
        ticker.tick().await;
        let (store, runner) = (bench.store.clone(), bench.runner.clone());
        tasks.spawn(async move {
            let event = event();
            store
                .ingest_events(std::slice::from_ref(&event))
                .await
                .unwrap();
            runner.platform().wake(weir_store::WorkQueue::Jobs);
            event
        });
    }
    let events = tasks.join_all().await;
    drained(&bench.store).await;
    let mut latencies = Vec::with_capacity(events.len());
    for event in events {
        let jobs = bench.store.jobs_of_event(&event.id).await.unwrap();
        let record_id = jobs[0].last_invocation.clone().expect("the job ran");
        let record = bench.store.invocation(&record_id).await.unwrap().unwrap();
        latencies.push(record.started_at.as_millisecond() - event.received_at.as_millisecond());
    }
    latencies.sort();
    latencies
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    sorted[((sorted.len() - 1) as f64 * p) as usize]
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let bench = set_up(cores).await;
        let _ = bench.runner.app(&bench.installation.app_id).await.unwrap();
        baseline(&bench).await; // warm up threads, caches and the database file
        let direct = baseline(&bench).await;
        dispatcher::spawn(bench.runner.clone());
        let (through, statements) = throughput(&bench).await;
        let latencies = latencies_at_rate(&bench).await;
        println!("product events on SQLite, {cores} logical CPUs ({}):", weir_testkit::cpu_model());
        println!("  baseline, handler runs without ingest or dispatch: {direct:>7.0}/s");
        println!(
            "  ingest -> handler done, {EVENTS} events, {IN_FLIGHT} in flight:   {through:>7.0}/s  ({:.2} x baseline)",
            through / direct
        );
        println!("  SQL statements per event:                          {statements:>7.1}");
        println!(
            "  ingest -> handler start at {RATE_PER_SECOND}/s for {RATE_SECONDS} s: p50 {} ms  p99 {} ms  max {} ms",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99),
            latencies.last().unwrap()
        );
    });
}
