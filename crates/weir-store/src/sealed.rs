//! Secrets at rest, for both backends: every column that holds a secret is sealed on its
//! way into the database and opened on its way out (`weir_core::sealing`), bound to its
//! table, column and row, so rows never reach the database in clear.
//!
//! A store opens locked: it reads and writes everything but secrets until it is given its
//! [`Keyring`] ([`SecretsAtRest::unlock`]). Unlocking first counts the sealed values by the
//! key that sealed them, and refuses keyrings that lack one of those keys, naming them: a
//! wrong or missing key is one clear error at start-up, never rows that fail one by one
//! later. It then seals what older versions of Weir stored in clear (in small batches,
//! idempotently), and keeps a sealed check value, so that even a database with no
//! secrets yet tells a changed key apart.
//!
//! A rotation ([`SecretsAtRest::reseal`]) seals again, under the current key, the values
//! sealed under previous ones, a batch at a time; each row is replaced only if it still
//! holds what was read (so a concurrent write is never undone). Once the census shows no
//! value under a previous key, that key can be dropped.

use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use weir_core::Keyring;
use weir_core::sealing::{sealed_prefix, sealed_with};

use crate::params::Param;
use crate::sql_store::{Backend, SqlStore};
use crate::{Result, StoreError};

/// The settings whose values are secrets (the others, e.g. the generated key itself,
/// cannot be sealed).
pub(crate) const SEALED_SETTINGS: &[&str] = &[CHECK_SETTING, "security_context_key"];

/// A sealed known value: which key the database's secrets are under, even when it has
/// none yet.
const CHECK_SETTING: &str = "secrets_check";
const CHECK_VALUE: &str = "weir";

/// How many values one statement batch re-seals.
pub const RESEAL_BATCH: u32 = 100;

/// The keyring a store seals and opens with, once it has one. Shared by the store and
/// its backend, which opens rows as it decodes them.
#[derive(Default)]
pub(crate) struct Keys(RwLock<Option<Arc<Keyring>>>);

impl Keys {
    pub(crate) fn get(&self) -> Option<Arc<Keyring>> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set(&self, keyring: Keyring) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(keyring));
    }

    /// The keyring, or the error of a store that was never unlocked (a bug of its caller).
    pub(crate) fn keyring(&self) -> Result<Arc<Keyring>> {
        self.get().ok_or_else(|| {
            StoreError::Secrets(
                "the store has no keyring: secrets cannot be sealed or opened".into(),
            )
        })
    }
}

/// What a sealed value is bound to: its table and column, and its row's key.
pub(crate) fn context(column: &str, row: &[&str]) -> String {
    std::iter::once(column)
        .chain(row.iter().copied())
        .collect::<Vec<_>>()
        .join("\0")
}

/// The context of each sealed column, from its row's key: one place, for writes, reads
/// and re-sealing alike.
pub(crate) mod contexts {
    pub(crate) fn subscription_secret(id: &str) -> String {
        super::context("webhook_subscriptions.secret", &[id])
    }
    pub(crate) fn previous_secrets(id: &str) -> String {
        super::context("webhook_subscriptions.previous_secrets", &[id])
    }
    pub(crate) fn target_token(installation: &str) -> String {
        super::context("installations.target_token", &[installation])
    }
    pub(crate) fn secure_iparams(installation: &str) -> String {
        super::context("installations.secure_iparams", &[installation])
    }
    pub(crate) fn app_parameters(app_name: &str) -> String {
        super::context("app_parameters.secure", &[app_name])
    }
    /// As the engine bound OAuth tokens when it sealed them itself, so those still open.
    pub(crate) fn oauth_tokens(installation: &str, integration: &str) -> String {
        format!("oauth-token\0{installation}\0{integration}")
    }
    pub(crate) fn setting(key: &str) -> String {
        super::context("settings.value", &[key])
    }
}

/// How many values of a column are sealed under one key (`None`: stored in clear).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedCount {
    pub column: &'static str,
    pub key_id: Option<String>,
    pub values: u64,
}

/// The sealed values of a store, by column and key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretsCensus(pub Vec<SealedCount>);

