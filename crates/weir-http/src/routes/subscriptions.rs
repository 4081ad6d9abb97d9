//! Webhook subscriptions: where an account's events are delivered (Zoho's
//! CUSTOMER_WEBHOOK). The signing secret is shown when it is made (created or rotated),
//! never again. Extension webhooks, which apps' `resources.json` make, are listed here
//! but only the app's lifecycle changes them. The rules are the engine's
//! (`weir_engine::commands::subscriptions`).

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use weir_core::{
    AccountId, InstallationId, SignatureScheme, SubscriptionId, SubscriptionKind,
    WebhookSubscription,
};
use weir_engine::commands::subscriptions::{NewSubscription, SubscriptionUpdate};

use super::load_account;
use crate::auth::Caller;
use crate::body::{JsonBody, PathParams, parse_json, read_limited};
use crate::error::ApiError;
use crate::pagination::{ListResponse, PageParams};
use crate::state::ServerState;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Rotation {
    /// How long the old secret keeps signing (both are sent meanwhile).
    grace_seconds: Option<i64>,
}

#[derive(Serialize)]
pub struct SubscriptionView {
    id: SubscriptionId,
    account_id: AccountId,
    #[serde(rename = "type")]
    kind: SubscriptionKind,
    installation_id: Option<InstallationId>,
    url: String,
    events: Vec<String>,
    filters: Map<String, Value>,
    enabled: bool,
    disabled_reason: Option<String>,
    timeout_ms: u32,
    max_in_flight: u32,
    rate_per_second: Option<u32>,
    fifo: bool,
    batch_size: u32,
    linger_ms: u32,
    /// Since when every attempt has failed (it is disabled when this lasts too long).
    failing_since: Option<Timestamp>,
    /// `v1` (HMAC-SHA256) or `v1a` (Ed25519).
    signature_scheme: SignatureScheme,
    /// For `v1a`: the `whpk_…` public key receivers verify with (never secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    public_key: Option<String>,
    /// The secrets replaced by rotations that still sign, each until its own time (the
    /// secrets themselves are never shown).
    previous_secrets: Vec<PreviousSecretView>,
    /// Until when the last of them still signs.
    previous_secret_expires_at: Option<Timestamp>,
    /// Only in the answers that make a secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

/// A previous secret, as the API shows it: when it stops signing (and, for `v1a`, its
/// public key, so a receiver can tell which keys it still needs).
#[derive(Serialize)]
pub struct PreviousSecretView {
    expires_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    public_key: Option<String>,
}

impl SubscriptionView {
    fn new(subscription: WebhookSubscription, show_secret: bool) -> Self {
        let now = weir_core::now();
        let previous_secrets: Vec<PreviousSecretView> = subscription
            .previous_secrets
            .iter()
            .filter(|previous| previous.until > now)
            .map(|previous| PreviousSecretView {
                expires_at: previous.until,
                public_key: previous.secret.public_key(),
            })
            .collect();
        SubscriptionView {
            secret: show_secret.then(|| subscription.secret.as_str().to_owned()),
            signature_scheme: subscription.secret.scheme(),
            public_key: subscription.secret.public_key(),
            previous_secret_expires_at: previous_secrets.iter().map(|p| p.expires_at).max(),
            previous_secrets,
            id: subscription.id,
            account_id: subscription.account_id,
            kind: subscription.kind,
            installation_id: subscription.installation_id,
            url: subscription.url,
            events: subscription.events,
            filters: subscription.filters,
            enabled: subscription.enabled,
            disabled_reason: subscription.disabled_reason,
            timeout_ms: subscription.timeout_ms,
            max_in_flight: subscription.max_in_flight,
            rate_per_second: subscription.rate_per_second,
            fifo: subscription.fifo,
            batch_size: subscription.batch_size,
            linger_ms: subscription.linger_ms,
            failing_since: subscription.failing_since,
            created_at: subscription.created_at,
            updated_at: subscription.updated_at,
        }
    }
}

pub async fn create(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(account_id): PathParams<String>,
    JsonBody(body): JsonBody<NewSubscription>,
) -> Result<impl IntoResponse, ApiError> {
    let account = load_account(&state, &caller, &account_id).await?;
    let subscription = state.engine.create_subscription(&account, body).await?;
    let location = format!("/api/v1/subscriptions/{}", subscription.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(SubscriptionView::new(subscription, true)),
    ))
}

