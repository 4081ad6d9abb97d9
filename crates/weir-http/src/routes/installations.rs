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
    AccountId, App, AppDefinition, AppId, AppName, Departments, Installation, InstallationId,
    InstallationStatus, Iparams, Package,
};
use weir_engine::RunError;
use weir_engine::lifecycle::{self, LifecycleError};
use weir_store::PageRequest;

use super::load_account;
use crate::auth::Caller;
use crate::body::{JsonBody, PathParams, QueryParams};
use crate::error::ApiError;
use crate::pagination::{ListResponse, PageParams};
use crate::state::ServerState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateInstallation {
    app_id: AppId,
    #[serde(default)]
    iparams: Map<String, Value>,
    #[serde(default)]
    departments: Departments,
    #[serde(default)]
    scopes: Vec<String>,
}

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

pub async fn create(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(account_id): PathParams<String>,
    JsonBody(body): JsonBody<CreateInstallation>,
) -> Result<impl IntoResponse, ApiError> {
    let account = load_account(&state, &caller, &account_id).await?;
    // Cheap checks first: the package is read only for a request that could succeed.
    if let Some(unknown) = body
        .departments
        .iter()
        .find(|d| !account.departments.contains(d))
    {
        return Err(ApiError::unprocessable(format!(
            "departments: {unknown:?} is not a department of account {}",
            account.id
        )));
    }
    let no_app =
        || ApiError::unprocessable(format!("app_id: no app {} has been uploaded", body.app_id));
    let app = state.store.app(&body.app_id).await?.ok_or_else(no_app)?;
    let definition = load_definition(&state, &app.id).await?;
    if let Some(installed) = active_installation_of(&state, &account.id, &app.name).await? {
        let updated = update(&state, installed, &app, &definition, body).await?;
        let location = format!("/api/v1/installations/{}", updated.id);
        return Ok((
            StatusCode::OK,
            [(header::LOCATION, location)],
            Json(InstallationView::new(updated, &state.public_url)),
        ));
    }
    let iparams = Iparams::from_given(&definition.iparams, body.iparams)
        .map_err(|e| ApiError::unprocessable(e.0))?;
    let scopes = granted_scopes(&definition.authorisation_scopes, body.scopes)?;
    let now = weir_core::now();
    let installation = Installation {
        id: InstallationId::generate(),
        account_id: account.id,
        app_id: app.id.clone(),
        app_name: app.name.clone(),
        status: InstallationStatus::Installing,
        iparams,
        departments: body.departments,
        scopes,
        target_token: weir_core::TargetToken::generate(),
        created_at: now,
        updated_at: now,
    };
    let runner = state.runner.clone();
    let installed = to_the_end(async move { lifecycle::install(&runner, installation).await })
        .await?
        .map_err(lifecycle_error)?;
    let location = format!("/api/v1/installations/{}", installed.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(InstallationView::new(installed, &state.public_url)),
    ))
}

/// Runs a lifecycle change to its end even if the client goes away meanwhile: dropped
/// half-way, an install would be left `installing` and an update unreverted.
async fn to_the_end<T: Send + 'static>(
    change: impl Future<Output = T> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::spawn(change).await.map_err(|error| {
        tracing::error!(%error, "a lifecycle change panicked");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error; see the server log",
        )
    })
}

/// The account's active installation of the app (any version), if there is one.
async fn active_installation_of(
    state: &ServerState,
    account: &AccountId,
    app: &AppName,
) -> Result<Option<Installation>, ApiError> {
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let found = state.store.installations(account, &page).await?;
        if let Some(same) = found.items.into_iter().find(|i| i.app_name == *app) {
            return Ok(Some(same));
        }
        match found.next_after {
            Some(after) => page.after = Some(after),
            None => return Ok(None),
        }
    }
}

/// Installing a newer version of an installed app updates the installation to it (and
/// runs its `afterAppUpdate`). The installation keeps its iparams, scopes and departments,
/// which must suit the new version.
async fn update(
    state: &ServerState,
    installed: Installation,
    newer: &App,
    definition: &AppDefinition,
    body: CreateInstallation,
) -> Result<Installation, ApiError> {
    let current = state.store.app(&installed.app_id).await?.ok_or_else(|| {
        ApiError::from(weir_store::StoreError::Corrupt(format!(
            "installation {} names a missing app",
            installed.id
        )))
    })?;
    if newer.version <= current.version {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "app {:?} version {} is already installed in account {} (installation {}); \
                 install a newer version to update it, or uninstall it first",
                current.name.as_str(),
                current.version,
                installed.account_id,
                installed.id
            ),
        ));
    }
    if !body.iparams.is_empty()
        || !body.scopes.is_empty()
        || body.departments.iter().next().is_some()
    {
        return Err(ApiError::unprocessable(format!(
            "this installs version {} over installation {}, which keeps its iparams, scopes \
             and departments: leave them out",
            newer.version, installed.id
        )));
    }
    let mut kept = installed.iparams.public.clone();
    kept.extend(installed.iparams.secure.clone());
    Iparams::from_given(&definition.iparams, kept).map_err(|e| {
        ApiError::unprocessable(format!(
            "the iparams of installation {} do not suit version {}: {}",
            installed.id, newer.version, e.0
        ))
    })?;
    granted_scopes(&definition.authorisation_scopes, installed.scopes.clone())?;
    let (runner, to) = (state.runner.clone(), newer.id.clone());
    let updated =
        to_the_end(async move { lifecycle::update(&runner, installed, &to).await }).await?;
    updated.map_err(|error| match error {
        LifecycleError::Refused { event, message, .. } => ApiError::unprocessable(format!(
            "the app refused the update ({event}): {message}; \
             the installation stays on version {}",
            current.version
        )),
        other => lifecycle_error(other),
    })
}