impl SecretsCensus {
    /// The ids of the keys values are sealed under, each once.
    pub fn key_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.0.iter().filter_map(|c| c.key_id.as_deref()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// How many values are sealed under `key_id`.
    pub fn under(&self, key_id: &str) -> u64 {
        self.0
            .iter()
            .filter(|c| c.key_id.as_deref() == Some(key_id))
            .map(|c| c.values)
            .sum()
    }

    /// How many values are stored in clear.
    pub fn in_clear(&self) -> u64 {
        self.0
            .iter()
            .filter(|c| c.key_id.is_none())
            .map(|c| c.values)
            .sum()
    }

    /// `k-… 12 values, k-… 3 values`: what an operator reads.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self
            .key_ids()
            .into_iter()
            .map(|id| format!("{id}: {} values", self.under(id)))
            .collect();
        if self.in_clear() > 0 {
            parts.push(format!("in clear: {} values", self.in_clear()));
        }
        match parts.is_empty() {
            true => "no secrets stored".into(),
            false => parts.join(", "),
        }
    }
}

/// Sealing keys in use, for the binary: unlocking, rotating, and reporting.
#[async_trait]
pub trait SecretsAtRest: Send + Sync {
    /// Gives the store its keys. Refuses (`StoreError::Secrets`, naming the key ids) a
    /// keyring without every key that values are sealed under; then seals what is stored
    /// in clear (rows of older versions). Returns the census afterwards.
    async fn unlock(&self, keyring: Keyring) -> Result<SecretsCensus>;
    /// Seals again under the current key up to `batch` values sealed under a previous key
    /// (or stored in clear); returns how many it did: 0 when none is left.
    async fn reseal(&self, batch: u32) -> Result<u64>;
    /// How many values each key seals.
    async fn secrets_census(&self) -> Result<SecretsCensus>;
}

/// One column that holds secrets: how to count its values by key, find those not under a
/// key, and replace one of them if it is unchanged.
struct SealedColumn {
    name: &'static str,
    /// Selects `key_id` ('' for a value in clear) and `n`.
    census: &'static str,
    /// Selects the row's key as `k1` and `k2` ('' when the key is one column) and `value`,
    /// for values that do not match the `LIKE` pattern `$1`, at most `$2`.
    pending: &'static str,
    /// Sets the value to `$1` where the row's key is `$2` (and `$3`) and the value is
    /// still the last parameter.
    update: &'static str,
    /// Whether the row's key is two columns.
    two_keys: bool,
    /// Whether the update also takes the SHA-256 of the plaintext (after the value): a
    /// column found by its hash.
    hashed: bool,
    /// The value's context, from `k1` and `k2`.
    context: fn(&str, &str) -> String,
}

/// `CASE … END AS key_id`: a sealed value's key id, which is always 14 characters
/// (`k-` and 12 hex digits) after `sealed:`.
macro_rules! census_sql {
    ($column:literal, $from:literal) => {
        concat!(
            "SELECT CASE WHEN ",
            $column,
            " LIKE 'sealed:%' THEN substr(",
            $column,
            ", 8, 14) ELSE '' END AS key_id, COUNT(*) AS n FROM ",
            $from,
            " GROUP BY 1"
        )
    };
}

