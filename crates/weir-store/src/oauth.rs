//! OAuth in the store, for both backends: each installation's tokens (sealed at rest as
//! every secret, `sealed.rs`) and the authorizations under way, each statement with its
//! parameters and its decoder.

use jiff::Timestamp;
use serde_json::{Map, Value};
use weir_core::{InstallationId, TokenHash};

use crate::Result;
use crate::params::Param;
use crate::rows::{self, Columns};
use crate::sealed::contexts;
use crate::sql_store::{Backend, SqlStore};

/// An installation's OAuth tokens for one integration. Its `Debug` does not print them.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredOAuthToken {
    pub installation_id: InstallationId,
    /// The `oauth_config.json` integration ("" for a 2.x app's single one).
    pub integration: String,
    /// The access and refresh tokens (the engine's JSON of them), sealed at rest.
    pub tokens: String,
    /// Whether a refresh token is sealed with the access token.
    pub refreshable: bool,
    /// What the installer gave for the integration's `oauth_iparams`.
    pub oauth_iparams: Map<String, Value>,
    pub expires_at: Option<Timestamp>,
    pub updated_at: Timestamp,
}

impl std::fmt::Debug for StoredOAuthToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredOAuthToken")
            .field("installation_id", &self.installation_id)
            .field("integration", &self.integration)
            .field("tokens", &"***")
            .field("refreshable", &self.refreshable)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// An authorization under way, until its callback takes it or it expires.
#[derive(Debug, Clone)]
pub struct PendingAuthorization {
    /// The hash of the `state` handed out; the state itself is never kept.
    pub state_hash: TokenHash,
    pub installation_id: InstallationId,
    pub integration: String,
    pub oauth_iparams: Map<String, Value>,
    pub expires_at: Timestamp,
    pub created_at: Timestamp,
}

const PUT_TOKEN: &str = "INSERT INTO oauth_tokens \
    (installation_id, integration, sealed, refreshable, oauth_iparams, expires_at, \
     updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
    ON CONFLICT (installation_id, integration) DO UPDATE SET \
    sealed = excluded.sealed, refreshable = excluded.refreshable, \
    oauth_iparams = excluded.oauth_iparams, expires_at = excluded.expires_at, \
    updated_at = excluded.updated_at";
const TOKEN: &str = "SELECT * FROM oauth_tokens WHERE installation_id = $1 AND integration = $2";
const TOKENS: &str = "SELECT * FROM oauth_tokens WHERE installation_id = $1 ORDER BY integration";
const DELETE_TOKEN: &str =
    "DELETE FROM oauth_tokens WHERE installation_id = $1 AND integration = $2";
/// Authorizations abandoned before `$1` are forgotten when a new one starts.
const FORGET_EXPIRED_STATES: &str = "DELETE FROM oauth_states WHERE expires_at < $1";
const INSERT_STATE: &str = "INSERT INTO oauth_states \
    (state_hash, installation_id, integration, oauth_iparams, expires_at, created_at) \
    VALUES ($1, $2, $3, $4, $5, $6)";
/// Reading a state deletes it: one statement, so two callbacks racing with the same state
/// cannot both get it.
const TAKE_STATE: &str = "DELETE FROM oauth_states WHERE state_hash = $1 RETURNING *";

fn token_params(token: &StoredOAuthToken, sealed: String) -> Vec<Param> {
    vec![
        token.installation_id.as_str().into(),
        token.integration.as_str().into(),
        sealed.into(),
        i64::from(token.refreshable).into(),
        rows::to_json(&token.oauth_iparams).into(),
        Param::MaybeInt(token.expires_at.map(rows::millis)),
        rows::millis(token.updated_at).into(),
    ]
}

fn token(row: &dyn Columns) -> Result<StoredOAuthToken> {
    let installation_id = rows::parsed(row, "installation_id", InstallationId::parse)?;
    let integration = row.text("integration")?;
    let context = contexts::oauth_tokens(installation_id.as_str(), &integration);
    Ok(StoredOAuthToken {
        tokens: rows::secret(row, "sealed", &context)?,
        installation_id,
        integration,
        refreshable: row.int("refreshable")? != 0,
        oauth_iparams: rows::json(row, "oauth_iparams")?,
        expires_at: rows::optional_timestamp(row, "expires_at")?,
        updated_at: rows::timestamp(row, "updated_at")?,
    })
}

fn pending(row: &dyn Columns) -> Result<PendingAuthorization> {
    Ok(PendingAuthorization {
        state_hash: TokenHash::from_stored(row.text("state_hash")?),
        installation_id: rows::parsed(row, "installation_id", InstallationId::parse)?,
        integration: row.text("integration")?,
        oauth_iparams: rows::json(row, "oauth_iparams")?,
        expires_at: rows::timestamp(row, "expires_at")?,
        created_at: rows::timestamp(row, "created_at")?,
    })
}

impl<B: Backend> SqlStore<B> {
    pub(crate) async fn put_oauth_token_row(&self, token: &StoredOAuthToken) -> Result<()> {
        let context = contexts::oauth_tokens(token.installation_id.as_str(), &token.integration);
        let sealed = self.seal(&token.tokens, &context)?;
        self.backend
            .execute(PUT_TOKEN, token_params(token, sealed))
            .await
            .map(drop)
    }

    pub(crate) async fn oauth_token_row(
        &self,
        installation: &InstallationId,
        integration: &str,
    ) -> Result<Option<StoredOAuthToken>> {
        let params = vec![installation.as_str().into(), integration.into()];
        let found = self.backend.fetch(TOKEN, params, token).await?;
        Ok(found.into_iter().next())
    }

    pub(crate) async fn oauth_token_rows(
        &self,
        installation: &InstallationId,
    ) -> Result<Vec<StoredOAuthToken>> {
        let params = vec![installation.as_str().into()];
        self.backend.fetch(TOKENS, params, token).await
    }

    pub(crate) async fn delete_oauth_token_row(
        &self,
        installation: &InstallationId,
        integration: &str,
    ) -> Result<bool> {
        let params = vec![installation.as_str().into(), integration.into()];
        Ok(self.backend.execute(DELETE_TOKEN, params).await? > 0)
    }

    pub(crate) async fn insert_pending_state(&self, pending: &PendingAuthorization) -> Result<()> {
        let insert = vec![
            pending.state_hash.as_str().into(),
            pending.installation_id.as_str().into(),
            pending.integration.as_str().into(),
            rows::to_json(&pending.oauth_iparams).into(),
            rows::millis(pending.expires_at).into(),
            rows::millis(pending.created_at).into(),
        ];
        let forget = vec![rows::millis(pending.created_at).into()];
        self.backend
            .transaction(vec![
                (FORGET_EXPIRED_STATES, forget),
                (INSERT_STATE, insert),
            ])
            .await
            .map(drop)
    }

    pub(crate) async fn take_pending_state(
        &self,
        state_hash: &TokenHash,
    ) -> Result<Option<PendingAuthorization>> {
        let params = vec![state_hash.as_str().into()];
        let taken = self
            .backend
            .execute_returning(TAKE_STATE, params, pending)
            .await?;
        Ok(taken.into_iter().next())
    }
}
