//! The `Store` implementation both backends share. A backend only knows how to run one
//! statement ([`Backend`]) and how to make the few changes that need several statements
//! in one transaction; everything else (which statement, which parameters, how rows
//! decode, what a missing row means) is written here once.

use async_trait::async_trait;
use jiff::Timestamp;
use weir_core::{
    Account, AccountId, ApiKey, ApiKeyId, App, AppId, Installation, InstallationId, TokenHash,
};

use crate::params::{self, Param};
use crate::rows::{self, Columns};
use crate::{
    AccountChanges, DataWrite, Expect, NewApp, Page, PageRequest, Result, Store, StoreError,
    StoredData, sql,
};

/// Turns one row into a value.
pub type Decode<T> = fn(&dyn Columns) -> Result<T>;

#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Runs a statement that changes data, durably; returns how many rows it changed.
    async fn execute(&self, sql: &'static str, params: Vec<Param>) -> Result<u64>;
    /// Runs a query and decodes every row.
    async fn fetch<T: Send + 'static>(
        &self,
        sql: &'static str,
        params: Vec<Param>,
        decode: Decode<T>,
    ) -> Result<Vec<T>>;

    /// Succeeds when the database answers reads and takes writes.
    async fn ping(&self) -> Result<()>;

    /// Deletes the account unless it has active installations, atomically.
    async fn delete_account(&self, id: &AccountId) -> Result<()>;
    /// Stores the app under the next version number of its name, atomically.
    async fn insert_app(&self, app: NewApp) -> Result<App>;
}

/// A store over SQL: [`crate::SqliteStore`] or [`crate::PgStore`].
pub struct SqlStore<B> {
    pub(crate) backend: B,
}

impl<B: Backend> SqlStore<B> {
    async fn fetch_one<T: Send + 'static>(
        &self,
        sql: &'static str,
        params: Vec<Param>,
        decode: Decode<T>,
    ) -> Result<Option<T>> {
        Ok(self
            .backend
            .fetch(sql, params, decode)
            .await?
            .into_iter()
            .next())
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
        self.backend
            .fetch(sql::PING, vec![], |_| Ok(()))
            .await
            .map(drop)
    }

    async fn setting(&self, key: &str) -> Result<Option<String>> {
        self.fetch_one(sql::SETTING, vec![key.into()], |row| row.text("value"))
            .await
    }

    async fn init_setting(&self, key: &str, value: &str) -> Result<String> {
        self.backend
            .execute(sql::INIT_SETTING, vec![key.into(), value.into()])
            .await?;
        self.setting(key).await?.ok_or(StoreError::NotFound)
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
        self.insert(
            sql::INSERT_INSTALLATION,
            params::installation(installation),
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
}