/// How the app's refusals and the engine's failures are answered.
fn lifecycle_error(error: LifecycleError) -> ApiError {
    match error {
        LifecycleError::Refused {
            event:
                event @ (lifecycle::INSTALL_EVENT
                | lifecycle::SELECTOR_STEP
                | lifecycle::SUBSCRIBE_STEP
                | lifecycle::RESOURCES_STEP),
            message,
            ..
        } => ApiError::unprocessable(format!("the app refused the install ({event}): {message}")),
        LifecycleError::Refused {
            event,
            message,
            invocation,
        } => {
            let record = invocation.map_or(String::new(), |id| format!(" (invocation {id})"));
            ApiError::new(
                StatusCode::CONFLICT,
                format!("the app refused ({event}): {message}{record}"),
            )
        }
        LifecycleError::Store(error) => error.into(),
        LifecycleError::Run(RunError::Store(error)) => error.into(),
        LifecycleError::Run(error) => {
            tracing::error!(%error, "a lifecycle handler could not run");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error; see the server log",
            )
        }
    }
}

/// The app's definition, read from its stored package. Unzipping and parsing is CPU
/// work, so it runs off the async threads.
async fn load_definition(state: &ServerState, app_id: &AppId) -> Result<AppDefinition, ApiError> {
    let archive = state.store.app_package(app_id).await?.ok_or_else(|| {
        ApiError::unprocessable(format!("app_id: no app {app_id} has been uploaded"))
    })?;
    let limits = state.limits.package;
    let parsed = tokio::task::spawn_blocking(move || {
        Package::from_zip(&archive, limits)
            .ok()
            .and_then(|package| AppDefinition::parse(&package).ok())
    })
    .await;
    // The package was checked on upload; failing now is the server's problem.
    parsed.ok().flatten().ok_or_else(|| {
        tracing::error!(app = %app_id, "a stored app package no longer parses");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error; see the server log",
        )
    })
}

/// The scopes granted must be among those the app asks for (Zoho's
/// `zohoAuthorisation.scope`); each is kept once.
fn granted_scopes(requested: &[String], given: Vec<String>) -> Result<Vec<String>, ApiError> {
    let mut granted: Vec<String> = Vec::new();
    for scope in given {
        if !requested.contains(&scope) {
            let asked = if requested.is_empty() {
                "none".to_owned()
            } else {
                requested.join(", ")
            };
            return Err(ApiError::unprocessable(format!(
                "scopes: the app does not ask for {scope:?} (it asks for: {asked})"
            )));
        }
        if !granted.contains(&scope) {
            granted.push(scope);
        }
    }
    Ok(granted)
}

pub async fn list(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(account_id): PathParams<String>,
    PageParams(page): PageParams,
) -> Result<Json<ListResponse<InstallationView>>, ApiError> {
    let account = load_account(&state, &caller, &account_id).await?;
    let page = state.store.installations(&account.id, &page).await?;
    Ok(Json(ListResponse::from_page(page, |i| {
        InstallationView::new(i, &state.public_url)
    })))
}

pub async fn show(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Json<InstallationView>, ApiError> {
    let installation = load_installation(&state, &caller, &id).await?;
    Ok(Json(InstallationView::new(installation, &state.public_url)))
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
    let not_now = match installation.status {
        InstallationStatus::Active => None,
        InstallationStatus::Uninstalled => Some("is already uninstalled"),
        InstallationStatus::Installing => Some("is still being installed"),
    };
    if let Some(why) = not_now {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("installation {id} {why}"),
        ));
    }
    state.targets.forget(&installation);
    let runner = state.runner.clone();
    let force = params.force;
    let uninstalling = installation.clone();
    to_the_end(async move { lifecycle::uninstall(&runner, uninstalling, force).await })
        .await?
        .map_err(lifecycle_error)?;
    // A request that came meanwhile may have cached it as it was.
    state.targets.forget(&installation);
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn load_installation(
    state: &ServerState,
    caller: &Caller,
    id: &str,
) -> Result<Installation, ApiError> {
    let not_found = || ApiError::not_found(format!("installation {id} not found"));
    let id = InstallationId::parse(id).map_err(|_| not_found())?;
    let installation = state.store.installation(&id).await?.ok_or_else(not_found)?;
    // Another account's installation is "not found": its existence is not this caller's
    // business.
    match caller.may_see(&installation.account_id, Some(&installation.id)) {
        false => Err(not_found()),
        true => Ok(installation),
    }
}
