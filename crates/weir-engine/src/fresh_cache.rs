//! Rows looked up by key, remembered for a moment: a busy target URL, or an account its
//! product posts to all the time, is read once a second rather than on every request.
//!
//! Each use says why a second's staleness is harmless there. The changes a node makes that
//! matter to a use forget the key at once, and a row read before such a forget is not
//! kept, so only a change made on another node is seen late.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a looked-up row is trusted.
const FRESH_FOR: Duration = Duration::from_secs(1);
/// Entries kept at most; past it the cache starts over (a flood of made-up keys is never
/// cached: only rows that exist are).
const MAX_ENTRIES: usize = 10_000;

pub struct FreshCache<V> {
    entries: Mutex<Entries<V>>,
}

struct Entries<V> {
    rows: HashMap<String, (V, Instant)>,
    /// Counts the forgets: a row read before one is not kept after it.
    forgets: u64,
}

/// When a read began, as the cache counts: `FreshCache::put` keeps the row it read only if
/// nothing was forgotten since.
#[derive(Clone, Copy)]
pub struct ReadStart(u64);

impl<V> Default for FreshCache<V> {
    fn default() -> Self {
        FreshCache {
            entries: Mutex::new(Entries {
                rows: HashMap::new(),
                forgets: 0,
            }),
        }
    }
}

impl<V: Clone> FreshCache<V> {
    fn entries(&self) -> std::sync::MutexGuard<'_, Entries<V>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The row of `key`, if looked up less than a second ago.
    pub fn get(&self, key: &str) -> Option<V> {
        self.entries()
            .rows
            .get(key)
            .filter(|(_, at)| at.elapsed() < FRESH_FOR)
            .map(|(row, _)| row.clone())
    }

    /// To take before reading a row to `put`.
    pub fn read_start(&self) -> ReadStart {
        ReadStart(self.entries().forgets)
    }

    /// Keeps a row read since `started`, unless a row was forgotten meanwhile: the read
    /// may then have seen it before its change.
    pub fn put(&self, key: &str, row: &V, started: ReadStart) {
        let mut entries = self.entries();
        if entries.forgets != started.0 {
            return;
        }
        if entries.rows.len() >= MAX_ENTRIES {
            entries.rows.clear();
        }
        entries
            .rows
            .insert(key.to_owned(), (row.clone(), Instant::now()));
    }

    /// Forgets a row that changed here (or may have: call it after a failed write too).
    pub fn forget(&self, key: &str) {
        let mut entries = self.entries();
        entries.forgets += 1;
        entries.rows.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_is_trusted_for_a_second_and_forgotten_on_demand() {
        let cache = FreshCache::default();
        cache.put("acme", &1, cache.read_start());
        assert_eq!(cache.get("acme"), Some(1));
        assert_eq!(cache.get("other"), None);
        cache.forget("acme");
        assert_eq!(cache.get("acme"), None);
        cache.put("acme", &2, cache.read_start());
        cache.entries().rows.get_mut("acme").unwrap().1 -= FRESH_FOR;
        assert_eq!(
            cache.get("acme"),
            None,
            "a row looked up a second ago is stale"
        );
    }

    #[test]
    fn a_row_read_before_a_forget_is_not_kept() {
        let cache = FreshCache::default();
        let started = cache.read_start();
        cache.forget("acme");
        cache.put("acme", &"as it was", started);
        assert_eq!(cache.get("acme"), None);
        cache.put("acme", &"as it is", cache.read_start());
        assert_eq!(cache.get("acme"), Some("as it is"));
    }

    #[test]
    fn a_full_cache_starts_over() {
        let cache = FreshCache::default();
        for n in 0..MAX_ENTRIES {
            cache.put(&n.to_string(), &n, cache.read_start());
        }
        cache.put("one more", &0, cache.read_start());
        assert_eq!(cache.get("0"), None);
        assert_eq!(cache.get("one more"), Some(0));
    }
}
