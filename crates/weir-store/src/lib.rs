//! Weir's storage: one `Store` trait, two implementations.
//!
//! Both are a [`SqlStore`]: the statements, parameters and row decoding are shared
//! (`sql_store.rs`, `sql.rs`, `params.rs`, `rows.rs`); a backend only runs statements and
//! makes the few multi-statement changes in its own transactions.
//!
//! - [`SqliteStore`]: embedded, the zero-set-up default. One writer thread owns the only
//!   writing connection and commits concurrent writes together (group commit), so one
//!   fsync serves many requests; readers use their own connections.
//! - [`PgStore`]: PostgreSQL, for several Weir nodes sharing one database.
//!
//! Both run their migrations when opened, and both pass the same conformance suite
//! (`tests/conformance.rs`). Row decoding is shared (`rows.rs`): each backend only says how
//! to read a column.

mod deliveries;
mod entities;
mod ingest;
mod leases;
mod migrations;
mod notices;
mod oauth;
mod page;
mod params;
mod pg_connections;
mod pg_group_commit;
mod postgres;
mod rows;
mod schedule_change;
mod sealed;
mod sql;
mod sql_store;
mod sqlite;

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use weir_core::{
    Account, AccountId, ApiKey, ApiKeyId, App, AppId, AppName, EventId, Installation,
    InstallationId, InvocationFilter, InvocationId, InvocationRecord, Iparams, Job, ProductEvent,
    Schedule, ScheduleLimits, Subscription, SubscriptionId, TargetToken, TokenHash,
    WebhookSubscription,
};
use weir_core::{Attempt, Delivery, ReferenceId, WebhookInvocation};

pub use deliveries::{DeliveryFilter, DeliveryOutcome};
pub use entities::{
    EntityList, EntityPage, EntityRecord, EntityRecordChange, EntityRecords, NewEntityRecord,
    RecordKey,
};
pub use leases::{Lease, QueueDepth, WorkQueue};
pub use notices::{Debounce, Notice};
pub use oauth::{PendingAuthorization, StoredOAuthToken};
pub use page::{Page, PageRequest};
pub use postgres::PgStore;
pub use sealed::{RESEAL_BATCH, SealedCount, SecretsAtRest, SecretsCensus};
pub use sql_store::SqlStore;
pub use sqlite::SqliteStore;

/// Statements run by every store of the process, on either backend (transaction control
/// aside): what `/metrics` shows and benchmarks report per event and per delivery.
static STATEMENTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many statements the stores of this process have run so far.
pub fn statements_run() -> u64 {
    STATEMENTS.load(std::sync::atomic::Ordering::Relaxed)
}

pub(crate) fn count_statement() {
    STATEMENTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The change contradicts what is stored (a duplicate id, an app installed twice, …).
    #[error("{0}")]
    Conflict(String),
    #[error("not found")]
    NotFound,
    #[error("database error: {0}")]
    Backend(String),
    /// The database cannot take the request now for a reason of its environment, not of
    /// the request: the disk is full, the database is read-only or unreachable, there is
    /// no connection to be had. The same request may well succeed later.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// A stored value that no longer parses: a bug or a hand-edited database.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// Secrets at rest cannot be sealed or opened: a key is missing or wrong (the message
    /// names the key ids), or the store was never given its keys.
    #[error("{0}")]
    Secrets(String),
}

/// Where the data lives.
#[derive(Debug, Clone)]
pub enum StoreConfig {
    /// Embedded SQLite in this directory (created if missing).
    Sqlite { data_dir: PathBuf },
    /// A PostgreSQL database, `postgres://…`.
    Postgres { url: String },
}

/// Opens the configured store and brings its schema up to date. It is locked: nothing
/// that reads or writes a secret works until [`SecretsAtRest::unlock`] gives it its keys.
pub async fn open(config: &StoreConfig) -> Result<Arc<dyn Store>> {
    Ok(match config {
        StoreConfig::Sqlite { data_dir } => Arc::new(SqliteStore::open(data_dir).await?),
        StoreConfig::Postgres { url } => Arc::new(PgStore::connect(url).await?),
    })
}

/// The fields of an account to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AccountChanges {
    pub domain: Option<weir_core::Domain>,
    pub region: Option<weir_core::Region>,
    pub product: Option<weir_core::Product>,
    pub departments: Option<weir_core::Departments>,
    pub updated_at: Timestamp,
}

