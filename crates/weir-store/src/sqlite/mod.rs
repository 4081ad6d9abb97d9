//! The embedded SQLite backend: a file `weir.db` in the data directory, in WAL mode with
//! `synchronous=FULL` (a commit is on disk before anyone is told), written by one
//! group-committing thread ([`writer`]) and read through a pool ([`readers`]).

mod readers;
mod writer;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, Row, ToSql};
use weir_core::{AccountId, App, ProductEvent};

use self::readers::Readers;
use self::writer::Writer;
use crate::ingest::{self, KeyCheck};
use crate::params::{self, Param};
use crate::rows::{self, Columns};
use crate::schedule_change::ScheduleChange;
use crate::sealed::Keys;
use crate::sql_store::{Backend, ChainedStatements, Decode, SqlStore};
use crate::{Ingested, NewApp, Result, ScheduleWrite, StoreError, WorkQueue, migrations, sql};

/// The embedded store.
pub type SqliteStore = SqlStore<Sqlite>;

pub struct Sqlite {
    writer: Writer,
    readers: Readers,
    /// Rows are opened with these as they are decoded.
    keys: Arc<Keys>,
    path: std::path::PathBuf,
}

impl SqliteStore {
    /// Opens (creating if needed) `weir.db` in `data_dir` and migrates it.
    pub async fn open(data_dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::Backend(format!(
                "cannot create data directory {}: {e}",
                data_dir.display()
            ))
        })?;
        let path = data_dir.join("weir.db");
        let mut connection = Connection::open(&path).map_err(backend)?;
        connection
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
            .map_err(backend)?;
        connection
            .execute_batch(
                // Deleted and overwritten content is zeroed where that costs no extra
                // I/O: a secret sealed in place leaves no copy in clear in its page.
                "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; \
                 PRAGMA secure_delete = FAST;",
            )
            .map_err(backend)?;
        migrate(&mut connection)?;
        let writer = Writer::start(connection)
            .map_err(|e| StoreError::Backend(format!("cannot start the SQLite writer: {e}")))?;
        let keys = Arc::new(Keys::default());
        let backend = Sqlite {
            writer,
            readers: Readers::new(&path),
            keys: keys.clone(),
            path,
        };
        Ok(SqlStore::locked(backend, keys))
    }

    /// How many statements the stores of this process have run so far
    /// ([`crate::statements_run`]).
    pub fn statements_run() -> u64 {
        crate::statements_run()
    }
}

#[async_trait]
impl Backend for Sqlite {
    /// The single writer claims one batch at a time: nothing to skip.
    const CLAIM_DUE_SCHEDULES: &'static str = sql::CLAIM_DUE_SCHEDULES;
    const CLAIM_JOBS: &'static str = sql::CLAIM_JOBS;
    const CLAIM_REFRESHES: &'static str = sql::CLAIM_REFRESHES;
    const CLAIM_DELIVERIES: &'static str = sql::CLAIM_DELIVERIES;
    const PRODUCT_EVENTS: &'static str = sql::PRODUCT_EVENTS;
    const WEBHOOK_SUBSCRIPTIONS_BY_ID: &'static str = sql::WEBHOOK_SUBSCRIPTIONS_BY_ID;
    /// One writer: transactions never overlap.
    const LOCK_FIFO: Option<&'static str> = None;

    async fn execute(&self, sql: &'static str, params: Vec<Param>) -> Result<u64> {
        self.writer.write(move |c| execute(c, sql, &params)).await
    }

