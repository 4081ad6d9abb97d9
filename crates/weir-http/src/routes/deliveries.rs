//! Deliveries: each event owed to each subscription, with its attempts. An account key
//! sees its own account's; the admin names the account (or a subscription).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use weir_core::delivery::parse_delivery_id;
use weir_core::{AccountId, Attempt, Delivery, DeliveryStatus, SubscriptionId};
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
        Some(id) => Some(super::subscriptions::load(&state, &caller, id).await?),
        None => None,
    };
    let account = match (&caller, &query.account, &subscription) {
        (Caller::Account(own), _, _) => own.clone(),
        (Caller::Installation(_) | Caller::Client(_), _, _) => {
            return Err(ApiError::forbidden(
                "an installation's token cannot list deliveries",
            ));
        }
        (Caller::Admin, Some(account), _) => AccountId::parse(account)
            .map_err(|e| ApiError::bad_request(format!("account: {}", e.0)))?,
        (Caller::Admin, None, Some(subscription)) => subscription.account_id.clone(),
        (Caller::Admin, None, None) => {
            return Err(ApiError::bad_request(
                "name the account (?account=…) or a subscription (?subscription=…)",
            ));
        }
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
    if let Some(cursor) = &query.cursor
        && parse_delivery_id(cursor).is_none()
    {
        return Err(ApiError::bad_request(format!(
            "cursor: {cursor:?} is not a cursor this list gave"
        )));
    }
    let page = page_request(query.limit, query.cursor)?;
    let page = state.store().deliveries(&account, &filter, &page).await?;
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

async fn load(
    state: &ServerState,
    caller: &Caller,
    id: &str,
) -> Result<(Delivery, SubscriptionId), ApiError> {
    let not_found = || ApiError::not_found(format!("delivery {id} not found"));
    let (event, subscription) = parse_delivery_id(id).ok_or_else(not_found)?;
    let delivery = state
        .store()
        .delivery(&event, &subscription)
        .await?
        .ok_or_else(not_found)?;
    match caller.may_see(&delivery.account_id, None) {
        false => Err(not_found()),
        true => Ok((delivery, subscription)),
    }
}

fn instant(name: &str, value: Option<String>) -> Result<Option<jiff::Timestamp>, ApiError> {
    value
        .map(|text| {
            text.parse().map_err(|e| {
                ApiError::bad_request(format!("{name}: {text:?} is not an RFC 3339 time: {e}"))
            })
        })
        .transpose()
}
