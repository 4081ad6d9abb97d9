//! Runs the jobs product events owe installations (the transactional outbox: each job
//! was stored with its event). Jobs are claimed with leases in the store, so several
//! nodes share the work and a node that dies mid-run leaves its jobs to be claimed again:
//! every job runs at least once. A failed run is final unless the app opted in to
//! retries (`retry.maxAttempts`), which back off from 10 s to 2 h, with jitter.
//!
//! The dispatcher wakes when this node stores events, and otherwise when the next job is
//! due (at least every few seconds, for jobs other nodes stored).

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use weir_core::{InvocationStatus, Job, ProductEvent};
use weir_store::JobOutcome;

use crate::envelope;
use crate::runner::Runner;

/// Jobs claimed per round.
const BATCH: u32 = 64;
/// The longest sleep: jobs stored by other nodes are seen at least this often.
const MAX_SLEEP: Duration = Duration::from_secs(2);
/// Waits before the 2nd, 3rd, … run of a failed handler; the last repeats.
const BACKOFF_SECS: &[i64] = &[10, 60, 300, 1800, 7200];

/// Runs the dispatcher until the process ends.
pub fn spawn(runner: Arc<Runner>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            // Registered before looking, so a notification during the round is not lost.
            let ready = runner.platform().jobs_ready.notified();
            let sleep = match round(&runner).await {
                Ok(sleep) => sleep,
                Err(error) => {
                    tracing::error!(%error, "the dispatcher could not reach the store");
                    MAX_SLEEP
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                _ = ready => {}
            }
        }
    })
}

/// Claims and starts what is due; returns how long to sleep.
async fn round(runner: &Arc<Runner>) -> Result<Duration, weir_store::StoreError> {
    let store = runner.platform().store.clone();
    loop {
        let now = weir_core::now();
        let claimed = store.claim_jobs(now, now + lease(runner), BATCH).await?;
        let full = claimed.len() == BATCH as usize;
        for job in claimed {
            let runner = runner.clone();
            tokio::spawn(async move { run(&runner, job).await });
        }
        if !full {
            break;
        }
    }
    let now = weir_core::now();
    Ok(match store.next_job_due().await? {
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

async fn run(runner: &Runner, job: Job) {
    let span =
        tracing::info_span!("job", event = %job.event_id, installation = %job.installation_id);
    let _enter = span.enter();
    let outcome = match attempt(runner, &job).await {
        Ok(outcome) => outcome,
        Err(error) => {
            // The claim runs out and the job is tried again.
            tracing::error!(%error, "a job could not run; it will be retried");
            return;
        }
    };
    let store = runner.platform().store.as_ref();
    if let Err(error) = store
        .finish_job(&job.event_id, &job.installation_id, outcome)
        .await
    {
        tracing::error!(%error, "a job ran but could not be marked as done");
    }
}

/// Runs the job's handler and says what becomes of the job.
async fn attempt(runner: &Runner, job: &Job) -> Result<JobOutcome, crate::RunError> {
    let store = runner.platform().store.as_ref();
    let gone = JobOutcome::Failed { invocation: None };
    let Some(event) = store.product_event(&job.event_id).await? else {
        return Ok(gone);
    };
    let Some(installation) = store.installation(&job.installation_id).await? else {
        return Ok(gone);
    };
    let Some(account) = store.account(&installation.account_id).await? else {
        return Ok(gone);
    };
    let app = runner.app(&installation.app_id).await?;
    let payload = match event.product.as_str() {
        ProductEvent::EXTERNAL => envelope::external(&account, &installation, &event),
        ProductEvent::CONNECTOR => envelope::connector(&account, &installation, &event),
        _ => envelope::product(&account, &installation, &app.definition, &event),
    };
    let record = runner
        .run_handler(Arc::new(installation), &job.event, &job.handler, payload)
        .await?;
    tracing::info!(invocation = %record.id, status = record.status.as_str(), "handler ran");
    let invocation = Some(record.id.clone());
    Ok(match record.status {
        InvocationStatus::Success => JobOutcome::Done {
            invocation: record.id,
        },
        _ if job.attempts < job.max_attempts => JobOutcome::RetryAt {
            at: retry_at(job.attempts, weir_core::now()),
            invocation,
        },
        _ => JobOutcome::Failed { invocation },
    })
}

/// When the next run of a job that has failed `attempts` times starts: the backoff
/// step, give or take a fifth, so that retries of many jobs spread out.
fn retry_at(attempts: u32, now: Timestamp) -> Timestamp {
    let step = (attempts.max(1) as usize - 1).min(BACKOFF_SECS.len() - 1);
    let base_ms = BACKOFF_SECS[step] * 1000;
    let spread = base_ms / 5;
    let jitter = i64::from(now.subsec_nanosecond()) % (2 * spread + 1) - spread;
    now + SignedDuration::from_millis(base_ms + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_within_a_fifth_of_each_step() {
        let now: Timestamp = "2026-01-01T00:00:00.123456789Z".parse().unwrap();
        for (attempts, seconds) in [(1, 10), (2, 60), (3, 300), (5, 7200), (9, 7200)] {
            let wait = retry_at(attempts, now).duration_since(now).as_millis() as i64;
            let base = seconds * 1000;
            assert!(
                (base - base / 5..=base + base / 5).contains(&wait),
                "{attempts}: {wait}"
            );
        }
    }
}
