//! Per-key limits of so many calls a minute (`$db` per installation, and the like).
//!
//! A sliding window approximated from two fixed ones, as most API gateways do: the count
//! of the current minute plus the previous minute's count weighted by how much of it the
//! window still covers. It is exact enough for fairness, needs two counters per key, and
//! does not let a burst at a minute's boundary pass twice the limit.
//!
//! The counters are this node's: with several nodes, each enforces the limit alone.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);

pub struct RateLimiter<K> {
    per_minute: u32,
    started: Instant,
    counts: Mutex<HashMap<K, Counts>>,
}

#[derive(Debug, Clone, Copy)]
struct Counts {
    /// Which minute `current` counts, since `started`.
    minute: u64,
    current: u32,
    previous: u32,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    pub fn per_minute(per_minute: u32) -> Self {
        RateLimiter {
            per_minute,
            started: Instant::now(),
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one call for `key`; `Err` with how long to wait when it is over the limit
    /// (and then it is not counted).
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: &K, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.started);
        let minute = elapsed.as_secs() / WINDOW.as_secs();
        let into_minute = elapsed.as_secs_f64() / WINDOW.as_secs_f64() - minute as f64;
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.len() > 100_000 {
            counts.retain(|_, c| c.minute + 1 >= minute);
        }
        let entry = counts.entry(key.clone()).or_insert(Counts {
            minute,
            current: 0,
            previous: 0,
        });
        if entry.minute != minute {
            entry.previous = if entry.minute + 1 == minute {
                entry.current
            } else {
                0
            };
            entry.current = 0;
            entry.minute = minute;
        }
        let estimate = f64::from(entry.previous) * (1.0 - into_minute) + f64::from(entry.current);
        if estimate + 1.0 > f64::from(self.per_minute) {
            let wait = WINDOW.as_secs_f64() * (1.0 - into_minute);
            return Err(Duration::from_secs_f64(wait.max(1.0)));
        }
        entry.current += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_limit_then_refuses_until_the_window_moves_on() {
        let limiter = RateLimiter::per_minute(3);
        let start = limiter.started;
        for _ in 0..3 {
            assert!(limiter.check_at(&"a", start).is_ok());
        }
        assert!(limiter.check_at(&"a", start).is_err());
        // Another key has its own count.
        assert!(limiter.check_at(&"b", start).is_ok());
        // Halfway through the next minute, half the previous minute still counts.
        let later = start + Duration::from_secs(90);
        assert!(limiter.check_at(&"a", later).is_ok());
        assert!(limiter.check_at(&"a", later).is_err());
        // Two minutes on, nothing of it remains.
        let much_later = start + Duration::from_secs(180);
        for _ in 0..3 {
            assert!(limiter.check_at(&"a", much_later).is_ok());
        }
    }
}
