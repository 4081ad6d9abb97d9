//! OAuth for an installation (`crate::oauth` tells the flow): starting an authorization,
//! completing it on the callback, setting tokens directly, forgetting them, and what is
//! known of them. No answer here ever holds a token.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use weir_core::oauth::{OAuthConfig, OAuthIntegration, TokenType};
use weir_core::{ApiToken, Installation, InstallationId, InstallationStatus};
use weir_store::{PendingAuthorization, StoreError, StoredOAuthToken};

use crate::engine::Engine;
use crate::error::Error;
use crate::oauth::provider::{Client, ProviderError};
use crate::oauth::tokens::{self, Held, TokenError, Tokens};

/// How long an authorization may take, from its start to its callback.
const AUTHORIZATION_TIME: jiff::SignedDuration = jiff::SignedDuration::from_mins(10);
/// The `state` handed out starts so; 256 random bits follow.
const STATE_PREFIX: &str = "wos_";

/// What starting an authorization takes: the integration (needed only when the app has
/// several) and the installer's values for its `oauth_iparams`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeRequest {
    #[serde(default)]
    pub integration: Option<String>,
    #[serde(default)]
    pub oauth_iparams: Map<String, Value>,
}

/// Where to send the installer's browser.
#[derive(Debug, Serialize)]
pub struct Authorization {
    pub installation_id: InstallationId,
    pub integration: String,
    pub authorize_url: String,
    /// What the app's OAuth client must have registered with the authorization server.
    pub redirect_uri: String,
    /// The authorization must come back before then.
    pub expires_at: Timestamp,
}

/// The query of the callback the authorization server sends the browser to. Not `Debug`:
/// the code is a credential until it is used.
#[derive(Default, Deserialize)]
pub struct OAuthCallback {
    pub code: Option<String>,
    pub state: Option<String>,
    /// The server's refusal (RFC 6749 §4.1.2.1), e.g. `access_denied`.
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// Tokens set by the operator (tests, migrations from another platform).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GivenToken {
    #[serde(default)]
    pub integration: Option<String>,
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    /// Kept as they were when left out.
    #[serde(default)]
    pub oauth_iparams: Option<Map<String, Value>>,
}

/// What is known of an installation's OAuth for one integration: never the tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OAuthStatus {
    pub integration: String,
    pub display_name: Option<String>,
    pub token_type: TokenType,
    /// Whether an access token is set.
    pub authorized: bool,
    /// Whether a refresh token is set with it.
    pub refreshable: bool,
    pub expires_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
}

impl OAuthStatus {
    fn of(integration: &OAuthIntegration, stored: Option<&StoredOAuthToken>) -> Self {
        OAuthStatus {
            integration: integration.name.clone(),
            display_name: integration.display_name.clone(),
            token_type: integration.token_type,
            authorized: stored.is_some(),
            refreshable: stored.is_some_and(|s| s.refreshable),
            expires_at: stored.and_then(|s| s.expires_at),
            updated_at: stored.map(|s| s.updated_at),
        }
    }
}

impl Engine {
    /// Starts authorizing the installation for one of its app's integrations: answers the
    /// URL to send the installer's browser to.
    pub async fn authorize_oauth(
        &self,
        installation: &Installation,
        asked: AuthorizeRequest,
    ) -> Result<Authorization, Error> {
        require_active(installation)?;
        let config = self.oauth_config(installation).await?;
        let integration = config
            .integration(asked.integration.as_deref())
            .map_err(|why| Error::invalid(format!("integration: {why}")))?;
        check_oauth_iparams(integration, &asked.oauth_iparams)?;
        let client = Client::rendered(integration, &asked.oauth_iparams)
            .await
            .map_err(provider_error)?;
        let state = ApiToken::generate(STATE_PREFIX);
        let redirect_uri = crate::oauth::redirect_uri(self.public_url());
        let authorize_url = weir_core::oauth::authorize_url(
            &client.authorize_url,
            &client.client_id,
            &redirect_uri,
            state.expose(),
            &integration.options,
        )
        .map_err(Error::invalid)?;
        let now = weir_core::now();
        let expires_at = now
            .checked_add(AUTHORIZATION_TIME)
            .map_err(|e| Error::internal("the clock is out of range", &e))?;
        let pending = PendingAuthorization {
            state_hash: state.hash(),
            installation_id: installation.id.clone(),
            integration: integration.name.clone(),
            oauth_iparams: asked.oauth_iparams,
            expires_at,
            created_at: now,
        };
        self.store()
            .insert_pending_authorization(&pending)
            .await
            .map_err(|error| gone_installation(error, &installation.id))?;
        Ok(Authorization {
            installation_id: installation.id.clone(),
            integration: integration.name.clone(),
            authorize_url,
            redirect_uri,
            expires_at,
        })
    }

