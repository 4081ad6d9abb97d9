//! Retention: records older than the operator keeps them are deleted, each kind on its
//! own period (events with their jobs, deliveries and attempts; handler runs' records;
//! delivery attempts; registered webhook calls). A worker looks every hour and deletes in
//! small batches (more often when a period is shorter than a few hours), each its own
//! short statement, so that no lock is held for long and
//! the queues go on meanwhile. Nothing still pending, nor anything pending work needs, is
//! ever deleted (the store's rule).

use std::sync::Arc;
use std::time::Duration;

use weir_store::RecordKind;

use crate::platform::Platform;
use crate::supervisor::Shutdown;

/// How often retention looks, at most…
const EVERY: Duration = Duration::from_secs(3600);
/// …and at least: records outlive their period by at most a tenth of it, a second
/// at least.
const EVERY_AT_LEAST: Duration = Duration::from_secs(1);
/// Rows one statement deletes at most.
const BATCH: u32 = 500;
/// A breath between batches, for the writes of the queues.
const BETWEEN_BATCHES: Duration = Duration::from_millis(20);

/// How long each kind of record is kept.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub events: Duration,
    pub invocations: Duration,
    pub attempts: Duration,
    /// Calls of registered webhooks.
    pub webhook_calls: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        let days = |n: u64| Duration::from_secs(n * 24 * 3600);
        Retention {
            events: days(30),
            invocations: days(30),
            attempts: days(30),
            webhook_calls: days(30),
        }
    }
}

impl Retention {
    /// A tenth of the shortest period, between a second and an hour.
    pub fn interval(&self) -> Duration {
        let shortest = [
            self.events,
            self.invocations,
            self.attempts,
            self.webhook_calls,
        ]
        .into_iter()
        .min()
        .unwrap_or(EVERY);
        (shortest / 10).clamp(EVERY_AT_LEAST, EVERY)
    }

    fn of(&self, kind: RecordKind) -> Duration {
        match kind {
            RecordKind::Events => self.events,
            RecordKind::Invocations => self.invocations,
            RecordKind::Attempts => self.attempts,
        }
    }
}

/// Starts the retention worker (named "retention"), supervised: restarted if it panics.
pub fn spawn(platform: Arc<Platform>) {
    let workers = platform.workers.clone();
    workers.supervise("retention", move |shutdown| {
        hourly(platform.clone(), shutdown)
    });
}

async fn hourly(platform: Arc<Platform>, shutdown: Shutdown) {
    loop {
        purge_all(&platform, &shutdown).await;
        tokio::select! {
            () = tokio::time::sleep(platform.settings.retention.interval()) => {}
            _ = shutdown.requested() => return,
        }
    }
}

/// One round: every kind, batch after batch until a batch comes back short; then the
/// space of what went is made reusable.
async fn purge_all(platform: &Platform, shutdown: &Shutdown) {
    let retention = platform.settings.retention;
    let mut purged_any = false;
    for kind in RecordKind::ALL {
        let before = cut_off(retention.of(kind));
        let mut purged = 0;
        loop {
            if shutdown.is_requested() {
                return;
            }
            match platform.store.purge_records(kind, before, BATCH).await {
                Ok(count) => {
                    purged += count;
                    if count < u64::from(BATCH) {
                        break;
                    }
                }
                Err(error) => {
                    tracing::error!(%error, kind = kind.as_str(), "old records could not be deleted");
                    break;
                }
            }
            tokio::time::sleep(BETWEEN_BATCHES).await;
        }
        if purged > 0 {
            purged_any = true;
            tracing::info!(purged, kind = kind.as_str(), "old records deleted");
        }
    }
    let before = cut_off(retention.webhook_calls);
    match platform.store.purge_webhook_invocations(before).await {
        Ok(0) => {}
        Ok(purged) => {
            purged_any = true;
            tracing::info!(purged, "old webhook call records deleted");
        }
        Err(error) => tracing::error!(%error, "webhook call records could not be purged"),
    }
    if purged_any && let Err(error) = platform.store.reclaim_space().await {
        tracing::warn!(%error, "the space of deleted records could not be reclaimed yet");
    }
}

/// Now less `kept`; the dawn of time when that is before it.
fn cut_off(kept: Duration) -> jiff::Timestamp {
    let kept = jiff::SignedDuration::try_from(kept).unwrap_or(jiff::SignedDuration::MAX);
    weir_core::now()
        .checked_sub(kept)
        .unwrap_or(jiff::Timestamp::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_looks_hourly_or_at_a_tenth_of_a_shorter_period() {
        let days = Retention::default();
        assert_eq!(days.interval(), EVERY);
        let seconds = Retention {
            attempts: Duration::from_secs(30),
            ..days
        };
        assert_eq!(seconds.interval(), Duration::from_secs(3));
        let instant = Retention {
            events: Duration::from_millis(10),
            ..days
        };
        assert_eq!(instant.interval(), EVERY_AT_LEAST);
    }
}
