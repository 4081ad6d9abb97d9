//! A histogram of durations with fixed buckets, kept in atomics: observing is a few
//! relaxed additions, never a lock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::text;

/// Upper bounds in seconds for request-sized durations (HTTP, handlers, the store).
pub(crate) const SHORT: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Upper bounds in seconds for an event's way to its receiver, retries included.
pub(crate) const LONG: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0,
];

pub(crate) struct Histogram {
    bounds: &'static [f64],
    /// Per bound, and one more for above them all.
    counts: Vec<AtomicU64>,
    sum_micros: AtomicU64,
}

impl Histogram {
    pub(crate) fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
        }
    }

    pub(crate) fn observe(&self, duration: Duration) {
        let seconds = duration.as_secs_f64();
        let bucket = self
            .bounds
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(self.bounds.len());
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Its `_bucket`, `_sum` and `_count` samples under `name`, with `labels` on each.
    pub(crate) fn render(&self, out: &mut String, name: &str, labels: &[(&str, &str)]) {
        let bucket = format!("{name}_bucket");
        let mut cumulative = 0;
        let bounds = self.bounds.iter().map(|b| b.to_string());
        for (i, bound) in bounds.chain(["+Inf".to_owned()]).enumerate() {
            cumulative += self.counts[i].load(Ordering::Relaxed);
            let mut with_le = labels.to_vec();
            with_le.push(("le", &bound));
            text::sample(out, &bucket, &with_le, cumulative as f64);
        }
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        text::sample(out, &format!("{name}_sum"), labels, sum);
        text::sample(out, &format!("{name}_count"), labels, cumulative as f64);
    }
}