const SEALED_COLUMNS: &[SealedColumn] = &[
    SealedColumn {
        name: "webhook_subscriptions.secret",
        census: census_sql!("secret", "webhook_subscriptions"),
        pending: "SELECT id AS k1, '' AS k2, secret AS value FROM webhook_subscriptions \
            WHERE secret NOT LIKE $1 ORDER BY id LIMIT $2",
        update: "UPDATE webhook_subscriptions SET secret = $1 WHERE id = $2 AND secret = $3",
        two_keys: false,
        hashed: false,
        context: |id, _| contexts::subscription_secret(id),
    },
    SealedColumn {
        name: "webhook_subscriptions.previous_secrets",
        census: census_sql!("previous_secrets", "webhook_subscriptions"),
        pending: "SELECT id AS k1, '' AS k2, previous_secrets AS value \
            FROM webhook_subscriptions WHERE previous_secrets NOT LIKE $1 ORDER BY id LIMIT $2",
        update: "UPDATE webhook_subscriptions SET previous_secrets = $1 \
            WHERE id = $2 AND previous_secrets = $3",
        two_keys: false,
        hashed: false,
        context: |id, _| contexts::previous_secrets(id),
    },
    SealedColumn {
        name: "installations.secure_iparams",
        census: census_sql!("secure_iparams", "installations"),
        pending: "SELECT id AS k1, '' AS k2, secure_iparams AS value FROM installations \
            WHERE secure_iparams NOT LIKE $1 ORDER BY id LIMIT $2",
        update: "UPDATE installations SET secure_iparams = $1 \
            WHERE id = $2 AND secure_iparams = $3",
        two_keys: false,
        hashed: false,
        context: |id, _| contexts::secure_iparams(id),
    },
    SealedColumn {
        name: "installations.target_token",
        census: census_sql!(
            "target_token",
            "installations WHERE target_token IS NOT NULL"
        ),
        pending: "SELECT id AS k1, '' AS k2, target_token AS value FROM installations \
            WHERE target_token NOT LIKE $1 ORDER BY id LIMIT $2",
        update: "UPDATE installations SET target_token = $1, target_token_hash = $4 \
            WHERE id = $2 AND target_token = $3",
        two_keys: false,
        hashed: true,
        context: |id, _| contexts::target_token(id),
    },
    SealedColumn {
        name: "app_parameters.secure",
        census: census_sql!("secure", "app_parameters"),
        pending: "SELECT app_name AS k1, '' AS k2, secure AS value FROM app_parameters \
            WHERE secure NOT LIKE $1 ORDER BY app_name LIMIT $2",
        update: "UPDATE app_parameters SET secure = $1 WHERE app_name = $2 AND secure = $3",
        two_keys: false,
        hashed: false,
        context: |name, _| contexts::app_parameters(name),
    },
    SealedColumn {
        name: "oauth_tokens.sealed",
        census: census_sql!("sealed", "oauth_tokens"),
        pending: "SELECT installation_id AS k1, integration AS k2, sealed AS value \
            FROM oauth_tokens WHERE sealed NOT LIKE $1 \
            ORDER BY installation_id, integration LIMIT $2",
        update: "UPDATE oauth_tokens SET sealed = $1 \
            WHERE installation_id = $2 AND integration = $3 AND sealed = $4",
        two_keys: true,
        hashed: false,
        context: contexts::oauth_tokens,
    },
    SealedColumn {
        name: "settings.value",
        census: census_sql!(
            "value",
            "settings WHERE key IN ('secrets_check', 'security_context_key')"
        ),
        pending: "SELECT key AS k1, '' AS k2, value FROM settings \
            WHERE key IN ('secrets_check', 'security_context_key') AND value NOT LIKE $1 \
            ORDER BY key LIMIT $2",
        update: "UPDATE settings SET value = $1 WHERE key = $2 AND value = $3",
        two_keys: false,
        hashed: false,
        context: |key, _| contexts::setting(key),
    },
];

/// Every value not sealed under the current key.
fn not_current(keyring: &Keyring) -> String {
    format!("{}%", sealed_prefix(keyring.current().id()))
}

/// Every value in clear.
const NOT_SEALED: &str = "sealed:%";

impl<B: Backend> SqlStore<B> {
    /// Seals `plaintext` for `context` under the current key.
    pub(crate) fn seal(&self, plaintext: &str, context: &str) -> Result<String> {
        self.keys
            .keyring()?
            .seal(plaintext.as_bytes(), context.as_bytes())
            .map_err(|e| StoreError::Secrets(format!("cannot seal a secret: {e}")))
    }

