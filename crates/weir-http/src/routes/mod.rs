//! The route table, and the lookups that several resources share.

mod accounts;
mod api_keys;
mod app_parameters;
mod apps;
mod deliveries;
mod events;
mod global_webhooks;
mod health;
mod inbound;
mod installations;
mod invocations;
mod oauth;
mod operational_webhooks;
mod subscriptions;
mod triggers;
mod webhook_invocations;

use axum::Router;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{delete, get, post, put};
use weir_core::{Account, AccountId};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::ServerState;

pub fn router(state: ServerState) -> Router {
    let api = Router::new()
        .route("/accounts", get(accounts::list).post(accounts::create))
        .route(
            "/accounts/{id}",
            get(accounts::show)
                .patch(accounts::update)
                .delete(accounts::delete),
        )
        .route(
            "/accounts/{id}/api-keys",
            get(api_keys::list).post(api_keys::create),
        )
        .route("/accounts/{id}/api-keys/{key_id}", delete(api_keys::delete))
        .route(
            "/accounts/{id}/installations",
            get(installations::list).post(installations::create),
        )
        .route(
            "/installations/{id}",
            get(installations::show).delete(installations::delete),
        )
        .route("/accounts/{id}/events", post(events::post))
        .route("/events/{id}", get(events::show))
        .route("/installations/{id}/invocations", get(invocations::list))
        .route("/invocations/{id}", get(invocations::show))
        .route("/apps", get(apps::list).post(apps::upload))
        .route("/apps/{id}", get(apps::show))
        .route("/apps/{id}/global-webhooks", get(global_webhooks::list))
        .route(
            "/apps/{id}/parameters",
            get(app_parameters::show).put(app_parameters::put),
        )
        .route(
            "/accounts/{id}/subscriptions",
            get(subscriptions::list).post(subscriptions::create),
        )
        .route(
            "/subscriptions/{id}",
            get(subscriptions::show)
                .patch(subscriptions::update)
                .delete(subscriptions::delete),
        )
        .route(
            "/subscriptions/{id}/rotate-secret",
            post(subscriptions::rotate_secret),
        )
        .route("/subscriptions/{id}/enable", post(subscriptions::enable))
        .route("/subscriptions/{id}/recover", post(subscriptions::recover))
        .route(
            "/operational-webhooks",
            get(operational_webhooks::list).post(operational_webhooks::create),
        )
        .route(
            "/operational-webhooks/{id}",
            get(operational_webhooks::show)
                .patch(operational_webhooks::update)
                .delete(operational_webhooks::delete),
        )
        .route(
            "/installations/{id}/webhook-invocations",
            get(webhook_invocations::list),
        )
        .route("/webhook-invocations/{id}", get(webhook_invocations::show))
        .route(
            "/installations/{id}/client-token",
            post(triggers::issue_client_token),
        )
        .route(
            "/installations/{id}/webhooks/{webhook_id}/trigger",
            post(triggers::trigger).options(triggers::preflight),
        )
        .route("/deliveries", get(deliveries::list))
        .route("/deliveries/{id}", get(deliveries::show))
        .route("/deliveries/{id}/replay", post(deliveries::replay))
        .route(
            "/installations/{id}/event-selectors",
            get(global_webhooks::selectors),
        )
        .route(
            "/installations/{id}/event-selectors/refresh",
            post(global_webhooks::refresh_selectors),
        )
        .route("/installations/{id}/oauth", get(oauth::show))
        .route(
            "/installations/{id}/oauth/authorize",
            post(oauth::authorize),
        )
        .route(
            "/installations/{id}/oauth/token",
            put(oauth::put_token).delete(oauth::delete_token),
        );
    Router::new()
        .nest("/api/v1", api)
        .route(
            "/in/{token}",
            get(inbound::target_get).post(inbound::target_post),
        )
        .route(
            "/in/{token}/events/{event_key}",
            post(inbound::connector_event_post),
        )
        .route(
            "/in/global/{app}/{key}",
            get(inbound::global_get).post(inbound::global_post),
        )
        .route(weir_engine::oauth::CALLBACK_PATH, get(oauth::callback))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            count_request,
        ))
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        // Bodies are read, and limited, by our own extractors (`body.rs`).
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

/// A worker-only node answers health checks and nothing else.
pub fn health_router(state: ServerState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .fallback(no_route)
        .with_state(state)
}

/// Counts each request a route answered, by the route's template (not its path, so
/// that ids make no new series), its method and its status, with the time it took.
async fn count_request(
    State(state): State<ServerState>,
    route: MatchedPath,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    state
        .engine
        .observe_http(route.as_str(), &method, status, started.elapsed());
    response
}

async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route for {method} {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed on {}", uri.path()),
    )
}

/// The account named in the path, if it exists and the caller may act on it.
async fn load_account(state: &ServerState, caller: &Caller, id: &str) -> Result<Account, ApiError> {
    let not_found = || ApiError::not_found(format!("account {id} not found"));
    let id = AccountId::parse(id).map_err(|_| not_found())?;
    caller.require_account(&id)?;
    state.store().account(&id).await?.ok_or_else(not_found)
}
