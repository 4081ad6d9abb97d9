//! The connector side of global webhooks (seed 002): each app version's webhook URLs with
//! what they have received, and each installation's selectors.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use serde_json::Value;
use weir_core::AppId;
use weir_store::{EventSelector, GlobalWebhookStats};

use super::installations::load_installation;
use crate::auth::Caller;
use crate::body::PathParams;
use crate::error::ApiError;
use crate::pagination::ListResponse;
use crate::state::ServerState;

/// A global webhook: where the third party posts, and what came of it so far.
#[derive(Serialize)]
pub struct GlobalWebhookView {
    key: String,
    name: String,
    /// By the app's name: it stays put across versions (the newest version's `handle`
    /// answers), so the third party is configured once.
    url: String,
    /// This version's own URL, which keeps working.
    version_url: String,
    /// Requests, routed events and events that matched no installation's selector (not
    /// an error to the sender), with the selector of the last of those.
    #[serde(flatten)]
    stats: Value,
}

pub async fn list(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Json<ListResponse<GlobalWebhookView>>, ApiError> {
    caller.require_operator_or_account()?;
    let not_found = || ApiError::not_found(format!("app {id} not found"));
    let app_id = AppId::parse(&id).map_err(|_| not_found())?;
    let stored = state.store().app(&app_id).await?.ok_or_else(not_found)?;
    let app = state.engine.app(&app_id).await?;
    let stats = state.store().global_webhook_stats(&app_id).await?;
    let views = app
        .definition
        .global_webhooks
        .iter()
        .map(|webhook| {
            let counted = stats.iter().find(|s| s.webhook_key == webhook.key);
            GlobalWebhookView {
                key: webhook.key.clone(),
                name: webhook.name.clone(),
                url: global_webhook_url(state.public_url(), stored.name.as_str(), &webhook.key),
                version_url: global_webhook_url(state.public_url(), app_id.as_str(), &webhook.key),
                stats: stats_json(counted),
            }
        })
        .collect();
    Ok(Json(ListResponse {
        data: views,
        next_cursor: None,
    }))
}

/// `<public URL>/in/global/<app>/<key>`, each segment percent-encoded (names may hold
/// spaces and more).
fn global_webhook_url(public_url: &str, app: &str, key: &str) -> String {
    let Ok(mut url) = url::Url::parse(public_url) else {
        return format!("{public_url}/in/global/{app}/{key}");
    };
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(["in", "global", app, key]);
    }
    url.to_string()
}

fn stats_json(stats: Option<&GlobalWebhookStats>) -> Value {
    match stats {
        Some(stats) => serde_json::json!({
            "requests": stats.requests,
            "events_routed": stats.events_routed,
            "events_unmatched": stats.events_unmatched,
            "last_unmatched": stats.last_unmatched,
            "last_request_at": stats.last_request_at,
        }),
        None => serde_json::json!({
            "requests": 0, "events_routed": 0, "events_unmatched": 0,
            "last_unmatched": null, "last_request_at": null,
        }),
    }
}

pub async fn selectors(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Json<ListResponse<EventSelector>>, ApiError> {
    let installation = load_installation(&state, &caller, &id).await?;
    let selectors = state.store().selectors(&installation.id).await?;
    Ok(Json(ListResponse {
        data: selectors,
        next_cursor: None,
    }))
}

/// Runs the app's `getEventSelector`s again (say, after the third-party account changed).
pub async fn refresh_selectors(
    State(state): State<ServerState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Json<ListResponse<EventSelector>>, ApiError> {
    caller.require_operator_or_account()?;
    let installation = load_installation(&state, &caller, &id).await?;
    let selectors = state.engine.refresh_selectors(installation).await?;
    Ok(Json(ListResponse {
        data: selectors,
        next_cursor: None,
    }))
}
