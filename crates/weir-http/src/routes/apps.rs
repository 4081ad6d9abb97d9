//! `/api/v1/apps`: app packages. Each upload is a new immutable version; uploading the
//! same name again makes the next version. The zip itself is kept in the database, so
//! every node can load any app.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;
use weir_core::{App, AppId};

use crate::auth::Caller;
use crate::body::{PathParams, QueryParams, read_limited, require_content_type};
use crate::error::ApiError;
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
    let app = state
        .engine
        .upload_app(archive.to_vec(), params.name)
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
    let page = state.store().apps(&page).await?;
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
        .store()
        .app(&app_id)
        .await?
        .map(Json)
        .ok_or_else(not_found)
}
