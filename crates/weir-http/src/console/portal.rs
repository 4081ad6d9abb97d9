//! Per-account portal links: the admin asks for a short-lived signed token standing for
//! one account (`POST /api/v1/accounts/{id}/portal-links`) and hands its URL to that
//! account's people, in the operator's own product (framed or linked). The token travels
//! in the URL's fragment, which browsers never send, so it stays out of access logs; the
//! portal page reads it and sends it as a bearer token (`Caller::Portal`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use weir_core::AccountId;
use weir_core::signed_pass::{self, Pass, PassKind};

use crate::auth::Caller;
use crate::body::{OptionalJsonBody, PathParams};
use crate::error::ApiError;
use crate::state::ServerState;

/// 15 minutes unless asked otherwise; at most a day, at least a minute.
const DEFAULT_SECONDS: u64 = 15 * 60;
const MIN_SECONDS: u64 = 60;
const MAX_SECONDS: u64 = 24 * 60 * 60;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    expires_in_seconds: Option<u64>,
}

#[derive(Serialize)]
pub struct PortalLink {
    url: String,
    token: String,
    expires_at: Timestamp,
}

fn key(state: &ServerState) -> Vec<u8> {
    let purpose = format!("portal-link\n{}", state.admin_token.as_str());
    state.engine.derived_key(&purpose)
}

/// The account a portal token stands for, if it is valid now.
pub fn account_of(state: &ServerState, token: &str) -> Option<AccountId> {
    let pass = signed_pass::verify(&key(state), PassKind::PortalLink, token, weir_core::now())?;
    AccountId::parse(&pass.subject).ok()
}

pub async fn create_link(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    OptionalJsonBody(asked): OptionalJsonBody<LinkRequest>,
) -> Result<(StatusCode, Json<PortalLink>), ApiError> {
    caller.require_admin()?;
    let not_found = || ApiError::not_found(format!("account {id} not found"));
    let account = AccountId::parse(&id).map_err(|_| not_found())?;
    state
        .store()
        .account(&account)
        .await?
        .ok_or_else(not_found)?;
    let seconds = asked.expires_in_seconds.unwrap_or(DEFAULT_SECONDS);
    if !(MIN_SECONDS..=MAX_SECONDS).contains(&seconds) {
        return Err(ApiError::bad_request(format!(
            "expires_in_seconds must be between {MIN_SECONDS} and {MAX_SECONDS}, got {seconds}"
        )));
    }
    let now = weir_core::now();
    let pass = Pass {
        subject: account.as_str().to_owned(),
        issued_at: now,
        expires_at: now + SignedDuration::from_secs(seconds as i64),
    };
    let token = signed_pass::issue(&key(&state), PassKind::PortalLink, &pass);
    let url = format!("{}/portal#{token}", state.public_url());
    Ok((
        StatusCode::CREATED,
        Json(PortalLink {
            url,
            token,
            expires_at: pass.expires_at,
        }),
    ))
}
