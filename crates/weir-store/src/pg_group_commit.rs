//! Group commit on PostgreSQL: concurrent writes share one transaction and its commit.
//!
//! Each ingest and each multi-statement write (`Backend::transaction`: finishing a
//! delivery, storing a subscription, …) is queued here. A task takes everything waiting,
//! runs it in one transaction on one connection and commits once; only then does each
//! caller hear "done", so an acknowledged write is committed, as before. At most
//! [`GROUPS_IN_FLIGHT`] groups run at once: while one commits, the next gathers.
//!
//! The ingests of a group are stored with one statement over arrays (`UNNEST`) instead
//! of five per event: the events, their jobs and their deliveries together; a group of
//! such ingests alone is that one statement, a transaction by itself, without `BEGIN`
//! and `COMMIT`. Events with an idempotency key, and events of an account whose
//! subscriptions to them are FIFO or filtered, take the per-event steps instead (inside
//! the same transaction), which lock and decide what the multi-row statements cannot.
//! Likewise the ends of delivery attempts (an attempt's record and the delivery's new
//! state) are written with one `INSERT` and one `UPDATE` for the whole group, and events
//! directed to installations (target URLs) with one `INSERT` of events and one of jobs.
//!
//! If anything in a group fails before its commit, the group is rolled back and each of
//! its writes runs again alone, in a transaction of its own, so one caller's failure
//! (a conflict, a missing row) is that caller's alone. A failed commit is reported to
//! every caller of the group: whether it took effect is unknown, as for a lone write.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sqlx::postgres::PgPool;
use sqlx::{Connection, PgConnection, Row};
use tokio::sync::{mpsc, oneshot};
use weir_core::ProductEvent;

use crate::params::Param;
use crate::pg_connections::Connections;
use crate::postgres::{self, backend, bind};
use crate::rows::millis;
use crate::sql;
use crate::{Ingested, Result, StoreError};

/// Groups running at once, each on its own connection (kept from group to group outside
/// sqlx's pool: `pg_connections`).
const GROUPS_IN_FLIGHT: usize = 2;
/// Writes one group may carry…
const MAX_WRITES: usize = 256;
/// …and events.
const MAX_EVENTS: usize = 5_000;

/// One queued write and where its answer goes.
pub(crate) enum Write {
    Ingest {
        events: Vec<ProductEvent>,
        answer: oneshot::Sender<Result<Vec<Ingested>>>,
    },
    Statements {
        statements: Vec<(&'static str, Vec<Param>)>,
        answer: oneshot::Sender<Result<Vec<u64>>>,
    },
}

impl Write {
    fn events(&self) -> usize {
        match self {
            Write::Ingest { events, .. } => events.len(),
            Write::Statements { .. } => 0,
        }
    }
}

/// What a write gave inside a group that has yet to commit.
enum Done {
    Ingested(Vec<Ingested>),
    Changed(Vec<u64>),
}

pub(crate) struct GroupCommit {
    queue: mpsc::UnboundedSender<Write>,
}

impl GroupCommit {
    /// Starts the task that commits groups; it ends when the store is dropped.
    pub fn start(pool: PgPool) -> GroupCommit {
        let (queue, waiting) = mpsc::unbounded_channel();
        tokio::spawn(commit_groups(pool, waiting));
        GroupCommit { queue }
    }

    pub async fn ingest(&self, events: Vec<ProductEvent>) -> Result<Vec<Ingested>> {
        let (answer, answered) = oneshot::channel();
        self.send(Write::Ingest { events, answer })?;
        answered.await.map_err(|_| stopped())?
    }