    async fn execute_returning<T: Send + 'static>(
        &self,
        sql: &'static str,
        params: Vec<Param>,
        decode: Decode<T>,
    ) -> Result<Vec<T>> {
        let keyring = self.keys.get();
        self.writer
            .write(move |c| fetch_opened(c, keyring.as_deref(), sql, &params, decode))
            .await
    }

    async fn fetch<T: Send + 'static>(
        &self,
        sql: &'static str,
        params: Vec<Param>,
        decode: Decode<T>,
    ) -> Result<Vec<T>> {
        let keyring = self.keys.get();
        self.readers
            .read(move |c| fetch_opened(c, keyring.as_deref(), sql, &params, decode))
            .await
    }

    async fn fetch_by_key<T: Send + 'static>(
        &self,
        sql: &'static str,
        params: Vec<Param>,
        decode: Decode<T>,
    ) -> Result<Option<T>> {
        let keyring = self.keys.get();
        let rows = self
            .readers
            .read_here(|c| fetch_opened(c, keyring.as_deref(), sql, &params, decode))?;
        Ok(rows.into_iter().next())
    }

    /// Reads through a reader, and writes a row through the writer thread: a dead writer,
    /// a locked database or a full disk must not look ready.
    async fn ping(&self) -> Result<()> {
        self.fetch(sql::PING, vec![], |_| Ok(())).await?;
        self.execute(sql::PROBE_WRITE, vec![params::probe_value()])
            .await?;
        match self.writer.recent_trouble(TROUBLE_WINDOW) {
            Some(why) => Err(StoreError::Unavailable(why)),
            None => Ok(()),
        }
    }

    /// SQLite puts freed pages on its free list and fills them before growing the file.
    async fn reclaim_space(&self) -> Result<()> {
        Ok(())
    }

    /// Copies the log into the database file and empties it: what it held of rows since
    /// rewritten is gone (their pages in the file are overwritten by the copy).
    async fn forget_overwritten(&self) -> Result<()> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let connection = Connection::open(&path).map_err(backend)?;
            connection
                .busy_timeout(std::time::Duration::from_secs(5))
                .map_err(backend)?;
            connection
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                .map_err(backend)
        })
        .await
        .map_err(|e| StoreError::Backend(format!("the checkpoint did not finish: {e}")))?
    }

    /// One node uses an SQLite store: its workers are woken in memory.
    async fn announce(&self, _queues: &[WorkQueue]) -> Result<()> {
        Ok(())
    }

    async fn listen(&self, _heard: &(dyn Fn(WorkQueue) + Send + Sync)) -> Result<()> {
        std::future::pending().await
    }

    async fn delete_account(&self, id: &AccountId) -> Result<()> {
        let id = id.clone();
        self.writer
            .write(move |c| {
                let params = [Param::from(id.as_str())];
                let active = fetch(c, sql::HAS_ACTIVE_INSTALLATIONS, &params, |r| r.int("n"))?;
                if active.first().copied().unwrap_or(0) > 0 {
                    return Err(crate::has_active_installations(&id));
                }
                execute(c, sql::DELETE_ACCOUNT_INVOCATIONS, &params)?;
                match execute(c, sql::DELETE_ACCOUNT, &params)? {
                    0 => Err(StoreError::NotFound),
                    _ => Ok(()),
                }
            })
            .await
    }

    async fn insert_app(&self, app: NewApp) -> Result<App> {
        // The single writer makes numbering race-free.
        self.writer
            .write(move |c| {
                let name = [Param::from(app.name.as_str())];
                let version = fetch(c, sql::NEXT_APP_VERSION, &name, |r| r.int("n"))?;
                let version = version.first().copied().unwrap_or(1);
                let stored = crate::stored_app(&app, version);
                let subscriptions = params::subscriptions(&app);
                execute(c, sql::INSERT_APP, &params::app(app, version))?;
                for params in subscriptions {
                    execute(c, sql::INSERT_SUBSCRIPTION, &params)?;
                }
                Ok(stored)
            })
            .await
    }

    async fn transaction(&self, statements: Vec<(&'static str, Vec<Param>)>) -> Result<Vec<u64>> {
        // A write is one savepoint of the group commit: all of it or none.
        self.writer
            .write(move |c| {
                statements
                    .iter()
                    .map(|(sql, params)| execute(c, sql, params))
                    .collect()
            })
            .await
    }

    async fn ingest_events(&self, events: &[ProductEvent]) -> Result<Vec<Ingested>> {
        // The single writer makes the key check and the insert one step.
        let events = events.to_vec();
        self.writer
            .write(move |c| events.iter().map(|event| ingest_one(c, event)).collect())
            .await
    }

    async fn change_schedule(&self, change: ScheduleChange) -> Result<ScheduleWrite> {
        // The single writer makes counting and writing one step.
        self.writer
            .write(move |c| {
                let counts = fetch(
                    c,
                    sql::SCHEDULE_COUNTS,
                    &change.counts_params(),
                    rows::schedule_counts,
                )?;
                let counts = counts
                    .first()
                    .ok_or_else(|| StoreError::Backend("counting schedules gave no row".into()))?;
                if let Some(refusal) = change.refusal(counts) {
                    return Ok(refusal);
                }
                Ok(change.outcome(execute(c, change.sql, &change.params)?))
            })
            .await
    }

    async fn chained_write(
        &self,
        first: (&'static str, Vec<Param>),
        then: ChainedStatements,
    ) -> Result<Option<i64>> {
        // A write is one savepoint of the group commit: all of it or none.
        self.writer
            .write(move |c| {
                let (sql, params) = first;
                let Some(id) = fetch(c, sql, &params, |row| row.int("id"))?.pop() else {
                    return Ok(None);
                };
                for (sql, params) in then(id) {
                    execute(c, sql, &params)?;
                }
                Ok(Some(id))
            })
            .await
    }
}

fn ingest_one(c: &Connection, event: &ProductEvent) -> Result<Ingested> {
    let holder = match ingest::holder_query(event) {
        Some((sql, params)) => fetch(c, sql, &params, ingest::key_holder)?.pop(),
        None => None,
    };
    match KeyCheck::decide(event, holder) {
        KeyCheck::Duplicate(id) => return Ok(Ingested::Duplicate { id }),
        KeyCheck::Release(id) => {
            execute(c, sql::RELEASE_IDEMPOTENCY_KEY, &[Param::from(id.as_str())])?;
        }
        KeyCheck::Free => {}
    }
    let [event_row, job_rows, delivery_rows] = ingest::store_statements(event);
    execute(c, event_row.0, &event_row.1)?;
    let jobs = execute(c, job_rows.0, &job_rows.1)?;
    let mut deliveries = execute(c, delivery_rows.0, &delivery_rows.1)?;
    let (query, params) = ingest::filtered_query(event);
    let candidates = fetch(c, query, &params, ingest::filtered)?;
    for (statement, params) in ingest::passing_deliveries(event, candidates) {
        deliveries += execute(c, statement, &params)?;
    }
    Ok(Ingested::Created {
        id: event.id.clone(),
        jobs,
        deliveries,
    })
}

fn migrate(connection: &mut Connection) -> Result<()> {
    connection
        .execute_batch(
            "CREATE TABLE IF NOT EXISTS weir_migrations \
             (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
        )
        .map_err(backend)?;
    for migration in migrations::SQLITE {
        let tx = connection.transaction().map_err(backend)?;
        let applied: i64 = tx
            .query_row(
                "SELECT COUNT(*) FROM weir_migrations WHERE version = ?1",
                [migration.version],
                |row| row.get(0),
            )
            .map_err(backend)?;
        if applied == 0 {
            tx.execute_batch(migration.sql).map_err(backend)?;
            tx.execute(
                "INSERT INTO weir_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                (
                    migration.version,
                    migration.name,
                    Timestamp::now().as_millisecond(),
                ),
            )
            .map_err(backend)?;
            tracing::info!(
                version = migration.version,
                name = migration.name,
                "migrated SQLite"
            );
        }
        tx.commit().map_err(backend)?;
    }
    Ok(())
}

