//! The `Store` implementation both backends share. A backend only knows how to run one
//! statement ([`Backend`]) and how to make the few changes that need several statements
//! in one transaction; everything else (which statement, which parameters, how rows
//! decode, what a missing row means) is written here once.

use async_trait::async_trait;
use jiff::Timestamp;
use weir_core::{
    Account, AccountId, ApiKey, ApiKeyId, App, AppId, AppName, EventId, Installation,
    InstallationId, InvocationFilter, InvocationId, InvocationRecord, Iparams, Job, ProductEvent,
    Schedule, ScheduleLimits, TargetToken, TokenHash,
};
use weir_core::{
    Attempt, Delivery, ReferenceId, SubscriptionId, WebhookInvocation, WebhookSubscription,
};

use crate::notices::{self, Guard, Notice};
use crate::params::{self, Param};
use crate::rows::{self, Columns};
use crate::schedule_change::ScheduleChange;
use crate::sealed::{Keys, SEALED_SETTINGS, contexts};
use crate::{
    AccountChanges, ConnectorSubscription, DataWrite, DeliveryFilter, DeliveryOutcome,
    DirectedEvent, EventSelector, Expect, GlobalWebhookCount, GlobalWebhookStats, Ingested,
    JobOutcome, Lease, NewApp, Page, PageRequest, PendingAuthorization, Result, ScheduleWrite,
    Store, StoreError, StoredData, StoredOAuthToken, WorkQueue, sql,
};

/// Turns one row into a value.
pub type Decode<T> = fn(&dyn Columns) -> Result<T>;

