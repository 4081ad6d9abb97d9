//! Runs the jobs product events owe installations (the transactional outbox: each job
//! was stored with its event). Jobs are claimed with leases in the store, so several
//! nodes share the work and a node that dies mid-run leaves its jobs to be claimed again:
//! every job runs at least once. A failed run (or one that could not start) is final
//! unless the app opted in to retries (`retry.maxAttempts`), which back off from 10 s to
//! 2 h, with jitter. The handler is looked up when the job runs, in the app version the
//! installation has then.
//!
//! The dispatcher is a `worker`: it wakes when any node stores events, and otherwise when
//! the next job is due (at least every few seconds).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tracing::Instrument;
use weir_core::{
    Account, AccountId, EventId, EventSource, Installation, InstallationId, InstallationStatus,
    InvocationStatus, Job, ProductEvent,
};
use weir_store::{JobOutcome, Lease, Store, StoreError, WorkQueue};

use crate::envelope;
use crate::platform::Platform;
use crate::runner::{RunError, Runner};
use crate::worker::Queue;

/// Jobs in flight per JavaScript thread. A job spends most of its time in the store
/// (reading the event, recording the run), so many in flight keep the threads busy; each
/// thread runs one handler at a time, so a claimed job may wait for the handlers ahead of
/// it (its lease is extended meanwhile).
const IN_FLIGHT_PER_THREAD: usize = 16;
/// How long a job whose installation is still being installed waits before it looks
/// again.
const INSTALLING_WAIT: SignedDuration = SignedDuration::from_secs(1);
/// Waits before the 2nd, 3rd, … run of a failed handler; the last repeats.
const BACKOFF_SECS: &[i64] = &[10, 60, 300, 1800, 7200];

/// Runs the dispatcher until shutdown, restarted if it panics.
pub fn spawn(runner: Arc<Runner>) {
    let workers = runner.platform().workers.clone();
    workers.supervise(Jobs::NAME, move |shutdown| {
        let jobs = Arc::new(Jobs {
            runner: runner.clone(),
        });
        crate::worker::work(jobs, shutdown)
    });
}

/// The jobs queue, as the dispatcher works it.
struct Jobs {
    runner: Arc<Runner>,
}

/// One claimed job, with what its round read for it.
struct Claimed {
    job: Job,
    reads: Arc<RoundReads>,
}

impl Queue for Jobs {
    type Work = Claimed;
    const NAME: &'static str = "dispatcher";
    const QUEUE: WorkQueue = WorkQueue::Jobs;
    const ROUND_FAIL_POINT: &'static str = "dispatcher.round";
    const MAX_SLEEP: Duration = Duration::from_secs(2);

    fn platform(&self) -> &Platform {
        self.runner.platform()
    }

    fn capacity(&self) -> usize {
        self.runner.threads() * IN_FLIGHT_PER_THREAD
    }

