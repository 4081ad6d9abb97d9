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

mod table;

pub use table::document;

use std::sync::OnceLock;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;
use weir_core::{Account, AccountId};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::ServerState;

/// Everything `weir serve` answers: `all_routes`, counted, with the API's fallbacks.
pub fn router(state: ServerState) -> Router {
    all_routes()
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
    routes_of(table::health_routes())
        .fallback(no_route)
        .with_state(state)
}

/// Every route `weir serve` has. The API's come from the table, which the OpenAPI
/// document is made of; pages for people (which the document need not describe) would be
/// merged here too. A test checks that every `/api/v1` route here is documented and every
/// documented route is here: add routes here, not in `router`.
fn all_routes() -> Router<ServerState> {
    routes_of(table::routes()).merge(crate::console::routes())
}

/// The router of these routes.
fn routes_of(routes: Vec<table::Route>) -> Router<ServerState> {
    routes.into_iter().fold(Router::new(), |router, route| {
        router.route(route.path, route.handler)
    })
}

/// `GET /api/v1/openapi.json`: made once, from the table.
async fn openapi_json() -> Response {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    let text = DOCUMENT.get_or_init(|| {
        serde_json::to_string_pretty(&table::document()).expect("a JSON value serializes")
    });
    ([(header::CONTENT_TYPE, "application/json")], text.as_str()).into_response()
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
    let traceparent = request
        .headers()
        .get("traceparent")
        .and_then(|value| value.to_str().ok());
    let span = tracing::debug_span!(
        target: crate::REQUEST_SPAN_TARGET,
        "http.request",
        otel.kind = "server",
        http.request.method = %method,
        http.route = route.as_str(),
        http.response.status_code = tracing::field::Empty,
        traceparent,
    );
    let started = Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    span.record("http.response.status_code", status);
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

/// The account named in the path, if it exists and the caller may see it in its portal.
async fn load_portal_account(
    state: &ServerState,
    caller: &Caller,
    id: &str,
) -> Result<Account, ApiError> {
    let parsed = account_id(id)?;
    caller.require_account_portal(&parsed)?;
    let found = state.store().account(&parsed).await?;
    found.ok_or_else(|| account_not_found(id))
}

/// The account named in the path, if it exists and the caller may act on it.
async fn load_account(state: &ServerState, caller: &Caller, id: &str) -> Result<Account, ApiError> {
    let parsed = account_id(id)?;
    caller.require_account(&parsed)?;
    let found = state.store().account(&parsed).await?;
    found.ok_or_else(|| account_not_found(id))
}

/// The account a product posts events to, as `load_account` finds it but read at most
/// once a second (`Engine::account_to_post_to`).
async fn account_to_post_to(
    state: &ServerState,
    caller: &Caller,
    id: &str,
) -> Result<Account, ApiError> {
    let parsed = account_id(id)?;
    caller.require_account(&parsed)?;
    Ok(state.engine.account_to_post_to(&parsed).await?)
}

/// The id in the path; one that cannot be an account's names none.
fn account_id(id: &str) -> Result<AccountId, ApiError> {
    AccountId::parse(id).map_err(|_| account_not_found(id))
}

fn account_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("account {id} not found"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The paths a router holds, read from its `Debug` (axum lists its path templates
    /// there and nowhere public), before those of its fallback.
    fn paths_in(router: &Router<ServerState>) -> BTreeSet<String> {
        let debug = format!("{router:?}");
        let (routes, _fallback) = debug
            .split_once("fallback_router")
            .expect("axum's Router shows its fallback router after its routes");
        routes
            .split('"')
            .filter(|part| part.starts_with('/'))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn every_api_route_is_documented_and_every_documented_route_served() {
        let document = document();
        let documented: BTreeSet<String> = document["paths"]
            .as_object()
            .expect("paths")
            .keys()
            .cloned()
            .collect();
        let served = paths_in(&all_routes());
        assert!(served.len() > 30, "read only {served:?} from the router");
        let undocumented: Vec<&String> = served
            .iter()
            .filter(|path| path.starts_with("/api/") && !documented.contains(*path))
            .collect();
        assert!(
            undocumented.is_empty(),
            "served, not documented (add them to routes/table.rs): {undocumented:?}"
        );
        let unserved: Vec<&String> = documented.difference(&served).collect();
        assert!(unserved.is_empty(), "documented, not served: {unserved:?}");
    }

    #[test]
    fn a_worker_node_serves_the_health_routes() {
        let served = paths_in(&routes_of(table::health_routes()));
        let expected = ["/healthz", "/metrics", "/readyz"].map(String::from);
        assert_eq!(served, BTreeSet::from(expected));
    }
}