#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// The statement that claims due schedules: `sql::CLAIM_DUE_SCHEDULES`, or a variant
    /// that lets this backend's concurrent claimers pass each other.
    const CLAIM_DUE_SCHEDULES: &'static str;
    /// The statement that claims jobs: `sql::CLAIM_JOBS` or a passing variant.
    const CLAIM_JOBS: &'static str;
    /// The statement that claims refreshes: `sql::CLAIM_REFRESHES` or a passing variant.
    const CLAIM_REFRESHES: &'static str;
    /// The statement that claims deliveries: `sql::CLAIM_DELIVERIES` or a passing variant.
    const CLAIM_DELIVERIES: &'static str;
    /// `sql::PRODUCT_EVENTS` as this backend reads a JSON array of ids.
    const PRODUCT_EVENTS: &'static str;
    /// `sql::WEBHOOK_SUBSCRIPTIONS_BY_ID` likewise.
    const WEBHOOK_SUBSCRIPTIONS_BY_ID: &'static str;
    /// What holds an account's FIFO subscriptions to an event (`$1` account, `$2` event)
    /// while a transaction numbers their deliveries, where writers run concurrently.
    const LOCK_FIFO: Option<&'static str>;

    /// Runs a statement that changes data, durably; returns how many rows it changed.
    async fn execute(&self, sql: &'static str, params: Vec<Param>) -> Result<u64>;
    /// Runs a statement that changes data and returns rows (`RETURNING`), durably, and
    /// decodes them.
    async fn execute_returning<T: Send + 'static>(
        &self,
        sql: &'static str,
        params: Vec<Param>,
        decode: Decode<T>,
    ) -> Result<Vec<T>>;
    /// Runs a query and decodes every row.
    async fn fetch<T: Send + 'static>(
        &self,
        sql: &'static str,
        params: Vec<Param>,
        decode: Decode<T>,
    ) -> Result<Vec<T>>;
    /// Runs a lookup by key (at most one row, found through an index) and decodes its row.
    async fn fetch_by_key<T: Send + 'static>(
        &self,
        sql: &'static str,
        params: Vec<Param>,
        decode: Decode<T>,
    ) -> Result<Option<T>> {
        Ok(self.fetch(sql, params, decode).await?.into_iter().next())
    }

    /// Succeeds when the database answers reads and takes writes.
    async fn ping(&self) -> Result<()>;
    /// `Store::reclaim_space`.
    async fn reclaim_space(&self) -> Result<()>;
    /// Makes the database forget the old versions of rows just rewritten (values that were
    /// in clear before they were sealed), where it keeps them in files of its own: SQLite's
    /// write-ahead log. Nothing on PostgreSQL, whose old row versions wait for VACUUM.
    async fn forget_overwritten(&self) -> Result<()>;
    /// `Store::announce`.
    async fn announce(&self, queues: &[WorkQueue]) -> Result<()>;
    /// `Store::listen`.
    async fn listen(&self, heard: &(dyn Fn(WorkQueue) + Send + Sync)) -> Result<()>;

    /// Deletes the account unless it has active installations, atomically.
    async fn delete_account(&self, id: &AccountId) -> Result<()>;
    /// Stores the app under the next version number of its name, with its
    /// subscriptions, atomically.
    async fn insert_app(&self, app: NewApp) -> Result<App>;
    /// Runs the statements in order in one transaction, durably; returns how many rows
    /// each changed. Any failure rolls them all back.
    async fn transaction(&self, statements: Vec<(&'static str, Vec<Param>)>) -> Result<Vec<u64>>;
    /// Stores the events and their jobs in one transaction, deciding each idempotency key
    /// with `ingest::KeyCheck`.
    async fn ingest_events(&self, events: &[ProductEvent]) -> Result<Vec<Ingested>>;
    /// Reads the installation's `SCHEDULE_COUNTS` and, unless the change's refusal says
    /// otherwise, runs its statement, atomically.
    async fn change_schedule(&self, change: ScheduleChange) -> Result<ScheduleWrite>;
    /// Runs `first`, a statement that returns at most one row with an integer column `id`
    /// (`RETURNING … AS id`), then, if it returned one, the statements `then` makes of that
    /// id, all in one transaction, durably. Returns the id, or `None` when `first` returned
    /// no row: then nothing else runs, and `first` must have changed nothing.
    async fn chained_write(
        &self,
        first: (&'static str, Vec<Param>),
        then: ChainedStatements,
    ) -> Result<Option<i64>>;
}

/// What a [`Backend::chained_write`] runs once its first statement gave an id.
pub type ChainedStatements = Box<dyn FnOnce(i64) -> Vec<(&'static str, Vec<Param>)> + Send>;

/// A store over SQL: [`crate::SqliteStore`] or [`crate::PgStore`].
pub struct SqlStore<B> {
    pub(crate) backend: B,
    /// The keys secrets are sealed with, once unlocked; the backend opens rows with them.
    pub(crate) keys: std::sync::Arc<Keys>,
}

impl<B: Backend> SqlStore<B> {
    /// A store over `backend`, locked until it is given its keys.
    pub(crate) fn locked(backend: B, keys: std::sync::Arc<Keys>) -> Self {
        SqlStore { backend, keys }
    }

    fn open_setting(&self, key: &str, value: String) -> Result<String> {
        let row = SettingValue(value);
        let keyring = self.keys.get();
        let opening = rows::Opening {
            row: &row,
            keyring: keyring.as_deref(),
        };
        rows::secret(&opening, "value", &contexts::setting(key))
    }

    async fn fetch_one<T: Send + 'static>(
        &self,
        sql: &'static str,
        params: Vec<Param>,
        decode: Decode<T>,
    ) -> Result<Option<T>> {
        self.backend.fetch_by_key(sql, params, decode).await
    }

    async fn fetch_page<T: Send + 'static>(
        &self,
        sql: &'static str,
        mut params: Vec<Param>,
        page: &PageRequest,
        decode: Decode<T>,
        id: fn(&T) -> &str,
    ) -> Result<Page<T>> {
        params.push(page.after_bound().into());
        params.push(page.fetch_limit().into());
        Ok(Page::from_rows(
            self.backend.fetch(sql, params, decode).await?,
            page,
            id,
        ))
    }

    /// Runs a statement that must change a row; `NotFound` if it changed none.
    async fn change_one(&self, sql: &'static str, params: Vec<Param>) -> Result<()> {
        match self.backend.execute(sql, params).await? {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }

    /// Runs an insert, replacing a unique-constraint violation with a clearer conflict.
    async fn insert(
        &self,
        sql: &'static str,
        params: Vec<Param>,
        conflict: impl FnOnce() -> StoreError + Send,
    ) -> Result<()> {
        match self.backend.execute(sql, params).await {
            Err(StoreError::Conflict(_)) => Err(conflict()),
            other => other.map(drop),
        }
    }
}

#[async_trait]
impl<B: Backend> Store for SqlStore<B> {
    async fn ping(&self) -> Result<()> {
        self.backend.ping().await
    }

    async fn setting(&self, key: &str) -> Result<Option<String>> {
        let stored = self
            .fetch_one(sql::SETTING, vec![key.into()], |row| row.text("value"))
            .await?;
        match SEALED_SETTINGS.contains(&key) {
            true => stored
                .map(|value| self.open_setting(key, value))
                .transpose(),
            false => Ok(stored),
        }
    }

    async fn init_setting(&self, key: &str, value: &str) -> Result<String> {
        let value = match SEALED_SETTINGS.contains(&key) {
            true => self.seal(value, &contexts::setting(key))?,
            false => value.to_owned(),
        };
        self.backend
            .execute(sql::INIT_SETTING, vec![key.into(), value.into()])
            .await?;
        self.setting(key).await?.ok_or(StoreError::NotFound)
    }

    async fn put_setting(&self, key: &str, value: &str) -> Result<()> {
        self.backend
            .execute(sql::PUT_SETTING, vec![key.into(), value.into()])
            .await?;
        Ok(())
    }

    async fn insert_account(&self, account: &Account) -> Result<()> {
        let conflict = || StoreError::Conflict(format!("account {} already exists", account.id));
        self.insert(sql::INSERT_ACCOUNT, params::account(account), conflict)
            .await
    }

    async fn account(&self, id: &AccountId) -> Result<Option<Account>> {
        self.fetch_one(sql::ACCOUNT, vec![id.as_str().into()], rows::account)
            .await
    }

    async fn accounts(&self, page: &PageRequest) -> Result<Page<Account>> {
        self.fetch_page(sql::ACCOUNTS, vec![], page, rows::account, |a| {
            a.id.as_str()
        })
        .await
    }

    async fn update_account(&self, id: &AccountId, changes: &AccountChanges) -> Result<()> {
        self.change_one(sql::UPDATE_ACCOUNT, params::account_changes(id, changes))
            .await
    }

    async fn delete_account(&self, id: &AccountId) -> Result<()> {
        self.backend.delete_account(id).await
    }

    async fn insert_app(&self, app: NewApp) -> Result<App> {
        self.backend.insert_app(app).await
    }

    async fn app(&self, id: &AppId) -> Result<Option<App>> {
        self.fetch_one(sql::APP, vec![id.as_str().into()], rows::app)
            .await
    }

    async fn latest_app(&self, name: &AppName) -> Result<Option<App>> {
        self.fetch_one(sql::LATEST_APP, vec![name.as_str().into()], rows::app)
            .await
    }

    async fn app_parameters(&self, name: &AppName) -> Result<Iparams> {
        let stored = self
            .fetch_one(
                sql::APP_PARAMETERS,
                vec![name.as_str().into()],
                rows::app_parameters,
            )
            .await?;
        Ok(stored.unwrap_or_default())
    }

    async fn put_app_parameters(&self, name: &AppName, parameters: &Iparams) -> Result<()> {
        let secure = self.seal(
            &rows::to_json(&parameters.secure),
            &contexts::app_parameters(name.as_str()),
        )?;
        let params = vec![
            name.as_str().into(),
            rows::to_json(&parameters.public).into(),
            secure.into(),
            rows::millis(weir_core::now()).into(),
        ];
        self.backend
            .execute(sql::PUT_APP_PARAMETERS, params)
            .await
            .map(drop)
    }

    async fn app_package(&self, id: &AppId) -> Result<Option<Vec<u8>>> {
        self.fetch_one(sql::APP_PACKAGE, vec![id.as_str().into()], |row| {
            row.bytes("package")
        })
        .await
    }

    async fn apps(&self, page: &PageRequest) -> Result<Page<App>> {
        self.fetch_page(sql::APPS, vec![], page, rows::app, |a| a.id.as_str())
            .await
    }

    async fn insert_installation(&self, installation: &Installation) -> Result<()> {
        let conflict = || crate::already_installed(installation);
        let sealed = params::SealedInstallation {
            secure_iparams: self.seal(
                &rows::to_json(&installation.iparams.secure),
                &contexts::secure_iparams(installation.id.as_str()),
            )?,
            target_token: self.seal(
                installation.target_token.as_str(),
                &contexts::target_token(installation.id.as_str()),
            )?,
        };
        self.insert(
            sql::INSERT_INSTALLATION,
            params::installation(installation, sealed),
            conflict,
        )
        .await
    }

    async fn installation(&self, id: &InstallationId) -> Result<Option<Installation>> {
        self.fetch_one(
            sql::INSTALLATION,
            vec![id.as_str().into()],
            rows::installation,
        )
        .await
    }

    async fn installations(
        &self,
        account: &AccountId,
        page: &PageRequest,
    ) -> Result<Page<Installation>> {
        let params = vec![account.as_str().into()];
        self.fetch_page(sql::INSTALLATIONS, params, page, rows::installation, |i| {
            i.id.as_str()
        })
        .await
    }

    async fn uninstall(&self, id: &InstallationId, at: Timestamp) -> Result<()> {
        self.change_one(
            sql::UNINSTALL,
            vec![id.as_str().into(), rows::millis(at).into()],
        )
        .await
    }

    async fn delete_installation(&self, id: &InstallationId) -> Result<bool> {
        let params = vec![id.as_str().into()];
        Ok(self
            .backend
            .execute(sql::DELETE_INSTALLATION, params)
            .await?
            > 0)
    }

    async fn switch_app(
        &self,
        id: &InstallationId,
        from: &AppId,
        to: &AppId,
        at: Timestamp,
    ) -> Result<()> {
        let params = vec![
            id.as_str().into(),
            to.as_str().into(),
            rows::millis(at).into(),
            from.as_str().into(),
        ];
        self.change_one(sql::SWITCH_APP, params).await
    }

    async fn set_iparams(
        &self,
        id: &InstallationId,
        iparams: &Iparams,
        at: Timestamp,
    ) -> Result<()> {
        let secure = self.seal(
            &rows::to_json(&iparams.secure),
            &contexts::secure_iparams(id.as_str()),
        )?;
        let params = vec![
            id.as_str().into(),
            rows::to_json(&iparams.public).into(),
            secure.into(),
            rows::millis(at).into(),
        ];
        self.change_one(sql::SET_IPARAMS, params).await
    }

    async fn activate_installation(
        &self,
        installation: &Installation,
        at: Timestamp,
    ) -> Result<()> {
        let params = vec![installation.id.as_str().into(), rows::millis(at).into()];
        match self.change_one(sql::ACTIVATE_INSTALLATION, params).await {
            Err(StoreError::Conflict(_)) => Err(crate::already_installed(installation)),
            other => other,
        }
    }

    async fn installation_by_target_token(
        &self,
        token: &TargetToken,
    ) -> Result<Option<Installation>> {
        let params = vec![token.hash().into()];
        self.fetch_one(
            sql::INSTALLATION_BY_TARGET_TOKEN,
            params,
            rows::installation,
        )
        .await
    }

    async fn insert_api_key(&self, key: &ApiKey) -> Result<()> {
        self.backend
            .execute(sql::INSERT_API_KEY, params::api_key(key))
            .await
            .map(drop)
    }

    async fn api_key_by_hash(&self, hash: &TokenHash) -> Result<Option<ApiKey>> {
        self.fetch_one(
            sql::API_KEY_BY_HASH,
            vec![hash.as_str().into()],
            rows::api_key,
        )
        .await
    }

    async fn api_keys(&self, account: &AccountId) -> Result<Vec<ApiKey>> {
        self.backend
            .fetch(sql::API_KEYS, vec![account.as_str().into()], rows::api_key)
            .await
    }

    async fn delete_api_key(&self, account: &AccountId, id: &ApiKeyId) -> Result<()> {
        self.change_one(
            sql::DELETE_API_KEY,
            vec![account.as_str().into(), id.as_str().into()],
        )
        .await
    }

    async fn app_data(
        &self,
        installation: &InstallationId,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<StoredData>> {
        let params = vec![
            installation.as_str().into(),
            key.into(),
            rows::millis(now).into(),
        ];
        self.fetch_one(sql::APP_DATA, params, rows::stored_data)
            .await
    }

    async fn put_app_data(&self, write: DataWrite<'_>) -> Result<bool> {
        let statement = match write.expect {
            Expect::Anything => sql::PUT_APP_DATA,
            Expect::Absent => sql::PUT_ABSENT_APP_DATA,
            Expect::Present => sql::PUT_PRESENT_APP_DATA,
            Expect::Version(_) => sql::PUT_VERSION_APP_DATA,
        };
        Ok(self
            .backend
            .execute(statement, params::app_data(&write))
            .await?
            > 0)
    }

    async fn delete_app_data(
        &self,
        installation: &InstallationId,
        key: &str,
        now: Timestamp,
    ) -> Result<bool> {
        let params = vec![
            installation.as_str().into(),
            key.into(),
            rows::millis(now).into(),
        ];
        Ok(self.backend.execute(sql::DELETE_APP_DATA, params).await? > 0)
    }

    async fn insert_invocation(&self, record: &InvocationRecord) -> Result<()> {
        self.change_one(sql::INSERT_INVOCATION, params::invocation(record))
            .await
    }

    async fn invocation(&self, id: &InvocationId) -> Result<Option<InvocationRecord>> {
        self.fetch_one(sql::INVOCATION, vec![id.as_str().into()], rows::invocation)
            .await
    }

    async fn invocations(
        &self,
        installation: &InstallationId,
        filter: &InvocationFilter,
        page: &PageRequest,
    ) -> Result<Page<InvocationRecord>> {
        let params = params::invocation_filter(installation, filter);
        self.fetch_page(sql::INVOCATIONS, params, page, rows::invocation, |i| {
            i.id.as_str()
        })
        .await
    }

    async fn insert_schedule(
        &self,
        schedule: &Schedule,
        limits: &ScheduleLimits,
    ) -> Result<ScheduleWrite> {
        self.backend
            .change_schedule(ScheduleChange::insert(schedule, limits))
            .await
    }

    async fn schedule(
        &self,
        installation: &InstallationId,
        name: &str,
    ) -> Result<Option<Schedule>> {
        let key = params::schedule_key(installation, name);
        self.fetch_one(sql::SCHEDULE, key, rows::schedule).await
    }

    async fn update_schedule(
        &self,
        schedule: &Schedule,
        limits: &ScheduleLimits,
    ) -> Result<ScheduleWrite> {
        self.backend
            .change_schedule(ScheduleChange::update(schedule, limits))
            .await
    }

    async fn delete_schedule(&self, installation: &InstallationId, name: &str) -> Result<bool> {
        let key = params::schedule_key(installation, name);
        Ok(self.backend.execute(sql::DELETE_SCHEDULE, key).await? > 0)
    }

    async fn claim_due_schedules(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Schedule>> {
        let params = claim_params(now, lease_until, limit);
        let mut claimed = self
            .backend
            .execute_returning(B::CLAIM_DUE_SCHEDULES, params, rows::schedule)
            .await?;
        // RETURNING keeps no order; the earliest runs go first.
        claimed.sort_by_key(|schedule| schedule.next_run_at);
        Ok(claimed)
    }

    async fn finish_schedule_run(
        &self,
        installation: &InstallationId,
        name: &str,
        version: i64,
        next_run_at: Option<Timestamp>,
    ) -> Result<bool> {
        let mut params = params::schedule_key(installation, name);
        params.push(version.into());
        let statement = match next_run_at {
            None => sql::FINISH_ONE_TIME_SCHEDULE,
            Some(next) => {
                params.push(rows::millis(next).into());
                sql::RESCHEDULE
            }
        };
        Ok(self.backend.execute(statement, params).await? > 0)
    }

    async fn ingest_events(&self, events: &[ProductEvent]) -> Result<Vec<Ingested>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        self.backend.ingest_events(events).await
    }

    async fn ingest_directed(&self, events: &[DirectedEvent]) -> Result<()> {
        let mut statements = Vec::new();
        for directed in events {
            let event = &directed.event;
            statements.push((sql::INSERT_EVENT, params::product_event(event)));
            for job in &directed.jobs {
                statements.push((sql::INSERT_JOB, params::directed_job(event, job)));
            }
        }
        self.backend.transaction(statements).await.map(drop)
    }

    async fn product_event(&self, id: &EventId) -> Result<Option<ProductEvent>> {
        let params = vec![id.as_str().into()];
        self.fetch_one(sql::PRODUCT_EVENT, params, rows::product_event)
            .await
    }

    async fn product_events(&self, ids: &[EventId]) -> Result<Vec<ProductEvent>> {
        let params = vec![json_list(ids.iter().map(EventId::as_str))];
        self.backend
            .fetch(B::PRODUCT_EVENTS, params, rows::product_event)
            .await
    }

    async fn recent_events(
        &self,
        account: Option<&AccountId>,
        name: Option<&str>,
        page: &PageRequest,
    ) -> Result<Page<ProductEvent>> {
        let mut params = vec![
            Param::MaybeText(account.map(|a| a.as_str().to_owned())),
            Param::MaybeText(name.map(str::to_owned)),
            (i64::from(page.limit) + 1).into(),
        ];
        let statement = match &page.after {
            None => sql::RECENT_EVENTS,
            Some(before) => {
                params.push(before.as_str().into());
                sql::EVENTS_BEFORE
            }
        };
        let mut items = self
            .backend
            .fetch(statement, params, rows::product_event)
            .await?;
        let next_after = if items.len() > page.limit as usize {
            items.truncate(page.limit as usize);
            items.last().map(|event| event.id.as_str().to_owned())
        } else {
            None
        };
        Ok(Page { items, next_after })
    }

    async fn jobs_of_event(&self, id: &EventId) -> Result<Vec<Job>> {
        let params = vec![id.as_str().into()];
        self.backend
            .fetch(sql::JOBS_OF_EVENT, params, rows::job)
            .await
    }

    async fn claim_jobs(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Job>> {
        let params = claim_params(now, lease_until, limit);
        let mut claimed = self
            .backend
            .execute_returning(B::CLAIM_JOBS, params, rows::job)
            .await?;
        // RETURNING keeps no order; event ids sort by arrival, so the oldest go first.
        claimed.sort_by(|a, b| a.event_id.as_str().cmp(b.event_id.as_str()));
        Ok(claimed)
    }

    async fn finish_job(
        &self,
        event: &EventId,
        installation: &InstallationId,
        attempt: u32,
        outcome: JobOutcome,
    ) -> Result<bool> {
        let (statement, params) = match outcome {
            JobOutcome::Postponed { at } => (
                sql::POSTPONE_JOB,
                vec![
                    event.as_str().into(),
                    installation.as_str().into(),
                    i64::from(attempt).into(),
                    rows::millis(at).into(),
                ],
            ),
            outcome => (
                sql::FINISH_JOB,
                params::finish_job(event, installation, attempt, &outcome),
            ),
        };
        Ok(self.backend.execute(statement, params).await? > 0)
    }

    async fn next_job_due(&self) -> Result<Option<Timestamp>> {
        self.fetch_one(sql::NEXT_JOB_DUE, vec![], rows::at).await
    }

    async fn put_selector(&self, selector: &EventSelector) -> Result<()> {
        self.backend
            .execute(sql::PUT_SELECTOR, params::selector(selector))
            .await
            .map(drop)
    }

    async fn selectors(&self, installation: &InstallationId) -> Result<Vec<EventSelector>> {
        let params = vec![installation.as_str().into()];
        self.backend
            .fetch(sql::SELECTORS_OF, params, rows::selector)
            .await
    }

    async fn selected(
        &self,
        app: &AppName,
        webhook_key: &str,
        selector: &str,
    ) -> Result<Vec<EventSelector>> {
        let params = vec![app.as_str().into(), webhook_key.into(), selector.into()];
        self.backend
            .fetch(sql::SELECTED, params, rows::selector)
            .await
    }

    async fn count_global_webhook(&self, count: &GlobalWebhookCount<'_>) -> Result<()> {
        self.backend
            .execute(
                sql::COUNT_GLOBAL_WEBHOOK,
                params::global_webhook_count(count),
            )
            .await
            .map(drop)
    }

    async fn global_webhook_stats(&self, app: &AppId) -> Result<Vec<GlobalWebhookStats>> {
        let params = vec![app.as_str().into()];
        self.backend
            .fetch(
                sql::GLOBAL_WEBHOOK_STATS,
                params,
                rows::global_webhook_stats,
            )
            .await
    }

    async fn put_connector_subscription(&self, subscription: &ConnectorSubscription) -> Result<()> {
        let params = params::connector_subscription(subscription);
        self.backend
            .execute(sql::PUT_CONNECTOR_SUBSCRIPTION, params)
            .await
            .map(drop)
    }

    async fn connector_subscription(
        &self,
        installation: &InstallationId,
        event_key: &str,
    ) -> Result<Option<ConnectorSubscription>> {
        let params = vec![installation.as_str().into(), event_key.into()];
        self.fetch_one(
            sql::CONNECTOR_SUBSCRIPTION,
            params,
            rows::connector_subscription,
        )
        .await
    }

    async fn connector_subscriptions(
        &self,
        installation: &InstallationId,
    ) -> Result<Vec<ConnectorSubscription>> {
        let params = vec![installation.as_str().into()];
        self.backend
            .fetch(
                sql::CONNECTOR_SUBSCRIPTIONS,
                params,
                rows::connector_subscription,
            )
            .await
    }

    async fn claim_due_refreshes(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<ConnectorSubscription>> {
        let params = claim_params(now, lease_until, limit);
        self.backend
            .execute_returning(B::CLAIM_REFRESHES, params, rows::connector_subscription)
            .await
    }

    async fn next_refresh_due(&self) -> Result<Option<Timestamp>> {
        self.fetch_one(sql::NEXT_REFRESH_DUE, vec![], rows::at)
            .await
    }

    async fn insert_webhook_subscription(&self, subscription: &WebhookSubscription) -> Result<()> {
        self.put_subscription(subscription, sql::INSERT_WEBHOOK_SUBSCRIPTION)
            .await
            .map(drop)
    }

    async fn webhook_subscription(
        &self,
        id: &SubscriptionId,
    ) -> Result<Option<WebhookSubscription>> {
        let params = vec![id.as_str().into()];
        self.fetch_one(
            sql::WEBHOOK_SUBSCRIPTION,
            params,
            rows::webhook_subscription,
        )
        .await
    }

    async fn webhook_subscriptions_by_id(
        &self,
        ids: &[SubscriptionId],
    ) -> Result<Vec<WebhookSubscription>> {
        let params = vec![json_list(ids.iter().map(SubscriptionId::as_str))];
        self.backend
            .fetch(
                B::WEBHOOK_SUBSCRIPTIONS_BY_ID,
                params,
                rows::webhook_subscription,
            )
            .await
    }

    async fn webhook_subscriptions(
        &self,
        account: &AccountId,
        page: &PageRequest,
    ) -> Result<Page<WebhookSubscription>> {
        let params = vec![account.as_str().into()];
        self.fetch_page(
            sql::WEBHOOK_SUBSCRIPTIONS,
            params,
            page,
            rows::webhook_subscription,
            |s| s.id.as_str(),
        )
        .await
    }

    async fn update_webhook_subscription(&self, subscription: &WebhookSubscription) -> Result<()> {
        match self
            .put_subscription(subscription, sql::UPDATE_WEBHOOK_SUBSCRIPTION)
            .await?
        {
            true => Ok(()),
            false => Err(StoreError::NotFound),
        }
    }

    async fn disable_webhook_subscription(
        &self,
        id: &SubscriptionId,
        reason: &str,
        at: Timestamp,
        told: &[Notice],
    ) -> Result<bool> {
        let at = rows::millis(at);
        // The disable that takes leaves this mark, which the notices' guard looks for.
        let mark = told.first().map(|n| n.event.id.as_str().to_owned());
        let mut statements = vec![
            (
                sql::DISABLE_WEBHOOK_SUBSCRIPTION,
                vec![
                    id.as_str().into(),
                    reason.into(),
                    at.into(),
                    Param::MaybeText(mark.clone()),
                ],
            ),
            (
                sql::KILL_PENDING_DELIVERIES,
                vec![id.as_str().into(), at.into()],
            ),
        ];
        if let Some(mark) = &mark {
            for notice in told {
                let guard = Guard::Disabled(id, mark);
                statements.extend(notices::statements(notice, guard, B::LOCK_FIFO));
            }
        }
        let changed = self.backend.transaction(statements).await?;
        Ok(changed.first().copied().unwrap_or(0) > 0)
    }

    async fn delete_webhook_subscription(&self, id: &SubscriptionId) -> Result<bool> {
        let params = vec![id.as_str().into()];
        Ok(self
            .backend
            .execute(sql::DELETE_WEBHOOK_SUBSCRIPTION, params)
            .await?
            > 0)
    }

    async fn delete_extension_webhooks(&self, installation: &InstallationId) -> Result<u64> {
        let params = vec![installation.as_str().into()];
        self.backend
            .execute(sql::DELETE_EXTENSION_WEBHOOKS, params)
            .await
    }

    async fn delivery(
        &self,
        event: &EventId,
        subscription: &SubscriptionId,
    ) -> Result<Option<Delivery>> {
        let params = vec![event.as_str().into(), subscription.as_str().into()];
        self.fetch_one(sql::DELIVERY, params, rows::delivery).await
    }

    async fn deliveries(
        &self,
        account: &AccountId,
        filter: &DeliveryFilter,
        page: &PageRequest,
    ) -> Result<Page<Delivery>> {
        self.page_of_deliveries(Some(account), filter, page).await
    }

    async fn deliveries_everywhere(
        &self,
        filter: &DeliveryFilter,
        page: &PageRequest,
    ) -> Result<Page<Delivery>> {
        self.page_of_deliveries(None, filter, page).await
    }

    async fn attempts(
        &self,
        event: &EventId,
        subscription: &SubscriptionId,
    ) -> Result<Vec<Attempt>> {
        self.attempts_of(event, subscription).await
    }

    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Delivery>> {
        let params = claim_params(now, lease_until, limit);
        let mut claimed = self
            .backend
            .execute_returning(B::CLAIM_DELIVERIES, params, rows::delivery)
            .await?;
        claimed.sort_by(|a, b| a.event_id.as_str().cmp(b.event_id.as_str()));
        Ok(claimed)
    }

    async fn finish_delivery(
        &self,
        delivery: &Delivery,
        attempt: Option<&Attempt>,
        outcome: DeliveryOutcome,
        notices: &[Notice],
    ) -> Result<bool> {
        self.end_attempt(delivery, attempt, outcome, notices).await
    }

    async fn tell(&self, notice: &Notice) -> Result<bool> {
        let statements = notices::statements(notice, Guard::None, B::LOCK_FIFO);
        let changed = self.backend.transaction(statements).await?;
        // The event's insert is the statement before the deliveries'.
        Ok(changed.iter().rev().nth(1).copied().unwrap_or(0) > 0)
    }

    async fn latest_invocation_statuses(
        &self,
        installation: &InstallationId,
        limit: u32,
    ) -> Result<Vec<weir_core::InvocationStatus>> {
        let params = vec![installation.as_str().into(), i64::from(limit).into()];
        self.backend
            .fetch(
                sql::LATEST_INVOCATION_STATUSES,
                params,
                rows::invocation_status,
            )
            .await
    }

    async fn replay_delivery(
        &self,
        event: &EventId,
        subscription: &SubscriptionId,
        at: Timestamp,
    ) -> Result<bool> {
        let params = vec![
            event.as_str().into(),
            subscription.as_str().into(),
            rows::millis(at).into(),
        ];
        Ok(self.backend.execute(sql::REPLAY_DELIVERY, params).await? > 0)
    }

    async fn retry_delivery_now(
        &self,
        event: &EventId,
        subscription: &SubscriptionId,
        at: Timestamp,
    ) -> Result<bool> {
        let params = vec![
            event.as_str().into(),
            subscription.as_str().into(),
            rows::millis(at).into(),
        ];
        Ok(self
            .backend
            .execute(sql::RETRY_DELIVERY_NOW, params)
            .await?
            > 0)
    }

    async fn set_failing_since(&self, id: &SubscriptionId, since: Option<Timestamp>) -> Result<()> {
        let (statement, params) = match since {
            Some(at) => (
                sql::MARK_FAILING,
                vec![id.as_str().into(), rows::millis(at).into()],
            ),
            None => (sql::CLEAR_FAILING, vec![id.as_str().into()]),
        };
        self.backend.execute(statement, params).await.map(drop)
    }

    async fn set_client_token(
        &self,
        installation: &InstallationId,
        hash: &TokenHash,
    ) -> Result<()> {
        let params = vec![installation.as_str().into(), hash.as_str().into()];
        self.change_one(sql::SET_CLIENT_TOKEN, params).await
    }

    async fn installation_by_client_token(&self, hash: &TokenHash) -> Result<Option<Installation>> {
        let params = vec![hash.as_str().into()];
        self.fetch_one(
            sql::INSTALLATION_BY_CLIENT_TOKEN,
            params,
            rows::installation,
        )
        .await
    }

    async fn insert_webhook_invocation(&self, invocation: &WebhookInvocation) -> Result<()> {
        self.backend
            .execute(
                sql::INSERT_WEBHOOK_INVOCATION,
                params::webhook_invocation(invocation),
            )
            .await
            .map(drop)
    }

    async fn webhook_invocation(
        &self,
        reference: &ReferenceId,
    ) -> Result<Option<WebhookInvocation>> {
        let params = vec![reference.as_str().into()];
        self.fetch_one(sql::WEBHOOK_INVOCATION, params, rows::webhook_invocation)
            .await
    }

    async fn purge_records(
        &self,
        kind: crate::RecordKind,
        before: Timestamp,
        batch: u32,
    ) -> Result<u64> {
        let statement = match kind {
            crate::RecordKind::Events => sql::PURGE_EVENTS,
            crate::RecordKind::Invocations => sql::PURGE_INVOCATIONS,
            crate::RecordKind::Attempts => sql::PURGE_ATTEMPTS,
        };
        let params = vec![rows::millis(before).into(), i64::from(batch).into()];
        self.backend.execute(statement, params).await
    }

    async fn purge_webhook_invocations(&self, before: Timestamp) -> Result<u64> {
        let params = vec![rows::millis(before).into()];
        self.backend
            .execute(sql::PURGE_WEBHOOK_INVOCATIONS, params)
            .await
    }

    async fn reclaim_space(&self) -> Result<()> {
        self.backend.reclaim_space().await
    }

    async fn webhook_invocations(
        &self,
        installation: &InstallationId,
        page: &PageRequest,
    ) -> Result<Page<WebhookInvocation>> {
        let params = vec![installation.as_str().into()];
        self.fetch_page(
            sql::WEBHOOK_INVOCATIONS,
            params,
            page,
            rows::webhook_invocation,
            |i| i.reference_id.as_str(),
        )
        .await
    }

    async fn extend_leases(&self, leases: &[Lease], until: Timestamp) -> Result<Vec<bool>> {
        if leases.is_empty() {
            return Ok(Vec::new());
        }
        let statements = leases
            .iter()
            .map(|lease| crate::leases::extension(lease, until))
            .collect();
        let changed = self.backend.transaction(statements).await?;
        Ok(changed.into_iter().map(|rows| rows > 0).collect())
    }

    async fn announce(&self, queues: &[WorkQueue]) -> Result<()> {
        self.backend.announce(queues).await
    }

    async fn listen(&self, heard: &(dyn Fn(WorkQueue) + Send + Sync)) -> Result<()> {
        self.backend.listen(heard).await
    }

    async fn queue_depth(&self, now: Timestamp) -> Result<Vec<crate::QueueDepth>> {
        let params = vec![rows::millis(now).into()];
        self.backend
            .fetch(sql::QUEUE_DEPTH, params, rows::queue_depth)
            .await
    }

    async fn recover_deliveries(
        &self,
        subscription: &SubscriptionId,
        since: Timestamp,
        at: Timestamp,
    ) -> Result<u64> {
        let params = vec![
            subscription.as_str().into(),
            rows::millis(since).into(),
            rows::millis(at).into(),
        ];
        self.backend.execute(sql::RECOVER_DELIVERIES, params).await
    }

    async fn next_delivery_due(&self) -> Result<Option<Timestamp>> {
        self.fetch_one(sql::NEXT_DELIVERY_DUE, vec![], rows::at)
            .await
    }

    async fn put_oauth_token(&self, token: &StoredOAuthToken) -> Result<()> {
        self.put_oauth_token_row(token).await
    }

    async fn oauth_token(
        &self,
        installation: &InstallationId,
        integration: &str,
    ) -> Result<Option<StoredOAuthToken>> {
        self.oauth_token_row(installation, integration).await
    }

    async fn oauth_tokens(&self, installation: &InstallationId) -> Result<Vec<StoredOAuthToken>> {
        self.oauth_token_rows(installation).await
    }

    async fn delete_oauth_token(
        &self,
        installation: &InstallationId,
        integration: &str,
    ) -> Result<bool> {
        self.delete_oauth_token_row(installation, integration).await
    }

    async fn insert_pending_authorization(&self, pending: &PendingAuthorization) -> Result<()> {
        self.insert_pending_state(pending).await
    }

    async fn take_pending_authorization(
        &self,
        state_hash: &TokenHash,
    ) -> Result<Option<PendingAuthorization>> {
        self.take_pending_state(state_hash).await
    }

    async fn next_schedule_due(&self) -> Result<Option<Timestamp>> {
        let unclaimed = self
            .fetch_one(sql::NEXT_UNCLAIMED_RUN, vec![], rows::at)
            .await?;
        // A claim holds until its last millisecond; the schedule is claimable just after.
        let claimable_again = self
            .fetch_one(sql::NEXT_CLAIM_EXPIRY, vec![], rows::at)
            .await?
            .and_then(|expiry| {
                expiry
                    .checked_add(jiff::SignedDuration::from_millis(1))
                    .ok()
            });
        Ok(unclaimed.into_iter().chain(claimable_again).min())
    }
}

/// `$1` now, `$2` the end of the lease, `$3` how many: what every claim statement takes.
fn claim_params(now: Timestamp, lease_until: Timestamp, limit: u32) -> Vec<Param> {
    vec![
        rows::millis(now).into(),
        rows::millis(lease_until).into(),
        i64::from(limit).into(),
    ]
}

/// A setting's value, as a row of one column, to open it as any sealed column.
struct SettingValue(String);

impl Columns for SettingValue {
    fn text(&self, _column: &str) -> Result<String> {
        Ok(self.0.clone())
    }
    fn optional_text(&self, _column: &str) -> Result<Option<String>> {
        Ok(Some(self.0.clone()))
    }
    fn int(&self, column: &str) -> Result<i64> {
        Err(rows::corrupt(column, "a setting is text"))
    }
    fn optional_int(&self, column: &str) -> Result<Option<i64>> {
        Err(rows::corrupt(column, "a setting is text"))
    }
    fn bytes(&self, _column: &str) -> Result<Vec<u8>> {
        Ok(self.0.clone().into_bytes())
    }
}

/// Ids as the one bound value of a statement that reads a list (`sql::PRODUCT_EVENTS`).
fn json_list<'a>(ids: impl Iterator<Item = &'a str>) -> Param {
    Param::Text(serde_json::Value::from(ids.collect::<Vec<_>>()).to_string())
}