/// `sql.rs` is written with `$1` placeholders; SQLite's numbered form is `?1`.
fn sqlite_dialect(sql: &str) -> String {
    sql.replace('$', "?")
}

fn execute(connection: &Connection, sql: &str, params: &[Param]) -> Result<u64> {
    crate::count_statement();
    let mut statement = connection
        .prepare_cached(&sqlite_dialect(sql))
        .map_err(backend)?;
    let changed = statement
        .execute(rusqlite::params_from_iter(params))
        .map_err(backend)?;
    Ok(changed as u64)
}

fn fetch<T>(
    connection: &Connection,
    sql: &str,
    params: &[Param],
    decode: Decode<T>,
) -> Result<Vec<T>> {
    fetch_opened(connection, None, sql, params, decode)
}

/// Runs a query and decodes its rows, opening their sealed columns with `keyring`.
fn fetch_opened<T>(
    connection: &Connection,
    keyring: Option<&weir_core::Keyring>,
    sql: &str,
    params: &[Param],
    decode: Decode<T>,
) -> Result<Vec<T>> {
    crate::count_statement();
    let mut statement = connection
        .prepare_cached(&sqlite_dialect(sql))
        .map_err(backend)?;
    let mut rows = statement
        .query(rusqlite::params_from_iter(params))
        .map_err(backend)?;
    let mut decoded = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        decoded.push(decode(&rows::Opening { row, keyring })?);
    }
    Ok(decoded)
}

