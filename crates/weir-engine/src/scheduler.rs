//! Fires `$schedule`s: claims the ones that are due, runs each installation's
//! `onScheduledEvent` handler with the schedule's data, then deletes a one-time schedule
//! or moves a recurring one to its next run.
//!
//! The scheduler is a `worker`: claims are leases in the store, so several nodes share
//! the work and a node that dies mid-run leaves its schedules to be claimed again once
//! the lease ends; a schedule runs at least once, on time give or take the scheduler's
//! wake-up. It sleeps until the next schedule is due, woken early when a node writes one.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tracing::Instrument;
use weir_core::Schedule;
use weir_store::{StoreError, WorkQueue};

use crate::envelope;
use crate::platform::Platform;
use crate::runner::{RunError, Runner};
use crate::worker::Queue;
use weir_core::catalogue::SCHEDULED_EVENT;

/// Schedules firing at once on this node, at most.
const IN_FLIGHT: usize = 32;

/// Runs the scheduler until shutdown, restarted if it panics.
pub fn spawn(runner: Arc<Runner>) {
    let workers = runner.platform().workers.clone();
    workers.supervise(Schedules::NAME, move |shutdown| {
        let schedules = Arc::new(Schedules {
            runner: runner.clone(),
        });
        crate::worker::work(schedules, shutdown)
    });
}

/// The schedules, as the scheduler works them.
struct Schedules {
    runner: Arc<Runner>,
}

impl Queue for Schedules {
    type Work = Schedule;
    const NAME: &'static str = "scheduler";
    const QUEUE: WorkQueue = WorkQueue::Schedules;
    const ROUND_FAIL_POINT: &'static str = "scheduler.round";
    const MAX_SLEEP: Duration = Duration::from_secs(10);

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
    ) -> Result<(Vec<Schedule>, bool), StoreError> {
        let store = self.store();
        let claimed = store
            .claim_due_schedules(now, lease_until, limit as u32)
            .await?;
        let full = claimed.len() >= limit;
        Ok((claimed, full))
    }

    fn keys(&self, schedule: &Schedule) -> Vec<(String, String)> {
        vec![(
            schedule.installation_id.to_string(),
            schedule.spec.name.clone(),
        )]
    }

    async fn run(&self, schedule: &Schedule) -> bool {
        let span = tracing::info_span!("schedule", installation = %schedule.installation_id, name = %schedule.spec.name);
        fire(&self.runner, schedule).instrument(span).await;
        false
    }

    /// The claim runs out and the schedule is tried again.
    async fn after_panic(&self, _schedule: &Schedule, _panic: &str) {}

    async fn next_due(&self) -> Result<Option<Timestamp>, StoreError> {
        self.store().next_schedule_due().await
    }
}

async fn fire(runner: &Runner, schedule: &Schedule) {
    let name = schedule.spec.name.clone();
    match run(runner, schedule).await {
        Ok(()) | Err(RunError::NoHandler { .. }) | Err(RunError::Load(_)) => {}
        Err(error) => {
            // The claim runs out and the schedule is tried again.
            tracing::error!(%error, "a scheduled event could not run; it will be retried");
            return;
        }
    }
    let next = schedule
        .spec
        .next_run_after(schedule.next_run_at.max(weir_core::now()));
    let store = runner.platform().store.as_ref();
    let finished = store
        .finish_schedule_run(&schedule.installation_id, &name, schedule.version, next)
        .await;
    if let Err(error) = finished {
        tracing::error!(%error, "a scheduled event ran but could not be marked as done");
    }
}

async fn run(runner: &Runner, schedule: &Schedule) -> Result<(), RunError> {
    let store = runner.platform().store.as_ref();
    let Some(installation) = store.installation(&schedule.installation_id).await? else {
        return Ok(());
    };
    let Some(account) = store.account(&installation.account_id).await? else {
        return Ok(());
    };
    let data = serde_json::Value::Object(schedule.spec.data.clone());
    let payload = envelope::scheduled(&account, &installation, data);
    let record = runner
        .run(Arc::new(installation), SCHEDULED_EVENT, payload)
        .await;
    match record {
        Ok(record) => {
            tracing::info!(invocation = %record.id, status = record.status.as_str(), "scheduled event ran");
            Ok(())
        }
        Err(error) => {
            tracing::warn!(%error, "scheduled event did not run");
            Err(error)
        }
    }
}
