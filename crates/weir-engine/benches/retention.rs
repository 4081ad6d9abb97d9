//! What retention costs and what it keeps, on embedded SQLite and on PostgreSQL, with the
//! real dispatcher running a trivial handler for every event (so each event leaves an
//! event row, a job and a handler run's record):
//!
//! - steady state: events posted at a fixed rate (an open loop) for 40 s, the database's
//!   size read every 5 s, once with every record kept 8 s (retention looks every second)
//!   and once with the default 30 days: with retention the size levels off, without it
//!   it grows with every event;
//! - cost on ingest: events ingested as fast as 64 callers can for 8 s, while retention
//!   (every record kept 2 s) deletes behind them, against the same with retention off:
//!   the ratio is what retention's deletes take from ingest.
//!
//! `cargo bench -p weir-engine --bench retention` (PostgreSQL at `WEIR_TEST_DATABASE_URL`,
//! else `postgres://postgres@127.0.0.1:5432/test`; a fresh database each run).

mod support;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use weir_core::ProductEvent;
use weir_engine::outbound::{Outbound, OutboundSettings};
use weir_engine::retention::Retention;
use weir_engine::{Platform, PlatformSettings, Runner, RunnerSettings, dispatcher, retention};
use weir_sandbox::{Limits, Sandbox};
use weir_store::{PgStore, SqliteStore, Store};
use weir_testkit::TempDir;

const RATE_PER_SECOND: u64 = 200;
const STEADY_SECONDS: u64 = 40;
const SAMPLE_EVERY: Duration = Duration::from_secs(5);
const STEADY_KEPT: Duration = Duration::from_secs(8);
const INGEST_SECONDS: u64 = 8;
const INGEST_KEPT: Duration = Duration::from_secs(2);
const IN_FLIGHT: usize = 64;

#[derive(Clone, Copy, PartialEq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// Where the database lives, to read its size.
enum Location {
    Directory(TempDir),
    Postgres(String),
}

struct Bench {
    store: Arc<dyn Store>,
    runner: Arc<Runner>,
    location: Location,
}

async fn set_up(backend: Backend, kept: Option<Duration>) -> Bench {
    let (store, location): (Arc<dyn Store>, Location) = match backend {
        Backend::Sqlite => {
            let dir = TempDir::new();
            let store = SqliteStore::open(dir.path()).await.unwrap();
            (Arc::new(store), Location::Directory(dir))
        }
        Backend::Postgres => {
            let url = weir_testkit::fresh_postgres_database().await;
            let store = PgStore::connect(&url).await.unwrap();
            (Arc::new(store), Location::Postgres(url))
        }
    };
    let retention = match kept {
        Some(kept) => Retention {
            events: kept,
            invocations: kept,
            attempts: kept,
            webhook_calls: kept,
        },
        None => Retention::default(),
    };
    let settings = PlatformSettings {
        retention,
        ..PlatformSettings::default()
    };
    let platform = Arc::new(Platform::new(
        store.clone(),
        Outbound::new(OutboundSettings::default()),
        settings,
    ));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runner = Arc::new(Runner::new(
        platform.clone(),
        Sandbox::start(cores).unwrap(),
        RunnerSettings {
            public_url: "https://weir.example.com".into(),
            limits: Limits::default(),
            env: "production",
        },
    ));
    support::install_listening_app(store.as_ref()).await;
    dispatcher::spawn(runner.clone());
    if kept.is_some() {
        retention::spawn(platform);
    }
    Bench {
        store,
        runner,
        location,
    }
}

fn event() -> ProductEvent {
    support::contact_event(
        json!({"contact": {"id": 42, "first_name": "Ada", "note": "x".repeat(400)}}),
    )
}

async fn ingest_one(bench: &Bench) {
    bench.store.ingest_events(&[event()]).await.unwrap();
    bench.runner.platform().wake(weir_store::WorkQueue::Jobs);
}