    async fn claim(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> Result<(Vec<Claimed>, bool), StoreError> {
        let store = self.store();
        let claimed = store.claim_jobs(now, lease_until, limit as u32).await?;
        let full = claimed.len() >= limit;
        let reads = Arc::new(RoundReads::read(store.as_ref(), &claimed).await?);
        let claimed = claimed
            .into_iter()
            .map(|job| Claimed {
                job,
                reads: reads.clone(),
            })
            .collect();
        Ok((claimed, full))
    }

    fn keys(&self, claimed: &Claimed) -> Vec<(String, String)> {
        let job = &claimed.job;
        vec![(job.event_id.to_string(), job.installation_id.to_string())]
    }

    async fn run(&self, claimed: &Claimed) -> bool {
        let job = &claimed.job;
        let span =
            tracing::info_span!("job", event = %job.event_id, installation = %job.installation_id);
        run(&self.runner, job, &claimed.reads)
            .instrument(span)
            .await;
        false
    }

    async fn after_panic(&self, claimed: &Claimed, _panic: &str) {
        let job = &claimed.job;
        finish(&self.runner, job, after_failure(job, None)).await;
    }

    async fn give_back(&self, claimed: &Claimed, _leases: &[Lease]) {
        let at = weir_core::now();
        finish(&self.runner, &claimed.job, JobOutcome::Postponed { at }).await;
    }

    async fn next_due(&self) -> Result<Option<Timestamp>, StoreError> {
        self.store().next_job_due().await
    }
}

/// What a round's claimed jobs need, read once for them all: an event fanned out to ten
/// installations is read once, and an installation (with its account) once for all its
/// jobs of the round, instead of three reads a job.
struct RoundReads {
    events: HashMap<EventId, Option<ProductEvent>>,
    installations: HashMap<InstallationId, Option<Installation>>,
    accounts: HashMap<AccountId, Option<Account>>,
}

impl RoundReads {
    async fn read(store: &dyn Store, jobs: &[Job]) -> Result<Self, StoreError> {
        let mut reads = RoundReads {
            events: HashMap::new(),
            installations: HashMap::new(),
            accounts: HashMap::new(),
        };
        for job in jobs {
            if !reads.events.contains_key(&job.event_id) {
                let event = store.product_event(&job.event_id).await?;
                reads.events.insert(job.event_id.clone(), event);
            }
            if reads.installations.contains_key(&job.installation_id) {
                continue;
            }
            let installation = store.installation(&job.installation_id).await?;
            if let Some(account) = installation.as_ref().map(|i| &i.account_id)
                && !reads.accounts.contains_key(account)
            {
                reads
                    .accounts
                    .insert(account.clone(), store.account(account).await?);
            }
            reads
                .installations
                .insert(job.installation_id.clone(), installation);
        }
        Ok(reads)
    }
}

async fn run(runner: &Runner, job: &Job, reads: &RoundReads) {
    crate::fail_points::check("job.run");
    let outcome = match attempt(runner, job, reads).await {
        Ok(outcome) => outcome,
        Err(error) => {
            tracing::error!(%error, attempts = job.attempts, "a job could not run");
            after_failure(job, None)
        }
    };
    finish(runner, job, outcome).await;
}

/// Records what became of the job's run (unless its claim was taken over meanwhile).
async fn finish(runner: &Runner, job: &Job, outcome: JobOutcome) {
    let store = runner.platform().store.as_ref();
    let finish = store.finish_job(&job.event_id, &job.installation_id, job.attempts, outcome);
    if let Err(error) = finish.await {
        tracing::error!(%error, event = %job.event_id, "a job ran but could not be marked as done");
    }
}

/// Runs the job's handler, as its installation's app version has it now, and says what
/// becomes of the job.
async fn attempt(runner: &Runner, job: &Job, reads: &RoundReads) -> Result<JobOutcome, RunError> {
    let Some(event) = reads.events.get(&job.event_id).cloned().flatten() else {
        return Ok(JobOutcome::Cancelled);
    };
    let installation = reads
        .installations
        .get(&job.installation_id)
        .cloned()
        .flatten();
    let Some(installation) = installation else {
        return Ok(JobOutcome::Cancelled);
    };
    match installation.status {
        InstallationStatus::Uninstalled => return Ok(JobOutcome::Cancelled),
        InstallationStatus::Installing => {
            let at = weir_core::now() + INSTALLING_WAIT;
            return Ok(JobOutcome::Postponed { at });
        }
        InstallationStatus::Active => {}
    }
    let Some(account) = reads
        .accounts
        .get(&installation.account_id)
        .cloned()
        .flatten()
    else {
        return Ok(JobOutcome::Cancelled);
    };
    let app = runner.app(&installation.app_id).await?;
    // An update since the event may have dropped the handler.
    let Some(handler) = app.definition.handler_for(&event.source, &event.name) else {
        return Ok(JobOutcome::Cancelled);
    };
    let payload = match &event.source {
        EventSource::External => envelope::external(&account, &installation, &event),
        EventSource::Connector => envelope::connector(&account, &installation, &event),
        EventSource::Product(_) => {
            envelope::product(&account, &installation, &app.definition, &event)
        }
        // Weir runs its own events for an installation directly, never as stored jobs.
        EventSource::Platform => return Ok(JobOutcome::Cancelled),
        // Operational events owe no job (they are delivered, never handled).
        EventSource::Operational => return Ok(JobOutcome::Cancelled),
    };
    let record = runner
        .run_handler(Arc::new(installation), &job.event, &handler, payload)
        .await?;
    tracing::info!(invocation = %record.id, status = record.status.as_str(), "handler ran");
    Ok(match record.status {
        InvocationStatus::Success => JobOutcome::Done {
            invocation: record.id,
        },
        _ => after_failure(job, Some(record.id)),
    })
}

/// A failed run is retried while the job has attempts left, with backoff.
fn after_failure(job: &Job, invocation: Option<weir_core::InvocationId>) -> JobOutcome {
    if job.attempts < job.max_attempts {
        JobOutcome::RetryAt {
            at: retry_at(job.attempts, weir_core::now()),
            invocation,
        }
    } else {
        JobOutcome::Failed { invocation }
    }
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