    /// Seals again up to `batch` values that do not match `pattern`; returns how many.
    async fn seal_again(&self, pattern: &str, batch: u32) -> Result<u64> {
        let keyring = self.keys.keyring()?;
        let mut done = 0u64;
        for column in SEALED_COLUMNS {
            let left = i64::from(batch) - done as i64;
            if left <= 0 {
                break;
            }
            let rows = self
                .backend
                .fetch(column.pending, vec![pattern.into(), left.into()], |row| {
                    Ok((row.text("k1")?, row.text("k2")?, row.text("value")?))
                })
                .await?;
            for (k1, k2, value) in rows {
                let context = (column.context)(&k1, &k2);
                let plaintext = match sealed_with(&value) {
                    None => value.clone().into_bytes(),
                    Some(_) => keyring
                        .open(&value, context.as_bytes())
                        .map_err(|e| unopenable(column.name, e))?,
                };
                let sealed = keyring
                    .seal(&plaintext, context.as_bytes())
                    .map_err(|e| unopenable(column.name, e))?;
                let mut params = vec![Param::Text(sealed), Param::Text(k1)];
                if column.two_keys {
                    params.push(Param::Text(k2));
                }
                params.push(Param::Text(value));
                if column.hashed {
                    params.push(Param::Text(weir_core::sha256_hex(&plaintext)));
                }
                done += self.backend.execute(column.update, params).await?;
            }
        }
        Ok(done)
    }

    async fn census(&self) -> Result<SecretsCensus> {
        let mut counts = Vec::new();
        for column in SEALED_COLUMNS {
            let rows = self
                .backend
                .fetch(column.census, vec![], |row| {
                    Ok((row.text("key_id")?, row.int("n")?))
                })
                .await?;
            counts.extend(rows.into_iter().map(|(key_id, n)| SealedCount {
                column: column.name,
                key_id: (!key_id.is_empty()).then_some(key_id),
                values: n.max(0) as u64,
            }));
        }
        Ok(SecretsCensus(counts))
    }
}

fn unopenable(column: &str, error: weir_core::SealError) -> StoreError {
    StoreError::Secrets(format!("a value of {column} cannot be opened: {error}"))
}

#[async_trait]
impl<B: Backend> SecretsAtRest for SqlStore<B> {
    async fn unlock(&self, keyring: Keyring) -> Result<SecretsCensus> {
        let census = self.census().await?;
        let missing: Vec<String> = census
            .key_ids()
            .into_iter()
            .filter(|id| !keyring.has(id))
            .map(|id| format!("{id} ({} values)", census.under(id)))
            .collect();
        if !missing.is_empty() {
            return Err(StoreError::Secrets(format!(
                "secrets in this database are sealed under key {}, which is not among the \
                 configured keys ({}): give it as the current key, or as a previous key while \
                 rotating",
                missing.join(" and "),
                keyring.describe()
            )));
        }
        let check = self
            .backend
            .fetch(crate::sql::SETTING, vec![CHECK_SETTING.into()], |row| {
                row.text("value")
            })
            .await?;
        if let Some(check) = check.first().filter(|c| sealed_with(c).is_some()) {
            let opened = keyring.open(check, contexts::setting(CHECK_SETTING).as_bytes());
            if opened.as_deref() != Ok(CHECK_VALUE.as_bytes()) {
                return Err(StoreError::Secrets(format!(
                    "the configured key {} does not open the database's check value: it is \
                     not the key the secrets were sealed with",
                    sealed_with(check).unwrap_or("?")
                )));
            }
        }
        self.keys.set(keyring);
        let mut sealed_from_clear = 0;
        loop {
            match self.seal_again(NOT_SEALED, RESEAL_BATCH).await? {
                0 => break,
                done => sealed_from_clear += done,
            }
        }
        if sealed_from_clear > 0 {
            tracing::info!(values = sealed_from_clear, "sealed secrets stored in clear");
            self.backend.forget_overwritten().await?;
        }
        let sealed_check = self.seal(CHECK_VALUE, &contexts::setting(CHECK_SETTING))?;
        self.backend
            .execute(
                crate::sql::INIT_SETTING,
                vec![CHECK_SETTING.into(), sealed_check.into()],
            )
            .await?;
        self.census().await
    }

    async fn reseal(&self, batch: u32) -> Result<u64> {
        let pattern = not_current(self.keys.keyring()?.as_ref());
        self.seal_again(&pattern, batch).await
    }

    async fn secrets_census(&self) -> Result<SecretsCensus> {
        self.census().await
    }
}
