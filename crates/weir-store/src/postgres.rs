//! The PostgreSQL store, for several Weir nodes sharing one database. Statements are the
//! shared ones of `sql.rs`; migrations are serialised across nodes by an advisory lock.

use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::postgres::{PgArguments, PgPool, PgPoolOptions, PgRow};
use sqlx::query::Query;
use sqlx::{Postgres, Row};
use weir_core::{
    Account, AccountId, ApiKey, ApiKeyId, App, AppId, Installation, InstallationId, TokenHash,
};

use crate::params::{self, Param};
use crate::rows::{self, Columns};
use crate::{NewApp, Page, PageRequest, Result, Store, StoreError, migrations, sql};

/// Any fixed number: all Weir nodes take this lock to migrate one at a time.
const MIGRATION_LOCK: i64 = 0x5745_4952;

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `url` (`postgres://…`) and migrates the database.
    pub async fn connect(url: &str) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(|e| StoreError::Backend(format!("cannot connect to PostgreSQL: {e}")))?;
        migrate(&pool).await?;
        Ok(PgStore { pool })
    }

    async fn fetch_all<T>(
        &self,
        sql: &str,
        params: Vec<Param>,
        decode: fn(&dyn Columns) -> Result<T>,
    ) -> Result<Vec<T>> {
        let rows = bind(sql, params)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(|row| decode(row)).collect()
    }

    async fn fetch_optional<T>(
        &self,
        sql: &str,
        params: Vec<Param>,
        decode: fn(&dyn Columns) -> Result<T>,
    ) -> Result<Option<T>> {
        let row = bind(sql, params)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(|row| decode(row)).transpose()
    }

    async fn fetch_page<T>(
        &self,
        sql: &str,
        mut params: Vec<Param>,
        page: &PageRequest,
        decode: fn(&dyn Columns) -> Result<T>,
        id: fn(&T) -> &str,
    ) -> Result<Page<T>> {
        params.push(page.after_bound().into());
        params.push(page.fetch_limit().into());
        Ok(Page::from_rows(
            self.fetch_all(sql, params, decode).await?,
            page,
            id,
        ))
    }

    async fn execute(&self, sql: &str, params: Vec<Param>) -> Result<u64> {
        let done = bind(sql, params)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected())
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
        tx.commit().await.map_err(backend)?;
        Ok(crate::stored_app(app, version))
    }
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> Result<()> {
        self.execute(sql::PING, vec![]).await.map(drop)
    }

    async fn setting(&self, key: &str) -> Result<Option<String>> {
        self.fetch_optional(sql::SETTING, vec![key.into()], |row| row.text("value"))
            .await
    }

    async fn init_setting(&self, key: &str, value: &str) -> Result<String> {
        self.execute(sql::INIT_SETTING, vec![key.into(), value.into()])
            .await?;
        self.setting(key).await?.ok_or(StoreError::NotFound)
    }

    async fn insert_account(&self, account: &Account) -> Result<()> {
        match self
            .execute(sql::INSERT_ACCOUNT, params::account(account))
            .await
        {
            Err(StoreError::Conflict(_)) => Err(StoreError::Conflict(format!(
                "account {} already exists",
                account.id
            ))),
            other => other.map(drop),
        }
    }

    async fn account(&self, id: &AccountId) -> Result<Option<Account>> {
        self.fetch_optional(sql::ACCOUNT, vec![id.as_str().into()], rows::account)
            .await
    }

    async fn accounts(&self, page: &PageRequest) -> Result<Page<Account>> {
        self.fetch_page(sql::ACCOUNTS, vec![], page, rows::account, |a| {
            a.id.as_str()
        })
        .await
    }

    async fn update_account(&self, account: &Account) -> Result<()> {
        match self
            .execute(sql::UPDATE_ACCOUNT, params::account_update(account))
            .await?
        {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }

    async fn delete_account(&self, id: &AccountId) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // Lock the account row so no installation is added between the check and the delete.
        let locked = bind(
            "SELECT id FROM accounts WHERE id = $1 FOR UPDATE",
            vec![id.as_str().into()],
        )
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

    async fn app(&self, id: &AppId) -> Result<Option<App>> {
        self.fetch_optional(&sql::app(), vec![id.as_str().into()], rows::app)
            .await
    }

    async fn app_package(&self, id: &AppId) -> Result<Option<Vec<u8>>> {
        self.fetch_optional(sql::APP_PACKAGE, vec![id.as_str().into()], |row| {
            row.bytes("package")
        })
        .await
    }

    async fn apps(&self, page: &PageRequest) -> Result<Page<App>> {
        self.fetch_page(&sql::apps(), vec![], page, rows::app, |a| a.id.as_str())
            .await
    }

    async fn insert_installation(&self, installation: &Installation) -> Result<()> {
        match self
            .execute(sql::INSERT_INSTALLATION, params::installation(installation))
            .await
        {
            Err(StoreError::Conflict(_)) => Err(crate::already_installed(installation)),
            other => other.map(drop),
        }
    }

    async fn installation(&self, id: &InstallationId) -> Result<Option<Installation>> {
        self.fetch_optional(
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
        let params = vec![id.as_str().into(), rows::millis(at).into()];
        match self.execute(sql::UNINSTALL, params).await? {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }

    async fn insert_api_key(&self, key: &ApiKey) -> Result<()> {
        self.execute(sql::INSERT_API_KEY, params::api_key(key))
            .await
            .map(drop)
    }

    async fn api_key_by_hash(&self, hash: &TokenHash) -> Result<Option<ApiKey>> {
        self.fetch_optional(
            sql::API_KEY_BY_HASH,
            vec![hash.as_str().into()],
            rows::api_key,
        )
        .await
    }

    async fn api_keys(&self, account: &AccountId) -> Result<Vec<ApiKey>> {
        self.fetch_all(sql::API_KEYS, vec![account.as_str().into()], rows::api_key)
            .await
    }

    async fn delete_api_key(&self, account: &AccountId, id: &ApiKeyId) -> Result<()> {
        let params = vec![account.as_str().into(), id.as_str().into()];
        match self.execute(sql::DELETE_API_KEY, params).await? {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }
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

fn bind(sql: &str, params: Vec<Param>) -> Query<'_, Postgres, PgArguments> {
    params
        .into_iter()
        .fold(sqlx::query(sql), |query, param| match param {
            Param::Text(text) => query.bind(text),
            Param::MaybeText(text) => query.bind(text),
            Param::Int(int) => query.bind(int),
            Param::Bytes(bytes) => query.bind(bytes),
        })
}

fn backend(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(db.message().to_owned())
        }
        _ => StoreError::Backend(error.to_string()),
    }
}

impl Columns for PgRow {
    fn text(&self, column: &str) -> Result<String> {
        self.try_get(column)
            .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
    }

    fn optional_text(&self, column: &str) -> Result<Option<String>> {
        self.try_get(column)
            .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
    }

    fn int(&self, column: &str) -> Result<i64> {
        self.try_get(column)
            .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
    }

    fn bytes(&self, column: &str) -> Result<Vec<u8>> {
        self.try_get(column)
            .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
    }
}
