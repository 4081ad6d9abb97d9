//! Refreshing an installation's access token, once, however many calls find it stale at
//! the same time.
//!
//! Many authorization servers rotate refresh tokens: a refresh token used twice fails the
//! second time, and may revoke the grant. So the calls of one node that need a refresh
//! take turns ([`RefreshLocks`]); each looks at the stored tokens first, and one that finds
//! them changed since it read them uses the new ones instead of refreshing again. Nodes
//! sharing a PostgreSQL database do not take turns with each other: two of them may
//! refresh at once, and then the later refresh may fail (the app is told; the earlier
//! tokens stand).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use tokio::sync::{Mutex, MutexGuard};
use weir_core::InstallationId;
use weir_core::oauth::OAuthIntegration;

use super::provider::{Client, ProviderError};
use super::tokens::{self, Held, TokenError};
use crate::platform::Platform;

/// How many refreshes of different installations may run at once on a node.
const STRIPES: usize = 64;

/// One lock per stripe of (installation, integration): bounded, whatever the number of
/// installations.
pub struct RefreshLocks {
    stripes: Vec<Mutex<()>>,
}

impl Default for RefreshLocks {
    fn default() -> Self {
        RefreshLocks {
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
        }
    }
}

impl RefreshLocks {
    async fn lock(&self, installation: &InstallationId, integration: &str) -> MutexGuard<'_, ()> {
        let mut hasher = DefaultHasher::new();
        (installation.as_str(), integration).hash(&mut hasher);
        let stripe = (hasher.finish() % self.stripes.len() as u64) as usize;
        self.stripes[stripe].lock().await
    }
}

/// Why no fresh access token could be had.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("there is no refresh token")]
    NoRefreshToken,
    #[error("the tokens are gone (the installation was uninstalled, or its token removed)")]
    Gone,
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Tokens(#[from] TokenError),
}

/// Fresh tokens in place of `stale` (what the caller read and found expired, or had
/// refused): the stored ones if another call refreshed meanwhile, else new ones from the
/// token endpoint, stored before they are answered.
pub async fn refreshed(
    platform: &Platform,
    installation: &InstallationId,
    integration: &OAuthIntegration,
    stale: &Held,
) -> Result<Held, RefreshError> {
    let _turn = platform
        .oauth_refreshes
        .lock(installation, &integration.name)
        .await;
    let current = tokens::load(platform, installation, &integration.name)
        .await?
        .ok_or(RefreshError::Gone)?;
    if current.tokens.access_token != stale.tokens.access_token {
        return Ok(current);
    }
    let refresh_token = current
        .tokens
        .refresh_token
        .clone()
        .ok_or(RefreshError::NoRefreshToken)?;
    let client = Client::rendered(integration, &current.oauth_iparams).await?;
    let grant = client.refresh(platform, &refresh_token).await?;
    let fresh = Held::from_grant(
        grant,
        Some(refresh_token),
        current.oauth_iparams,
        weir_core::now(),
    );
    tokens::save(platform, installation, &integration.name, &fresh).await?;
    tracing::info!(%installation, integration = %integration.name, "OAuth access token refreshed");
    Ok(fresh)
}
