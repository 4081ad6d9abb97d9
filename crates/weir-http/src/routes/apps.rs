//! `/api/v1/apps`: app packages. Each upload is a new immutable version; uploading the
//! same name again makes the next version. The zip itself is kept in the database, so
//! every node can load any app.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;
use weir_core::{App, AppId, AppName, Package, PackageError};
use weir_store::NewApp;

use crate::auth::Caller;
use crate::body::{PathParams, QueryParams, read_limited, require_content_type};
use crate::error::{ApiError, Detail};
use crate::pagination::{ListResponse, PageParams};
use crate::state::ServerState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadParams {
    /// Names the app when its manifest does not.
    name: Option<String>,
}

pub async fn upload(
    State(state): State<ServerState>,
    caller: Caller,
    QueryParams(params): QueryParams<UploadParams>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    caller.require_admin()?;
    require_content_type(
        &headers,
        &["application/zip", "application/x-zip-compressed"],
    )?;
    let archive = read_limited(body, state.limits.package_bytes).await?;
    let package = Package::from_zip(&archive, state.limits.package).map_err(package_error)?;
    // Compiling the app's JavaScript is CPU work: off the async threads.
    let checked = tokio::task::spawn_blocking(move || weir_sandbox::validate_package(&package))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "the package check failed");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error; see the server log",
            )
        })?;
    let definition = checked.map_err(|problems| {
        let details: Vec<Detail> = problems
            .iter()
            .map(|p| Detail {
                file: p.file.clone(),
                location: p.location.clone(),
                message: p.message.clone(),
            })
            .collect();
        let summary = problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        ApiError::unprocessable(format!("the package is not valid: {summary}"))
            .with_details(details)
    })?;
    let subscriptions = definition.product_subscriptions();
    let name = match params.name {
        Some(name) => {
            AppName::parse(&name).map_err(|e| ApiError::unprocessable(format!("name: {e}")))?
        }
        None => definition.name.ok_or_else(|| {
            ApiError::unprocessable(
                "the app has no name: add \"name\" to manifest.json or upload with ?name=<name>",
            )
        })?,
    };
    let app = state
        .store
        .insert_app(NewApp {
            id: AppId::generate(),
            name,
            platform_version: definition.platform_version.map(|v| v.as_str().to_owned()),
            package_sha256: weir_core::sha256_hex(&archive),
            package: archive.to_vec(),
            subscriptions,
            created_at: weir_core::now(),
        })
        .await?;
    let location = format!("/api/v1/apps/{}", app.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(app),
    ))
}

pub async fn list(
    State(state): State<ServerState>,
    caller: Caller,
    PageParams(page): PageParams,
) -> Result<Json<ListResponse<App>>, ApiError> {
    caller.require_operator_or_account()?;
    let page = state.store.apps(&page).await?;
    Ok(Json(ListResponse::from_page(page, |app| app)))
}

pub async fn show(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Json<App>, ApiError> {
    caller.require_operator_or_account()?;
    let not_found = || ApiError::not_found(format!("app {id} not found"));
    let app_id = AppId::parse(&id).map_err(|_| not_found())?;
    state
        .store
        .app(&app_id)
        .await?
        .map(Json)
        .ok_or_else(not_found)
}

fn package_error(error: PackageError) -> ApiError {
    match error {
        PackageError::NotZip(_) => ApiError::bad_request(error.to_string()),
        PackageError::TooLarge { .. } => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, error.to_string())
        }
        _ => ApiError::unprocessable(error.to_string()),
    }
}
