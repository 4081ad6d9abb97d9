//! The embedded SQLite store: a file `weir.db` in the data directory, in WAL mode with
//! `synchronous=FULL` (a commit is on disk before anyone is told), written by one
//! group-committing thread ([`writer`]) and read through a pool ([`readers`]).

mod readers;
mod writer;

use std::path::Path;

use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ErrorCode, Row, ToSql};
use weir_core::{
    Account, AccountId, ApiKey, ApiKeyId, App, AppId, Installation, InstallationId, TokenHash,
};

use self::readers::Readers;
use self::writer::Writer;
use crate::params::{self, Param};
use crate::rows::{self, Columns};
use crate::{NewApp, Page, PageRequest, Result, Store, StoreError, migrations, sql};

pub struct SqliteStore {
    writer: Writer,
    readers: Readers,
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
                "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
            )
            .map_err(backend)?;
        migrate(&mut connection)?;
        let writer = Writer::start(connection)
            .map_err(|e| StoreError::Backend(format!("cannot start the SQLite writer: {e}")))?;
        Ok(SqliteStore {
            writer,
            readers: Readers::new(&path),
        })
    }

    async fn fetch_optional<T: Send + 'static>(
        &self,
        sql: &'static str,
        params: Vec<Param>,
        decode: fn(&dyn Columns) -> Result<T>,
    ) -> Result<Option<T>> {
        self.readers
            .read(move |c| Ok(fetch_all(c, sql, &params, decode)?.into_iter().next()))
            .await
    }

    async fn fetch_page<T: Send + 'static>(
        &self,
        sql: String,
        mut params: Vec<Param>,
        page: &PageRequest,
        decode: fn(&dyn Columns) -> Result<T>,
        id: fn(&T) -> &str,
    ) -> Result<Page<T>> {
        params.push(page.after_bound().into());
        params.push(page.fetch_limit().into());
        let rows = self
            .readers
            .read(move |c| fetch_all(c, &sql, &params, decode))
            .await?;
        Ok(Page::from_rows(rows, page, id))
    }

    /// Runs one statement in the next group commit; returns the rows it changed.
    async fn execute(&self, sql: &'static str, params: Vec<Param>) -> Result<usize> {
        self.writer.write(move |c| execute(c, sql, &params)).await
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<()> {
        self.readers
            .read(|c| c.query_row(sql::PING, [], |_| Ok(())).map_err(backend))
            .await
    }

    async fn setting(&self, key: &str) -> Result<Option<String>> {
        self.fetch_optional(sql::SETTING, vec![key.into()], |row| row.text("value"))
            .await
    }

    async fn init_setting(&self, key: &str, value: &str) -> Result<String> {
        let params = vec![Param::from(key), Param::from(value)];
        self.writer
            .write(move |c| {
                execute(c, sql::INIT_SETTING, &params)?;
                let stored = fetch_all(c, sql::SETTING, &params[..1], |row| row.text("value"))?;
                stored.into_iter().next().ok_or(StoreError::NotFound)
            })
            .await
    }

    async fn insert_account(&self, account: &Account) -> Result<()> {
        let id = account.id.clone();
        self.execute(sql::INSERT_ACCOUNT, params::account(account))
            .await
            .map_err(|e| {
                conflict_as(e, || {
                    StoreError::Conflict(format!("account {id} already exists"))
                })
            })?;
        Ok(())
    }

    async fn account(&self, id: &AccountId) -> Result<Option<Account>> {
        self.fetch_optional(sql::ACCOUNT, vec![id.as_str().into()], rows::account)
            .await
    }

    async fn accounts(&self, page: &PageRequest) -> Result<Page<Account>> {
        self.fetch_page(sql::ACCOUNTS.into(), vec![], page, rows::account, |a| {
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
        let id = id.clone();
        self.writer
            .write(move |c| {
                let params = [Param::from(id.as_str())];
                let active = fetch_all(c, sql::HAS_ACTIVE_INSTALLATIONS, &params, |r| r.int("n"))?;
                if active.first().copied().unwrap_or(0) > 0 {
                    return Err(crate::has_active_installations(&id));
                }
                match execute(c, sql::DELETE_ACCOUNT, &params)? {
                    0 => Err(StoreError::NotFound),
                    _ => Ok(()),
                }
            })
            .await
    }

    async fn insert_app(&self, app: NewApp) -> Result<App> {
        self.writer
            .write(move |c| {
                let name = [Param::from(app.name.as_str())];
                let version = fetch_all(c, sql::NEXT_APP_VERSION, &name, |r| r.int("n"))?;
                let version = version.first().copied().unwrap_or(1);
                let stored = crate::stored_app(&app, version);
                execute(c, sql::INSERT_APP, &params::app(app, version))?;
                Ok(stored)
            })
            .await
    }

    async fn app(&self, id: &AppId) -> Result<Option<App>> {
        let params = vec![id.as_str().into()];
        self.readers
            .read(move |c| {
                Ok(fetch_all(c, &sql::app(), &params, rows::app)?
                    .into_iter()
                    .next())
            })
            .await
    }

    async fn app_package(&self, id: &AppId) -> Result<Option<Vec<u8>>> {
        self.fetch_optional(sql::APP_PACKAGE, vec![id.as_str().into()], |row| {
            row.bytes("package")
        })
        .await
    }

    async fn apps(&self, page: &PageRequest) -> Result<Page<App>> {
        self.fetch_page(sql::apps(), vec![], page, rows::app, |a| a.id.as_str())
            .await
    }

    async fn insert_installation(&self, installation: &Installation) -> Result<()> {
        let conflict = crate::already_installed(installation);
        self.execute(sql::INSERT_INSTALLATION, params::installation(installation))
            .await
            .map_err(|e| conflict_as(e, || conflict))?;
        Ok(())
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
        self.fetch_page(
            sql::INSTALLATIONS.into(),
            params,
            page,
            rows::installation,
            |i| i.id.as_str(),
        )
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
            .await?;
        Ok(())
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
        let params = vec![account.as_str().into()];
        self.readers
            .read(move |c| fetch_all(c, sql::API_KEYS, &params, rows::api_key))
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

fn execute(connection: &Connection, sql: &str, params: &[Param]) -> Result<usize> {
    let mut statement = connection
        .prepare_cached(&sqlite_dialect(sql))
        .map_err(backend)?;
    statement
        .execute(rusqlite::params_from_iter(params))
        .map_err(backend)
}

fn fetch_all<T>(
    connection: &Connection,
    sql: &str,
    params: &[Param],
    decode: fn(&dyn Columns) -> Result<T>,
) -> Result<Vec<T>> {
    let mut statement = connection
        .prepare_cached(&sqlite_dialect(sql))
        .map_err(backend)?;
    let mut rows = statement
        .query(rusqlite::params_from_iter(params))
        .map_err(backend)?;
    let mut decoded = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        decoded.push(decode(row)?);
    }
    Ok(decoded)
}

pub(crate) fn backend(error: rusqlite::Error) -> StoreError {
    if error.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) {
        return StoreError::Conflict(error.to_string());
    }
    StoreError::Backend(error.to_string())
}

/// Replaces a constraint violation with the caller's clearer conflict.
fn conflict_as(error: StoreError, conflict: impl FnOnce() -> StoreError) -> StoreError {
    match error {
        StoreError::Conflict(_) => conflict(),
        other => other,
    }
}

impl ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Param::Text(text) => ValueRef::Text(text.as_bytes()),
            Param::MaybeText(Some(text)) => ValueRef::Text(text.as_bytes()),
            Param::MaybeText(None) => ValueRef::Null,
            Param::Int(int) => ValueRef::Integer(*int),
            Param::Bytes(bytes) => ValueRef::Blob(bytes),
        }))
    }
}

impl Columns for Row<'_> {
    fn text(&self, column: &str) -> Result<String> {
        self.get(column)
            .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
    }

    fn optional_text(&self, column: &str) -> Result<Option<String>> {
        self.get(column)
            .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
    }

    fn int(&self, column: &str) -> Result<i64> {
        self.get(column)
            .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
    }

    fn bytes(&self, column: &str) -> Result<Vec<u8>> {
        self.get(column)
            .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
    }
}
