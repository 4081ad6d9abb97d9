//! The one thread that writes to SQLite, committing concurrent writes together.
//!
//! SQLite allows one writer at a time, and with `synchronous=FULL` every commit waits for
//! an fsync. So writes are queued to a single thread, which takes everything waiting,
//! runs each write in its own savepoint inside one transaction, commits once, and only
//! then answers each caller. A write that fails rolls back its savepoint alone; the
//! others still commit. Nobody hears "done" before their write is on disk.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::thread::JoinHandle;

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::{Result, StoreError};

/// How many queued writes one commit may carry.
const MAX_BATCH: usize = 256;

/// Called once the batch's commit has succeeded (`None`) or failed (`Some(reason)`).
type Reply = Box<dyn FnOnce(Option<&str>) + Send>;
/// Runs one write inside the open transaction and returns how to answer its caller.
type Job = Box<dyn FnOnce(&Connection) -> Reply + Send>;

pub(crate) struct Writer {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    pub fn start(connection: Connection) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("weir-sqlite-writer".into())
            .spawn(move || commit_batches(&connection, &queue))?;
        Ok(Writer {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Runs `write` in the next group commit and returns its result once it is durable.
    pub async fn write<R, F>(&self, write: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move |connection| {
            let result = in_savepoint(connection, write);
            Box::new(move |commit_failure: Option<&str>| {
                let result = match commit_failure {
                    Some(reason) => Err(StoreError::Backend(format!("commit failed: {reason}"))),
                    None => result,
                };
                // The caller may have gone away (a dropped request); the write stands.
                let _ = answer.send(result);
            })
        });
        let stopped = || StoreError::Backend("the SQLite writer has stopped".into());
        self.jobs
            .as_ref()
            .ok_or_else(stopped)?
            .send(job)
            .map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

impl Drop for Writer {
    /// Lets the thread finish what is queued, then waits for it.
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn commit_batches(connection: &Connection, queue: &mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let batch: Vec<Job> = std::iter::once(first)
            .chain(queue.try_iter().take(MAX_BATCH - 1))
            .collect();
        if let Err(e) = connection.execute_batch("BEGIN IMMEDIATE") {
            // Fall back to one transaction per write: outside BEGIN, a savepoint is a
            // transaction of its own, committed by its RELEASE, so each caller still
            // hears its own outcome.
            tracing::warn!(error = %e, "SQLite could not begin a group commit");
            for job in batch {
                job(connection)(None);
            }
            continue;
        }
        let replies: Vec<Reply> = batch.into_iter().map(|job| job(connection)).collect();
        let failure = connection
            .execute_batch("COMMIT")
            .err()
            .map(|e| e.to_string());
        if failure.is_some() {
            let _ = connection.execute_batch("ROLLBACK");
        }
        for reply in replies {
            reply(failure.as_deref());
        }
    }
}

fn in_savepoint<R>(
    connection: &Connection,
    write: impl FnOnce(&Connection) -> Result<R>,
) -> Result<R> {
    connection
        .execute_batch("SAVEPOINT job")
        .map_err(super::backend)?;
    let result = catch_unwind(AssertUnwindSafe(|| write(connection)))
        .unwrap_or_else(|_| Err(StoreError::Backend("a write panicked".into())));
    let end = if result.is_ok() {
        "RELEASE job"
    } else {
        "ROLLBACK TO job; RELEASE job"
    };
    connection.execute_batch(end).map_err(super::backend)?;
    result
}
