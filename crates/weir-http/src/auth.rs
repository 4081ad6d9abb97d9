//! Who is calling: the admin (the platform operator, by the admin token or the console's
//! session cookie), one account's API key, one account's portal link, or one installation
//! (by the `securityContext` its extension webhook deliveries carry). Tokens
//! are hashed on arrival and compared by hash, in constant time for the admin token;
//! account keys are found by their hash, so no stored token is ever compared in clear; an
//! installation's token is checked by its signature.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use weir_core::signed_pass::PassKind;
use weir_core::{AccountId, ApiToken, InstallationId};
use weir_engine::commands::installations::CLIENT_TOKEN_PREFIX;

use crate::error::ApiError;
use crate::state::ServerState;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Admin,
    Account(AccountId),
    /// Sees its own installation and what belongs to it; nothing of its account.
    Installation(InstallationId),
    /// An installation's browser app: may trigger that installation's registered
    /// webhooks, and nothing else.
    Client(InstallationId),
    /// An account's portal (a `wpt_` link token): reads the account's subscriptions,
    /// deliveries and attempts, and replays; nothing else, of no other account.
    Portal(AccountId),
}

impl Caller {
    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self {
            Caller::Admin => Ok(()),
            Caller::Account(own) => Err(ApiError::forbidden(format!(
                "this needs the admin token; the API key given belongs to account {own}"
            ))),
            Caller::Installation(own) => Err(installation_only(own)),
            Caller::Client(own) => Err(client_only(own)),
            Caller::Portal(own) => Err(portal_only(own)),
        }
    }

    /// The admin may act on any account; an account key only on its own.
    pub fn require_account(&self, account: &AccountId) -> Result<(), ApiError> {
        match self {
            Caller::Account(own) if own != account => Err(ApiError::forbidden(format!(
                "the API key given belongs to account {own} and may not act on account {account}"
            ))),
            Caller::Installation(own) => Err(installation_only(own)),
            Caller::Client(own) => Err(client_only(own)),
            Caller::Portal(own) => Err(portal_only(own)),
            _ => Ok(()),
        }
    }

    /// What the portal shows and does (the account's subscriptions and deliveries, and
    /// replays): as `require_account`, and a portal token on its own account.
    pub fn require_account_portal(&self, account: &AccountId) -> Result<(), ApiError> {
        match self {
            Caller::Portal(own) if own == account => Ok(()),
            other => other.require_account(account),
        }
    }

    /// The admin and account keys may read what is shared by all accounts (apps and their
    /// webhook URLs); an installation's token may not.
    pub fn require_operator_or_account(&self) -> Result<(), ApiError> {
        match self {
            Caller::Installation(own) => Err(installation_only(own)),
            Caller::Client(own) => Err(client_only(own)),
            Caller::Portal(own) => Err(portal_only(own)),
            _ => Ok(()),
        }
    }

    /// Whether the caller may see a thing of `account`, or of `installation` within it:
    /// the admin anything, an account key its account's, an installation its own.
    pub fn may_see(&self, account: &AccountId, installation: Option<&InstallationId>) -> bool {
        match self {
            Caller::Admin => true,
            Caller::Account(own) => own == account,
            Caller::Installation(own) => installation == Some(own),
            Caller::Client(_) | Caller::Portal(_) => false,
        }
    }
}

impl FromRequestParts<ServerState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ServerState) -> Result<Self, ApiError> {
        let Some(header) = parts.headers.get(header::AUTHORIZATION) else {
            return crate::console::session::caller(parts, state)
                .await?
                .ok_or_else(|| {
                    ApiError::unauthorized(
                        "missing credentials: send Authorization: Bearer <token>",
                    )
                });
        };
        let token = header
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header must be \"Bearer <token>\"")
            })?;
        if token.starts_with("wsc_") {
            return state
                .engine
                .verify_security_context(token)
                .map(Caller::Installation)
                .ok_or_else(|| {
                    ApiError::unauthorized("the securityContext is not valid, or has expired")
                });
        }
        if token.starts_with(PassKind::PortalLink.prefix()) {
            return crate::console::portal::account_of(state, token)
                .map(Caller::Portal)
                .ok_or_else(|| {
                    ApiError::unauthorized("the portal link has expired, or is not valid")
                });
        }
        let hash = ApiToken::from_given(token).hash();
        if token.starts_with(CLIENT_TOKEN_PREFIX) {
            return match state.store().installation_by_client_token(&hash).await? {
                Some(installation) => Ok(Caller::Client(installation.id)),
                None => Err(ApiError::unauthorized("the client token is not valid")),
            };
        }
        if state.admin_token.matches(&hash) {
            return Ok(Caller::Admin);
        }
        match state.store().api_key_by_hash(&hash).await? {
            Some(key) => Ok(Caller::Account(key.account_id)),
            None => Err(ApiError::unauthorized("the token is not valid")),
        }
    }
}

fn client_only(own: &InstallationId) -> ApiError {
    ApiError::forbidden(format!(
        "the client token given may only trigger the registered webhooks of installation {own}"
    ))
}

fn portal_only(own: &AccountId) -> ApiError {
    ApiError::forbidden(format!(
        "the portal link given shows account {own}'s subscriptions and deliveries, and \
         replays them; it reaches nothing else"
    ))
}

fn installation_only(own: &InstallationId) -> ApiError {
    ApiError::forbidden(format!(
        "the securityContext given stands for installation {own}, and reaches that \
         installation only"
    ))
}
