//! Who is calling: the admin (the platform operator) or one account's API key. Tokens are
//! hashed on arrival and compared by hash, in constant time for the admin token; account
//! keys are found by their hash, so no stored token is ever compared in clear.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use weir_core::{AccountId, ApiToken};

use crate::error::ApiError;
use crate::state::ServerState;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Admin,
    Account(AccountId),
}

impl Caller {
    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self {
            Caller::Admin => Ok(()),
            Caller::Account(own) => Err(ApiError::forbidden(format!(
                "this needs the admin token; the API key given belongs to account {own}"
            ))),
        }
    }

    /// The admin may act on any account; an account key only on its own.
    pub fn require_account(&self, account: &AccountId) -> Result<(), ApiError> {
        match self {
            Caller::Account(own) if own != account => Err(ApiError::forbidden(format!(
                "the API key given belongs to account {own} and may not act on account {account}"
            ))),
            _ => Ok(()),
        }
    }
}

impl FromRequestParts<ServerState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ServerState) -> Result<Self, ApiError> {
        let header = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
            ApiError::unauthorized("missing credentials: send Authorization: Bearer <token>")
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header must be \"Bearer <token>\"")
            })?;
        let hash = ApiToken::from_given(token).hash();
        if state.admin_token.matches(&hash) {
            return Ok(Caller::Admin);
        }
        match state.store.api_key_by_hash(&hash).await? {
            Some(key) => Ok(Caller::Account(key.account_id)),
            None => Err(ApiError::unauthorized("the token is not valid")),
        }
    }
}