    /// Completes an authorization on its callback: the state must be one handed out, not
    /// used and not expired; the code is traded for tokens, which are stored.
    pub async fn complete_oauth(
        &self,
        callback: OAuthCallback,
    ) -> Result<(InstallationId, OAuthStatus), Error> {
        let state = callback
            .state
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::malformed("state: missing; this URL is for OAuth callbacks"))?;
        let hash = ApiToken::from_given(state).hash();
        let pending = self
            .store()
            .take_pending_authorization(&hash)
            .await?
            .ok_or_else(|| {
                Error::invalid("state: unknown, or used already; start the authorization again")
            })?;
        if pending.expires_at <= weir_core::now() {
            return Err(Error::gone(format!(
                "state: the authorization expired at {}; start it again",
                pending.expires_at
            )));
        }
        if let Some(error) = callback.error.filter(|e| !e.is_empty()) {
            let description = callback
                .error_description
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            return Err(Error::invalid(format!(
                "the authorization server did not authorize installation {} ({error}{description})",
                pending.installation_id
            )));
        }
        let code = callback
            .code
            .filter(|c| !c.is_empty())
            .ok_or_else(|| Error::malformed("code: missing"))?;
        let installation = self
            .store()
            .installation(&pending.installation_id)
            .await?
            .ok_or_else(|| uninstalled(&pending.installation_id))?;
        require_active(&installation)?;
        let config = self.oauth_config(&installation).await?;
        let integration = named_integration(&config, &pending.integration)?;
        let client = Client::rendered(integration, &pending.oauth_iparams)
            .await
            .map_err(provider_error)?;
        let redirect_uri = crate::oauth::redirect_uri(self.public_url());
        let grant = client
            .exchange_code(self.platform(), &code, &redirect_uri)
            .await
            .map_err(provider_error)?;
        let held = Held::from_grant(grant, None, pending.oauth_iparams, weir_core::now());
        let stored = self.keep(&installation.id, integration, &held).await?;
        tracing::info!(installation = %installation.id, integration = %integration.name,
            "an installation was authorized");
        Ok((installation.id, OAuthStatus::of(integration, Some(&stored))))
    }

    /// Sets the installation's tokens for an integration as given, replacing any.
    pub async fn set_oauth_token(
        &self,
        installation: &Installation,
        given: GivenToken,
    ) -> Result<OAuthStatus, Error> {
        require_active(installation)?;
        if given.access_token.trim().is_empty() {
            return Err(Error::invalid("access_token: must not be empty"));
        }
        if given
            .refresh_token
            .as_ref()
            .is_some_and(|t| t.trim().is_empty())
        {
            return Err(Error::invalid(
                "refresh_token: must not be empty when given",
            ));
        }
        let config = self.oauth_config(installation).await?;
        let integration = config
            .integration(given.integration.as_deref())
            .map_err(|why| Error::invalid(format!("integration: {why}")))?;
        let oauth_iparams = match given.oauth_iparams {
            Some(given) => given,
            None => tokens::load(self.platform(), &installation.id, &integration.name)
                .await
                .map_err(token_error)?
                .map(|held| held.oauth_iparams)
                .unwrap_or_default(),
        };
        check_oauth_iparams(integration, &oauth_iparams)?;
        let held = Held {
            tokens: Tokens {
                access_token: given.access_token,
                refresh_token: given.refresh_token,
            },
            oauth_iparams,
            expires_at: given.expires_at,
            updated_at: weir_core::now(),
        };
        let stored = self.keep(&installation.id, integration, &held).await?;
        Ok(OAuthStatus::of(integration, Some(&stored)))
    }

    /// Forgets the installation's tokens for an integration; its OAuth requests fail until
    /// it is authorized again.
    pub async fn forget_oauth_token(
        &self,
        installation: &Installation,
        integration: Option<&str>,
    ) -> Result<(), Error> {
        let config = self.oauth_config(installation).await?;
        let integration = config
            .integration(integration)
            .map_err(|why| Error::invalid(format!("integration: {why}")))?;
        match self
            .store()
            .delete_oauth_token(&installation.id, &integration.name)
            .await?
        {
            true => Ok(()),
            false => Err(Error::not_found(format!(
                "installation {} has no OAuth token{}",
                installation.id,
                for_integration(&integration.name)
            ))),
        }
    }

    /// Each integration of the installation's app, with what is known of its tokens; none
    /// for an app that does not use OAuth.
    pub async fn oauth_status(
        &self,
        installation: &Installation,
    ) -> Result<Vec<OAuthStatus>, Error> {
        let app = self.app(&installation.app_id).await?;
        if app.definition.oauth_config.is_none() {
            return Ok(Vec::new());
        }
        let config = self.oauth_config(installation).await?;
        let stored = self.store().oauth_tokens(&installation.id).await?;
        Ok(config
            .integrations()
            .iter()
            .map(|integration| {
                let held = stored.iter().find(|s| s.integration == integration.name);
                OAuthStatus::of(integration, held)
            })
            .collect())
    }

    /// The installation's app's `oauth_config.json`.
    async fn oauth_config(&self, installation: &Installation) -> Result<OAuthConfig, Error> {
        let app = self.app(&installation.app_id).await?;
        let Some(config) = &app.definition.oauth_config else {
            return Err(Error::invalid(format!(
                "the app of installation {} does not use OAuth (it has no {})",
                installation.id,
                weir_core::oauth::FILE
            )));
        };
        OAuthConfig::parse(config).map_err(|problems| Error::invalid(problems.join("; ")))
    }

    async fn keep(
        &self,
        installation: &InstallationId,
        integration: &OAuthIntegration,
        held: &Held,
    ) -> Result<StoredOAuthToken, Error> {
        tokens::save(self.platform(), installation, &integration.name, held)
            .await
            .map_err(|error| match error {
                TokenError::Store(error) => gone_installation(error, installation),
                other => token_error(other),
            })
    }
}

