//! The servers on loopback the scenarios need: the bare ceiling, the receiver of
//! deliveries, and the third party realistic handlers call.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::http::HeaderMap;
use serde_json::Value;

/// Microseconds since the epoch: the one clock the bench and the receiver share.
pub fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

async fn bind() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let address = listener.local_addr().expect("its address");
    (listener, format!("http://{address}"))
}

async fn serve(app: axum::Router) -> String {
    let (listener, base) = bind().await;
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// A bare HTTP server that reads the body and answers 200: the ceiling of this machine
/// for the load generator. Returns its base URL.
pub async fn ceiling() -> String {
    serve(bare()).await
}

fn bare() -> axum::Router {
    axum::Router::new().fallback(|_body: Bytes| async { "ok" })
}

/// The bare server in a process of its own, as Weir runs (this binary started again with
/// `--serve-ceiling`): requests then cross between processes as they do to Weir, where
/// in the bench's own process the generator and the server share threads. Returns its
/// base URL and the process, killed when dropped.
pub async fn ceiling_process() -> anyhow::Result<(String, tokio::process::Child)> {
    use anyhow::Context;
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .arg("--serve-ceiling")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting the ceiling's process")?;
    let stdout = child.stdout.take().context("the ceiling's output")?;
    let mut base = String::new();
    tokio::io::BufReader::new(stdout)
        .read_line(&mut base)
        .await?;
    Ok((base.trim().to_owned(), child))
}

/// `weir-bench --serve-ceiling`: serves the bare server and prints its base URL.
pub async fn serve_ceiling_here() -> anyhow::Result<()> {
    let (listener, base) = bind().await;
    println!("{base}");
    axum::serve(listener, bare()).await?;
    Ok(())
}

/// A third party that counts the calls it answers (200 with a small JSON body). Returns
/// its address (`127.0.0.1:port`) and the count.
pub async fn third_party() -> (String, Arc<AtomicU64>) {
    let calls = Arc::new(AtomicU64::new(0));
    let counting = calls.clone();
    let app = axum::Router::new().fallback(move |_body: Bytes| {
        let calls = counting.clone();
        async move {
            calls.fetch_add(1, Ordering::Relaxed);
            (
                [("content-type", "application/json")],
                r#"{"id":"ticket-1"}"#,
            )
        }
    });
    let base = serve(app).await;
    (base.trim_start_matches("http://").to_owned(), calls)
}

/// Receives deliveries: answers 200 at once, counts distinct `webhook-id`s and repeats,
/// and notes each delivery's publish→receive time from the `bench_sent_us` the bench put
/// in the event's data.
pub struct Receiver {
    pub url: String,
    arrivals: Mutex<Arrivals>,
}

#[derive(Default)]
struct Arrivals {
    distinct: HashSet<String>,
    calls: u64,
    latencies_ms: Vec<f64>,
}

/// What arrived in one wait.
#[derive(Debug, Clone)]
pub struct Arrived {
    pub expected: usize,
    pub distinct: usize,
    /// Calls beyond the distinct ids: repeats.
    pub repeated: u64,
    /// From the start of the run to the last new delivery (or to the stall).
    pub elapsed: Duration,
    pub stalled: bool,
}

impl Arrived {
    pub fn per_second(&self) -> f64 {
        self.distinct as f64 / self.elapsed.as_secs_f64()
    }

    pub fn missing(&self) -> usize {
        self.expected.saturating_sub(self.distinct)
    }

    /// "all 10000 arrived" or what went wrong.
    pub fn verdict(&self) -> String {
        let mut verdict = if self.missing() == 0 {
            format!("all {} arrived", self.expected)
        } else {
            format!(
                "**{} of {} MISSING**{}",
                self.missing(),
                self.expected,
                if self.stalled { " (stalled)" } else { "" }
            )
        };
        if self.repeated > 0 {
            verdict.push_str(&format!(", {} repeated", self.repeated));
        }
        verdict
    }
}

impl Receiver {
    pub async fn start() -> Arc<Receiver> {
        let (listener, base) = bind().await;
        let receiver = Arc::new(Receiver {
            url: format!("{base}/hook"),
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
        tokio::spawn(async move { axum::serve(listener, app).await });
        receiver
    }

    fn note(&self, headers: &HeaderMap, body: &[u8]) {
        let now = now_micros();
        let sent = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|events| {
                events
                    .as_array()?
                    .first()?
                    .pointer("/payload/bench_sent_us")?
                    .as_u64()
            });
        let mut arrivals = self.arrivals.lock().unwrap();
        arrivals.calls += 1;
        if let Some(id) = headers.get("webhook-id").and_then(|v| v.to_str().ok()) {
            arrivals.distinct.insert(id.to_owned());
        }
        if let Some(sent) = sent {
            arrivals
                .latencies_ms
                .push(now.saturating_sub(sent) as f64 / 1000.0);
        }
    }

    pub fn clear(&self) {
        *self.arrivals.lock().unwrap() = Arrivals::default();
    }

    pub fn distinct(&self) -> usize {
        self.arrivals.lock().unwrap().distinct.len()
    }

    /// The publish→receive times noted since the last `clear`, sorted.
    pub fn latencies_ms(&self) -> Vec<f64> {
        let mut latencies = self.arrivals.lock().unwrap().latencies_ms.clone();
        latencies.sort_by(f64::total_cmp);
        latencies
    }

    /// Waits until `expected` distinct deliveries came since the last `clear`, or none
    /// came for `stall`, or `limit` passed since `started`.
    pub async fn wait_for(
        &self,
        expected: usize,
        started: Instant,
        stall: Duration,
        limit: Duration,
    ) -> Arrived {
        let (mut seen, mut progressed) = (0, Instant::now());
        let (elapsed, stalled) = loop {
            let distinct = self.distinct();
            if distinct >= expected {
                break (started.elapsed(), false);
            }
            if distinct > seen {
                (seen, progressed) = (distinct, Instant::now());
            } else if progressed.elapsed() >= stall || started.elapsed() >= limit {
                break (progressed.duration_since(started), true);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        // Late repeats still count.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let arrivals = self.arrivals.lock().unwrap();
        Arrived {
            expected,
            distinct: arrivals.distinct.len(),
            repeated: arrivals.calls - arrivals.distinct.len() as u64,
            elapsed,
            stalled,
        }
    }
}
