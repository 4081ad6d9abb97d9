//! PostgreSQL connections kept outside sqlx's pool, for what nearly every request and
//! every worker round does: single statements (lookups by key, claims, reads of a round)
//! and the group commits. sqlx's pool makes a round trip more for every connection it
//! lends (a ping) and one more for each it takes back; these connections skip both. A
//! connection is kept for the next use only once its statement or its transaction has
//! finished; one dropped half-way (its future cancelled) or lost is closed. sqlx's pool
//! stays for the multi-statement transactions, which are rare.

use std::sync::{Arc, Mutex};

use sqlx::postgres::{PgConnectOptions, PgRow};
use sqlx::{ConnectOptions, PgConnection};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::params::Param;
use crate::postgres::{bind, connection_lost};

pub(crate) struct Connections {
    options: PgConnectOptions,
    idle: Mutex<Vec<PgConnection>>,
    turns: Arc<Semaphore>,
}

impl Connections {
    /// Connections made with `options`, at most `at_once` in use at a time.
    pub fn new(options: PgConnectOptions, at_once: usize) -> Self {
        Connections {
            options,
            idle: Mutex::default(),
            turns: Arc::new(Semaphore::new(at_once)),
        }
    }

    /// Waits for a turn to use a connection; the turn ends when the permit is dropped.
    pub async fn turn(&self) -> Result<OwnedSemaphorePermit, sqlx::Error> {
        self.turns
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| sqlx::Error::PoolClosed)
    }

    /// An idle connection, or a new one (during a turn).
    pub async fn take(&self) -> Result<PgConnection, sqlx::Error> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match idle {
            Some(connection) => Ok(connection),
            None => self.options.connect().await,
        }
    }

    /// Keeps `connection` for the next turn: one that holds no transaction and is not
    /// in the middle of a statement.
    pub fn give_back(&self, connection: PgConnection) {
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(connection);
    }

    /// Closes the idle connections: one was found lost (a server restart), and they were
    /// all opened before it.
    pub fn forget_idle(&self) {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Runs one statement on its own (no transaction) and returns its rows. Made again on
    /// a new connection when its connection turns out lost: always for a read, and for a
    /// write only when the server said it ended the session (then the statement did not
    /// run, or was rolled back); a write whose connection broke otherwise may have run,
    /// and fails.
    pub async fn rows(
        &self,
        sql: &str,
        params: Vec<Param>,
        kind: Statement,
    ) -> Result<Vec<PgRow>, sqlx::Error> {
        match self.run(sql, params, kind, Want::Rows).await? {
            Ran::Rows(rows) => Ok(rows),
            Ran::Changed(_) => Ok(Vec::new()),
        }
    }

    /// Runs one statement that changes data, as `rows` does a write, and returns how many
    /// rows it changed.
    pub async fn changing(&self, sql: &str, params: Vec<Param>) -> Result<u64, sqlx::Error> {
        match self
            .run(sql, params, Statement::Write, Want::Changed)
            .await?
        {
            Ran::Changed(changed) => Ok(changed),
            Ran::Rows(rows) => Ok(rows.len() as u64),
        }
    }

    async fn run(
        &self,
        sql: &str,
        params: Vec<Param>,
        kind: Statement,
        want: Want,
    ) -> Result<Ran, sqlx::Error> {
        let _turn = self.turn().await?;
        match self.run_once(sql, params.clone(), want).await {
            Err(error) if connection_lost(&error) => {
                self.forget_idle();
                if kind == Statement::Write && !session_ended(&error) {
                    return Err(error);
                }
                tracing::info!(%error, "a connection was gone; running the statement again");
                self.run_once(sql, params, want).await
            }
            ran => ran,
        }
    }

    async fn run_once(
        &self,
        sql: &str,
        params: Vec<Param>,
        want: Want,
    ) -> Result<Ran, sqlx::Error> {
        let mut connection = self.take().await?;
        let query = bind(sql, params);
        let ran = match want {
            Want::Rows => query.fetch_all(&mut connection).await.map(Ran::Rows),
            Want::Changed => query
                .execute(&mut connection)
                .await
                .map(|done| Ran::Changed(done.rows_affected())),
        };
        if !matches!(&ran, Err(error) if connection_lost(error)) {
            self.give_back(connection);
        }
        ran
    }
}

#[derive(Clone, Copy)]
enum Want {
    Rows,
    Changed,
}

enum Ran {
    Rows(Vec<PgRow>),
    Changed(u64),
}

/// What a statement does, for whether it may run again (`Connections::rows`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Statement {
    Read,
    Write,
}

/// Whether the server ended the session (shut down, restarted, or the session was
/// terminated): what the session was running is rolled back.
fn session_ended(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.code().is_some_and(|code| code.starts_with("57P0")))
}
