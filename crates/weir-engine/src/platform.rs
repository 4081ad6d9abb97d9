//! What every installation's platform calls share: the store, the outbound client and
//! the operator's settings.

use std::sync::Arc;
use std::time::Duration;

use weir_core::{InstallationId, ScheduleLimits};
use weir_store::Store;

use crate::outbound::Outbound;
use crate::rate_limit::RateLimiter;

pub struct Platform {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) outbound: Outbound,
    pub(crate) settings: PlatformSettings,
    /// `$db` calls, per installation.
    pub(crate) db_calls: RateLimiter<InstallationId>,
    /// Requests to target URLs, per installation.
    pub(crate) external_events: RateLimiter<InstallationId>,
    /// Calls of registered webhooks, per installation.
    pub(crate) webhook_calls: RateLimiter<InstallationId>,
    /// Counters for `/metrics`.
    pub(crate) metrics: crate::metrics::Metrics,
    /// This node's background workers, kept running; `/readyz` asks them.
    pub(crate) workers: Arc<crate::supervisor::Workers>,
    /// What wakes the workers, here and on the other nodes (`Platform::wake`).
    pub(crate) wakeups: Arc<crate::wakeups::Wakeups>,
    /// OAuth refreshes take turns per installation and integration.
    pub(crate) oauth_refreshes: crate::oauth::RefreshLocks,
    /// Debounced operational events this node told lately.
    pub(crate) told_lately: crate::notices::ToldLately,
}

impl Platform {
    pub fn new(store: Arc<dyn Store>, outbound: Outbound, settings: PlatformSettings) -> Self {
        Platform {
            store,
            outbound,
            db_calls: RateLimiter::per_minute(settings.db_calls_per_minute),
            external_events: RateLimiter::per_minute(settings.external_events_per_minute),
            webhook_calls: RateLimiter::per_minute(settings.webhook_calls_per_minute),
            wakeups: Default::default(),
            oauth_refreshes: Default::default(),
            told_lately: Default::default(),
            metrics: Default::default(),
            workers: Default::default(),
            settings,
        }
    }
}

impl Platform {
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// This node's background workers.
    pub fn workers(&self) -> &Arc<crate::supervisor::Workers> {
        &self.workers
    }

    /// Work of `queue` was stored: its workers look at once, on this node and on every
    /// other node sharing the store.
    pub fn wake(&self, queue: weir_store::WorkQueue) {
        self.wakeups.wake(&self.store, queue);
    }
}

/// The most records a page of entity storage's `getAll` holds, and the default.
pub const MAX_ENTITY_PAGE_SIZE: u32 = 100;

/// Limits of platform calls, with the platforms' figures as defaults (REFERENCE §1, §8).
#[derive(Debug, Clone)]
pub struct PlatformSettings {
    /// Per `$request` attempt (Freshworks: 15 s).
    pub request_timeout: Duration,
    /// Response bodies `$request` reads (Freshworks: 6 MB).
    pub max_response_bytes: usize,
    pub schedules: ScheduleLimits,
    /// `$db` calls per installation per minute, entity storage's included (Freshworks: 50).
    pub db_calls_per_minute: u32,
    /// Records a page of entity storage's `getAll` holds, 1 to
    /// [`MAX_ENTITY_PAGE_SIZE`] (a guess: the Freshworks docs give no figure).
    pub entity_page_size: u32,
    /// Requests to an installation's target URL per minute (Freshworks: 250), per node.
    pub external_events_per_minute: u32,
    /// Calls of registered webhooks per installation per minute (Coviu: 50).
    pub webhook_calls_per_minute: u32,
    /// How long each kind of record is kept.
    pub retention: crate::retention::Retention,
    /// How long a global webhook's `handle` may run before its sender gets an error.
    pub global_handle_time: Duration,
    /// Whether an extension webhook's URL must answer a GET (or a POST) with 200 before
    /// the install that makes it succeeds, as Zoho Desk checks (off for development).
    pub validate_extension_urls: bool,
    /// A subscription whose attempts have all failed for this long is disabled.
    pub disable_failing_after: Duration,
    /// At most one `subscription.failing` per subscription, and one
    /// `app.handler_failing` per installation, in this long (operational webhooks).
    pub operational_debounce: Duration,
    /// How long an extension webhook's URL has to answer 200 (Zoho Desk: 5 s).
    pub extension_webhook_timeout: Duration,
    /// The key that signs `securityContext` tokens; the same on every node (kept in the
    /// store), so any node verifies what another issued.
    pub security_key: SecurityKey,
}

/// A signing key; its `Debug` never prints it.
#[derive(Clone)]
pub struct SecurityKey(pub Vec<u8>);

impl std::fmt::Debug for SecurityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecurityKey(***)")
    }
}

impl Default for PlatformSettings {
    fn default() -> Self {
        PlatformSettings {
            request_timeout: Duration::from_secs(15),
            max_response_bytes: 6 * 1024 * 1024,
            schedules: ScheduleLimits::default(),
            db_calls_per_minute: 50,
            entity_page_size: MAX_ENTITY_PAGE_SIZE,
            external_events_per_minute: 250,
            webhook_calls_per_minute: 50,
            retention: crate::retention::Retention::default(),
            global_handle_time: Duration::from_secs(10),
            validate_extension_urls: true,
            disable_failing_after: Duration::from_secs(5 * 24 * 3600),
            operational_debounce: Duration::from_secs(3600),
            extension_webhook_timeout: Duration::from_secs(5),
            security_key: {
                let mut key = vec![0u8; 32];
                getrandom::fill(&mut key).expect("the operating system's random source failed");
                SecurityKey(key)
            },
        }
    }
}
