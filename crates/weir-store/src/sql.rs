//! The statements both backends run, written once with PostgreSQL's `$1` placeholders.
//! SQLite reads them with `$` turned into `?` (its numbered `?1` form), so a statement is
//! the same text on both; where the dialects differ, a backend writes its own.

pub(crate) const PING: &str = "SELECT 1";

pub(crate) const SETTING: &str = "SELECT value FROM settings WHERE key = $1";
pub(crate) const INIT_SETTING: &str =
    "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING";

pub(crate) const INSERT_ACCOUNT: &str = "INSERT INTO accounts \
    (id, domain, region, product, departments, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7)";
pub(crate) const ACCOUNT: &str = "SELECT * FROM accounts WHERE id = $1";
pub(crate) const ACCOUNTS: &str = "SELECT * FROM accounts WHERE id > $1 ORDER BY id LIMIT $2";
/// A NULL parameter keeps the stored field.
pub(crate) const UPDATE_ACCOUNT: &str = "UPDATE accounts SET domain = COALESCE($2, domain), \
    region = COALESCE($3, region), product = COALESCE($4, product), \
    departments = COALESCE($5, departments), updated_at = $6 WHERE id = $1";
pub(crate) const HAS_ACTIVE_INSTALLATIONS: &str =
    "SELECT COUNT(*) AS n FROM installations WHERE account_id = $1 AND status = 'active'";
pub(crate) const DELETE_ACCOUNT: &str = "DELETE FROM accounts WHERE id = $1";
/// PostgreSQL only: holds the account while its installations are counted.
pub(crate) const LOCK_ACCOUNT: &str = "SELECT id FROM accounts WHERE id = $1 FOR UPDATE";

pub(crate) const NEXT_APP_VERSION: &str =
    "SELECT COALESCE(MAX(version), 0) + 1 AS n FROM apps WHERE name = $1";
pub(crate) const INSERT_APP: &str = "INSERT INTO apps \
    (id, name, version, platform_version, package, package_sha256, package_size, created_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
/// Apps are read without their package, which only `APP_PACKAGE` reads.
pub(crate) const APP: &str = "SELECT id, name, version, platform_version, package_sha256, \
    package_size, created_at FROM apps WHERE id = $1";
pub(crate) const APPS: &str = "SELECT id, name, version, platform_version, package_sha256, \
    package_size, created_at FROM apps WHERE id > $1 ORDER BY id LIMIT $2";
pub(crate) const APP_PACKAGE: &str = "SELECT package FROM apps WHERE id = $1";

pub(crate) const INSERT_INSTALLATION: &str = "INSERT INTO installations \
    (id, account_id, app_id, app_name, status, iparams, secure_iparams, departments, scopes, \
     created_at, updated_at, target_token) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
pub(crate) const INSTALLATION: &str = "SELECT * FROM installations WHERE id = $1";
pub(crate) const INSTALLATIONS: &str = "SELECT * FROM installations \
    WHERE account_id = $1 AND status = 'active' AND id > $2 ORDER BY id LIMIT $3";
pub(crate) const UNINSTALL: &str = "UPDATE installations \
    SET status = 'uninstalled', updated_at = $2 WHERE id = $1 AND status = 'active'";

pub(crate) const INSERT_API_KEY: &str = "INSERT INTO api_keys \
    (id, account_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)";
pub(crate) const API_KEY_BY_HASH: &str = "SELECT * FROM api_keys WHERE token_hash = $1";
pub(crate) const API_KEYS: &str = "SELECT * FROM api_keys WHERE account_id = $1 ORDER BY id";
pub(crate) const DELETE_API_KEY: &str = "DELETE FROM api_keys WHERE account_id = $1 AND id = $2";

pub(crate) const APP_DATA: &str = "SELECT value, version, expires_at FROM app_data \
    WHERE installation_id = $1 AND key = $2 AND (expires_at IS NULL OR expires_at > $3)";
/// Writes `$db` entries: `$5` is the time of the write, which also decides whether a row
/// with a `ttl` has lived out its time (and so counts as absent).
pub(crate) const PUT_APP_DATA: &str = "INSERT INTO app_data \
    (installation_id, key, value, version, expires_at, updated_at) VALUES ($1, $2, $3, 1, $4, $5) \
    ON CONFLICT (installation_id, key) DO UPDATE SET value = excluded.value, \
    version = app_data.version + 1, expires_at = excluded.expires_at, updated_at = excluded.updated_at";
/// Inserts, or replaces only a row whose time has passed.
pub(crate) const PUT_ABSENT_APP_DATA: &str = "INSERT INTO app_data \
    (installation_id, key, value, version, expires_at, updated_at) VALUES ($1, $2, $3, 1, $4, $5) \
    ON CONFLICT (installation_id, key) DO UPDATE SET value = excluded.value, \
    version = app_data.version + 1, expires_at = excluded.expires_at, updated_at = excluded.updated_at \
    WHERE app_data.expires_at IS NOT NULL AND app_data.expires_at <= excluded.updated_at";
pub(crate) const PUT_PRESENT_APP_DATA: &str = "UPDATE app_data \
    SET value = $3, version = version + 1, expires_at = $4, updated_at = $5 \
    WHERE installation_id = $1 AND key = $2 AND (expires_at IS NULL OR expires_at > $5)";
pub(crate) const PUT_VERSION_APP_DATA: &str = "UPDATE app_data \
    SET value = $3, version = version + 1, expires_at = $4, updated_at = $5 \
    WHERE installation_id = $1 AND key = $2 AND (expires_at IS NULL OR expires_at > $5) \
    AND version = $6";
pub(crate) const DELETE_APP_DATA: &str = "DELETE FROM app_data \
    WHERE installation_id = $1 AND key = $2 AND (expires_at IS NULL OR expires_at > $3)";