/// What retention deletes, each kind on its own schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// Events, with their jobs, deliveries and attempts.
    Events,
    /// Handler runs' records, console output included.
    Invocations,
    /// Delivery attempts (status, duration, response excerpt) of finished deliveries.
    Attempts,
}

impl RecordKind {
    pub const ALL: [RecordKind; 3] = [
        RecordKind::Events,
        RecordKind::Invocations,
        RecordKind::Attempts,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Events => "events",
            RecordKind::Invocations => "invocations",
            RecordKind::Attempts => "attempts",
        }
    }
}

/// A new app version, before the store gives it its version number.
#[derive(Debug, Clone)]
pub struct NewApp {
    pub id: AppId,
    pub name: AppName,
    pub platform_version: Option<String>,
    /// The zip archive as uploaded: kept in the database so that any node can load it.
    pub package: Vec<u8>,
    pub package_sha256: String,
    /// The product events it listens to, stored with it for the fan-out to join on.
    pub subscriptions: Vec<Subscription>,
    pub created_at: Timestamp,
}

/// Everything Weir stores. Entity storage is a trait of its own ([`EntityRecords`]), the
/// first slice of the store by aggregate; the rest is still here.
#[async_trait]
pub trait Store: EntityRecords + SecretsAtRest + Send + Sync + 'static {
    /// Succeeds when the database answers reads and takes writes (it writes a row).
    async fn ping(&self) -> Result<()>;

    async fn setting(&self, key: &str) -> Result<Option<String>>;
    /// Stores `value` unless `key` has one already; returns the value that is stored now.
    async fn init_setting(&self, key: &str, value: &str) -> Result<String>;
    /// Sets `key` to `value`, whatever it was.
    async fn put_setting(&self, key: &str, value: &str) -> Result<()>;

    /// `Conflict` if the id is taken.
    async fn insert_account(&self, account: &Account) -> Result<()>;
    async fn account(&self, id: &AccountId) -> Result<Option<Account>>;
    async fn accounts(&self, page: &PageRequest) -> Result<Page<Account>>;
    /// Changes the given fields only (so concurrent changes of other fields are kept);
    /// `NotFound` if the account does not exist.
    async fn update_account(&self, id: &AccountId, changes: &AccountChanges) -> Result<()>;
    /// `Conflict` while the account has active installations; removes its keys and
    /// uninstalled installations with it.
    async fn delete_account(&self, id: &AccountId) -> Result<()>;

    /// Stores the app with the next version number for its name.
    async fn insert_app(&self, app: NewApp) -> Result<App>;
    async fn app(&self, id: &AppId) -> Result<Option<App>>;
    /// The newest version of the app named `name`.
    async fn latest_app(&self, name: &AppName) -> Result<Option<App>>;
    /// The connector parameters the operator set for the app named `name` (empty when
    /// none were set).
    async fn app_parameters(&self, name: &AppName) -> Result<Iparams>;
    /// Replaces them.
    async fn put_app_parameters(&self, name: &AppName, parameters: &Iparams) -> Result<()>;
    async fn app_package(&self, id: &AppId) -> Result<Option<Vec<u8>>>;
    async fn apps(&self, page: &PageRequest) -> Result<Page<App>>;

    /// `Conflict` if the account already has an active installation of the same app.
    async fn insert_installation(&self, installation: &Installation) -> Result<()>;
    async fn installation(&self, id: &InstallationId) -> Result<Option<Installation>>;
    /// The installation (active or not) whose target URL has this token.
    async fn installation_by_target_token(
        &self,
        token: &TargetToken,
    ) -> Result<Option<Installation>>;
    /// The account's active installations.
    async fn installations(
        &self,
        account: &AccountId,
        page: &PageRequest,
    ) -> Result<Page<Installation>>;
    /// Marks an active installation uninstalled, and cancels its pending jobs and
    /// schedules with it; `NotFound` if there is none.
    async fn uninstall(&self, id: &InstallationId, at: Timestamp) -> Result<()>;
    /// Removes an installation with everything that refers to it (`$db` data, schedules,
    /// jobs), as if it had never been: an install whose `onAppInstall` failed. The records
    /// of its handler runs stay, readable by their ids, as they say why. Returns whether
    /// there was one.
    async fn delete_installation(&self, id: &InstallationId) -> Result<bool>;
    /// Moves an active installation from app version `from` to `to`; `NotFound` if there
    /// is no such active installation on `from` (it was uninstalled, or moved meanwhile).
    async fn switch_app(
        &self,
        id: &InstallationId,
        from: &AppId,
        to: &AppId,
        at: Timestamp,
    ) -> Result<()>;
    /// Replaces an installation's iparams (`weir dev` saves its iparams form here);
    /// `NotFound` if there is no such installation, or it is uninstalled.
    async fn set_iparams(
        &self,
        id: &InstallationId,
        iparams: &Iparams,
        at: Timestamp,
    ) -> Result<()>;
    /// Makes an `installing` installation active; `Conflict` if the account has an active
    /// installation of the app by now, `NotFound` if it is no longer installing.
    async fn activate_installation(&self, installation: &Installation, at: Timestamp)
    -> Result<()>;

    async fn insert_api_key(&self, key: &ApiKey) -> Result<()>;
    async fn api_key_by_hash(&self, hash: &TokenHash) -> Result<Option<ApiKey>>;
    async fn api_keys(&self, account: &AccountId) -> Result<Vec<ApiKey>>;
    /// `NotFound` unless the key exists and belongs to the account.
    async fn delete_api_key(&self, account: &AccountId, id: &ApiKeyId) -> Result<()>;

    /// An installation's `$db` entry, unless absent or past its time at `now`.
    async fn app_data(
        &self,
        installation: &InstallationId,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<StoredData>>;
    /// Writes a `$db` entry if `expect` holds at `now`; returns whether it was written.
    async fn put_app_data(&self, write: DataWrite<'_>) -> Result<bool>;
    /// Deletes a `$db` entry; returns whether there was one.
    async fn delete_app_data(
        &self,
        installation: &InstallationId,
        key: &str,
        now: Timestamp,
    ) -> Result<bool>;

    /// `NotFound` if the installation does not exist.
    async fn insert_invocation(&self, record: &InvocationRecord) -> Result<()>;
    /// One record, whichever installation it belongs to.
    async fn invocation(&self, id: &InvocationId) -> Result<Option<InvocationRecord>>;
    /// The installation's records that pass `filter`, in id order (which is the order they
    /// started in), paged like every list.
    async fn invocations(
        &self,
        installation: &InstallationId,
        filter: &InvocationFilter,
        page: &PageRequest,
    ) -> Result<Page<InvocationRecord>>;

    /// Creates a `$schedule` unless its name is taken in the installation or the
    /// installation has no room left for one more of its kind. The counting and the write
    /// are one transaction, so concurrent creations cannot overshoot a limit. `NotFound`
    /// if the installation does not exist.
    async fn insert_schedule(
        &self,
        schedule: &Schedule,
        limits: &ScheduleLimits,
    ) -> Result<ScheduleWrite>;
    /// A schedule as stored, with its current version.
    async fn schedule(&self, installation: &InstallationId, name: &str)
    -> Result<Option<Schedule>>;
    /// Replaces a schedule's spec, next run and `updated_at`, bumps its version and
    /// releases any claim on it. Turning one kind into the other needs room for the new
    /// kind, as creating it would.
    async fn update_schedule(
        &self,
        schedule: &Schedule,
        limits: &ScheduleLimits,
    ) -> Result<ScheduleWrite>;
    /// Deletes a schedule; returns whether there was one.
    async fn delete_schedule(&self, installation: &InstallationId, name: &str) -> Result<bool>;
    /// Claims up to `limit` schedules of active installations that are due at `now` and
    /// not claimed (or whose claim ran out before `now`), until `lease_until`, earliest
    /// first. Concurrent callers, on one node or many, never get the same schedule while
    /// its claim holds.
    async fn claim_due_schedules(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Schedule>>;
    /// Records a claimed run's end, unless the app changed the schedule meanwhile (its
    /// version is no longer `version`): deletes it (`next_run_at` `None`, a one-time
    /// schedule) or sets its next run, releases the claim and bumps the version, so that a
    /// second run of the same claim (its lease ran out) cannot finish it again. Returns
    /// whether it applied.
    async fn finish_schedule_run(
        &self,
        installation: &InstallationId,
        name: &str,
        version: i64,
        next_run_at: Option<Timestamp>,
    ) -> Result<bool>;
    /// Stores posted events and, in the same transaction, the jobs each owes the active
    /// installations of its account whose app listens to it; answers once all is durable,
    /// in the order given. An event whose idempotency key an event of its account took
    /// less than `IDEMPOTENCY_WINDOW` before its `received_at` is not stored again: the
    /// answer names the first one. Concurrent ingests of one key store it once.
    async fn ingest_events(&self, events: &[ProductEvent]) -> Result<Vec<Ingested>>;
    /// Stores events that go to chosen installations (external events), each with its
    /// jobs, all in one transaction, durably.
    async fn ingest_directed(&self, events: &[DirectedEvent]) -> Result<()>;
    async fn product_event(&self, id: &EventId) -> Result<Option<ProductEvent>>;
    /// The events of these ids that exist, in one read, in no particular order.
    async fn product_events(&self, ids: &[EventId]) -> Result<Vec<ProductEvent>>;
    /// Events newest first, of one account (or every account's) and one name (or all),
    /// paged by id: `page.after` is the last (oldest) id of the page before.
    async fn recent_events(
        &self,
        account: Option<&AccountId>,
        name: Option<&str>,
        page: &PageRequest,
    ) -> Result<Page<ProductEvent>>;
    /// The jobs an event caused, by installation.
    async fn jobs_of_event(&self, id: &EventId) -> Result<Vec<Job>>;
    /// Claims up to `limit` pending jobs due at `now` until `lease_until`, earliest first,
    /// counting an attempt for each. A claimed job is due again only when its lease runs
    /// out unfinished, so concurrent claimers never get the same job while it holds.
    async fn claim_jobs(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Job>>;
    /// Records how a claimed job's run ended, unless it is no longer pending (the
    /// installation was uninstalled, or another run finished it) or has been claimed
    /// again since (its `attempts` is no longer `attempt`). Returns whether it applied.
    async fn finish_job(
        &self,
        event: &EventId,
        installation: &InstallationId,
        attempt: u32,
        outcome: JobOutcome,
    ) -> Result<bool>;
    /// When the earliest pending job is due (or its lease runs out).
    async fn next_job_due(&self) -> Result<Option<Timestamp>>;

    /// Sets the installation's selector for a global-webhook event (replacing any).
    async fn put_selector(&self, selector: &EventSelector) -> Result<()>;
    async fn selectors(&self, installation: &InstallationId) -> Result<Vec<EventSelector>>;
    /// The selectors of active installations of the app that match exactly.
    async fn selected(
        &self,
        app: &AppName,
        webhook_key: &str,
        selector: &str,
    ) -> Result<Vec<EventSelector>>;
    /// Counts one request to a global webhook of an app version, and what became of the
    /// events its `handle` returned.
    async fn count_global_webhook(&self, count: &GlobalWebhookCount<'_>) -> Result<()>;
    async fn global_webhook_stats(&self, app: &AppId) -> Result<Vec<GlobalWebhookStats>>;

    /// Sets a connector `webhook` event's subscription for an installation (replacing any).
    async fn put_connector_subscription(&self, subscription: &ConnectorSubscription) -> Result<()>;
    async fn connector_subscription(
        &self,
        installation: &InstallationId,
        event_key: &str,
    ) -> Result<Option<ConnectorSubscription>>;
    async fn connector_subscriptions(
        &self,
        installation: &InstallationId,
    ) -> Result<Vec<ConnectorSubscription>>;
    /// Claims up to `limit` subscriptions of active installations whose refresh is due at
    /// `now`, until `lease_until`, as `claim_jobs` does.
    async fn claim_due_refreshes(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<ConnectorSubscription>>;
    /// When the earliest refresh is due.
    async fn next_refresh_due(&self) -> Result<Option<Timestamp>>;

    async fn insert_webhook_subscription(&self, subscription: &WebhookSubscription) -> Result<()>;
    async fn webhook_subscription(
        &self,
        id: &SubscriptionId,
    ) -> Result<Option<WebhookSubscription>>;
    /// The subscriptions of these ids that exist, in one read, in no particular order.
    async fn webhook_subscriptions_by_id(
        &self,
        ids: &[SubscriptionId],
    ) -> Result<Vec<WebhookSubscription>>;
    async fn webhook_subscriptions(
        &self,
        account: &AccountId,
        page: &PageRequest,
    ) -> Result<Page<WebhookSubscription>>;
    /// Replaces what may change (URL, events, filters, secrets, state); disabling it makes
    /// its waiting deliveries dead, in the same transaction. `NotFound` if it is gone.
    async fn update_webhook_subscription(&self, subscription: &WebhookSubscription) -> Result<()>;
    /// Disables it for `reason` (changing nothing else), and its waiting deliveries die,
    /// in one transaction; returns whether it was enabled. The notices are told in the
    /// same transaction, only if this disable took.
    async fn disable_webhook_subscription(
        &self,
        id: &SubscriptionId,
        reason: &str,
        at: Timestamp,
        notices: &[Notice],
    ) -> Result<bool>;
    /// Deletes it with its deliveries; returns whether there was one.
    async fn delete_webhook_subscription(&self, id: &SubscriptionId) -> Result<bool>;
    /// Deletes the installation's extension webhooks; returns how many there were.
    async fn delete_extension_webhooks(&self, installation: &InstallationId) -> Result<u64>;

    async fn delivery(
        &self,
        event: &EventId,
        subscription: &SubscriptionId,
    ) -> Result<Option<Delivery>>;
    /// The account's deliveries that pass `filter`, oldest first, paged by delivery id.
    async fn deliveries(
        &self,
        account: &AccountId,
        filter: &DeliveryFilter,
        page: &PageRequest,
    ) -> Result<Page<Delivery>>;
    /// Every account's deliveries that pass `filter` (the admin's view), in the same
    /// order and pages as `deliveries`.
    async fn deliveries_everywhere(
        &self,
        filter: &DeliveryFilter,
        page: &PageRequest,
    ) -> Result<Page<Delivery>>;
    async fn attempts(
        &self,
        event: &EventId,
        subscription: &SubscriptionId,
    ) -> Result<Vec<Attempt>>;
    /// Claims up to `limit` due deliveries until `lease_until`, as `claim_jobs` does.
    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Delivery>>;
    /// Records a claimed delivery's attempt (if one was made) and its outcome, unless it
    /// was claimed again since; returns whether the outcome applied. The notices are told
    /// in the same transaction: each (but a debounced one) only if the outcome applied.
    async fn finish_delivery(
        &self,
        delivery: &Delivery,
        attempt: Option<&Attempt>,
        outcome: DeliveryOutcome,
        notices: &[Notice],
    ) -> Result<bool>;
    /// Tells an operational event on its own (with its deliveries, in one transaction);
    /// a debounced one only if its window allows. Returns whether it was told.
    async fn tell(&self, notice: &Notice) -> Result<bool>;
    /// The statuses of the installation's latest `limit` handler runs, newest first.
    async fn latest_invocation_statuses(
        &self,
        installation: &InstallationId,
        limit: u32,
    ) -> Result<Vec<weir_core::InvocationStatus>>;
    /// Makes a delivered or dead delivery due again at `at`; returns whether it applied.
    async fn replay_delivery(
        &self,
        event: &EventId,
        subscription: &SubscriptionId,
        at: Timestamp,
    ) -> Result<bool>;
    /// Makes a pending delivery's next attempt due at `at`, unless an attempt of it is in
    /// flight (claimed and not yet recorded); returns whether it applied.
    async fn retry_delivery_now(
        &self,
        event: &EventId,
        subscription: &SubscriptionId,
        at: Timestamp,
    ) -> Result<bool>;
    /// Makes every dead or skipped delivery of the subscription made since `since` due
    /// again at `at`; returns how many.
    async fn recover_deliveries(
        &self,
        subscription: &SubscriptionId,
        since: Timestamp,
        at: Timestamp,
    ) -> Result<u64>;
    async fn next_delivery_due(&self) -> Result<Option<Timestamp>>;
    /// Notes a subscription's failure (`since` is kept if it was failing already), or
    /// its success (`None`), for disabling one that fails for too long.
    async fn set_failing_since(&self, id: &SubscriptionId, since: Option<Timestamp>) -> Result<()>;
    /// Replaces the active installation's client token (by its hash); `NotFound` if there
    /// is no such active installation.
    async fn set_client_token(&self, installation: &InstallationId, hash: &TokenHash)
    -> Result<()>;
    /// The active installation whose client token has this hash.
    async fn installation_by_client_token(&self, hash: &TokenHash) -> Result<Option<Installation>>;
    /// `NotFound` if the installation does not exist.
    async fn insert_webhook_invocation(&self, invocation: &WebhookInvocation) -> Result<()>;
    async fn webhook_invocation(
        &self,
        reference: &ReferenceId,
    ) -> Result<Option<WebhookInvocation>>;
    /// Deletes up to `batch` records of `kind` older than `before`, oldest first, never
    /// one that is still pending or belongs to pending work; returns how many went.
    async fn purge_records(&self, kind: RecordKind, before: Timestamp, batch: u32) -> Result<u64>;
    /// Deletes the records of webhook calls made before `before`; returns how many.
    async fn purge_webhook_invocations(&self, before: Timestamp) -> Result<u64>;
    /// After purges: makes the space of the deleted rows reusable now. PostgreSQL
    /// vacuums the tables records are purged from (without blocking reads or writes);
    /// SQLite reuses freed pages by itself, so there it does nothing.
    async fn reclaim_space(&self) -> Result<()>;
    /// The installation's calls of registered webhooks, oldest first, paged.
    async fn webhook_invocations(
        &self,
        installation: &InstallationId,
        page: &PageRequest,
    ) -> Result<Page<WebhookInvocation>>;
    /// Each queue's waiting work, what of it is due at `now`, and its earliest time.
    async fn queue_depth(&self, now: Timestamp) -> Result<Vec<leases::QueueDepth>>;

    /// Moves each lease to end at `until` while its row still holds it (a heartbeat, or a
    /// give-back when `until` is now); says for each whether it did.
    async fn extend_leases(&self, leases: &[Lease], until: Timestamp) -> Result<Vec<bool>>;
    /// Tells every node sharing this store that work of these queues was stored
    /// (PostgreSQL's `NOTIFY`; nothing on SQLite, which one node uses alone).
    async fn announce(&self, queues: &[WorkQueue]) -> Result<()>;
    /// Hears what every node announces (this one's too), calling `heard` for each queue,
    /// until the connection fails. On SQLite there is nothing to hear: it never returns.
    async fn listen(&self, heard: &(dyn Fn(WorkQueue) + Send + Sync)) -> Result<()>;

    /// Stores the installation's OAuth tokens for an integration, replacing any; `NotFound`
    /// if the installation does not exist. An uninstall deletes them.
    async fn put_oauth_token(&self, token: &StoredOAuthToken) -> Result<()>;
    async fn oauth_token(
        &self,
        installation: &InstallationId,
        integration: &str,
    ) -> Result<Option<StoredOAuthToken>>;
    /// The installation's tokens, by integration.
    async fn oauth_tokens(&self, installation: &InstallationId) -> Result<Vec<StoredOAuthToken>>;
    /// Returns whether there was one.
    async fn delete_oauth_token(
        &self,
        installation: &InstallationId,
        integration: &str,
    ) -> Result<bool>;
    /// Stores an authorization under way, forgetting those that expired before it was made;
    /// `NotFound` if the installation does not exist.
    async fn insert_pending_authorization(&self, pending: &PendingAuthorization) -> Result<()>;
    /// Takes the authorization under way whose state has this hash: it is gone once read,
    /// expired or not (the caller checks), so a state serves one callback at most, even
    /// when two race.
    async fn take_pending_authorization(
        &self,
        state_hash: &TokenHash,
    ) -> Result<Option<PendingAuthorization>>;

    /// When the scheduler should next look, so that it can sleep until then: the earliest
    /// run of an unclaimed schedule of an active installation, or the moment just after the
    /// earliest claim runs out (a node stopped mid-run), whichever comes first.
    async fn next_schedule_due(&self) -> Result<Option<Timestamp>>;
}

/// An event for chosen installations, with one job for each.
#[derive(Debug, Clone)]
pub struct DirectedEvent {
    pub event: ProductEvent,
    pub jobs: Vec<NewJob>,
}

/// One handler run an event owes a chosen installation.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub installation_id: InstallationId,
    pub handler: String,
    pub max_attempts: u32,
}

/// An installation's `(globalWebhookKey, globalWebhookEventSelector)` for one event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EventSelector {
    pub installation_id: InstallationId,
    pub event_key: String,
    pub app_name: AppName,
    pub webhook_key: String,
    pub selector: String,
    pub updated_at: Timestamp,
}

/// A connector `webhook` event's subscription for one installation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ConnectorSubscription {
    pub installation_id: InstallationId,
    pub event_key: String,
    /// What `subscribe` returned as `state` (`handle` and `refresh` may replace it).
    pub state: serde_json::Value,
    /// When `refresh` is due; `None` when the connector asked for none.
    pub refresh_at: Option<Timestamp>,
    pub updated_at: Timestamp,
}

/// One request to a global webhook.
#[derive(Debug, Clone)]
pub struct GlobalWebhookCount<'a> {
    pub app: &'a AppId,
    pub webhook_key: &'a str,
    pub events_routed: u64,
    pub events_unmatched: u64,
    /// The selector of the last event that matched nobody, if one did.
    pub last_unmatched: Option<&'a str>,
    pub at: Timestamp,
}

/// What a global webhook of an app version has received.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GlobalWebhookStats {
    pub webhook_key: String,
    pub requests: u64,
    pub events_routed: u64,
    pub events_unmatched: u64,
    pub last_unmatched: Option<String>,
    pub last_request_at: Timestamp,
}

