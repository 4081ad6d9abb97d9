//! The one load generator every scenario uses: HTTP/1.1 POSTs over loopback with reqwest,
//! either closed-loop (so many connections, each sending its next request when the last
//! was answered, for a time or for a count) or open-loop (paced at a rate, whatever the
//! answers take).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Lets the I/O the runs before left behind finish before a run, so that the run does not
/// pay for it: PostgreSQL's dirty buffers (`CHECKPOINT`, when the test server answers),
/// then the pages left dirty in the kernel's page cache (`sync`). A commit that meets a
/// checkpoint's or the kernel's writeback waits for it: on the machines this was measured
/// on, a probe fsyncing its own file, outside Weir and PostgreSQL, waited up to 56 ms
/// then, and PostgreSQL's commits with it, and the end-to-end runs write enough WAL for a
/// checkpoint every 10 to 40 s. A 5 s run at 1,000 events/s right after them measured
/// that, not the rate (bench/notes.md). A run still pays for its own writes.
pub async fn settle() {
    checkpoint_postgres().await;
    match tokio::process::Command::new("sync").status().await {
        Ok(status) if status.success() => {}
        Ok(status) => eprintln!("sync before a run: {status}"),
        Err(error) => eprintln!("sync before a run could not start: {error}"),
    }
}

/// `CHECKPOINT` on the test server; nothing when it does not answer (a SQLite-only run
/// without one).
async fn checkpoint_postgres() {
    use sqlx::Connection;
    let url = weir_testkit::postgres_admin_url();
    let Ok(Ok(mut connection)) =
        tokio::time::timeout(Duration::from_secs(2), sqlx::PgConnection::connect(&url)).await
    else {
        return;
    };
    if let Err(error) = sqlx::query("CHECKPOINT").execute(&mut connection).await {
        eprintln!("CHECKPOINT before a run: {error}");
    }
    let _ = connection.close().await;
}

/// Makes the n-th request's body.
pub type Body = Arc<dyn Fn(u64) -> Vec<u8> + Send + Sync>;

/// Where and what to post.
#[derive(Clone)]
pub struct Target {
    pub url: String,
    pub bearer: Option<String>,
    pub body: Body,
}

/// How a run went.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Requests answered with a 2xx.
    pub ok: u64,
    /// Requests answered otherwise, or not answered.
    pub failed: u64,
    /// The first failure, to say why.
    pub first_failure: Option<String>,
    pub elapsed: Duration,
}

impl Outcome {
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }
}

/// When a closed-loop run ends.
#[derive(Clone, Copy)]
pub enum Bound {
    /// After this long (requests in flight then are still answered and counted).
    Time(Duration),
    /// After this many requests, or this long, whichever comes first.
    Count(u64, Duration),
}

pub fn client(connections: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .timeout(Duration::from_secs(60))
        .build()
        .expect("an HTTP client")
}

/// `connections` posters, each posting its next request once the last was answered.
pub async fn closed_loop(
    client: &reqwest::Client,
    target: &Target,
    connections: usize,
    bound: Bound,
) -> Outcome {
    let next = Arc::new(AtomicU64::new(0));
    let outcome = Arc::new(Mutex::new(Outcome::default()));
    let started = Instant::now();
    let (limit, deadline) = match bound {
        Bound::Time(time) => (u64::MAX, started + time),
        Bound::Count(count, time) => (count, started + time),
    };
    let mut posters = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let (client, target, next, outcome) = (
            client.clone(),
            target.clone(),
            next.clone(),
            outcome.clone(),
        );
        posters.spawn(async move {
            while Instant::now() < deadline {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= limit {
                    break;
                }
                let result = post(&client, &target, n).await;
                note(&outcome, result);
            }
        });
    }
    posters.join_all().await;
    let mut outcome = outcome.lock().unwrap().clone();
    outcome.elapsed = started.elapsed();
    outcome
}

/// Posts `count` requests at `rate` a second, each at its moment, however long the
/// earlier ones take; `elapsed` is until the last was answered.
pub async fn open_loop(
    client: &reqwest::Client,
    target: &Target,
    rate: f64,
    count: u64,
) -> Outcome {
    let outcome = Arc::new(Mutex::new(Outcome::default()));
    let started = tokio::time::Instant::now();
    let mut posts = tokio::task::JoinSet::new();
    for n in 0..count {
        tokio::time::sleep_until(started + Duration::from_secs_f64(n as f64 / rate)).await;
        let (client, target, outcome) = (client.clone(), target.clone(), outcome.clone());
        posts.spawn(async move {
            let result = post(&client, &target, n).await;
            note(&outcome, result);
        });
    }
    posts.join_all().await;
    let mut outcome = outcome.lock().unwrap().clone();
    outcome.elapsed = started.elapsed();
    outcome
}

async fn post(client: &reqwest::Client, target: &Target, n: u64) -> Result<(), String> {
    let mut request = client
        .post(&target.url)
        .header("content-type", "application/json")
        .body((target.body)(n));
    if let Some(token) = &target.bearer {
        request = request.bearer_auth(token);
    }
    match request.send().await {
        Ok(answer) if answer.status().is_success() => {
            // Read the body so that the connection is reused.
            let _ = answer.bytes().await;
            Ok(())
        }
        Ok(answer) => {
            let status = answer.status();
            let text = answer.text().await.unwrap_or_default();
            Err(format!(
                "{status}: {}",
                text.chars().take(300).collect::<String>()
            ))
        }
        Err(e) => Err(e.to_string()),
    }
}

fn note(outcome: &Mutex<Outcome>, result: Result<(), String>) {
    let mut outcome = outcome.lock().unwrap();
    match result {
        Ok(()) => outcome.ok += 1,
        Err(why) => {
            outcome.failed += 1;
            outcome.first_failure.get_or_insert(why);
        }
    }
}
