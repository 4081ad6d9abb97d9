//! Every scenario, run against one backend. Each returns figures for the report; none
//! panics on a slow or failing node: what went wrong is written into the figure's note.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::{Value, json};

use crate::cpu;
use crate::load::{self, Bound, Target};
use crate::node::{Backend, Node, Storage};
use crate::report::Figure;
use crate::servers::{Receiver, now_micros};

/// How big each scenario is: the full suite, or `--quick`.
#[derive(Clone, Copy)]
pub struct Scale {
    pub quick: bool,
    /// Closed-loop runs last this long.
    pub run: Duration,
    pub connections: usize,
    /// Events of the end-to-end run at fan-out 1 (fan-out 10 posts a tenth of them).
    pub deliveries: usize,
    /// Paced latency runs last this long.
    pub paced: Duration,
    /// Rates tried for the highest sustained one, in order.
    pub ladder: &'static [f64],
    /// Deliveries left pending for the memory and drain figures.
    pub backlog: usize,
    /// Installations running the realistic handler (each may make 50 `$db` calls a
    /// minute, the platform's limit), and events per installation.
    pub realistic: (usize, usize),
    pub trivial_events: usize,
}

impl Scale {
    pub const FULL: Scale = Scale {
        quick: false,
        run: Duration::from_secs(5),
        connections: 64,
        deliveries: 20_000,
        paced: Duration::from_secs(5),
        ladder: &[2_000.0, 3_000.0, 4_000.0, 6_000.0],
        backlog: 1_000_000,
        realistic: (40, 45),
        trivial_events: 10_000,
    };
    pub const QUICK: Scale = Scale {
        quick: true,
        run: Duration::from_secs(2),
        connections: 64,
        deliveries: 5_000,
        paced: Duration::from_secs(2),
        ladder: &[2_000.0],
        backlog: 50_000,
        realistic: (10, 40),
        trivial_events: 2_000,
    };
}

/// What every scenario shares.
pub struct Bench<'a> {
    pub weir: &'a Path,
    pub scale: Scale,
    pub receiver: Arc<Receiver>,
    pub third_party: (String, Arc<AtomicU64>),
    pub client: reqwest::Client,
    /// Requests per second the ceiling answered.
    pub ceiling: f64,
}

/// A product event of about 1 KB, carrying when it was sent.
fn event(n: u64) -> Value {
    json!({"event": "onContactCreate", "data": {"contact": {"id": n},
        "bench_sent_us": now_micros(), "pad": "x".repeat(900)}})
}

fn events_target(node: &Node, account: &str, batch: usize) -> Target {
    let body: load::Body = if batch == 1 {
        Arc::new(|n| event(n).to_string().into_bytes())
    } else {
        Arc::new(move |n| {
            let events: Vec<Value> = (0..batch as u64).map(|i| event(n * 1000 + i)).collect();
            Value::Array(events).to_string().into_bytes()
        })
    };
    Target {
        url: format!("{}/api/v1/accounts/{account}/events", node.base),
        bearer: Some(crate::node::ADMIN_TOKEN.into()),
        body,
    }
}

fn failures(outcome: &load::Outcome) -> String {
    match &outcome.first_failure {
        None => String::new(),
        Some(why) => format!("{} failed, first: {why}", outcome.failed),
    }
}

