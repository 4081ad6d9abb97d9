//! An installation's tokens for one integration, as the engine holds them. The store seals
//! them at rest (the refresh and access tokens together, bound to their row) and opens
//! them as it reads them; the expiry stays in clear (it is shown).

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use weir_core::InstallationId;
use weir_core::oauth::Grant;
use weir_store::{StoreError, StoredOAuthToken};

use crate::platform::Platform;

/// Tokens in clear. Its `Debug` never prints them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("access_token", &"***")
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "***"))
            .finish()
    }
}

/// What an installation holds for an integration, opened.
#[derive(Debug, Clone)]
pub struct Held {
    pub tokens: Tokens,
    pub oauth_iparams: Map<String, Value>,
    pub expires_at: Option<Timestamp>,
    pub updated_at: Timestamp,
}

impl Held {
    /// What a grant gives, at `now`. A refresh that brings no new refresh token keeps
    /// `previous_refresh` (RFC 6749 §6: the server may leave it unchanged).
    pub fn from_grant(
        grant: Grant,
        previous_refresh: Option<String>,
        oauth_iparams: Map<String, Value>,
        now: Timestamp,
    ) -> Held {
        let expires_at = grant.expires_in.and_then(|seconds| {
            let seconds = i64::try_from(seconds).ok()?;
            now.checked_add(jiff::SignedDuration::from_secs(seconds))
                .ok()
        });
        Held {
            tokens: Tokens {
                access_token: grant.access_token,
                refresh_token: grant.refresh_token.or(previous_refresh),
            },
            oauth_iparams,
            expires_at,
            updated_at: now,
        }
    }

    /// Whether the access token has expired, or will within `margin`.
    pub fn expires_within(&self, margin: jiff::SignedDuration, now: Timestamp) -> bool {
        self.expires_at
            .is_some_and(|at| now.checked_add(margin).is_ok_and(|soon| at <= soon))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the stored OAuth tokens of installation {installation} cannot be read: {why}")]
    Unopenable {
        installation: InstallationId,
        why: String,
    },
}

/// The installation's tokens for `integration`, if it has some.
pub async fn load(
    platform: &Platform,
    installation: &InstallationId,
    integration: &str,
) -> Result<Option<Held>, TokenError> {
    let Some(row) = platform
        .store
        .oauth_token(installation, integration)
        .await?
    else {
        return Ok(None);
    };
    let tokens: Tokens = serde_json::from_str(&row.tokens).map_err(|e| TokenError::Unopenable {
        installation: installation.clone(),
        why: e.to_string(),
    })?;
    Ok(Some(Held {
        tokens,
        oauth_iparams: row.oauth_iparams,
        expires_at: row.expires_at,
        updated_at: row.updated_at,
    }))
}

/// Stores what the installation now holds for `integration` (the store seals the
/// tokens), replacing what it held; answers the row as stored.
pub async fn save(
    platform: &Platform,
    installation: &InstallationId,
    integration: &str,
    held: &Held,
) -> Result<StoredOAuthToken, TokenError> {
    let tokens = serde_json::to_string(&held.tokens).map_err(|e| TokenError::Unopenable {
        installation: installation.clone(),
        why: e.to_string(),
    })?;
    let row = StoredOAuthToken {
        installation_id: installation.clone(),
        integration: integration.to_owned(),
        tokens,
        refreshable: held.tokens.refresh_token.is_some(),
        oauth_iparams: held.oauth_iparams.clone(),
        expires_at: held.expires_at,
        updated_at: held.updated_at,
    };
    platform.store.put_oauth_token(&row).await?;
    Ok(row)
}
