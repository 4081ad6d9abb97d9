//! `/api/v1/apps/{id}/parameters`: the connector parameters the operator sets for an app
//! (integration.app's connector parameters). They belong to the app's name, so every
//! version gets them; `handle` and the connector methods receive them as `parameters`
//! (an installation's own values win). Secure values are stored and passed on, and never
//! shown again: answers list their names only.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use serde_json::{Map, Value};
use weir_core::{AppId, AppName, Iparams};
use weir_engine::commands::apps::AppParameters;

use crate::auth::Caller;
use crate::body::{JsonBody, PathParams};
use crate::error::ApiError;
use crate::state::ServerState;

#[derive(Serialize)]
pub struct ParametersView {
    app: AppName,
    public: Map<String, Value>,
    /// The names of the secure parameters.
    secure: Vec<String>,
}

pub async fn show(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Json<ParametersView>, ApiError> {
    caller.require_admin()?;
    let name = app_name(&state, &id).await?;
    let stored = state.store().app_parameters(&name).await?;
    Ok(Json(view(name, stored)))
}

pub async fn put(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    JsonBody(given): JsonBody<AppParameters>,
) -> Result<Json<ParametersView>, ApiError> {
    caller.require_admin()?;
    let name = app_name(&state, &id).await?;
    let parameters = state.engine.put_app_parameters(&name, given).await?;
    Ok(Json(view(name, parameters)))
}

/// The name of the app whose version `id` is.
async fn app_name(state: &ServerState, id: &str) -> Result<AppName, ApiError> {
    let not_found = || ApiError::not_found(format!("app {id} not found"));
    let app_id = AppId::parse(id).map_err(|_| not_found())?;
    let app = state.store().app(&app_id).await?.ok_or_else(not_found)?;
    Ok(app.name)
}

fn view(app: AppName, parameters: Iparams) -> ParametersView {
    ParametersView {
        app,
        public: parameters.public,
        secure: parameters.secure.keys().cloned().collect(),
    }
}
