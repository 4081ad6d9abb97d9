//! OAuth for installations (`weir_engine::oauth` tells the flow): starting an
//! authorization, the callback the authorization server sends the browser to, the state
//! of an installation's tokens, and setting or forgetting them. No answer shows a token.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use weir_core::InstallationId;
use weir_engine::commands::oauth::{
    Authorization, AuthorizeRequest, GivenToken, OAuthCallback, OAuthStatus,
};

use super::installations::load_installation;
use crate::auth::Caller;
use crate::body::{JsonBody, OptionalJsonBody, PathParams, QueryParams};
use crate::error::ApiError;
use crate::state::ServerState;

/// An installation's OAuth: one entry per integration of its app.
#[derive(Serialize)]
pub struct OAuthView {
    installation_id: InstallationId,
    integrations: Vec<OAuthStatus>,
}

/// What the callback answers the installer's browser.
#[derive(Serialize)]
pub struct Authorized {
    installation_id: InstallationId,
    #[serde(flatten)]
    status: OAuthStatus,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationParams {
    #[serde(default)]
    integration: Option<String>,
}

/// Starts an authorization: answers the URL to send the installer's browser to. The
/// admin, or the key of the installation's account.
pub async fn authorize(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    OptionalJsonBody(body): OptionalJsonBody<AuthorizeRequest>,
) -> Result<Json<Authorization>, ApiError> {
    caller.require_operator_or_account()?;
    let installation = load_installation(&state, &caller, &id).await?;
    Ok(Json(
        state.engine.authorize_oauth(&installation, body).await?,
    ))
}

/// The authorization server sends the browser here. No API token: the `state` is the
/// guard (unguessable, bound to one installation, used once, expiring).
pub async fn callback(
    State(state): State<ServerState>,
    QueryParams(callback): QueryParams<OAuthCallback>,
) -> Result<Json<Authorized>, ApiError> {
    let (installation_id, status) = state.engine.complete_oauth(callback).await?;
    Ok(Json(Authorized {
        installation_id,
        status,
    }))
}

pub async fn show(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Json<OAuthView>, ApiError> {
    caller.require_operator_or_account()?;
    let installation = load_installation(&state, &caller, &id).await?;
    let integrations = state.engine.oauth_status(&installation).await?;
    Ok(Json(OAuthView {
        installation_id: installation.id,
        integrations,
    }))
}

/// Sets tokens directly (tests, migrations): the admin only, since tokens set this way
/// skip the authorization server.
pub async fn put_token(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    JsonBody(body): JsonBody<GivenToken>,
) -> Result<Json<OAuthStatus>, ApiError> {
    caller.require_admin()?;
    let installation = load_installation(&state, &caller, &id).await?;
    Ok(Json(
        state.engine.set_oauth_token(&installation, body).await?,
    ))
}

/// Forgets the tokens of an integration (`?integration=` when the app has several).
pub async fn delete_token(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    QueryParams(params): QueryParams<IntegrationParams>,
) -> Result<StatusCode, ApiError> {
    caller.require_operator_or_account()?;
    let installation = load_installation(&state, &caller, &id).await?;
    let integration = params.integration.as_deref();
    state
        .engine
        .forget_oauth_token(&installation, integration)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