/// How long an idempotency key keeps answering with its first event.
pub const IDEMPOTENCY_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

/// What became of one ingested event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ingested {
    /// Stored, with this many handler runs and deliveries.
    Created {
        id: EventId,
        jobs: u64,
        deliveries: u64,
    },
    /// Its idempotency key is held by this earlier event; nothing was stored.
    Duplicate { id: EventId },
}

impl Ingested {
    pub fn id(&self) -> &EventId {
        match self {
            Ingested::Created { id, .. } | Ingested::Duplicate { id } => id,
        }
    }
}

/// How a job's run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Done {
        invocation: InvocationId,
    },
    /// Final: the handler failed and has no attempts left, or there was nothing to run
    /// (the installation or the event is gone).
    Failed {
        invocation: Option<InvocationId>,
    },
    /// There is nothing to run any more: the installation is uninstalled, or its app no
    /// longer handles the event.
    Cancelled,
    /// Not run: it waits until `at`, and this claim does not count as an attempt.
    Postponed {
        at: Timestamp,
    },
    /// The handler failed (or could not start) and runs again at `at`.
    RetryAt {
        at: Timestamp,
        invocation: Option<InvocationId>,
    },
}

/// What became of a schedule write. Refusals are the app's to hear (`$schedule` answers
/// them as errors), not failures of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleWrite {
    Written,
    /// `insert_schedule`: the installation has a schedule of this name already.
    NameTaken,
    /// `update_schedule`: there is no schedule of this name.
    NotFound,
    /// The installation has `max_one_time` one-time schedules already.
    OneTimeLimit,
    /// The installation has `max_recurring` recurring schedules already.
    RecurringLimit,
}