/// How long after a write failed for a reason of the environment the store does not count
/// as ready, even if a small write succeeds.
const TROUBLE_WINDOW: std::time::Duration = std::time::Duration::from_secs(5);

/// Unique and primary-key violations are conflicts; a foreign key naming a row that is
/// gone is "not found"; a full disk, a read-only or unreadable file, a lock held too long
/// or no memory make the database unavailable for now; anything else is the database's
/// own failure.
pub(crate) fn backend(error: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    const PRIMARY_KEY: i32 = 1555;
    const UNIQUE: i32 = 2067;
    const FOREIGN_KEY: i32 = 787;
    let rusqlite::Error::SqliteFailure(failure, _) = &error else {
        return StoreError::Backend(error.to_string());
    };
    match (failure.extended_code, failure.code) {
        (PRIMARY_KEY | UNIQUE, _) => StoreError::Conflict(error.to_string()),
        (FOREIGN_KEY, _) => StoreError::NotFound,
        (_, ErrorCode::DiskFull) => StoreError::Unavailable("the disk is full".into()),
        (
            _,
            ErrorCode::ReadOnly
            | ErrorCode::SystemIoFailure
            | ErrorCode::CannotOpen
            | ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::OutOfMemory,
        ) => StoreError::Unavailable(error.to_string()),
        _ => StoreError::Backend(error.to_string()),
    }
}

impl ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Param::Text(text) => ValueRef::Text(text.as_bytes()),
            Param::MaybeText(Some(text)) => ValueRef::Text(text.as_bytes()),
            Param::MaybeText(None) => ValueRef::Null,
            Param::Int(int) | Param::MaybeInt(Some(int)) => ValueRef::Integer(*int),
            Param::MaybeInt(None) => ValueRef::Null,
            Param::Bytes(bytes) => ValueRef::Blob(bytes),
        }))
    }
}

impl Columns for Row<'_> {
    fn text(&self, column: &str) -> Result<String> {
        get(self, column)
    }

    fn optional_text(&self, column: &str) -> Result<Option<String>> {
        get(self, column)
    }

    fn int(&self, column: &str) -> Result<i64> {
        get(self, column)
    }

    fn optional_int(&self, column: &str) -> Result<Option<i64>> {
        get(self, column)
    }

    fn bytes(&self, column: &str) -> Result<Vec<u8>> {
        get(self, column)
    }
}

fn get<T: rusqlite::types::FromSql>(row: &Row<'_>, column: &str) -> Result<T> {
    row.get(column)
        .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}
