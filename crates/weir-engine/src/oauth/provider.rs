//! The authorization server, as Weir calls it: an integration's templated fields filled
//! in with the installer's `oauth_iparams`, and its token endpoint asked for tokens
//! (RFC 6749 §4.1.3, §6) through the platform's outbound client, so that the SSRF guard
//! and host overrides apply as they do to every other call an app causes.
//!
//! The client authenticates with `client_id` and `client_secret` in the form body (RFC
//! 6749 §2.3.1), which authorization servers broadly accept; HTTP Basic is not offered.

use std::time::Duration;

use reqwest::{Method, Url};
use serde_json::{Map, Value, json};
use weir_core::oauth::{self, Grant, GrantError, OAuthIntegration};
use weir_sandbox::template;

use crate::outbound::{OutboundRequest, SendError};
use crate::platform::Platform;

/// A token endpoint's answer is small; a longer one is not a grant.
const MAX_GRANT_BYTES: usize = 64 * 1024;
/// How long a token endpoint has to answer.
const TIMEOUT: Duration = Duration::from_secs(15);

/// An integration's fields with the templates filled in.
#[derive(Clone)]
pub struct Client {
    pub client_id: String,
    pub client_secret: String,
    pub authorize_url: String,
    pub token_url: String,
}

/// Why the authorization server gave no tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The configuration (as rendered) cannot be used.
    #[error("{0}")]
    Config(String),
    #[error("the token endpoint could not be reached: {0}")]
    Unreachable(SendError),
    #[error(transparent)]
    Grant(#[from] GrantError),
}

impl Client {
    /// `integration`'s fields, rendered over `{oauth_iparams}` (templates run in a
    /// JavaScript runtime of their own, off the async threads).
    pub async fn rendered(
        integration: &OAuthIntegration,
        oauth_iparams: &Map<String, Value>,
    ) -> Result<Client, ProviderError> {
        let fields = [
            integration.client_id.clone(),
            integration.client_secret.clone(),
            integration.authorize_url.clone(),
            integration.token_url.clone(),
        ];
        let variables = json!({"oauth_iparams": oauth_iparams});
        let rendered = tokio::task::spawn_blocking(move || {
            fields
                .iter()
                .map(|field| template::render(field, &variables))
                .collect::<Result<Vec<_>, _>>()
        })
        .await;
        let [client_id, client_secret, authorize_url, token_url] = match rendered {
            Ok(Ok(fields)) => <[String; 4]>::try_from(fields)
                .map_err(|_| ProviderError::Config("rendering lost a field".into()))?,
            Ok(Err(error)) => {
                return Err(ProviderError::Config(format!(
                    "{}: a template does not render with the oauth_iparams given: {}",
                    oauth::FILE,
                    error.detail
                )));
            }
            Err(_) => return Err(ProviderError::Config("rendering failed".into())),
        };
        Ok(Client {
            client_id,
            client_secret,
            authorize_url,
            token_url,
        })
    }

    /// Trades an authorization code for tokens.
    pub async fn exchange_code(
        &self,
        platform: &Platform,
        code: &str,
        redirect_uri: &str,
    ) -> Result<Grant, ProviderError> {
        self.token_request(
            platform,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
            ],
        )
        .await
    }

    /// Trades a refresh token for a new access token (and perhaps a new refresh token).
    pub async fn refresh(
        &self,
        platform: &Platform,
        refresh_token: &str,
    ) -> Result<Grant, ProviderError> {
        self.token_request(
            platform,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }

    async fn token_request(
        &self,
        platform: &Platform,
        grant: &[(&str, &str)],
    ) -> Result<Grant, ProviderError> {
        let url = self.token_endpoint(platform)?;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(grant.iter().copied())
            .append_pair("client_id", &self.client_id)
            .append_pair("client_secret", &self.client_secret)
            .finish();
        let request = OutboundRequest {
            method: Method::POST,
            url,
            headers: vec![
                (
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded".into(),
                ),
                // Some servers (GitHub's) answer form-encoded unless asked for JSON.
                ("Accept".into(), "application/json".into()),
            ],
            body: Some(body.into_bytes()),
            timeout: TIMEOUT,
            max_response_bytes: MAX_GRANT_BYTES,
        };
        let response = platform
            .outbound
            .send(request)
            .await
            .map_err(ProviderError::Unreachable)?;
        Ok(oauth::parse_grant(response.status, &response.body)?)
    }

    /// The token URL, if Weir may call it: HTTPS, or plain HTTP to a host the operator
    /// overrides (REFERENCE §8), as for `$request`.
    fn token_endpoint(&self, platform: &Platform) -> Result<Url, ProviderError> {
        let invalid = |why: &str| {
            ProviderError::Config(format!(
                "{} token_url {:?} {why}",
                oauth::FILE,
                self.token_url
            ))
        };
        let url = Url::parse(self.token_url.trim()).map_err(|_| invalid("is not a URL"))?;
        let overridden = url
            .host_str()
            .is_some_and(|host| platform.outbound.is_overridden(host));
        match url.scheme() {
            "https" => Ok(url),
            "http" if overridden => Ok(url),
            _ => Err(invalid("must be an https:// URL")),
        }
    }
}
