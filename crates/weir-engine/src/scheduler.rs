//! Fires `$schedule`s: claims the ones that are due, runs each installation's
//! `onScheduledEvent` handler with the schedule's data, then deletes a one-time schedule
//! or moves a recurring one to its next run.
//!
//! Claims are leases in the store, so several nodes share the work and a node that dies
//! mid-run leaves its schedules to be claimed again once the lease ends: a schedule runs
//! at least once, on time give or take the scheduler's wake-up. The scheduler sleeps
//! until the next schedule is due, woken early when this node writes one.

use std::sync::Arc;
use std::time::Duration;

use jiff::SignedDuration;
use tracing::Instrument;
use weir_core::Schedule;

use crate::envelope;
use crate::host::schedule::SCHEDULED_EVENT;
use crate::runner::{RunError, Runner};

/// Schedules claimed per round.
const BATCH: u32 = 32;
/// The longest sleep: schedules written by other nodes are seen at least this often.
const MAX_SLEEP: Duration = Duration::from_secs(10);

/// The scheduler's name among the workers.
const WORKER: &str = "scheduler";

/// Runs the scheduler until the process ends, restarted if it panics.
pub fn spawn(runner: Arc<Runner>) {
    let workers = runner.platform().workers.clone();
    workers.supervise(WORKER, move || run_rounds(runner.clone()));
}

/// One life of the scheduler: rounds until the process ends or a panic.
async fn run_rounds(runner: Arc<Runner>) {
    loop {
        let sleep = match round(&runner).await {
            Ok(sleep) => sleep,
            Err(error) => {
                tracing::error!(%error, "the scheduler could not reach the store");
                MAX_SLEEP
            }
        };
        let changed = runner.platform().schedules_changed.notified();
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {}
            _ = changed => {}
        }
    }
}

/// Claims and starts what is due; returns how long to sleep.
async fn round(runner: &Arc<Runner>) -> Result<Duration, weir_store::StoreError> {
    let store = runner.platform().store.clone();
    loop {
        let now = weir_core::now();
        let lease = lease(runner);
        let claimed = store.claim_due_schedules(now, now + lease, BATCH).await?;
        let full = claimed.len() == BATCH as usize;
        for schedule in claimed {
            let runner = runner.clone();
            tokio::spawn(async move {
                let span = tracing::info_span!("schedule", installation = %schedule.installation_id, name = %schedule.spec.name);
                let installation = schedule.installation_id.clone();
                let fired = crate::supervisor::catching(fire(&runner, schedule));
                if let Err(panic) = fired.instrument(span).await {
                    // The claim runs out and the schedule is tried again.
                    let workers = &runner.platform().workers;
                    workers.note_task_panic(WORKER, &panic, installation.as_str());
                }
            });
        }
        if !full {
            break;
        }
    }
    let now = weir_core::now();
    Ok(match store.next_schedule_due().await? {
        None => MAX_SLEEP,
        Some(due) => Duration::try_from(due.duration_since(now))
            .unwrap_or(Duration::ZERO)
            .min(MAX_SLEEP),
    })
}

/// Long enough for the handler to finish within its time limit, with room to spare.
fn lease(runner: &Runner) -> SignedDuration {
    let handler_time = runner.settings().limits.time;
    SignedDuration::try_from(handler_time * 3 + Duration::from_secs(60))
        .unwrap_or(SignedDuration::from_mins(5))
}

async fn fire(runner: &Runner, schedule: Schedule) {
    let name = schedule.spec.name.clone();
    match run(runner, &schedule).await {
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