impl Bench<'_> {
    /// Ingest on an API-only node (no workers: the acknowledgement path alone), batch 1
    /// and 100, to accounts with 0 and 10 subscriptions; SQL statements per event.
    pub async fn ingest(&self, backend: Backend) -> Result<Vec<Figure>> {
        let storage = Storage::fresh(backend).await;
        let node = Node::start(self.weir, &storage, "api", &self.third_party.0).await;
        node.account("zero").await?;
        node.account("ten").await?;
        node.subscriptions("ten", &self.receiver.url, 10).await?;
        let mut figures = Vec::new();
        // Warm up: connections, prepared statements, caches.
        let warm = Bound::Count(2_000, self.scale.run);
        load::closed_loop(&self.client, &events_target(&node, "zero", 1), 64, warm).await;
        for (account, subscriptions) in [("zero", 0), ("ten", 10)] {
            for batch in [1usize, 100] {
                let connections = if batch == 1 {
                    self.scale.connections
                } else {
                    8
                };
                let target = events_target(&node, account, batch);
                load::settle().await;
                let before = node.statements().await?;
                let outcome = load::closed_loop(
                    &self.client,
                    &target,
                    connections,
                    Bound::Time(self.scale.run),
                )
                .await;
                let statements = node.statements().await? - before;
                let events = outcome.ok as f64 * batch as f64;
                let name = format!(
                    "ingest, batch {batch}, {subscriptions} subscriptions ({connections} connections)"
                );
                figures.push(
                    Figure::new(
                        "Ingest",
                        &name,
                        events / outcome.elapsed.as_secs_f64(),
                        "events/s",
                    )
                    .vs_ceiling(if batch == 1 { Some(self.ceiling) } else { None })
                    .note(failures(&outcome)),
                );
                figures.push(Figure::new(
                    "SQL statements",
                    &format!("per event: ingest, batch {batch}, {subscriptions} subscriptions"),
                    statements / events.max(1.0),
                    "statements",
                ));
            }
        }
        node.kill().await;
        Ok(figures)
    }

    /// Every scenario that needs workers, on one `api,worker` node: inbound, end to end
    /// at fan-out 1 and 10, latency, handler invocations.
    pub async fn with_workers(&self, backend: Backend) -> Result<Vec<Figure>> {
        let storage = Storage::fresh(backend).await;
        let node = Node::start(self.weir, &storage, "api,worker", &self.third_party.0).await;
        let mut figures = Vec::new();
        figures.extend(self.inbound(&node).await?);
        figures.extend(self.end_to_end(&node).await?);
        figures.extend(self.latency(&node).await?);
        figures.extend(self.handlers(&node).await?);
        node.kill().await;
        Ok(figures)
    }

    /// Posts to a target URL (a trivial `onExternalEvent`) with the workers running the
    /// handlers on the same cores; then waits for the handlers to catch up.
    async fn inbound(&self, node: &Node) -> Result<Vec<Figure>> {
        node.account("inbound").await?;
        let manifest = json!({"name": "inbound", "platform-version": "2.3",
            "product": {"freshsales": {"events": {"onExternalEvent": {"handler": "external"}}}}});
        let app = node
            .app(&manifest, "exports = { external: function (payload) {} };")
            .await?;
        let installation = node.install("inbound", &app).await?;
        let url = installation["target_url"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let body = json!({"issue": {"key": "FD-1", "summary": "x".repeat(900)}}).to_string();
        let target = Target {
            url,
            bearer: None,
            body: Arc::new(move |_| body.clone().into_bytes()),
        };
        let before = node.invocations().await?;
        let warm = Bound::Count(2_000, self.scale.run);
        let warmed = load::closed_loop(&self.client, &target, 64, warm).await;
        // The warm-up's handlers run before the measured run, so that its CPU is its own.
        let warmed_up = before + warmed.ok as f64;
        node.wait_for_invocations(warmed_up, Instant::now(), Duration::from_secs(120))
            .await?;
        load::settle().await;
        let meter = cpu::Meter::start(node.pid());
        let outcome = load::closed_loop(
            &self.client,
            &target,
            self.scale.connections,
            Bound::Time(self.scale.run),
        )
        .await;
        let load_cpu = meter.per_request(outcome.ok);
        let expected = warmed_up + outcome.ok as f64;
        let (ran, _) = node
            .wait_for_invocations(expected, Instant::now(), Duration::from_secs(120))
            .await?;
        // Weir's and PostgreSQL's until every handler ran; the generator's during the load.
        let cpu = meter.per_request(outcome.ok).with_generator_of(load_cpu);
        let mut notes = vec![format!(
            "{} (its acknowledgement and its handler)",
            cpu.describe("Weir")
        )];
        notes.push(failures(&outcome));
        if ran < expected {
            notes.push(format!(
                "only {} of {} handlers ran within 120 s (the CPU counted is theirs)",
                ran - before,
                expected - before
            ));
        }
        notes.retain(|note| !note.is_empty());
        let note = notes.join("; ");
        Ok(vec![
            Figure::new(
                "Inbound",
                "target URL, workers running (200 = stored)",
                outcome.per_second(),
                "requests/s",
            )
            .vs_ceiling(Some(self.ceiling))
            .note(note),
        ])
    }

    /// Events posted 100 a request by 4 posters; every delivery must arrive.
    async fn end_to_end(&self, node: &Node) -> Result<Vec<Figure>> {
        let mut figures = Vec::new();
        for fan_out in [1usize, 10] {
            let account = format!("fanout{fan_out}");
            node.account(&account).await?;
            node.subscriptions(&account, &self.receiver.url, fan_out)
                .await?;
            let events = self.scale.deliveries / fan_out;
            let expected = events * fan_out;
            load::settle().await;
            self.receiver.clear();
            let before = node.statements().await?;
            let started = Instant::now();
            let target = events_target(node, &account, 100);
            let bound = Bound::Count((events / 100) as u64, Duration::from_secs(300));
            let posted = load::closed_loop(&self.client, &target, 4, bound).await;
            let arrived = self
                .receiver
                .wait_for(
                    expected,
                    started,
                    Duration::from_secs(30),
                    Duration::from_secs(600),
                )
                .await;
            let statements = node.statements().await? - before;
            let name =
                format!("end to end, fan-out {fan_out} ({events} events, {expected} deliveries)");
            figures.push(
                Figure::new("End to end", &name, arrived.per_second(), "deliveries/s")
                    .vs_ceiling(Some(self.ceiling))
                    .note(format!("{}; {}", arrived.verdict(), failures(&posted))),
            );
            figures.push(Figure::new(
                "SQL statements",
                &format!("per delivery: end to end, fan-out {fan_out} (ingest, claim, finish)"),
                statements / expected as f64,
                "statements",
            ));
        }
        Ok(figures)
    }

    /// Publish→receive at 200 and 1,000 events/s, and the highest rate of the ladder
    /// that is sustained: posted on time and every delivery in within a second.
    async fn latency(&self, node: &Node) -> Result<Vec<Figure>> {
        node.account("paced").await?;
        node.subscriptions("paced", &self.receiver.url, 1).await?;
        let target = events_target(node, "paced", 1);
        let mut figures = Vec::new();
        let mut highest = None;
        let rates: Vec<f64> = [200.0, 1_000.0]
            .into_iter()
            .chain(self.scale.ladder.iter().copied())
            .collect();
        for rate in rates {
            let count = (rate * self.scale.paced.as_secs_f64()) as u64;
            load::settle().await;
            self.receiver.clear();
            let started = Instant::now();
            let posted = load::open_loop(&self.client, &target, rate, count).await;
            let arrived = self
                .receiver
                .wait_for(
                    count as usize,
                    started,
                    Duration::from_secs(10),
                    Duration::from_secs(120),
                )
                .await;
            let latencies = self.receiver.latencies_ms();
            let on_time =
                posted.elapsed.as_secs_f64() <= self.scale.paced.as_secs_f64() * 1.1 + 0.5;
            let sustained = on_time
                && arrived.missing() == 0
                && posted.failed == 0
                && arrived.elapsed.as_secs_f64() <= self.scale.paced.as_secs_f64() + 1.0;
            let summary = percentiles(&latencies);
            let note = format!(
                "{}; posted in {:.2} s; {}{}",
                arrived.verdict(),
                posted.elapsed.as_secs_f64(),
                if sustained {
                    "sustained"
                } else {
                    "NOT sustained"
                },
                if failures(&posted).is_empty() {
                    String::new()
                } else {
                    format!("; {}", failures(&posted))
                }
            );
            if rate <= 1_000.0 {
                figures.extend(summary.figures(&format!("{rate:.0} events/s"), &note));
            } else if sustained {
                highest = Some((rate, summary, note));
            } else {
                if highest.is_none() {
                    figures.push(
                        Figure::new(
                            "Latency",
                            &format!("publish→receive at {rate:.0} events/s"),
                            f64::NAN,
                            "ms",
                        )
                        .note(note),
                    );
                }
                break;
            }
        }
        if let Some((rate, summary, note)) = highest {
            figures.extend(summary.figures(
                &format!("{rate:.0} events/s (highest sustained of the ladder)"),
                &note,
            ));
        }
        Ok(figures)
    }

    /// Handler invocations/s: a trivial handler, and a realistic one (`$db.set` and a
    /// `$request.post` to a server on loopback).
    async fn handlers(&self, node: &Node) -> Result<Vec<Figure>> {
        let trivial = json!({"name": "trivial", "platform-version": "2.3",
            "product": {"freshsales": {"events": {"onContactCreate": {"handler": "created"}}}}});
        let trivial_app = node
            .app(&trivial, "exports = { created: function (payload) {} };")
            .await?;
        node.account("htrivial").await?;
        node.install("htrivial", &trivial_app).await?;
        let realistic = json!({"name": "realistic", "platform-version": "2.3",
            "whitelisted-domains": ["https://api.bench.test"],
            "product": {"freshsales": {"events": {"onContactCreate": {"handler": "created"}}}}});
        let realistic_js = "exports = { created: async function (payload) {
            const id = String(payload.data.contact.id);
            await $db.set('contact-' + id, { seen: true });
            await $request.post('https://api.bench.test/tickets', { json: { contact: id } });
        } };";
        let realistic_app = node.app(&realistic, realistic_js).await?;
        let (installations, per_installation) = self.scale.realistic;
        for n in 0..installations {
            let account = format!("hreal{n}");
            node.account(&account).await?;
            node.install(&account, &realistic_app).await?;
        }
        let mut figures = Vec::new();
        // Trivial: one account, events 100 a request.
        let count = self.scale.trivial_events;
        figures.push(
            self.invocations(
                node,
                "trivial handler (does nothing)",
                &[("htrivial", count)],
                None,
            )
            .await?,
        );
        // Realistic: spread over the installations, within each one's `$db` allowance.
        let accounts: Vec<(String, usize)> = (0..installations)
            .map(|n| (format!("hreal{n}"), per_installation))
            .collect();
        let accounts: Vec<(&str, usize)> = accounts.iter().map(|(a, n)| (a.as_str(), *n)).collect();
        let calls_before = self.third_party.1.load(Ordering::Relaxed);
        let mut figure = self
            .invocations(
                node,
                "realistic handler ($db.set + $request.post to loopback)",
                &accounts,
                Some(calls_before),
            )
            .await?;
        let calls = self.third_party.1.load(Ordering::Relaxed) - calls_before;
        let expected = installations * per_installation;
        if calls < expected as u64 {
            figure = figure.note(format!("only {calls} of {expected} $request calls arrived"));
        }
        figures.push(figure);
        Ok(figures)
    }

    async fn invocations(
        &self,
        node: &Node,
        name: &str,
        accounts: &[(&str, usize)],
        _calls: Option<u64>,
    ) -> Result<Figure> {
        load::settle().await;
        let before = node.invocations().await?;
        let total: usize = accounts.iter().map(|(_, n)| n).sum();
        let started = Instant::now();
        let mut posters = tokio::task::JoinSet::new();
        for (account, events) in accounts {
            let target = events_target(node, account, (*events).min(100));
            let requests = events.div_ceil(100) as u64;
            let client = self.client.clone();
            posters.spawn(async move {
                load::closed_loop(
                    &client,
                    &target,
                    1,
                    Bound::Count(requests, Duration::from_secs(300)),
                )
                .await
            });
        }
        let posted = posters.join_all().await;
        let (ran, at) = node
            .wait_for_invocations(before + total as f64, started, Duration::from_secs(300))
            .await?;
        let ran = ran - before;
        let mut note = format!("{ran:.0} of {total} ran");
        for outcome in &posted {
            let failed = failures(outcome);
            if !failed.is_empty() {
                note.push_str(&format!("; {failed}"));
                break;
            }
        }
        Ok(Figure::new("Handlers", name, ran / at.as_secs_f64(), "invocations/s").note(note))
    }

    /// Pending deliveries: an API-only node stores `backlog` deliveries (fan-out 10, 100
    /// events a request) with no worker to send them; its RSS then. A node with workers
    /// then starts on the same storage: its RSS with them all pending, its peak while
    /// draining, and the time until every one arrived.
    pub async fn backlog(&self, backend: Backend) -> Result<Vec<Figure>> {
        let storage = Storage::fresh(backend).await;
        let filler = Node::start(self.weir, &storage, "api", &self.third_party.0).await;
        filler.account("backlog").await?;
        filler
            .subscriptions("backlog", &self.receiver.url, 10)
            .await?;
        let events = self.scale.backlog / 10;
        let target = events_target(&filler, "backlog", 100);
        let started = Instant::now();
        let bound = Bound::Count((events / 100) as u64, Duration::from_secs(600));
        let filled = load::closed_loop(&self.client, &target, 4, bound).await;
        let fill_time = started.elapsed();
        let (filler_rss, _) = filler.memory_mib();
        filler.kill().await;
        let stored = filled.ok as usize * 1000;
        load::settle().await;
        self.receiver.clear();
        let drainer = Node::start(self.weir, &storage, "api,worker", &self.third_party.0).await;
        let started = Instant::now();
        let (pending_rss, _) = drainer.memory_mib();
        let arrived = self
            .receiver
            .wait_for(
                stored,
                started,
                Duration::from_secs(30),
                Duration::from_secs(if self.scale.quick { 120 } else { 420 }),
            )
            .await;
        let (_, peak) = drainer.memory_mib();
        drainer.kill().await;
        let label = format!("{stored} pending deliveries");
        Ok(vec![
            Figure::new(
                "Backlog",
                &format!("storing {label} (fan-out 10, 100 events a request)"),
                stored as f64 / fill_time.as_secs_f64(),
                "deliveries/s",
            )
            .note(failures(&filled)),
            Figure::new(
                "Backlog",
                &format!("RSS of the API node that stored {label}"),
                filler_rss,
                "MiB",
            ),
            Figure::new(
                "Backlog",
                &format!("RSS of a node with workers starting on {label}"),
                pending_rss,
                "MiB",
            ),
            Figure::new(
                "Backlog",
                &format!("peak RSS while draining {label}"),
                peak,
                "MiB",
            ),
            Figure::new(
                "Backlog",
                &format!("time to drain {label}"),
                arrived.elapsed.as_secs_f64(),
                "s",
            )
            .note(format!(
                "{}; {:.0} deliveries/s",
                arrived.verdict(),
                arrived.per_second()
            )),
        ])
    }
}

/// p50, p95 and p99 of sorted latencies.
pub struct Percentiles([f64; 3]);

fn percentiles(sorted: &[f64]) -> Percentiles {
    let at = |p: f64| {
        if sorted.is_empty() {
            f64::NAN
        } else {
            sorted[((sorted.len() - 1) as f64 * p).round() as usize]
        }
    };
    Percentiles([at(0.5), at(0.95), at(0.99)])
}

impl Percentiles {
    fn figures(&self, rate: &str, note: &str) -> Vec<Figure> {
        ["p50", "p95", "p99"]
            .iter()
            .zip(self.0)
            .map(|(p, value)| {
                let figure = Figure::new(
                    "Latency",
                    &format!("publish→receive {p} at {rate}"),
                    value,
                    "ms",
                );
                if *p == "p99" {
                    figure.note(note.to_owned())
                } else {
                    figure
                }
            })
            .collect()
    }
}
