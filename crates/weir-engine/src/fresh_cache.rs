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

    /// The row of `key`: as looked up less than a second ago, or as `read` finds it now.
    /// A row found is kept for the next second, unless a row was forgotten while it was
    /// read: the read may then have seen it before its change.
    pub async fn get_or_read<E>(
        &self,
        key: &str,
        read: impl Future<Output = Result<Option<V>, E>>,
    ) -> Result<Option<V>, E> {
        if let Some(row) = self.get(key) {
            return Ok(Some(row));
        }
        let started = self.entries().forgets;
        let row = read.await?;
        if let Some(row) = &row {
            self.put(key, row, started);
        }
        Ok(row)
    }

    fn get(&self, key: &str) -> Option<V> {
        self.entries()
            .rows
            .get(key)
            .filter(|(_, at)| at.elapsed() < FRESH_FOR)
            .map(|(row, _)| row.clone())
    }

    /// Keeps a row whose read began when `forgets` rows had been forgotten.
    fn put(&self, key: &str, row: &V, forgets: u64) {
        let mut entries = self.entries();
        if entries.forgets != forgets {
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

    /// Reads `row` through the cache, counting the reads that reached the "store".
    async fn read(cache: &FreshCache<u32>, reads: &mut u32, row: Option<u32>) -> Option<u32> {
        let found = async {
            *reads += 1;
            Ok::<_, ()>(row)
        };
        cache.get_or_read("acme", found).await.unwrap()
    }

    #[tokio::test]
    async fn a_row_is_read_once_a_second_and_afresh_once_forgotten() {
        let (cache, mut reads) = (FreshCache::default(), 0);
        assert_eq!(read(&cache, &mut reads, None).await, None);
        assert_eq!(
            read(&cache, &mut reads, Some(1)).await,
            Some(1),
            "a missing row is not kept"
        );
        assert_eq!(read(&cache, &mut reads, Some(2)).await, Some(1), "kept");
        assert_eq!(reads, 2);
        cache.forget("acme");
        assert_eq!(read(&cache, &mut reads, Some(2)).await, Some(2));
        cache.entries().rows.get_mut("acme").unwrap().1 -= FRESH_FOR;
        assert_eq!(
            read(&cache, &mut reads, Some(3)).await,
            Some(3),
            "a row looked up a second ago is stale"
        );
        assert_eq!(reads, 4);
    }

    #[tokio::test]
    async fn a_row_read_while_one_is_forgotten_is_not_kept() {
        let cache = FreshCache::default();
        let as_it_was = async {
            cache.forget("acme");
            Ok::<_, ()>(Some("as it was"))
        };
        assert_eq!(
            cache.get_or_read("acme", as_it_was).await,
            Ok(Some("as it was"))
        );
        assert_eq!(cache.get("acme"), None);
        let as_it_is = async { Ok::<_, ()>(Some("as it is")) };
        assert_eq!(
            cache.get_or_read("acme", as_it_is).await,
            Ok(Some("as it is"))
        );
        assert_eq!(cache.get("acme"), Some("as it is"));
    }

    #[test]
    fn a_full_cache_starts_over() {
        let cache = FreshCache::default();
        for n in 0..MAX_ENTRIES {
            cache.put(&n.to_string(), &n, 0);
        }
        cache.put("one more", &0, 0);
        assert_eq!(cache.get("0"), None);
        assert_eq!(cache.get("one more"), Some(0));
    }
}
