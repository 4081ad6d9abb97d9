//! Deliveries: each event owed to each subscription, with its attempts. An account key
//! sees its own account's; the admin names an account or a subscription, or lists every
//! account's. A delivery is found by its id, the `webhook-id` its requests carry.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use weir_core::delivery::parse_delivery_id;
use weir_core::{
    AccountId, Attempt, Delivery, DeliveryStatus, SubscriptionId, WebhookSubscription,
};
use weir_store::DeliveryFilter;

use crate::auth::Caller;
use crate::body::{PathParams, QueryParams};
use crate::error::ApiError;
use crate::pagination::{ListResponse, page_request};
use crate::state::ServerState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    account: Option<String>,
    subscription: Option<String>,
    status: Option<String>,
    event: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// A delivery as the API shows it: its id is the `webhook-id` its requests carry.
#[derive(Serialize)]
pub struct DeliveryView {
    id: String,
    #[serde(flatten)]
    delivery: Delivery,
    #[serde(skip_serializing_if = "Option::is_none")]
    attempts_made: Option<Vec<Attempt>>,
}

pub async fn list(
    State(state): State<ServerState>,
    caller: Caller,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<ListResponse<DeliveryView>>, ApiError> {
    let subscription = match &query.subscription {
        Some(id) => Some(subscription_to_list(&state, &caller, id).await?),
        None => None,
    };
    // `None`: every account's, which only the admin may see.
    let account = match (&caller, &query.account, &subscription) {
        (Caller::Portal(own), Some(named), _) if named != own.as_str() => {
            return Err(ApiError::forbidden(format!(
                "the portal link shows account {own}'s deliveries, not account {named}'s"
            )));
        }
        (Caller::Account(own) | Caller::Portal(own), _, _) => Some(own.clone()),
        (Caller::Installation(_) | Caller::Client(_), _, _) => {
            return Err(ApiError::forbidden(
                "an installation's token cannot list deliveries",
            ));
        }
        (Caller::Admin, Some(account), _) => Some(
            AccountId::parse(account)
                .map_err(|e| ApiError::bad_request(format!("account: {}", e.0)))?,
        ),
        (Caller::Admin, None, Some(subscription)) => Some(subscription.account_id.clone()),
        (Caller::Admin, None, None) => None,
    };
    let filter = DeliveryFilter {
        subscription: subscription.map(|s| s.id),
        status: query
            .status
            .map(|s| {
                DeliveryStatus::parse(&s).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "status: {s:?} is not one of pending, delivered, dead, skipped"
                    ))
                })
            })
            .transpose()?,
        event: query.event,
        since: instant("since", query.since)?,
        until: instant("until", query.until)?,
    };
    // A cursor is the last delivery id of a page, encoded as every list's cursor is.
    let page = page_request(query.limit, query.cursor.clone())?;
    if let Some(after) = &page.after
        && parse_delivery_id(after).is_none()
    {
        return Err(ApiError::bad_request(format!(
            "cursor: {:?} is not a cursor this list gave",
            query.cursor.unwrap_or_default()
        )));
    }
    let page = match &account {
        Some(account) => state.store().deliveries(account, &filter, &page).await?,
        None => state.store().deliveries_everywhere(&filter, &page).await?,
    };
    Ok(Json(ListResponse::from_page(page, |delivery| {
        DeliveryView {
            id: delivery.id(),
            delivery,
            attempts_made: None,
        }
    })))
}

pub async fn show(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Json<DeliveryView>, ApiError> {
    let (delivery, _) = load(&state, &caller, &id).await?;
    let attempts = state
        .store()
        .attempts(&delivery.event_id, &delivery.subscription_id)
        .await?;
    Ok(Json(DeliveryView {
        id: delivery.id(),
        delivery,
        attempts_made: Some(attempts),
    }))
}

/// Sends a delivered or dead delivery again, with the same `webhook-id` and the whole
/// retry schedule ahead of it.
pub async fn replay(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (delivery, _) = load(&state, &caller, &id).await?;
    state.engine.replay_delivery(&delivery).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({"id": id, "status": "pending"})),
    ))
}

/// Makes the delivery's next attempt due now (a dead one is replayed; a delivered one is
/// 409, replay it; one with an attempt in flight is 409): 202 with the delivery.
pub async fn retry(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<(StatusCode, Json<DeliveryView>), ApiError> {
    let (delivery, subscription) = load(&state, &caller, &id).await?;
    state.engine.retry_delivery_now(&delivery).await?;
    let delivery = state
        .store()
        .delivery(&delivery.event_id, &subscription)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("delivery {id} not found")))?;
    Ok((
        StatusCode::ACCEPTED,
        Json(DeliveryView {
            id: delivery.id(),
            delivery,
            attempts_made: None,
        }),
    ))
}

async fn load(
    state: &ServerState,
    caller: &Caller,
    id: &str,
) -> Result<(Delivery, SubscriptionId), ApiError> {
    let not_found = || ApiError::not_found(format!("delivery {id} not found"));
    if id.starts_with(BATCH_PREFIX) {
        return Err(ApiError::not_found(format!(
            "{id} is the webhook-id of a call that carried several deliveries (a batch), \
             not of one delivery; it is made from their ids and not stored: find each \
             delivery by its own id (msg_<event>_<subscription>), or list the \
             subscription's deliveries (GET /api/v1/deliveries?subscription=…)"
        )));
    }
    let (event, subscription) = parse_delivery_id(id).ok_or_else(not_found)?;
    let delivery = state
        .store()
        .delivery(&event, &subscription)
        .await?
        .ok_or_else(not_found)?;
    if let Caller::Portal(_) = caller {
        caller.require_account_portal(&delivery.account_id)?;
        return Ok((delivery, subscription));
    }
    match caller.may_see(&delivery.account_id, None) {
        false => Err(not_found()),
        true => Ok((delivery, subscription)),
    }
}

/// The subscription whose deliveries are listed: one the caller may see, or, through a
/// portal link, one of the link's account (another account's is 403).
async fn subscription_to_list(
    state: &ServerState,
    caller: &Caller,
    id: &str,
) -> Result<WebhookSubscription, ApiError> {
    if !matches!(caller, Caller::Portal(_)) {
        return super::subscriptions::load(state, caller, id).await;
    }
    let not_found = || ApiError::not_found(format!("subscription {id} not found"));
    let parsed = SubscriptionId::parse(id).map_err(|_| not_found())?;
    let subscription = state.store().webhook_subscription(&parsed).await?;
    let subscription = subscription.ok_or_else(not_found)?;
    caller.require_account_portal(&subscription.account_id)?;
    Ok(subscription)
}

/// How a batch's `webhook-id` begins (`weir_core::delivery::batch_id`).
const BATCH_PREFIX: &str = "msg_batch_";

fn instant(name: &str, value: Option<String>) -> Result<Option<jiff::Timestamp>, ApiError> {
    value
        .map(|text| {
            text.parse().map_err(|e| {
                ApiError::bad_request(format!("{name}: {text:?} is not an RFC 3339 time: {e}"))
            })
        })
        .transpose()
}
