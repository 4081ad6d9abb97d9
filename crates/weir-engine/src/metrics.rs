//! What `/metrics` shows (Prometheus text format): counters this node keeps, and gauges
//! read from the store when scraped. Written by hand: a few counters and one histogram
//! do not need a metrics crate.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the delivery latency histogram, in seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0,
];

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

#[derive(Default)]
pub struct Metrics {
    attempts: [AtomicU64; 4],
    /// Per bucket of `LATENCY_BUCKETS`, and one for above them all.
    latency: [AtomicU64; 16],
    latency_sum_micros: AtomicU64,
}

/// The store's side, read when scraped.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueueDepth {
    /// Deliveries waiting (due now or later, or in flight).
    pub pending: u64,
    /// Of those, the ones due now.
    pub due: u64,
    /// Handler runs waiting.
    pub jobs_pending: u64,
    /// Whether the database took a write just now (a full disk, a read-only database).
    pub writable: bool,
}

impl Metrics {
    pub fn count_attempt(&self, outcome: AttemptOutcome) {
        self.attempts[outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// From the event's arrival to its successful delivery.
    pub fn observe_delivery(&self, latency: Duration) {
        let seconds = latency.as_secs_f64();
        let bucket = LATENCY_BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.latency[bucket].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// The text a Prometheus scrape gets.
    pub fn render(&self, depth: QueueDepth) -> String {
        let mut out = String::new();
        let gauge = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        };
        gauge(
            &mut out,
            "weir_deliveries_pending",
            "Deliveries waiting, due or not.",
            depth.pending,
        );
        gauge(
            &mut out,
            "weir_deliveries_due",
            "Deliveries due now.",
            depth.due,
        );
        gauge(
            &mut out,
            "weir_jobs_pending",
            "Handler runs waiting.",
            depth.jobs_pending,
        );
        gauge(
            &mut out,
            "weir_store_writable",
            "Whether the database takes writes (0: disk full, read-only or unreachable).",
            u64::from(depth.writable),
        );
        let _ = writeln!(
            out,
            "# HELP weir_delivery_attempts_total Delivery attempts on this node, by outcome.\n\
             # TYPE weir_delivery_attempts_total counter"
        );
        for outcome in AttemptOutcome::ALL {
            let count = self.attempts[outcome as usize].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "weir_delivery_attempts_total{{outcome=\"{}\"}} {count}",
                outcome.label()
            );
        }
        let _ = writeln!(
            out,
            "# HELP weir_delivery_latency_seconds From an event's arrival to its delivery.\n\
             # TYPE weir_delivery_latency_seconds histogram"
        );
        let mut cumulative = 0;
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            cumulative += self.latency[i].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "weir_delivery_latency_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        cumulative += self.latency[LATENCY_BUCKETS.len()].load(Ordering::Relaxed);
        let sum = self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(
            out,
            "weir_delivery_latency_seconds_bucket{{le=\"+Inf\"}} {cumulative}\n\
             weir_delivery_latency_seconds_sum {sum}\n\
             weir_delivery_latency_seconds_count {cumulative}"
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let metrics = Metrics::default();
        metrics.count_attempt(AttemptOutcome::Delivered);
        metrics.count_attempt(AttemptOutcome::Delivered);
        metrics.count_attempt(AttemptOutcome::Failed);
        metrics.observe_delivery(Duration::from_millis(3));
        metrics.observe_delivery(Duration::from_millis(40));
        metrics.observe_delivery(Duration::from_secs(7200));
        let text = metrics.render(QueueDepth {
            pending: 5,
            due: 2,
            jobs_pending: 1,
            writable: false,
        });
        for line in [
            "weir_deliveries_pending 5",
            "weir_deliveries_due 2",
            "weir_store_writable 0",
            "weir_delivery_attempts_total{outcome=\"delivered\"} 2",
            "weir_delivery_attempts_total{outcome=\"failed\"} 1",
            "weir_delivery_attempts_total{outcome=\"dead\"} 0",
            "weir_delivery_latency_seconds_bucket{le=\"0.005\"} 1",
            "weir_delivery_latency_seconds_bucket{le=\"0.05\"} 2",
            "weir_delivery_latency_seconds_bucket{le=\"3600\"} 2",
            "weir_delivery_latency_seconds_bucket{le=\"+Inf\"} 3",
            "weir_delivery_latency_seconds_count 3",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in:\n{text}"
            );
        }
    }
}