/// The database's size on disk, in MiB: SQLite's files (database, WAL), or
/// PostgreSQL's `pg_database_size`.
async fn size_mib(location: &Location) -> f64 {
    let bytes = match location {
        Location::Directory(dir) => directory_bytes(dir.path().to_path_buf()),
        Location::Postgres(url) => {
            use sqlx::Connection;
            let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
            let (bytes,): (i64,) = sqlx::query_as("SELECT pg_database_size(current_database())")
                .fetch_one(&mut connection)
                .await
                .unwrap();
            bytes as u64
        }
    };
    bytes as f64 / (1024.0 * 1024.0)
}

fn directory_bytes(dir: PathBuf) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|entry| entry.ok()?.metadata().ok())
        .filter(|metadata| metadata.is_file())
        .map(|metadata| metadata.len())
        .sum()
}

/// The size every `SAMPLE_EVERY` while events arrive at `RATE_PER_SECOND`.
async fn steady_state(bench: Arc<Bench>) -> Vec<(u64, f64)> {
    let posting = {
        let bench = bench.clone();
        tokio::spawn(async move {
            let mut ticker =
                tokio::time::interval(Duration::from_micros(1_000_000 / RATE_PER_SECOND));
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..RATE_PER_SECOND * STEADY_SECONDS {
                ticker.tick().await;
                let bench = bench.clone();
                tasks.spawn(async move { ingest_one(&bench).await });
            }
            tasks.join_all().await;
        })
    };
    let started = Instant::now();
    let mut samples = Vec::new();
    while started.elapsed() < Duration::from_secs(STEADY_SECONDS) {
        tokio::time::sleep(SAMPLE_EVERY).await;
        samples.push((started.elapsed().as_secs(), size_mib(&bench.location).await));
    }
    posting.await.unwrap();
    samples
}

/// Events acknowledged per second by `IN_FLIGHT` callers posting for `INGEST_SECONDS`.
async fn ingest_rate(bench: Arc<Bench>) -> f64 {
    let acknowledged = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(INGEST_SECONDS);
    let mut callers = tokio::task::JoinSet::new();
    for _ in 0..IN_FLIGHT {
        let (bench, acknowledged) = (bench.clone(), acknowledged.clone());
        callers.spawn(async move {
            while Instant::now() < until {
                ingest_one(&bench).await;
                acknowledged.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    callers.join_all().await;
    acknowledged.load(Ordering::Relaxed) as f64 / INGEST_SECONDS as f64
}

fn series(samples: &[(u64, f64)]) -> String {
    samples
        .iter()
        .map(|(at, mib)| format!("{at}s {mib:.1}"))
        .collect::<Vec<_>>()
        .join(" | ")
}

async fn measure(backend: Backend, name: &str) {
    let with = steady_state(Arc::new(set_up(backend, Some(STEADY_KEPT)).await)).await;
    let without = steady_state(Arc::new(set_up(backend, None).await)).await;
    let ingest_with = ingest_rate(Arc::new(set_up(backend, Some(INGEST_KEPT)).await)).await;
    let ingest_without = ingest_rate(Arc::new(set_up(backend, None).await)).await;
    println!("{name}:");
    println!(
        "  size (MiB) at {RATE_PER_SECOND} events/s, records kept {} s: {}",
        STEADY_KEPT.as_secs(),
        series(&with)
    );
    println!(
        "  size (MiB) at {RATE_PER_SECOND} events/s, records kept 30 days: {}",
        series(&without)
    );
    let (last_with, last_without) = (with.last().unwrap().1, without.last().unwrap().1);
    println!(
        "  after {STEADY_SECONDS} s: {last_with:.1} MiB against {last_without:.1} MiB ({:.2} x)",
        last_with / last_without
    );
    println!(
        "  ingest, {IN_FLIGHT} callers for {INGEST_SECONDS} s: {ingest_with:.0}/s while retention deletes \
         (records kept {} s), {ingest_without:.0}/s without ({:.2} x)",
        INGEST_KEPT.as_secs(),
        ingest_with / ingest_without
    );
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        println!(
            "retention, {cores} logical CPUs ({}):",
            weir_testkit::cpu_model()
        );
        measure(Backend::Sqlite, "embedded SQLite").await;
        measure(Backend::Postgres, "PostgreSQL").await;
    });
}
