//! Runs connector subscriptions' `refresh` methods when they are due
//! (`connector_webhooks::refresh`), as a `worker`: due refreshes are claimed with leases,
//! so nodes share them and a node that dies leaves its refreshes to the others. A refresh
//! that fails is tried again later.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use weir_store::{ConnectorSubscription, StoreError, WorkQueue};

use crate::connector_webhooks::refresh;
use crate::platform::Platform;
use crate::runner::Runner;
use crate::worker::Queue;

/// Refreshes running at once on this node, at most.
const IN_FLIGHT: usize = 4;
/// When a failed refresh is tried again.
const RETRY: SignedDuration = SignedDuration::from_mins(5);

/// Runs due refreshes until shutdown, restarted if it panics.
pub fn spawn(runner: Arc<Runner>) {
    let workers = runner.platform().workers.clone();
    workers.supervise(Refreshes::NAME, move |shutdown| {
        let refreshes = Arc::new(Refreshes {
            runner: runner.clone(),
        });
        crate::worker::work(refreshes, shutdown)
    });
}

/// The connector subscriptions due for a refresh, as the refresher works them.
struct Refreshes {
    runner: Arc<Runner>,
}

impl Refreshes {
    /// Tries the refresh again after `RETRY`.
    async fn retry_later(&self, due: &ConnectorSubscription) {
        let again = ConnectorSubscription {
            refresh_at: Some(weir_core::now() + RETRY),
            ..due.clone()
        };
        if let Err(error) = self.store().put_connector_subscription(&again).await {
            tracing::error!(%error, installation = %due.installation_id, "a failed refresh could not be put off; its claim runs out");
        }
    }
}

impl Queue for Refreshes {
    type Work = ConnectorSubscription;
    const NAME: &'static str = "connector_refresher";
    const QUEUE: WorkQueue = WorkQueue::Refreshes;
    const ROUND_FAIL_POINT: &'static str = "connector_refresher.round";
    const MAX_SLEEP: Duration = Duration::from_secs(30);

    fn platform(&self) -> &Platform {
        self.runner.platform()
    }

    fn capacity(&self) -> usize {
        IN_FLIGHT
    }

    async fn claim(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> Result<(Vec<ConnectorSubscription>, bool), StoreError> {
        let store = self.store();
        let claimed = store
            .claim_due_refreshes(now, lease_until, limit as u32)
            .await?;
        let full = claimed.len() >= limit;
        Ok((claimed, full))
    }

    fn keys(&self, due: &ConnectorSubscription) -> Vec<(String, String)> {
        vec![(due.installation_id.to_string(), due.event_key.clone())]
    }

    async fn run(&self, due: &ConnectorSubscription) -> bool {
        if let Err(error) = refresh(&self.runner, due).await {
            tracing::warn!(installation = %due.installation_id, event = due.event_key, %error, "a connector refresh failed; it is tried again later");
            self.retry_later(due).await;
        }
        false
    }

    async fn after_panic(&self, due: &ConnectorSubscription, _panic: &str) {
        self.retry_later(due).await;
    }

    async fn next_due(&self) -> Result<Option<Timestamp>, StoreError> {
        self.store().next_refresh_due().await
    }
}