/// A stored `$db` value and its version, which counts the writes to it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredData {
    pub value: serde_json::Value,
    pub version: i64,
    pub expires_at: Option<Timestamp>,
}

/// One `$db` write.
#[derive(Debug, Clone)]
pub struct DataWrite<'a> {
    pub installation: &'a InstallationId,
    pub key: &'a str,
    pub value: &'a serde_json::Value,
    pub expires_at: Option<Timestamp>,
    pub expect: Expect,
    pub now: Timestamp,
}

/// The condition a `$db` write needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Anything,
    /// No live entry (`setIf: "not_exist"`).
    Absent,
    /// A live entry (`setIf: "exist"`).
    Present,
    /// The live entry still at this version (an update computed from it).
    Version(i64),
}

/// The conflict raised when deleting an account that still has apps installed.
fn has_active_installations(account: &AccountId) -> StoreError {
    StoreError::Conflict(format!(
        "account {account} still has active installations; uninstall them first"
    ))
}

/// The stored form of a new app, once it has its version.
fn stored_app(app: &NewApp, version: i64) -> App {
    App {
        id: app.id.clone(),
        name: app.name.clone(),
        version: version as u32,
        platform_version: app.platform_version.clone(),
        package_sha256: app.package_sha256.clone(),
        package_size: app.package.len() as u64,
        created_at: app.created_at,
    }
}

/// The conflict raised when an installation's app is installed in its account already.
fn already_installed(installation: &Installation) -> StoreError {
    StoreError::Conflict(format!(
        "app {:?} is already installed in account {}; uninstall it first",
        installation.app_name.as_str(),
        installation.account_id
    ))
}
