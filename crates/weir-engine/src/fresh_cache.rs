//! Rows looked up by key, remembered for a moment: a busy target URL, or an account its
//! product posts to all the time, is read once a second rather than on every request.
//!
//! Each use says why a second's staleness is harmless there; every change this node makes
//! forgets the key at once, so only a change made on another node is seen late.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a looked-up row is trusted.
const FRESH_FOR: Duration = Duration::from_secs(1);
/// Entries kept at most; past it the cache starts over (a flood of made-up keys is never
/// cached: only rows that exist are).
const MAX_ENTRIES: usize = 10_000;

pub struct FreshCache<V> {
    entries: Mutex<HashMap<String, (V, Instant)>>,
}

impl<V> Default for FreshCache<V> {
    fn default() -> Self {
        FreshCache {
            entries: Mutex::default(),
        }
    }
}

impl<V: Clone> FreshCache<V> {
    /// The row of `key`, if looked up less than a second ago.
    pub fn get(&self, key: &str) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(_, at)| at.elapsed() < FRESH_FOR)
            .map(|(row, _)| row.clone())
    }

    pub fn put(&self, key: &str, row: &V) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key.to_owned(), (row.clone(), Instant::now()));
    }

    /// Forgets a row that changed here.
    pub fn forget(&self, key: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_is_trusted_for_a_second_and_forgotten_on_demand() {
        let cache = FreshCache::default();
        cache.put("acme", &1);
        assert_eq!(cache.get("acme"), Some(1));
        assert_eq!(cache.get("other"), None);
        cache.forget("acme");
        assert_eq!(cache.get("acme"), None);
        cache.put("acme", &2);
        cache.entries.lock().unwrap().get_mut("acme").unwrap().1 -= FRESH_FOR;
        assert_eq!(
            cache.get("acme"),
            None,
            "a row looked up a second ago is stale"
        );
    }

    #[test]
    fn a_full_cache_starts_over() {
        let cache = FreshCache::default();
        for n in 0..MAX_ENTRIES {
            cache.put(&n.to_string(), &n);
        }
        cache.put("one more", &0);
        assert_eq!(cache.get("0"), None);
        assert_eq!(cache.get("one more"), Some(0));
    }
}
