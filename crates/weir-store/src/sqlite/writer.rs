//! The one thread that writes to SQLite, committing concurrent writes together.
//!
//! SQLite allows one writer at a time, and with `synchronous=FULL` every commit waits for
//! an fsync. So writes are queued to a single thread, which takes everything waiting,
//! runs each write in its own savepoint inside one transaction, commits once, and only
//! then answers each caller. A write that fails rolls back its savepoint alone; the
//! others still commit. Nobody hears "done" before their write is on disk.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::{Result, StoreError};

/// How many queued writes one commit may carry.
const MAX_BATCH: usize = 256;

/// Called once the batch's commit has succeeded (`None`) or failed (`Some(why)`).
type Reply = Box<dyn FnOnce(Option<&StoreError>) + Send>;
/// Runs one write inside the open transaction and returns how to answer its caller.
type Job = Box<dyn FnOnce(&Connection) -> Reply + Send>;

pub(crate) struct Writer {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    /// The last write that failed for a reason of the environment (a full disk), and when.
    last_unavailable: Arc<Mutex<Option<(Instant, String)>>>,
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
            last_unavailable: Arc::default(),
        })
    }

    /// Why writes failed within `window`, if they did for a reason of the environment. A
    /// small write may still fit where larger ones fail (a full disk leaves slack in the
    /// WAL), so one write that succeeds does not prove the trouble over.
    pub fn recent_trouble(&self, window: Duration) -> Option<String> {
        let last = self
            .last_unavailable
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        last.as_ref()
            .filter(|(at, _)| at.elapsed() < window)
            .map(|(at, why)| format!("a write failed {} s ago: {why}", at.elapsed().as_secs()))
    }

    /// Runs `write` in the next group commit and returns its result once it is durable.
    pub async fn write<R, F>(&self, write: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let last_unavailable = self.last_unavailable.clone();
        let job: Job = Box::new(move |connection| {
            let result = in_savepoint(connection, write);
            Box::new(move |commit_failure: Option<&StoreError>| {
                let result = match commit_failure {
                    Some(failure) => Err(failure.clone()),
                    None => result,
                };
                if let Err(StoreError::Unavailable(why)) = &result {
                    let mut last = last_unavailable.lock().unwrap_or_else(|e| e.into_inner());
                    *last = Some((Instant::now(), why.clone()));
                }
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
            tracing::warn!(error = %e, "SQLite could not begin a group commit");
            one_transaction_each(connection, batch);
            continue;
        }
        let mut jobs = batch.into_iter();
        let mut replies: Vec<Reply> = Vec::new();
        for job in jobs.by_ref() {
            replies.push(job(connection));
            // Some errors (a full disk, an I/O error) make SQLite roll the whole
            // transaction back. Then the writes run so far are lost, and the rest must
            // not run in autocommit mode as if they were still part of the group.
            if connection.is_autocommit() {
                break;
            }
        }
        if connection.is_autocommit() {
            let rolled_back = StoreError::Unavailable(
                "SQLite rolled the transaction back (a full disk or an I/O error)".into(),
            );
            for reply in replies {
                reply(Some(&rolled_back));
            }
            one_transaction_each(connection, jobs.collect());
            continue;
        }
        let failure = connection.execute_batch("COMMIT").err().map(super::backend);
        if failure.is_some() {
            let _ = connection.execute_batch("ROLLBACK");
        }
        for reply in replies {
            reply(failure.as_ref());
        }
    }
}

/// Runs each write in a transaction of its own: outside BEGIN, a savepoint is a
/// transaction, committed by its RELEASE, so each caller hears its own outcome.
fn one_transaction_each(connection: &Connection, jobs: Vec<Job>) {
    for job in jobs {
        job(connection)(None);
    }
}

fn in_savepoint<R>(
    connection: &Connection,
    write: impl FnOnce(&Connection) -> Result<R>,
) -> Result<R> {
    // Prepared once: every write of every group runs these two.
    let run_cached = |sql| {
        connection
            .prepare_cached(sql)
            .and_then(|mut statement| statement.execute([]))
            .map_err(super::backend)
    };
    run_cached("SAVEPOINT job")?;
    let result = catch_unwind(AssertUnwindSafe(|| write(connection)))
        .unwrap_or_else(|_| Err(StoreError::Backend("a write panicked".into())));
    if result.is_err() {
        run_cached("ROLLBACK TO job")?;
    }
    run_cached("RELEASE job")?;
    result
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// Whatever happens to the group's transaction, a caller told "done" has its row, and a
    /// caller told "failed" has none. A small page budget makes SQLite run out of room
    /// mid-batch (SQLITE_FULL), which can roll the whole transaction back.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_answer_matches_what_is_on_disk_when_the_disk_fills() {
        let dir = std::env::temp_dir().join(format!("weir-writer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("full.db");
        let _ = std::fs::remove_file(&path);
        let connection = Connection::open(&path).unwrap();
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA max_page_count = 64;
                 CREATE TABLE t (id INTEGER PRIMARY KEY, data BLOB NOT NULL);",
            )
            .unwrap();
        let writer = Arc::new(Writer::start(connection).unwrap());
        let mut tasks = tokio::task::JoinSet::new();
        for id in 0..200i64 {
            let writer = writer.clone();
            tasks.spawn(async move {
                let outcome = writer
                    .write(move |c| {
                        c.execute("INSERT INTO t (id, data) VALUES (?1, zeroblob(6000))", [id])
                            .map_err(super::super::backend)
                    })
                    .await;
                (id, outcome.is_ok())
            });
        }
        let outcomes = tasks.join_all().await;
        drop(Arc::into_inner(writer).expect("the only writer"));

        let check = Connection::open(&path).unwrap();
        let mut succeeded = 0;
        for (id, ok) in outcomes {
            let stored: i64 = check
                .query_row("SELECT COUNT(*) FROM t WHERE id = ?1", [id], |r| r.get(0))
                .unwrap();
            assert_eq!(
                stored == 1,
                ok,
                "write {id} answered ok={ok} but stored={stored}"
            );
            succeeded += usize::from(ok);
        }
        assert!(
            succeeded > 0 && succeeded < 200,
            "the disk filled part-way ({succeeded} stored)"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
