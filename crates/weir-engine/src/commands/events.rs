//! Product events: what the host product posts, stored with the handler runs and the
//! deliveries each owes, then handed to the workers.

use weir_core::ProductEvent;
use weir_store::{Ingested, WorkQueue};

use crate::engine::Engine;
use crate::error::Error;

impl Engine {
    /// Stores the events (a batch commits whole) with the jobs and deliveries they cause,
    /// and wakes the workers that have new work. An event whose idempotency key names an
    /// earlier one is a duplicate: nothing new is stored for it.
    pub async fn post_events(&self, events: &[ProductEvent]) -> Result<Vec<Ingested>, Error> {
        let ingested = self.store().ingest_events(events).await?;
        let created = |has: fn(u64, u64) -> bool| {
            ingested.iter().any(|i| matches!(i, Ingested::Created { jobs, deliveries, .. } if has(*jobs, *deliveries)))
        };
        if created(|jobs, _| jobs > 0) {
            self.platform().wake(WorkQueue::Jobs);
        }
        if created(|_, deliveries| deliveries > 0) {
            self.platform().wake(WorkQueue::Deliveries);
        }
        Ok(ingested)
    }
}