    pub async fn statements(
        &self,
        statements: Vec<(&'static str, Vec<Param>)>,
    ) -> Result<Vec<u64>> {
        let (answer, answered) = oneshot::channel();
        self.send(Write::Statements { statements, answer })?;
        answered.await.map_err(|_| stopped())?
    }

    fn send(&self, write: Write) -> Result<()> {
        self.queue.send(write).map_err(|_| stopped())
    }
}

fn stopped() -> StoreError {
    StoreError::Backend("the PostgreSQL group commit has stopped".into())
}

async fn commit_groups(pool: PgPool, mut waiting: mpsc::UnboundedReceiver<Write>) {
    let options = pool.connect_options().as_ref().clone();
    let connections = Arc::new(Connections::new(options, GROUPS_IN_FLIGHT));
    while let Some(first) = waiting.recv().await {
        // Waiting for a turn lets more writes gather behind `first`.
        let Ok(turn) = connections.turn().await else {
            return;
        };
        let mut events = first.events();
        let mut group = vec![first];
        while group.len() < MAX_WRITES && events < MAX_EVENTS {
            match waiting.try_recv() {
                Ok(write) => {
                    events += write.events();
                    group.push(write);
                }
                Err(_) => break,
            }
        }
        let (pool, connections) = (pool.clone(), connections.clone());
        tokio::spawn(async move {
            commit_group(&pool, &connections, group).await;
            drop(turn);
        });
    }
}

async fn commit_group(pool: &PgPool, connections: &Connections, group: Vec<Write>) {
    let outcome = match connections.take().await {
        Ok(mut connection) => {
            let outcome = run_together(&mut connection, &group).await;
            // A group that failed may have left its transaction open, or found its
            // connection gone (and the idle one, opened before, likely gone too).
            match &outcome {
                Ok(_) => connections.give_back(connection),
                Err(Failure::BeforeCommit(StoreError::Unavailable(_)) | Failure::Commit(_)) => {
                    connections.forget_idle()
                }
                Err(_) => {}
            }
            outcome
        }
        Err(error) => Err(Failure::BeforeCommit(backend(error))),
    };
    match outcome {
        Ok(done) => {
            for (write, done) in group.into_iter().zip(done) {
                match (write, done) {
                    (Write::Ingest { answer, .. }, Done::Ingested(ingested)) => {
                        let _ = answer.send(Ok(ingested));
                    }
                    (Write::Statements { answer, .. }, Done::Changed(changed)) => {
                        let _ = answer.send(Ok(changed));
                    }
                    // Answers follow the group's order; a caller left unanswered hears
                    // that the group commit stopped.
                    _ => tracing::error!("a PostgreSQL group's answers were out of order"),
                }
            }
        }
        Err(Failure::Commit(why)) => {
            for write in group {
                match write {
                    Write::Ingest { answer, .. } => drop(answer.send(Err(why.clone()))),
                    Write::Statements { answer, .. } => drop(answer.send(Err(why.clone()))),
                }
            }
        }
        Err(Failure::BeforeCommit(why)) => {
            if group.len() > 1 {
                tracing::debug!(error = %why, writes = group.len(), "a PostgreSQL group rolled back; its writes run alone");
            }
            for write in group {
                match write {
                    Write::Ingest { events, answer } => {
                        let _ = answer.send(postgres::ingest_events_alone(pool, &events).await);
                    }
                    Write::Statements { statements, answer } => {
                        let _ = answer.send(postgres::transaction_alone(pool, statements).await);
                    }
                }
            }
        }
    }
}

enum Failure {
    /// Nothing was committed: the writes may run again.
    BeforeCommit(StoreError),
    /// The commit itself failed: whether it took effect is unknown.
    Commit(StoreError),
}

async fn run_together(
    connection: &mut PgConnection,
    group: &[Write],
) -> std::result::Result<Vec<Done>, Failure> {
    if let Some(done) = as_one_statement(connection, group).await? {
        return Ok(done);
    }
    let before = |e: sqlx::Error| Failure::BeforeCommit(backend(e));
    let mut tx = connection.begin().await.map_err(before)?;
    let mut done = Vec::with_capacity(group.len());
    let events: Vec<&ProductEvent> = group
        .iter()
        .filter_map(|write| match write {
            Write::Ingest { events, .. } => Some(events),
            Write::Statements { .. } => None,
        })
        .flatten()
        .collect();
    let counts = store_events(&mut tx, &events)
        .await
        .map_err(Failure::BeforeCommit)?;
    let mut counts = counts.into_iter();
    let batched = write_batched(&mut tx, group)
        .await
        .map_err(Failure::BeforeCommit)?;
    for write in group {
        match write {
            Write::Ingest { events, .. } => {
                done.push(Done::Ingested(counts.by_ref().take(events.len()).collect()));
            }
            Write::Statements { statements, .. } => match batched.changed(statements) {
                Some(changed) => done.push(Done::Changed(changed)),
                None => {
                    let mut changed = Vec::with_capacity(statements.len());
                    for (sql, params) in statements {
                        let result = bind(sql, params.clone()).execute(&mut *tx).await;
                        changed.push(result.map_err(before)?.rows_affected());
                    }
                    done.push(Done::Changed(changed));
                }
            },
        }
    }
    tx.commit().await.map_err(|e| Failure::Commit(backend(e)))?;
    Ok(done)
}

/// Stores the events, in order, and says what each became.
async fn store_events(
    connection: &mut PgConnection,
    events: &[&ProductEvent],
) -> Result<Vec<Ingested>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let simple = events.iter().all(|event| event.idempotency_key.is_none())
        && !has_fifo_or_filtered(connection, events).await?;
    if !simple {
        let mut ingested = Vec::with_capacity(events.len());
        for event in events {
            ingested.extend(postgres::ingest_in(connection, std::slice::from_ref(*event)).await?);
        }
        return Ok(ingested);
    }
    insert_events_jobs_deliveries(connection, events)
        .await
        .map_err(backend)
}

/// Events without an idempotency key, none owed to a FIFO or filtered subscription: one
/// statement (`INSERT_EVENTS_JOBS_DELIVERIES`); says what each became.
async fn insert_events_jobs_deliveries(
    connection: &mut PgConnection,
    events: &[&ProductEvent],
) -> std::result::Result<Vec<Ingested>, sqlx::Error> {
    let column = |f: fn(&ProductEvent) -> String| events.iter().map(|e| f(e)).collect::<Vec<_>>();
    let received: Vec<i64> = events.iter().map(|e| millis(e.received_at)).collect();
    crate::count_statement();
    let rows = sqlx::query(INSERT_EVENTS_JOBS_DELIVERIES)
        .bind(column(|e| e.id.as_str().to_owned()))
        .bind(column(|e| e.account_id.as_str().to_owned()))
        .bind(column(|e| e.source.as_str().to_owned()))
        .bind(column(|e| e.name.as_str().to_owned()))
        .bind(column(|e| e.body.to_string()))
        .bind(&received)
        .fetch_all(&mut *connection)
        .await?;
    let (jobs, deliveries) = per_event(&rows);
    let of = |counts: &HashMap<String, u64>, id: &str| counts.get(id).copied().unwrap_or(0);
    Ok(events
        .iter()
        .map(|event| Ingested::Created {
            id: event.id.clone(),
            jobs: of(&jobs, event.id.as_str()),
            deliveries: of(&deliveries, event.id.as_str()),
        })
        .collect())
}

/// A group of plain ingests (no idempotency key, no FIFO or filtered subscription owed,
/// nothing else in the group) is stored by one statement, which is a transaction of its
/// own: without `BEGIN` and `COMMIT`, two round trips fewer. `None` when the group is not
/// such a group. The statement's failure is its own (nothing was stored) when PostgreSQL
/// answered with an error; a connection lost meanwhile leaves its outcome unknown, as a
/// failed commit does.
async fn as_one_statement(
    connection: &mut PgConnection,
    group: &[Write],
) -> std::result::Result<Option<Vec<Done>>, Failure> {
    let mut events = Vec::new();
    for write in group {
        match write {
            Write::Ingest { events: some, .. } => events.extend(some.iter()),
            Write::Statements { .. } => return Ok(None),
        }
    }
    if events.iter().any(|event| event.idempotency_key.is_some())
        || has_fifo_or_filtered(connection, &events)
            .await
            .map_err(Failure::BeforeCommit)?
    {
        return Ok(None);
    }
    let mut ingested = insert_events_jobs_deliveries(connection, &events)
        .await
        .map_err(|error| match error {
            sqlx::Error::Database(_) => Failure::BeforeCommit(backend(error)),
            other => Failure::Commit(backend(other)),
        })?
        .into_iter();
    Ok(Some(
        group
            .iter()
            .map(|write| Done::Ingested(ingested.by_ref().take(write.events()).collect()))
            .collect(),
    ))
}

/// How many jobs and how many deliveries each event got, from the rows
/// `INSERT_EVENTS_JOBS_DELIVERIES` returned (`kind`, `event_id`).
fn per_event(rows: &[sqlx::postgres::PgRow]) -> (HashMap<String, u64>, HashMap<String, u64>) {
    let (mut jobs, mut deliveries) = (HashMap::new(), HashMap::new());
    for row in rows {
        let (Ok(kind), Ok(id)) = (row.try_get::<&str, _>(0), row.try_get::<String, _>(1)) else {
            continue;
        };
        let counts = if kind == "job" {
            &mut jobs
        } else {
            &mut deliveries
        };
        *counts.entry(id).or_default() += 1;
    }
    (jobs, deliveries)
}

/// Whether any subscription owed the events (enabled, or disabled and keeping skipped
/// deliveries) is FIFO or filtered: those take the per-event steps.
async fn has_fifo_or_filtered(
    connection: &mut PgConnection,
    events: &[&ProductEvent],
) -> Result<bool> {
    let accounts: Vec<&str> = events.iter().map(|e| e.account_id.as_str()).collect();
    let names: Vec<&str> = events.iter().map(|e| e.name.as_str()).collect();
    crate::count_statement();
    let found = sqlx::query(FIFO_OR_FILTERED)
        .bind(&accounts)
        .bind(&names)
        .fetch_optional(&mut *connection)
        .await
        .map_err(backend)?;
    Ok(found.is_some())
}

const FIFO_OR_FILTERED: &str = "SELECT 1 FROM webhook_subscription_events AS wse \
    JOIN webhook_subscriptions AS ws ON ws.id = wse.subscription_id \
    WHERE (wse.account_id, wse.event) IN (SELECT * FROM UNNEST($1::text[], $2::text[])) \
    AND (ws.enabled = 1 OR ws.kind <> 'EXTENSION_WEBHOOK') \
    AND (wse.filter IS NOT NULL OR ws.fifo = 1) LIMIT 1";

/// Many events without an idempotency key, their jobs and their deliveries, in one
/// statement (one round trip and one execution instead of three; PostgreSQL checks the
/// jobs' and deliveries' references to the events at the statement's end, when the events
/// are there). Each event: `sql::INSERT_EVENT`, `sql::INSERT_EVENT_JOBS`, and
/// `sql::INSERT_EVENT_DELIVERIES`: pending, or skipped while the subscription is disabled
/// (an extension webhook then gets none). No subscription here is FIFO
/// (`has_fifo_or_filtered` said so); should one have become FIFO meanwhile, its
/// deliveries are still numbered one after the other, in the events' order. Returns one
/// row per job and per delivery: `kind` (`job` or `delivery`) and `event_id`.
const INSERT_EVENTS_JOBS_DELIVERIES: &str = "WITH e AS (SELECT * FROM \
        UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int8[]) \
        WITH ORDINALITY AS e (id, account_id, product, name, body, received_at, n)), \
    stored AS (INSERT INTO events (id, account_id, product, name, body, received_at) \
        SELECT id, account_id, product, name, body, received_at FROM e), \
    jobs AS (INSERT INTO jobs \
        (event_id, installation_id, event, handler, status, attempts, max_attempts, run_at) \
        SELECT e.id, installations.id, e.name, app_subscriptions.handler, 'pending', 0, \
            app_subscriptions.max_attempts, e.received_at \
        FROM e JOIN installations ON installations.account_id = e.account_id \
            AND installations.status = 'active' \
        JOIN app_subscriptions ON app_subscriptions.app_id = installations.app_id \
            AND app_subscriptions.product = e.product AND app_subscriptions.event = e.name \
        RETURNING event_id), \
    deliveries AS (INSERT INTO deliveries \
        (event_id, subscription_id, account_id, event, status, seq, attempts, tries, \
         generation, run_at, created_at, updated_at) \
        SELECT e.id, wse.subscription_id, e.account_id, e.name, \
            CASE WHEN ws.enabled = 1 THEN 'pending' ELSE 'skipped' END, \
            CASE WHEN ws.fifo = 1 THEN (SELECT COALESCE(MAX(numbered.seq), 0) \
                FROM deliveries AS numbered \
                WHERE numbered.subscription_id = wse.subscription_id) \
                + ROW_NUMBER() OVER (PARTITION BY wse.subscription_id ORDER BY e.n) \
            ELSE 0 END, 0, 0, 0, \
            CASE WHEN ws.linger_ms > 0 \
                THEN (e.received_at / ws.linger_ms + 1) * ws.linger_ms \
                ELSE e.received_at END, \
            e.received_at, e.received_at \
        FROM e JOIN webhook_subscription_events AS wse ON wse.account_id = e.account_id \
            AND wse.event = e.name AND wse.filter IS NULL \
        JOIN webhook_subscriptions AS ws ON ws.id = wse.subscription_id \
            AND (ws.enabled = 1 OR ws.kind <> 'EXTENSION_WEBHOOK') \
        RETURNING event_id) \
    SELECT 'job' AS kind, event_id FROM jobs \
    UNION ALL SELECT 'delivery', event_id FROM deliveries";

/// The statements written for a whole group at once, in the order they run: a write
/// whose statements are all among these, in this order, is batched with the others.
/// Inserts change one row each; a finish, the rows its `RETURNING` names.
const BATCHED: [&str; 4] = [
    sql::INSERT_EVENT,
    sql::INSERT_JOB,
    sql::INSERT_ATTEMPT,
    sql::FINISH_DELIVERY,
];

/// Where a statement stands in `BATCHED`, if it is there.
fn batched_kind(statement: &str) -> Option<usize> {
    BATCHED.iter().position(|batched| *batched == statement)
}

/// Whether the write's statements are all batched, in `BATCHED`'s order (so that
/// running each kind for the whole group keeps every write's own order).
fn is_batchable(statements: &[(&'static str, Vec<Param>)]) -> bool {
    let kinds: Option<Vec<usize>> = statements
        .iter()
        .map(|(sql, _)| batched_kind(sql))
        .collect();
    kinds.is_some_and(|kinds| !kinds.is_empty() && kinds.is_sorted())
}

/// The writes of a group written with one multi-row statement per kind.
#[derive(Default)]
struct Batched {
    /// The deliveries (event, subscription) whose finish changed their row.
    finished: HashSet<(String, String)>,
    /// Whether the group's batchable writes were written here (else each runs its own
    /// statements).
    written: bool,
}

impl Batched {
    /// The row counts `Backend::transaction` would give for this write, if it was one of
    /// those written here.
    fn changed(&self, statements: &[(&'static str, Vec<Param>)]) -> Option<Vec<u64>> {
        if !self.written || !is_batchable(statements) {
            return None;
        }
        statements
            .iter()
            .map(|(sql, params)| {
                if *sql != sql::FINISH_DELIVERY {
                    return Some(1);
                }
                let key = (text(&params[0])?, text(&params[1])?);
                Some(u64::from(self.finished.contains(&key)))
            })
            .collect()
    }
}

/// Writes the group's batchable writes (ingests of directed events, the ends of delivery
/// attempts) with one statement per kind, when there are at least two and no delivery
/// is finished twice.
async fn write_batched(connection: &mut PgConnection, group: &[Write]) -> Result<Batched> {
    let writes: Vec<&[(&'static str, Vec<Param>)]> = group
        .iter()
        .filter_map(|write| match write {
            Write::Statements { statements, .. } if is_batchable(statements) => {
                Some(statements.as_slice())
            }
            _ => None,
        })
        .collect();
    let mut rows: [Vec<&[Param]>; 4] = Default::default();
    for (sql, params) in writes.iter().copied().flatten() {
        if let Some(kind) = batched_kind(sql) {
            rows[kind].push(params);
        }
    }
    let [events, jobs, attempts, finishes] = rows;
    let finish_keys: HashSet<(Option<String>, Option<String>)> = finishes
        .iter()
        .map(|finish| (text(&finish[0]), text(&finish[1])))
        .collect();
    if writes.len() < 2 || finish_keys.len() < finishes.len() {
        return Ok(Batched::default());
    }
    if !events.is_empty() {
        crate::count_statement();
        sqlx::query(INSERT_EVENT_ROWS)
            .bind(texts(&events, 0))
            .bind(texts(&events, 1))
            .bind(texts(&events, 2))
            .bind(texts(&events, 3))
            .bind(texts(&events, 4))
            .bind(texts(&events, 5))
            .bind(ints(&events, 6))
            .execute(&mut *connection)
            .await
            .map_err(backend)?;
    }
    if !jobs.is_empty() {
        crate::count_statement();
        sqlx::query(INSERT_JOB_ROWS)
            .bind(texts(&jobs, 0))
            .bind(texts(&jobs, 1))
            .bind(texts(&jobs, 2))
            .bind(texts(&jobs, 3))
            .bind(ints(&jobs, 4))
            .bind(ints(&jobs, 5))
            .execute(&mut *connection)
            .await
            .map_err(backend)?;
    }
    if !attempts.is_empty() {
        crate::count_statement();
        sqlx::query(INSERT_ATTEMPTS)
            .bind(texts(&attempts, 0))
            .bind(texts(&attempts, 1))
            .bind(ints(&attempts, 2))
            .bind(ints(&attempts, 3))
            .bind(ints(&attempts, 4))
            .bind(ints(&attempts, 5))
            .bind(texts(&attempts, 6))
            .bind(texts(&attempts, 7))
            .execute(&mut *connection)
            .await
            .map_err(backend)?;
    }
    let mut finished = HashSet::new();
    if !finishes.is_empty() {
        crate::count_statement();
        let rows = sqlx::query(FINISH_DELIVERIES)
            .bind(texts(&finishes, 0))
            .bind(texts(&finishes, 1))
            .bind(texts(&finishes, 2))
            .bind(ints(&finishes, 3))
            .bind(ints(&finishes, 4))
            .bind(ints(&finishes, 5))
            .bind(ints(&finishes, 6))
            .bind(vec!["pending"; finishes.len()])
            .fetch_all(&mut *connection)
            .await
            .map_err(backend)?;
        for row in rows {
            finished.insert((
                row.try_get(0).map_err(backend)?,
                row.try_get(1).map_err(backend)?,
            ));
        }
    }
    Ok(Batched {
        finished,
        written: true,
    })
}

/// The `column`th parameter of each row, as text (NULL for none).
fn texts(rows: &[&[Param]], column: usize) -> Vec<Option<String>> {
    rows.iter().map(|row| text(&row[column])).collect()
}

/// The `column`th parameter of each row, as an integer (NULL for none).
fn ints(rows: &[&[Param]], column: usize) -> Vec<Option<i64>> {
    rows.iter()
        .map(|row| match &row[column] {
            Param::Int(int) => Some(*int),
            Param::MaybeInt(int) => *int,
            _ => None,
        })
        .collect()
}

fn text(param: &Param) -> Option<String> {
    match param {
        Param::Text(text) => Some(text.clone()),
        Param::MaybeText(text) => text.clone(),
        _ => None,
    }
}

/// `sql::INSERT_EVENT` for many events (directed ones: their jobs come with them).
const INSERT_EVENT_ROWS: &str = "INSERT INTO events \
    (id, account_id, product, name, body, idempotency_key, received_at) \
    SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
        $6::text[], $7::int8[])";

/// `sql::INSERT_JOB` for many jobs.
const INSERT_JOB_ROWS: &str = "INSERT INTO jobs \
    (event_id, installation_id, event, handler, status, attempts, max_attempts, run_at) \
    SELECT e, i, n, h, 'pending', 0, m, r \
    FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::int8[]) \
        AS j (e, i, n, h, m, r)";

/// `sql::INSERT_ATTEMPT` for many attempts.
const INSERT_ATTEMPTS: &str = "INSERT INTO delivery_attempts \
    (event_id, subscription_id, number, at, status_code, duration_ms, error, response) \
    SELECT * FROM UNNEST($1::text[], $2::text[], $3::int8[], $4::int8[], $5::int8[], \
        $6::int8[], $7::text[], $8::text[])";

/// `sql::FINISH_DELIVERY` for many deliveries, each once; returns the key of each row
/// it changed. The status a finished row must have (pending) comes in the arrays too:
/// written as a constant, it would let the planner hash every pending delivery (through
/// their partial index, on an estimate that lags behind a growing backlog) instead of
/// looking each one up by its primary key.
const FINISH_DELIVERIES: &str = "UPDATE deliveries AS d SET status = f.status, \
    run_at = f.run_at, attempts = d.attempts - f.given_back, tries = d.tries - f.given_back, \
    updated_at = f.now \
    FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::int8[], \
        $7::int8[], $8::text[]) \
        AS f (event_id, subscription_id, status, run_at, generation, now, given_back, was) \
    WHERE d.event_id = f.event_id AND d.subscription_id = f.subscription_id \
    AND d.status = f.was AND d.generation = f.generation \
    RETURNING d.event_id, d.subscription_id";
