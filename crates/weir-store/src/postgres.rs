//! The PostgreSQL backend, for several Weir nodes sharing one database. Statements are the
//! shared ones of `sql.rs`; migrations are serialised across nodes by an advisory lock.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::postgres::{PgArguments, PgListener, PgPool, PgPoolOptions, PgRow};
use sqlx::query::Query;
use sqlx::{PgConnection, Postgres as Pg, Row};
use weir_core::{AccountId, App, ProductEvent};

use crate::ingest::{self, KeyCheck};
use crate::params::{self, Param};
use crate::pg_connections::{Connections, Statement};
use crate::pg_group_commit::GroupCommit;
use crate::rows::{self, Columns};
use crate::schedule_change::ScheduleChange;
use crate::sealed::Keys;
use crate::sql_store::{Backend, ChainedStatements, Decode, SqlStore};
use crate::{Ingested, NewApp, Result, ScheduleWrite, StoreError, WorkQueue, migrations, sql};

/// The channel on which nodes announce stored work (`Store::announce`).
const WORK_CHANNEL: &str = "weir_work";

/// Any fixed number: all Weir nodes take this lock to migrate one at a time.
const MIGRATION_LOCK: i64 = 0x5745_4952;

/// Single statements in flight at once, each on its own connection (`pg_connections`).
const STATEMENTS_AT_ONCE: usize = 16;
/// Multi-statement transactions in flight at once, on sqlx's pool.
const TRANSACTIONS_AT_ONCE: u32 = 8;

/// The PostgreSQL store.
pub type PgStore = SqlStore<Postgres>;

pub struct Postgres {
    pub(crate) pool: PgPool,
    /// Rows are opened with these as they are decoded.
    keys: Arc<Keys>,
    /// Ingests and multi-statement writes, committed together (`pg_group_commit`).
    group: GroupCommit,
    /// Single statements, on connections of their own (`pg_connections`).
    statements: Connections,
    /// Who this node is in its announcements: it has woken its own workers already, and
    /// ignores its own announcements when PostgreSQL echoes them back.
    node: String,
}

impl PgStore {
    /// Connects to `url` (`postgres://…`) and migrates the database.
    pub async fn connect(url: &str) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(TRANSACTIONS_AT_ONCE)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(|e| StoreError::Backend(format!("cannot connect to PostgreSQL: {e}")))?;
        migrate(&pool).await?;
        let keys = Arc::new(Keys::default());
        let group = GroupCommit::start(pool.clone());
        let statements =
            Connections::new(pool.connect_options().as_ref().clone(), STATEMENTS_AT_ONCE);
        let backend = Postgres {
            pool,
            keys: keys.clone(),
            group,
            statements,
            node: weir_core::ids::generate("node"),
        };
        Ok(SqlStore::locked(backend, keys))
    }
}

impl Postgres {
    /// Runs one statement on the statements' connections and decodes its rows.
    async fn run<T>(
        &self,
        sql: &'static str,
        params: Vec<Param>,
        decode: Decode<T>,
        kind: Statement,
    ) -> Result<Vec<T>> {
        let rows = self
            .statements
            .rows(sql, params, kind)
            .await
            .map_err(backend)?;
        let keyring = self.keys.get();
        let keyring = keyring.as_deref();
        rows.iter()
            .map(|row| decode(&rows::Opening { row, keyring }))
            .collect()
    }

    async fn insert_app_once(&self, app: &NewApp) -> Result<App> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let next = bind(sql::NEXT_APP_VERSION, vec![app.name.as_str().into()])
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        let version = next.int("n")?;
        bind(sql::INSERT_APP, params::app(app.clone(), version))
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        for params in params::subscriptions(app) {
            bind(sql::INSERT_SUBSCRIPTION, params)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(crate::stored_app(app, version))
    }
}