pub async fn list(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(account_id): PathParams<String>,
    PageParams(page): PageParams,
) -> Result<Json<ListResponse<SubscriptionView>>, ApiError> {
    let account = super::load_portal_account(&state, &caller, &account_id).await?;
    let page = state
        .store()
        .webhook_subscriptions(&account.id, &page)
        .await?;
    Ok(Json(ListResponse::from_page(page, |s| {
        SubscriptionView::new(s, false)
    })))
}

pub async fn show(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Json<SubscriptionView>, ApiError> {
    let subscription = load(&state, &caller, &id).await?;
    Ok(Json(SubscriptionView::new(subscription, false)))
}

pub async fn update(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    JsonBody(body): JsonBody<SubscriptionUpdate>,
) -> Result<Json<SubscriptionView>, ApiError> {
    let subscription = load(&state, &caller, &id).await?;
    let changed = state.engine.change_subscription(subscription, body).await?;
    Ok(Json(SubscriptionView::new(changed, false)))
}

pub async fn delete(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    let subscription = load(&state, &caller, &id).await?;
    state.engine.delete_subscription(&subscription).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new secret; the old one keeps signing (beside the new) for the grace period, so
/// receivers can switch without losing a delivery.
pub async fn rotate_secret(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    body: axum::body::Body,
) -> Result<Json<SubscriptionView>, ApiError> {
    let subscription = load(&state, &caller, &id).await?;
    // The body is optional: `{"grace_seconds": …}`, or nothing for the default.
    let bytes = read_limited(body, state.limits.json_body_bytes).await?;
    let rotation: Rotation = match bytes.is_empty() {
        true => Rotation::default(),
        false => parse_json(&bytes)?,
    };
    let rotated = state
        .engine
        .rotate_secret(subscription, rotation.grace_seconds)
        .await?;
    Ok(Json(SubscriptionView::new(rotated, true)))
}

/// Turns a disabled subscription (by a 410, or the operator) back on. Deliveries that
/// died meanwhile stay dead; replay them if they are wanted.
pub async fn enable(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Json<SubscriptionView>, ApiError> {
    let subscription = load(&state, &caller, &id).await?;
    let enabled = state.engine.enable_subscription(subscription).await?;
    Ok(Json(SubscriptionView::new(enabled, false)))
}

/// The subscription, if the caller may see it; another account's is "not found".
pub(super) async fn load(
    state: &ServerState,
    caller: &Caller,
    id: &str,
) -> Result<WebhookSubscription, ApiError> {
    let not_found = || ApiError::not_found(format!("subscription {id} not found"));
    let id = SubscriptionId::parse(id).map_err(|_| not_found())?;
    let subscription = state
        .store()
        .webhook_subscription(&id)
        .await?
        .ok_or_else(not_found)?;
    let installation = subscription.installation_id.as_ref();
    match caller.may_see(&subscription.account_id, installation) {
        false => Err(not_found()),
        true => Ok(subscription),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recovery {
    since: Timestamp,
}

/// Sends again every delivery of the subscription that died since a time (say, while the
/// receiver was down): each with its `webhook-id` and the whole retry schedule ahead.
pub async fn recover(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    JsonBody(body): JsonBody<Recovery>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require_operator_or_account()?;
    let subscription = load(&state, &caller, &id).await?;
    let recovered = state
        .engine
        .recover_deliveries(&subscription, body.since)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({"recovered": recovered})),
    ))
}
