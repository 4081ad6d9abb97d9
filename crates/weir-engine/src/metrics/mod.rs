//! What `/metrics` shows, in the Prometheus text format: this node's counters and
//! histograms (HTTP requests, handler runs, inbound webhooks, delivery attempts), the
//! queues read from the store when scraped, the workers, the build and the process.
//! Written by hand: a few counters and histograms do not need a metrics crate.

mod histogram;
mod process;
mod text;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use weir_core::InvocationStatus;
use weir_store::QueueDepth;

use histogram::Histogram;

/// How an attempt ended, as counted.
#[derive(Debug, Clone, Copy)]
pub enum AttemptOutcome {
    Delivered,
    /// Failed, to be retried.
    Failed,
    /// Failed for the last time: the delivery is dead.
    Dead,
    /// 410: the subscription was disabled.
    Gone,
}

impl AttemptOutcome {
    const ALL: [AttemptOutcome; 4] = [
        AttemptOutcome::Delivered,
        AttemptOutcome::Failed,
        AttemptOutcome::Dead,
        AttemptOutcome::Gone,
    ];

    fn label(self) -> &'static str {
        match self {
            AttemptOutcome::Delivered => "delivered",
            AttemptOutcome::Failed => "failed",
            AttemptOutcome::Dead => "dead",
            AttemptOutcome::Gone => "gone",
        }
    }
}

const INVOCATION_OUTCOMES: [InvocationStatus; 4] = [
    InvocationStatus::Success,
    InvocationStatus::Error,
    InvocationStatus::Timeout,
    InvocationStatus::OutOfMemory,
];

pub struct Metrics {
    attempts: [AtomicU64; 4],
    delivery_latency: Histogram,
    /// Per route template and method.
    http: Mutex<BTreeMap<(String, String), HttpSeries>>,
    /// Per outcome, in `INVOCATION_OUTCOMES` order.
    invocations: Vec<(AtomicU64, Histogram)>,
    /// Per kind of inbound URL and outcome.
    inbound: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
}

struct HttpSeries {
    by_status: BTreeMap<u16, u64>,
    duration: Histogram,
}

/// What the store and the workers say when scraped.
pub struct Scraped<'a> {
    pub queues: &'a [QueueDepth],
    /// Whether the database took a write just now (a full disk, a read-only database).
    pub writable: bool,
    pub now: Timestamp,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            attempts: Default::default(),
            delivery_latency: Histogram::new(histogram::LONG),
            http: Mutex::default(),
            invocations: INVOCATION_OUTCOMES
                .iter()
                .map(|_| (AtomicU64::new(0), Histogram::new(histogram::SHORT)))
                .collect(),
            inbound: Mutex::default(),
        }
    }
}