#[async_trait]
impl Backend for Postgres {
    /// Nodes claiming at once take different rows instead of queueing on the same ones.
    const CLAIM_DUE_SCHEDULES: &'static str = sql::CLAIM_DUE_SCHEDULES_POSTGRES;
    const CLAIM_JOBS: &'static str = sql::CLAIM_JOBS_POSTGRES;
    const CLAIM_REFRESHES: &'static str = sql::CLAIM_REFRESHES_POSTGRES;
    const CLAIM_DELIVERIES: &'static str = sql::CLAIM_DELIVERIES_POSTGRES;
    const PRODUCT_EVENTS: &'static str = sql::PRODUCT_EVENTS_POSTGRES;
    const WEBHOOK_SUBSCRIPTIONS_BY_ID: &'static str = sql::WEBHOOK_SUBSCRIPTIONS_BY_ID_POSTGRES;
    /// Concurrent transactions number a FIFO subscription's deliveries one after the other.
    const LOCK_FIFO: Option<&'static str> = Some(sql::LOCK_FIFO_SUBSCRIPTIONS);

    async fn execute(&self, sql: &'static str, params: Vec<Param>) -> Result<u64> {
        self.statements.changing(sql, params).await.map_err(backend)
    }

    async fn execute_returning<T: Send + 'static>(
        &self,
        sql: &'static str,
        params: Vec<Param>,
        decode: Decode<T>,
    ) -> Result<Vec<T>> {
        self.run(sql, params, decode, Statement::Write).await
    }

    async fn fetch<T: Send + 'static>(
        &self,
        sql: &'static str,
        params: Vec<Param>,
        decode: Decode<T>,
    ) -> Result<Vec<T>> {
        self.run(sql, params, decode, Statement::Read).await
    }

    /// A write: a read-only standby or a full disk must not look ready.
    async fn ping(&self) -> Result<()> {
        let probe = params::probe_value();
        self.execute(sql::PROBE_WRITE, vec![probe]).await.map(drop)
    }

    /// Plain `VACUUM` (not `FULL`): the space is reused by later rows, no lock keeps
    /// writers out. Autovacuum would get there too, but only after its next pass.
    async fn reclaim_space(&self) -> Result<()> {
        sqlx::raw_sql(sql::VACUUM_PURGED_TABLES)
            .execute(&self.pool)
            .await
            .map_err(backend)
            .map(drop)
    }

    async fn forget_overwritten(&self) -> Result<()> {
        Ok(())
    }

    async fn announce(&self, queues: &[WorkQueue]) -> Result<()> {
        let names: Vec<&str> = queues.iter().map(|queue| queue.as_str()).collect();
        let payload = format!("{}:{}", self.node, names.join(","));
        let params = vec![WORK_CHANNEL.into(), payload.into()];
        self.fetch(sql::NOTIFY, params, |_| Ok(())).await.map(drop)
    }

    async fn listen(&self, heard: &(dyn Fn(WorkQueue) + Send + Sync)) -> Result<()> {
        let mut listener = PgListener::connect_with(&self.pool)
            .await
            .map_err(backend)?;
        listener.listen(WORK_CHANNEL).await.map_err(backend)?;
        loop {
            // On a lost connection `recv` connects again; what was announced meanwhile is
            // missed, and found by the workers' next look.
            let notification = listener.recv().await.map_err(backend)?;
            // `node:queues`; a node of a version before the node ids sends the queues alone.
            let (sender, names) = match notification.payload().split_once(':') {
                Some((sender, names)) => (Some(sender), names),
                None => (None, notification.payload()),
            };
            if sender == Some(self.node.as_str()) {
                continue;
            }
            for name in names.split(',') {
                if let Some(queue) = WorkQueue::parse(name) {
                    heard(queue);
                }
            }
        }
    }

    async fn delete_account(&self, id: &AccountId) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // The row lock keeps installations from being added between the count and the delete.
        let locked = bind(sql::LOCK_ACCOUNT, vec![id.as_str().into()])
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
        if locked.is_none() {
            return Err(StoreError::NotFound);
        }
        let active = bind(sql::HAS_ACTIVE_INSTALLATIONS, vec![id.as_str().into()])
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        if active.int("n")? > 0 {
            return Err(crate::has_active_installations(id));
        }
        bind(sql::DELETE_ACCOUNT_INVOCATIONS, vec![id.as_str().into()])
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        bind(sql::DELETE_ACCOUNT, vec![id.as_str().into()])
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn insert_app(&self, app: NewApp) -> Result<App> {
        // Two nodes may number the same name at once; the loser of the unique
        // (name, version) index simply takes the next number.
        let mut attempts = 0;
        loop {
            match self.insert_app_once(&app).await {
                Err(StoreError::Conflict(_)) if attempts < 5 => attempts += 1,
                other => return other,
            }
        }
    }

    /// Committed with other writes waiting (`pg_group_commit`).
    async fn transaction(&self, statements: Vec<(&'static str, Vec<Param>)>) -> Result<Vec<u64>> {
        self.group.statements(statements).await
    }

    /// Committed with other writes waiting (`pg_group_commit`), in few statements.
    async fn ingest_events(&self, events: &[ProductEvent]) -> Result<Vec<Ingested>> {
        self.group.ingest(events.to_vec()).await
    }

    async fn change_schedule(&self, change: ScheduleChange) -> Result<ScheduleWrite> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // Concurrent writes for the installation wait here, and then count what the
        // first one wrote. A missing installation is left to the insert's foreign key.
        bind(sql::LOCK_INSTALLATION, change.lock_params())
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
        let counts = bind(sql::SCHEDULE_COUNTS, change.counts_params())
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        if let Some(refusal) = change.refusal(&rows::schedule_counts(&counts)?) {
            return Ok(refusal);
        }
        let done = bind(change.sql, change.params.clone())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(change.outcome(done.rows_affected()))
    }

    async fn chained_write(
        &self,
        first: (&'static str, Vec<Param>),
        then: ChainedStatements,
    ) -> Result<Option<i64>> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let (sql, params) = first;
        let row = bind(sql, params)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
        // No row: nothing changed, and dropping the transaction rolls it back.
        let Some(row) = row else {
            return Ok(None);
        };
        let id = row.int("id")?;
        for (sql, params) in then(id) {
            bind(sql, params).execute(&mut *tx).await.map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(Some(id))
    }
}