fn require_active(installation: &Installation) -> Result<(), Error> {
    match installation.status {
        InstallationStatus::Active => Ok(()),
        _ => Err(Error::conflict(format!(
            "installation {} is not active",
            installation.id
        ))),
    }
}

fn uninstalled(installation: &InstallationId) -> Error {
    Error::conflict(format!("installation {installation} is not active"))
}

/// A write about an installation that is gone by now.
fn gone_installation(error: StoreError, installation: &InstallationId) -> Error {
    match error {
        StoreError::NotFound => uninstalled(installation),
        other => other.into(),
    }
}

/// The integration an authorization under way was started for.
fn named_integration<'a>(
    config: &'a OAuthConfig,
    name: &str,
) -> Result<&'a OAuthIntegration, Error> {
    config
        .integrations()
        .iter()
        .find(|i| i.name == name)
        .ok_or_else(|| {
            Error::conflict(format!(
                "the app no longer has the integration this authorization was for{}",
                for_integration(name)
            ))
        })
}

fn for_integration(name: &str) -> String {
    match name {
        "" => String::new(),
        name => format!(" ({name})"),
    }
}

/// Every `required` one is given (as a non-empty value), and no other is.
fn check_oauth_iparams(
    integration: &OAuthIntegration,
    given: &Map<String, Value>,
) -> Result<(), Error> {
    if let Some(unknown) = given
        .keys()
        .find(|name| !integration.oauth_iparams.iter().any(|p| &p.name == *name))
    {
        let declared: Vec<&str> = integration
            .oauth_iparams
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        return Err(Error::invalid(format!(
            "oauth_iparams: {unknown:?} is not declared in {} (declared: {})",
            weir_core::oauth::FILE,
            match declared.is_empty() {
                true => "none".to_owned(),
                false => declared.join(", "),
            }
        )));
    }
    let missing = integration.oauth_iparams.iter().find(|p| {
        p.required
            && given
                .get(&p.name)
                .is_none_or(|v| v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty()))
    });
    match missing {
        Some(missing) => Err(Error::invalid(format!(
            "oauth_iparams: {:?} is required",
            missing.name
        ))),
        None => Ok(()),
    }
}

fn provider_error(error: ProviderError) -> Error {
    match error {
        ProviderError::Config(why) => Error::invalid(why),
        other => Error::upstream(format!("no tokens were granted: {other}")),
    }
}

fn token_error(error: TokenError) -> Error {
    match error {
        TokenError::Store(error) => error.into(),
        other => Error::internal(
            "an installation's OAuth tokens cannot be sealed or opened",
            &other,
        ),
    }
}
