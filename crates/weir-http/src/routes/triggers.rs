//! Registered webhooks triggered from outside the sandbox: the installation's browser app
//! calls `POST /installations/{id}/webhooks/{webhook_id}/trigger` with a client token that
//! may do that and nothing else. The rules and the answer are `$webhooks.trigger`'s
//! (see `weir_engine::registered_webhooks`).

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};
use weir_engine::registered_webhooks::Trigger;

use super::installations::load_installation;
use crate::auth::Caller;
use crate::body::{JsonBody, PathParams};
use crate::error::ApiError;
use crate::state::ServerState;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TriggerBody {
    #[serde(default)]
    data: Value,
    #[serde(default)]
    headers: Value,
    #[serde(default, rename = "queryParams")]
    query_params: Value,
}

/// A new client token for the installation (replacing any): shown once.
pub async fn issue_client_token(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require_operator_or_account()?;
    let installation = load_installation(&state, &caller, &id).await?;
    let token = state.engine.issue_client_token(&installation).await?;
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({"installation_id": installation.id, "token": token.expose()})),
    ))
}

/// Browser apps call from their own origin: the preflight is answered, and the answer
/// allows any origin (the client token, not a cookie, is the credential).
pub async fn preflight() -> impl IntoResponse {
    (
        StatusCode::NO_CONTENT,
        [
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::ACCESS_CONTROL_ALLOW_METHODS, "POST"),
            (
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                "authorization, content-type",
            ),
            (header::ACCESS_CONTROL_MAX_AGE, "600"),
        ],
    )
}

pub async fn trigger(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams((id, webhook_id)): PathParams<(String, String)>,
    JsonBody(body): JsonBody<TriggerBody>,
) -> Result<impl IntoResponse, ApiError> {
    let answer = trigger_for(&state, &caller, id, webhook_id, body).await;
    let cors = [(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")];
    Ok(match answer {
        Ok(result) => (cors, Json(result)).into_response(),
        Err(error) => (cors, error).into_response(),
    })
}

async fn trigger_for(
    state: &ServerState,
    caller: &Caller,
    id: String,
    webhook_id: String,
    body: TriggerBody,
) -> Result<Value, ApiError> {
    let installation = match caller {
        // A client token is its installation's alone; any other id is "not found".
        Caller::Client(own) if own.as_str() == id => {
            let found = state.store().installation(own).await?;
            found.ok_or_else(|| ApiError::not_found(format!("installation {id} not found")))?
        }
        Caller::Client(_) => {
            return Err(ApiError::not_found(format!("installation {id} not found")));
        }
        Caller::Admin | Caller::Account(_) => load_installation(state, caller, &id).await?,
        Caller::Installation(_) => {
            return Err(ApiError::forbidden(
                "a securityContext cannot trigger webhooks: use the installation's client token",
            ));
        }
        Caller::Portal(_) => {
            return Err(ApiError::forbidden("a portal link cannot trigger webhooks"));
        }
    };
    let trigger = Trigger {
        webhook_id,
        data: body.data,
        headers: body.headers,
        query_params: body.query_params,
    };
    Ok(state.engine.trigger_webhook(installation, trigger).await?)
}