async fn ingest_events_once(pool: &PgPool, events: &[ProductEvent]) -> Result<Vec<Ingested>> {
    let mut tx = pool.begin().await.map_err(backend)?;
    let ingested = ingest_in(&mut tx, events).await?;
    tx.commit().await.map_err(backend)?;
    Ok(ingested)
}

/// Stores the events one by one with the shared steps (`ingest.rs`), inside the
/// transaction open on `connection`.
pub(crate) async fn ingest_in(
    connection: &mut PgConnection,
    events: &[ProductEvent],
) -> Result<Vec<Ingested>> {
    let tx = connection;
    let mut ingested = Vec::with_capacity(events.len());
    for event in events {
        let holder = match ingest::holder_query(event) {
            Some((sql, params)) => bind(sql, params)
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?
                .map(|row| ingest::key_holder(&row))
                .transpose()?,
            None => None,
        };
        match KeyCheck::decide(event, holder) {
            KeyCheck::Duplicate(id) => {
                ingested.push(Ingested::Duplicate { id });
                continue;
            }
            KeyCheck::Release(id) => {
                bind(sql::RELEASE_IDEMPOTENCY_KEY, vec![id.as_str().into()])
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
            }
            KeyCheck::Free => {}
        }
        let fifo_key = vec![event.account_id.as_str().into(), event.name.as_str().into()];
        bind(sql::LOCK_FIFO_SUBSCRIPTIONS, fifo_key)
            .fetch_all(&mut *tx)
            .await
            .map_err(backend)?;
        let mut changed = Vec::with_capacity(3);
        for (statement, params) in ingest::store_statements(event) {
            let done = bind(statement, params)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            changed.push(done.rows_affected());
        }
        let mut deliveries = changed[2];
        let (query, params) = ingest::filtered_query(event);
        let rows = bind(query, params)
            .fetch_all(&mut *tx)
            .await
            .map_err(backend)?;
        let candidates = rows
            .iter()
            .map(|row| ingest::filtered(row))
            .collect::<Result<Vec<_>>>()?;
        for (statement, params) in ingest::passing_deliveries(event, candidates) {
            let done = bind(statement, params)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            deliveries += done.rows_affected();
        }
        ingested.push(Ingested::Created {
            id: event.id.clone(),
            jobs: changed[1],
            deliveries,
        });
    }
    Ok(ingested)
}

