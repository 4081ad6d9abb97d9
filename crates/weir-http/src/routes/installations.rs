//! Installations: an app installed in an account, with its installation parameters.
//! Secure iparams are stored but never shown again: views list their names only.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use weir_core::{
    AccountId, AppId, AppName, Departments, Installation, InstallationId, InstallationStatus,
};
use weir_engine::commands::installations::{Installed, NewInstallation};

use super::load_account;
use crate::auth::Caller;
use crate::body::{JsonBody, PathParams, QueryParams};
use crate::error::ApiError;
use crate::pagination::{ListResponse, PageParams};
use crate::state::ServerState;

/// An installation as the API shows it.
#[derive(Serialize)]
pub struct InstallationView {
    id: InstallationId,
    account_id: AccountId,
    app_id: AppId,
    app_name: AppName,
    status: InstallationStatus,
    iparams: Map<String, Value>,
    /// The names of the secure iparams that are set; their values are never shown.
    secure_iparams: Vec<String>,
    departments: Departments,
    scopes: Vec<String>,
    /// Where third parties post this installation's external events.
    target_url: String,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl InstallationView {
    fn new(installation: Installation, public_url: &str) -> Self {
        InstallationView {
            target_url: weir_core::target_url(public_url, &installation.target_token),
            secure_iparams: installation
                .iparams
                .secure_names()
                .into_iter()
                .map(String::from)
                .collect(),
            id: installation.id,
            account_id: installation.account_id,
            app_id: installation.app_id,
            app_name: installation.app_name,
            status: installation.status,
            iparams: installation.iparams.public,
            departments: installation.departments,
            scopes: installation.scopes,
            created_at: installation.created_at,
            updated_at: installation.updated_at,
        }
    }
}

/// Installs the app (201), or updates the account's installation of it to this newer
/// version (200).
pub async fn create(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(account_id): PathParams<String>,
    JsonBody(body): JsonBody<NewInstallation>,
) -> Result<impl IntoResponse, ApiError> {
    let account = load_account(&state, &caller, &account_id).await?;
    let (status, installation) = match state.engine.install(&account, body).await? {
        Installed::New(installation) => (StatusCode::CREATED, installation),
        Installed::Updated(installation) => (StatusCode::OK, installation),
    };
    let location = format!("/api/v1/installations/{}", installation.id);
    Ok((
        status,
        [(header::LOCATION, location)],
        Json(InstallationView::new(installation, state.public_url())),
    ))
}

pub async fn list(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(account_id): PathParams<String>,
    PageParams(page): PageParams,
) -> Result<Json<ListResponse<InstallationView>>, ApiError> {
    let account = load_account(&state, &caller, &account_id).await?;
    let page = state.store().installations(&account.id, &page).await?;
    Ok(Json(ListResponse::from_page(page, |i| {
        InstallationView::new(i, state.public_url())
    })))
}

pub async fn show(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Json<InstallationView>, ApiError> {
    let installation = load_installation(&state, &caller, &id).await?;
    Ok(Json(InstallationView::new(
        installation,
        state.public_url(),
    )))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UninstallParams {
    /// Uninstall even if the app's `onAppUninstall` refuses.
    #[serde(default)]
    force: bool,
}

/// Uninstalls, after the app's `onAppUninstall` agrees (or with `?force=true`). The
/// record stays, marked `uninstalled`, for the audit trail.
pub async fn delete(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    QueryParams(params): QueryParams<UninstallParams>,
) -> Result<StatusCode, ApiError> {
    caller.require_operator_or_account()?;
    let installation = load_installation(&state, &caller, &id).await?;
    state.engine.uninstall(installation, params.force).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn load_installation(
    state: &ServerState,
    caller: &Caller,
    id: &str,
) -> Result<Installation, ApiError> {
    let not_found = || ApiError::not_found(format!("installation {id} not found"));
    let id = InstallationId::parse(id).map_err(|_| not_found())?;
    let installation = state
        .store()
        .installation(&id)
        .await?
        .ok_or_else(not_found)?;
    // Another account's installation is "not found": its existence is not this caller's
    // business.
    match caller.may_see(&installation.account_id, Some(&installation.id)) {
        false => Err(not_found()),
        true => Ok(installation),
    }
}
