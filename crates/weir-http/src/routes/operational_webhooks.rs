//! `/api/v1/operational-webhooks`: the operator's endpoints for Weir's own events
//! (docs/operational-webhooks.md), admin only. They are subscriptions underneath, so
//! their secret is rotated, a disabled one enabled and its deliveries recovered through
//! `/subscriptions/{id}/…`, and their deliveries are listed with
//! `/deliveries?subscription={id}`. The rules are the engine's
//! (`weir_engine::commands::operational_webhooks`).

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use jiff::Timestamp;
use serde::Serialize;
use weir_core::{SubscriptionId, WebhookSubscription};
use weir_engine::commands::operational_webhooks::{
    NewOperationalWebhook, OperationalWebhookUpdate,
};

use crate::auth::Caller;
use crate::body::{JsonBody, PathParams};
use crate::error::ApiError;
use crate::pagination::{ListResponse, PageParams};
use crate::state::ServerState;

#[derive(Serialize)]
pub struct OperationalWebhookView {
    id: SubscriptionId,
    url: String,
    events: Vec<String>,
    enabled: bool,
    disabled_reason: Option<String>,
    timeout_ms: u32,
    max_in_flight: u32,
    rate_per_second: Option<u32>,
    fifo: bool,
    /// Since when every attempt has failed.
    failing_since: Option<Timestamp>,
    /// Until when the secret before the last rotation still signs.
    previous_secret_expires_at: Option<Timestamp>,
    /// Only in the answer that makes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl OperationalWebhookView {
    fn new(webhook: WebhookSubscription, show_secret: bool) -> Self {
        OperationalWebhookView {
            secret: show_secret.then(|| webhook.secret.as_str().to_owned()),
            previous_secret_expires_at: webhook.previous_secrets.iter().map(|p| p.until).max(),
            id: webhook.id,
            url: webhook.url,
            events: webhook.events,
            enabled: webhook.enabled,
            disabled_reason: webhook.disabled_reason,
            timeout_ms: webhook.timeout_ms,
            max_in_flight: webhook.max_in_flight,
            rate_per_second: webhook.rate_per_second,
            fifo: webhook.fifo,
            failing_since: webhook.failing_since,
            created_at: webhook.created_at,
            updated_at: webhook.updated_at,
        }
    }
}

pub async fn create(
    State(state): State<ServerState>,
    caller: Caller,
    JsonBody(body): JsonBody<NewOperationalWebhook>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require_admin()?;
    let webhook = state.engine.create_operational_webhook(body).await?;
    let location = format!("/api/v1/operational-webhooks/{}", webhook.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(OperationalWebhookView::new(webhook, true)),
    ))
}

pub async fn list(
    State(state): State<ServerState>,
    caller: Caller,
    PageParams(page): PageParams,
) -> Result<Json<ListResponse<OperationalWebhookView>>, ApiError> {
    caller.require_admin()?;
    let page = state.engine.operational_webhooks(&page).await?;
    Ok(Json(ListResponse::from_page(page, |w| {
        OperationalWebhookView::new(w, false)
    })))
}

pub async fn show(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Json<OperationalWebhookView>, ApiError> {
    caller.require_admin()?;
    let webhook = state.engine.operational_webhook(&id).await?;
    Ok(Json(OperationalWebhookView::new(webhook, false)))
}

pub async fn update(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    JsonBody(body): JsonBody<OperationalWebhookUpdate>,
) -> Result<Json<OperationalWebhookView>, ApiError> {
    caller.require_admin()?;
    let webhook = state.engine.operational_webhook(&id).await?;
    let changed = state
        .engine
        .change_operational_webhook(webhook, body)
        .await?;
    Ok(Json(OperationalWebhookView::new(changed, false)))
}

pub async fn delete(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    let webhook = state.engine.operational_webhook(&id).await?;
    state.engine.delete_subscription(&webhook).await?;
    Ok(StatusCode::NO_CONTENT)
}