/// Ingests the events in a transaction of their own (`Backend::ingest_events` before
/// group commit, and a group's fallback).
pub(crate) async fn ingest_events_alone(
    pool: &PgPool,
    events: &[ProductEvent],
) -> Result<Vec<Ingested>> {
    // Two nodes may ingest the same idempotency key at once: the second waits on the
    // unique index, fails when the first commits, and on its next try finds the key
    // taken. Its other events are stored on that try too.
    let mut attempts = 0;
    loop {
        match ingest_events_once(pool, events).await {
            Err(StoreError::Conflict(_)) if attempts < 5 => attempts += 1,
            other => return other,
        }
    }
}

/// Runs the statements in a transaction of their own.
pub(crate) async fn transaction_alone(
    pool: &PgPool,
    statements: Vec<(&'static str, Vec<Param>)>,
) -> Result<Vec<u64>> {
    let mut tx = pool.begin().await.map_err(backend)?;
    let mut changed = Vec::with_capacity(statements.len());
    for (sql, params) in statements {
        let done = bind(sql, params).execute(&mut *tx).await.map_err(backend)?;
        changed.push(done.rows_affected());
    }
    tx.commit().await.map_err(backend)?;
    Ok(changed)
}

async fn migrate(pool: &PgPool) -> Result<()> {
    let mut tx = pool.begin().await.map_err(backend)?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS weir_migrations \
         (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .execute(&mut *tx)
    .await
    .map_err(backend)?;
    for migration in migrations::POSTGRES {
        let applied = sqlx::query("SELECT 1 FROM weir_migrations WHERE version = $1")
            .bind(migration.version)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
        if applied.is_some() {
            continue;
        }
        sqlx::raw_sql(migration.sql)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        sqlx::query("INSERT INTO weir_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
            .bind(migration.version)
            .bind(migration.name)
            .bind(Timestamp::now().as_millisecond())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "migrated PostgreSQL"
        );
    }
    tx.commit().await.map_err(backend)
}

pub(crate) fn bind(sql: &str, params: Vec<Param>) -> Query<'_, Pg, PgArguments> {
    crate::count_statement();
    params
        .into_iter()
        .fold(sqlx::query(sql), |query, param| match param {
            Param::Text(text) => query.bind(text),
            Param::MaybeText(text) => query.bind(text),
            Param::Int(int) => query.bind(int),
            Param::MaybeInt(int) => query.bind(int),
            Param::Bytes(bytes) => query.bind(bytes),
        })
}

/// Whether `error` says the connection itself was lost (a server restart, a network cut).
pub(crate) fn connection_lost(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) => true,
        // Connection exceptions, and the server ending the session (shut down, crashed).
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P0")),
        _ => false,
    }
}

/// Classified as `sqlite::backend` does: unique violations are conflicts, foreign-key
/// violations "not found", the rest the database's own failure.
pub(crate) fn backend(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(db.message().to_owned())
        }
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
        // A deadlock or a serialization failure: the writes collided, and trying again
        // (as the multi-statement writes here do on a conflict) settles it.
        sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("40P01" | "40001")) => {
            StoreError::Conflict(format!("concurrent writes collided: {}", db.message()))
        }
        // Connection exceptions (08), insufficient resources (53: disk full, out of
        // memory, too many connections), operator intervention (57: shutting down,
        // starting up), a read-only transaction (25006, a standby).
        sqlx::Error::Database(db)
            if db.code().is_some_and(|code| {
                ["08", "53", "57"].contains(&&code[..2.min(code.len())]) || code == "25006"
            }) =>
        {
            StoreError::Unavailable(db.message().to_owned())
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(error.to_string()),
        _ => StoreError::Backend(error.to_string()),
    }
}

impl Columns for PgRow {
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

fn get<'r, T: sqlx::Decode<'r, Pg> + sqlx::Type<Pg>>(row: &'r PgRow, column: &str) -> Result<T> {
    row.try_get(column)
        .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}