impl Metrics {
    pub fn count_attempt(&self, outcome: AttemptOutcome) {
        self.attempts[outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// From the event's arrival to its successful delivery.
    pub fn observe_delivery(&self, latency: Duration) {
        self.delivery_latency.observe(latency);
    }

    /// One handler run, by how it ended.
    pub fn observe_invocation(&self, status: InvocationStatus, took: Duration) {
        let index = INVOCATION_OUTCOMES.iter().position(|s| *s == status);
        if let Some((count, duration)) = index.and_then(|i| self.invocations.get(i)) {
            count.fetch_add(1, Ordering::Relaxed);
            duration.observe(took);
        }
    }

    /// One answered HTTP request: `route` is the route's template (`/api/v1/events/{id}`),
    /// never the path itself, so that ids do not make new series. A request to a webhook
    /// URL (`/in/…`) is counted as inbound too, by its outcome.
    pub fn observe_http(&self, route: &str, method: &str, status: u16, took: Duration) {
        {
            let mut http = lock(&self.http);
            let series = http
                .entry((route.to_owned(), method.to_owned()))
                .or_insert_with(|| HttpSeries {
                    by_status: BTreeMap::new(),
                    duration: Histogram::new(histogram::SHORT),
                });
            *series.by_status.entry(status).or_default() += 1;
            series.duration.observe(took);
        }
        if let Some(kind) = inbound_kind(route) {
            *lock(&self.inbound)
                .entry((kind, inbound_outcome(status)))
                .or_default() += 1;
        }
    }

    /// The text a Prometheus scrape gets, but for the workers' series.
    pub fn render(&self, scraped: &Scraped) -> String {
        let mut out = String::new();
        text::family(
            &mut out,
            "weir_build_info",
            "gauge",
            "Weir's version; always 1.",
        );
        text::sample(
            &mut out,
            "weir_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))],
            1.0,
        );
        self.render_queues(&mut out, scraped);
        self.render_http(&mut out);
        self.render_invocations(&mut out);
        self.render_deliveries(&mut out);
        process::render(&mut out);
        out
    }

    fn render_queues(&self, out: &mut String, scraped: &Scraped) {
        text::family(
            out,
            "weir_queue_depth",
            "gauge",
            "Work waiting per queue: due, due later or in flight.",
        );
        for depth in scraped.queues {
            text::sample(
                out,
                "weir_queue_depth",
                &[("queue", depth.queue.as_str())],
                depth.waiting as f64,
            );
        }
        text::family(out, "weir_queue_due", "gauge", "Work due now per queue.");
        for depth in scraped.queues {
            text::sample(
                out,
                "weir_queue_due",
                &[("queue", depth.queue.as_str())],
                depth.due as f64,
            );
        }
        text::family(
            out,
            "weir_queue_oldest_due_age_seconds",
            "gauge",
            "How long the longest-waiting due work of each queue has been due (0 when none is).",
        );
        for depth in scraped.queues {
            let age = depth
                .earliest
                .map(|at| scraped.now.duration_since(at).as_secs_f64().max(0.0))
                .unwrap_or(0.0);
            text::sample(
                out,
                "weir_queue_oldest_due_age_seconds",
                &[("queue", depth.queue.as_str())],
                age,
            );
        }
        text::family(
            out,
            "weir_store_writable",
            "gauge",
            "Whether the database takes writes (0: disk full, read-only or unreachable).",
        );
        text::sample(
            out,
            "weir_store_writable",
            &[],
            f64::from(u8::from(scraped.writable)),
        );
        text::family(
            out,
            "weir_store_statements_total",
            "counter",
            "SQL statements this node's store ran (transaction control aside).",
        );
        text::sample(
            out,
            "weir_store_statements_total",
            &[],
            weir_store::statements_run() as f64,
        );
    }

    fn render_http(&self, out: &mut String) {
        let http = lock(&self.http);
        text::family(
            out,
            "weir_http_requests_total",
            "counter",
            "HTTP requests answered, by route, method and status.",
        );
        for ((route, method), series) in http.iter() {
            for (status, count) in &series.by_status {
                let status = status.to_string();
                let labels = [
                    ("route", route.as_str()),
                    ("method", method.as_str()),
                    ("status", status.as_str()),
                ];
                text::sample(out, "weir_http_requests_total", &labels, *count as f64);
            }
        }
        text::family(
            out,
            "weir_http_request_duration_seconds",
            "histogram",
            "Time to answer HTTP requests, by route and method.",
        );
        for ((route, method), series) in http.iter() {
            let labels = [("route", route.as_str()), ("method", method.as_str())];
            series
                .duration
                .render(out, "weir_http_request_duration_seconds", &labels);
        }
        drop(http);
        text::family(
            out,
            "weir_inbound_requests_total",
            "counter",
            "Requests to webhook URLs (target URLs, connector events, global webhooks), by outcome.",
        );
        for ((kind, outcome), count) in lock(&self.inbound).iter() {
            text::sample(
                out,
                "weir_inbound_requests_total",
                &[("kind", kind), ("outcome", outcome)],
                *count as f64,
            );
        }
    }

    fn render_invocations(&self, out: &mut String) {
        text::family(
            out,
            "weir_invocations_total",
            "counter",
            "Handler runs on this node, by outcome.",
        );
        for (status, (count, _)) in INVOCATION_OUTCOMES.iter().zip(&self.invocations) {
            let count = count.load(Ordering::Relaxed) as f64;
            text::sample(
                out,
                "weir_invocations_total",
                &[("outcome", status.as_str())],
                count,
            );
        }
        text::family(
            out,
            "weir_invocation_duration_seconds",
            "histogram",
            "How long handler runs took, by outcome.",
        );
        for (status, (_, duration)) in INVOCATION_OUTCOMES.iter().zip(&self.invocations) {
            duration.render(
                out,
                "weir_invocation_duration_seconds",
                &[("outcome", status.as_str())],
            );
        }
    }

    fn render_deliveries(&self, out: &mut String) {
        text::family(
            out,
            "weir_delivery_attempts_total",
            "counter",
            "Delivery attempts on this node, by outcome.",
        );
        for outcome in AttemptOutcome::ALL {
            let count = self.attempts[outcome as usize].load(Ordering::Relaxed) as f64;
            text::sample(
                out,
                "weir_delivery_attempts_total",
                &[("outcome", outcome.label())],
                count,
            );
        }
        text::family(
            out,
            "weir_delivery_latency_seconds",
            "histogram",
            "From an event's arrival to its delivery.",
        );
        self.delivery_latency
            .render(out, "weir_delivery_latency_seconds", &[]);
    }
}

/// Which webhook URL a route is, if it is one.
fn inbound_kind(route: &str) -> Option<&'static str> {
    if route.starts_with("/in/global/") {
        Some("global_webhook")
    } else if route.ends_with("/events/{event_key}") {
        Some("connector_event")
    } else if route.starts_with("/in/") {
        Some("target_url")
    } else {
        None
    }
}

fn inbound_outcome(status: u16) -> &'static str {
    match status {
        200..=299 => "accepted",
        400 => "malformed",
        404 => "not_found",
        408 => "timeout",
        410 => "gone",
        413 => "too_large",
        415 => "unsupported_media_type",
        429 => "rate_limited",
        502 => "handler_failed",
        500..=599 => "error",
        _ => "refused",
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_store::WorkQueue;

    #[test]
    fn renders_every_family_with_its_samples() {
        let metrics = Metrics::default();
        metrics.count_attempt(AttemptOutcome::Delivered);
        metrics.count_attempt(AttemptOutcome::Delivered);
        metrics.count_attempt(AttemptOutcome::Failed);
        metrics.observe_delivery(Duration::from_millis(3));
        metrics.observe_delivery(Duration::from_millis(40));
        metrics.observe_delivery(Duration::from_secs(7200));
        metrics.observe_http("/in/{token}", "POST", 413, Duration::from_millis(2));
        metrics.observe_http("/in/{token}", "POST", 200, Duration::from_millis(2));
        metrics.observe_http("/api/v1/apps", "GET", 200, Duration::from_millis(30));
        metrics.observe_invocation(InvocationStatus::Timeout, Duration::from_secs(20));
        let now = Timestamp::from_second(1_000).unwrap();
        let queues = [QueueDepth {
            queue: WorkQueue::Jobs,
            waiting: 5,
            due: 2,
            earliest: Some(Timestamp::from_second(990).unwrap()),
        }];
        let text = metrics.render(&Scraped {
            queues: &queues,
            writable: false,
            now,
        });
        for line in [
            "weir_queue_depth{queue=\"jobs\"} 5",
            "weir_queue_due{queue=\"jobs\"} 2",
            "weir_queue_oldest_due_age_seconds{queue=\"jobs\"} 10",
            "weir_store_writable 0",
            "weir_delivery_attempts_total{outcome=\"delivered\"} 2",
            "weir_delivery_attempts_total{outcome=\"dead\"} 0",
            "weir_delivery_latency_seconds_bucket{le=\"0.005\"} 1",
            "weir_delivery_latency_seconds_bucket{le=\"3600\"} 2",
            "weir_delivery_latency_seconds_bucket{le=\"+Inf\"} 3",
            "weir_delivery_latency_seconds_count 3",
            "weir_http_requests_total{route=\"/in/{token}\",method=\"POST\",status=\"413\"} 1",
            "weir_http_request_duration_seconds_count{route=\"/api/v1/apps\",method=\"GET\"} 1",
            "weir_inbound_requests_total{kind=\"target_url\",outcome=\"too_large\"} 1",
            "weir_inbound_requests_total{kind=\"target_url\",outcome=\"accepted\"} 1",
            "weir_invocations_total{outcome=\"timeout\"} 1",
            "weir_invocations_total{outcome=\"success\"} 0",
            "weir_invocation_duration_seconds_bucket{outcome=\"timeout\",le=\"10\"} 0",
            "weir_invocation_duration_seconds_bucket{outcome=\"timeout\",le=\"30\"} 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in:\n{text}"
            );
        }
        assert!(text.contains("weir_build_info{version=\""));
    }
}
