//! What an `isOAuth` request (or a 3.1 template's `oauth`) gets: the installation's access
//! token for the integration, refreshed first if it has expired, and refreshed once more
//! if the third party refuses it (401). Apps see the platform's error shape when there is
//! no token to be had, with a message that says what the operator must do.

use serde_json::{Map, Value};
use weir_core::oauth::{OAuthConfig, OAuthIntegration};
use weir_sandbox::{HostError, HostResult};

use super::refresh::{self, RefreshError};
use super::tokens::{self, Held};
use crate::host::CallContext;
use crate::platform::Platform;

/// A token this close to its expiry is refreshed before it is used.
const EXPIRY_MARGIN: jiff::SignedDuration = jiff::SignedDuration::from_secs(30);

/// The status of every refusal here: the app is not authorized (yet, or any more).
const UNAUTHORIZED: u16 = 401;

/// An installation's access for one request.
pub struct Access {
    integration: OAuthIntegration,
    held: Held,
    /// Whether this request refreshed the token already: it refreshes once at most.
    refreshed: bool,
}

/// A platform error as `$request` rejects with it.
fn refused(status: u16, message: String) -> HostError {
    HostError::request_refused(status, message)
}

impl Access {
    /// The access of the installation making the call, for the integration a template
    /// names (`oauth`), or the app's only one (`isOAuth`).
    pub async fn open(
        platform: &Platform,
        context: &CallContext,
        named: Option<&str>,
    ) -> Result<Access, HostError> {
        let Some(config) = &context.app.oauth_config else {
            return Err(refused(
                400,
                "OAuth is not available: the app has no config/oauth_config.json".into(),
            ));
        };
        let integration = OAuthConfig::parse(config)
            .map_err(|problems| refused(400, problems.join("; ")))?
            .integration(named)
            .map_err(|why| refused(400, why))?
            .clone();
        let installation = &context.installation.id;
        let held = tokens::load(platform, installation, &integration.name)
            .await
            .map_err(|error| {
                tracing::error!(%error, "an installation's OAuth tokens cannot be read");
                HostError::new(500, "Internal server error")
            })?
            .ok_or_else(|| {
                refused(
                    UNAUTHORIZED,
                    format!(
                        "this installation has no OAuth access token yet: the operator \
                         authorizes it with POST /api/v1/installations/{installation}/oauth/authorize"
                    ),
                )
            })?;
        let mut access = Access {
            integration,
            held,
            refreshed: false,
        };
        if access.held.expires_within(EXPIRY_MARGIN, weir_core::now()) {
            access.refresh(platform, context, "expired").await?;
        }
        Ok(access)
    }

    pub fn access_token(&self) -> &str {
        &self.held.tokens.access_token
    }

    pub fn oauth_iparams(&self) -> &Map<String, Value> {
        &self.held.oauth_iparams
    }

    /// Whether the call should be sent again after `answer`: the third party refused the
    /// token (401) and this request has not refreshed it yet.
    pub fn worth_refreshing(&self, answer: &HostResult) -> bool {
        !self.refreshed && matches!(answer, Err(error) if error.status() == Some(UNAUTHORIZED))
    }

    /// After the third party refused the token: a fresh one, or the app's error.
    pub async fn refresh_after_refusal(
        &mut self,
        platform: &Platform,
        context: &CallContext,
    ) -> Result<(), HostError> {
        self.refresh(platform, context, "was refused").await
    }

    async fn refresh(
        &mut self,
        platform: &Platform,
        context: &CallContext,
        why: &str,
    ) -> Result<(), HostError> {
        let installation = &context.installation.id;
        match refresh::refreshed(platform, installation, &self.integration, &self.held).await {
            Ok(fresh) => {
                self.held = fresh;
                self.refreshed = true;
                Ok(())
            }
            Err(error) => {
                tracing::warn!(%installation, integration = %self.integration.name, %error,
                    "an OAuth access token could not be refreshed");
                let detail = match &error {
                    RefreshError::Tokens(_) => "see the server log".to_owned(),
                    other => other.to_string(),
                };
                Err(refused(
                    UNAUTHORIZED,
                    format!(
                        "the OAuth access token {why} and could not be refreshed ({detail}): \
                         the installation must be authorized again"
                    ),
                ))
            }
        }
    }
}

/// `headers` with `Authorization: Bearer <token>` added, unless the app sets its own
/// `Authorization` (with `<%= access_token %>`, as Freshworks' samples do).
pub fn with_bearer(mut headers: Vec<(String, String)>, access: &Access) -> Vec<(String, String)> {
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("authorization"))
    {
        headers.push((
            "Authorization".to_owned(),
            format!("Bearer {}", access.access_token()),
        ));
    }
    headers
}
