//! The pages of `weir dev` and the JSON they read (`docs/dev.md`): the simulator at
//! `/web/test` and the iparams form at `/custom_configs`. No authentication: `weir dev`
//! listens on loopback only, for the developer at this machine.

use std::collections::VecDeque;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use weir_core::{InvocationFilter, InvocationRecord, PackageProblem};
use weir_store::PageRequest;

use super::events::{self, Kind};
use super::payloads;
use super::simulate::{self, SimulateError};
use super::workspace::Workspace;

type Shared = State<Arc<Workspace>>;

/// The dev routes; `own_hosts` are the `Host` values this server answers to (e.g.
/// `localhost:10001`), see [`local_only`].
pub fn router(workspace: Arc<Workspace>, own_hosts: Vec<String>) -> Router {
    Router::new()
        .route("/web/test", get(|| async { Html(PAGE_TEST) }))
        .route("/custom_configs", get(|| async { Html(PAGE_IPARAMS) }))
        .route("/web/assets/{file}", get(asset))
        .route("/web/api/app", get(app))
        .route("/web/eventsList", get(events_list))
        .route("/web/events/{event}", get(payload).post(save_payload))
        .route("/web/events/reset/{event}", post(reset_payload))
        .route("/web/simulate", post(simulate))
        .route("/web/api/activity", get(activity))
        .route("/web/api/iparams", get(iparams).post(save_iparams))
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::new(own_hosts),
            local_only,
        ))
        .with_state(workspace)
}

/// The simulator runs handlers and writes files on request, with no token: only the
/// developer's own pages may ask. A page of another site could otherwise make the
/// browser post here (CSRF), or reach us under its own name by DNS rebinding. So the
/// `Host` must be one of ours, an `Origin`, when sent, too, and every write must be JSON
/// (a cross-site JSON post needs a CORS preflight, which is never granted here).
async fn local_only(
    State(own_hosts): State<Arc<Vec<String>>>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let text = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let host = text(header::HOST);
    if !own_hosts.iter().any(|own| own.eq_ignore_ascii_case(host)) {
        let message = format!(
            "Host {host:?} is not this server's (use {}); the simulator answers its own pages only",
            own_hosts.first().map_or("localhost", String::as_str)
        );
        return DevError::forbidden(message).into_response();
    }
    let origin = text(header::ORIGIN);
    let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    if !origin.is_empty()
        && !own_hosts
            .iter()
            .any(|own| own.eq_ignore_ascii_case(origin_host))
    {
        let message =
            format!("requests from {origin} are refused: the simulator answers its own pages only");
        return DevError::forbidden(message).into_response();
    }
    let is_json = text(header::CONTENT_TYPE)
        .split(';')
        .next()
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
    if request.method() == axum::http::Method::POST && !is_json {
        let message = "Content-Type: the simulator takes application/json";
        let error = DevError {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            message: message.into(),
        };
        return error.into_response();
    }
    next.run(request).await
}

/// Before anything reaches the app: take the edits made since the last request, so the
/// next event runs the code as it is on disk; and turn `/in/global/<app name>/…` into
/// the current version's URL, so that global webhook URLs stay put across edits.
pub async fn keep_in_step(State(workspace): Shared, mut request: Request, next: Next) -> Response {
    let current = match workspace.current().await {
        Ok(current) => current,
        Err(error) => return DevError::internal(error).into_response(),
    };
    let path = request.uri().path();
    let prefix = format!("/in/global/{}/", workspace.app_name);
    if let Some(key) = path.strip_prefix(&prefix) {
        let mut rewritten = format!("/in/global/{}/{key}", current.app_id);
        if let Some(query) = request.uri().query() {
            rewritten = format!("{rewritten}?{query}");
        }
        if let Ok(uri) = rewritten.parse::<Uri>() {
            *request.uri_mut() = uri;
        }
    }
    next.run(request).await
}

const PAGE_TEST: &str = include_str!("pages/test.html");
const PAGE_IPARAMS: &str = include_str!("pages/custom_configs.html");

async fn asset(Path(file): Path<String>) -> Response {
    let (content_type, body) = match file.as_str() {
        "weir.css" => ("text/css; charset=utf-8", include_str!("pages/weir.css")),
        "simulator.js" => (
            "text/javascript; charset=utf-8",
            include_str!("pages/simulator.js"),
        ),
        "custom_configs.js" => (
            "text/javascript; charset=utf-8",
            include_str!("pages/custom_configs.js"),
        ),
        _ => return DevError::not_found(format!("no asset {file}")).into_response(),
    };
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn app(State(workspace): Shared) -> Result<Json<Value>, DevError> {
    let current = workspace.current().await?;
    let definition = &current.definition;
    let urls = &workspace.urls;
    Ok(Json(json!({
        "name": workspace.app_name,
        "platform_version": definition.platform_version.map(|v| v.as_str()),
        "products": events::products(definition),
        "simulator_url": urls.simulator(),
        "iparams_url": urls.iparams(),
        "target_url": urls.target,
        "global_webhooks": urls.global_webhooks(definition).into_iter()
            .map(|(key, url)| json!({"key": key, "url": url}))
            .collect::<Vec<_>>(),
        "problems": current.problems.iter().map(problem_json).collect::<Vec<_>>(),
    })))
}

fn problem_json(problem: &PackageProblem) -> Value {
    json!({"file": problem.file, "location": problem.location, "message": problem.message})
}

#[derive(Deserialize)]
struct ProductParam {
    product: Option<String>,
}

#[derive(Deserialize)]
struct Limit {
    limit: Option<usize>,
}

/// The product asked for, else the app's first.
async fn product_of(workspace: &Workspace, param: ProductParam) -> Result<String, DevError> {
    let current = workspace.current().await?;
    let products = events::products(&current.definition);
    match param.product {
        Some(product) if products.contains(&product) => Ok(product),
        Some(product) => Err(DevError::bad_request(format!(
            "product: the app declares no {product:?} (it declares {})",
            products.join(", ")
        ))),
        None => products
            .into_iter()
            .next()
            .ok_or_else(|| DevError::bad_request("the app declares no product or module")),
    }
}

async fn events_list(
    State(workspace): Shared,
    Query(param): Query<ProductParam>,
) -> Result<Json<Value>, DevError> {
    let product = product_of(&workspace, param).await?;
    let current = workspace.current().await?;
    Ok(Json(json!({
        "product": product,
        "events": events::offered(&current.definition, &product),
    })))
}

/// The event's kind, if the app offers it for `product`.
async fn kind_of(workspace: &Workspace, product: &str, event: &str) -> Result<Kind, DevError> {
    let current = workspace.current().await?;
    events::offered(&current.definition, product)
        .into_iter()
        .find(|e| e.name == event)
        .map(|e| e.kind)
        .ok_or_else(|| {
            DevError::not_found(format!(
                "the app has no handler for {event:?} in {product:?}"
            ))
        })
}

async fn default_payload(
    workspace: &Workspace,
    product: &str,
    event: &str,
) -> Result<Value, DevError> {
    let kind = kind_of(workspace, product, event).await?;
    let current = workspace.current().await?;
    let installation = workspace.installation().await?;
    Ok(payloads::default(
        &workspace.account,
        &installation,
        &current.definition,
        product,
        event,
        kind,
    ))
}

async fn payload(
    State(workspace): Shared,
    Path(event): Path<String>,
    Query(param): Query<ProductParam>,
) -> Result<Json<Value>, DevError> {
    let product = product_of(&workspace, param).await?;
    let default = default_payload(&workspace, &product, &event).await?;
    let current = workspace.current().await?;
    let found = payloads::load(
        &workspace.dir,
        &current.definition,
        &product,
        &event,
        || default,
    )
    .map_err(|e| DevError::unprocessable(format!("{e:#}")))?;
    Ok(Json(json!({
        "event": event,
        "product": product,
        "payload": found.payload,
        "source": found.source,
        "path": found.path,
    })))
}

async fn save_payload(
    State(workspace): Shared,
    Path(event): Path<String>,
    Query(param): Query<ProductParam>,
    body: Bytes,
) -> Result<Json<Value>, DevError> {
    let product = product_of(&workspace, param).await?;
    kind_of(&workspace, &product, &event).await?;
    let payload = json_object(&body)?;
    let current = workspace.current().await?;
    let path = payloads::save(
        &workspace.dir,
        &current.definition,
        &product,
        &event,
        &payload,
    )?;
    Ok(Json(json!({"path": path})))
}

async fn reset_payload(
    State(workspace): Shared,
    Path(event): Path<String>,
    Query(param): Query<ProductParam>,
) -> Result<Json<Value>, DevError> {
    let product = product_of(&workspace, param).await?;
    let default = default_payload(&workspace, &product, &event).await?;
    let current = workspace.current().await?;
    let path = payloads::save(
        &workspace.dir,
        &current.definition,
        &product,
        &event,
        &default,
    )?;
    Ok(Json(json!({"payload": default, "path": path})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SimulateBody {
    event: String,
    product: Option<String>,
    payload: Value,
}

async fn simulate(State(workspace): Shared, body: Bytes) -> Result<Response, DevError> {
    let body: SimulateBody = serde_json::from_slice(&body)
        .map_err(|e| DevError::bad_request(format!("the request body: {e}")))?;
    let product = product_of(
        &workspace,
        ProductParam {
            product: body.product,
        },
    )
    .await?;
    match simulate::run(&workspace, &product, &body.event, body.payload).await {
        Ok(simulation) => Ok(Json(simulation).into_response()),
        Err(SimulateError::BadRequest(message)) => Err(DevError::unprocessable(message)),
        Err(SimulateError::Failed(error)) => Err(DevError::internal(error)),
    }
}

/// The latest runs of the installation's handlers, newest first: simulated ones and real
/// traffic alike (target URL posts, schedules).
async fn activity(
    State(workspace): Shared,
    Query(limit): Query<Limit>,
) -> Result<Json<Value>, DevError> {
    let limit = limit.limit.unwrap_or(20).clamp(1, 100);
    // Records are listed oldest first: look back a minute, then further while that holds
    // too few, so that a busy target URL does not make every look read the whole day.
    let mut latest = Vec::new();
    for minutes in [1, 60, 24 * 60] {
        latest = runs_since(&workspace, minutes, limit).await?;
        if latest.len() == limit {
            break;
        }
    }
    latest.reverse();
    Ok(Json(json!({"invocations": latest})))
}

/// The last `limit` runs of the past `minutes`, oldest first.
async fn runs_since(
    workspace: &Workspace,
    minutes: i64,
    limit: usize,
) -> Result<Vec<InvocationRecord>, DevError> {
    let store = &workspace.runner.platform().store;
    let filter = InvocationFilter {
        since: Some(weir_core::now() - jiff::SignedDuration::from_mins(minutes)),
        ..InvocationFilter::default()
    };
    let mut latest = VecDeque::with_capacity(limit);
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let found = store
            .invocations(&workspace.installation_id, &filter, &page)
            .await?;
        for record in found.items {
            if latest.len() == limit {
                latest.pop_front();
            }
            latest.push_back(record);
        }
        match found.next_after {
            Some(after) => page.after = Some(after),
            None => return Ok(latest.into()),
        }
    }
}

async fn iparams(State(workspace): Shared) -> Result<Json<Value>, DevError> {
    let current = workspace.current().await?;
    let fields: Vec<Value> = current
        .definition
        .iparams
        .iter()
        .map(|spec| {
            json!({
                "name": spec.name,
                "display_name": spec.display_name,
                "type": spec.kind,
                "required": spec.required,
                "secure": spec.secure,
                "default": spec.default_value,
                "options": spec.options,
            })
        })
        .collect();
    let values = workspace.iparam_values().await?;
    Ok(Json(json!({"fields": fields, "values": values})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IparamsBody {
    values: Map<String, Value>,
}

async fn save_iparams(State(workspace): Shared, body: Bytes) -> Result<Json<Value>, DevError> {
    let body: IparamsBody = serde_json::from_slice(&body)
        .map_err(|e| DevError::bad_request(format!("the request body: {e}")))?;
    match workspace.save_iparams(body.values).await? {
        Ok(()) => Ok(Json(json!({"values": workspace.iparam_values().await?}))),
        Err(message) => Err(DevError::unprocessable(message)),
    }
}

/// The body as a JSON object, or an error with serde's line and column.
fn json_object(body: &[u8]) -> Result<Value, DevError> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(fields)) => Ok(Value::Object(fields)),
        Ok(_) => Err(DevError::bad_request("the payload must be a JSON object")),
        Err(e) => Err(DevError::bad_request(format!(
            "the payload is not JSON: {e}"
        ))),
    }
}

/// `{"error": {"code", "message"}}` with its status, as the API answers.
#[derive(Debug)]
pub struct DevError {
    status: StatusCode,
    message: String,
}

impl DevError {
    fn bad_request(message: impl Into<String>) -> Self {
        DevError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    fn unprocessable(message: impl Into<String>) -> Self {
        DevError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: message.into(),
        }
    }

    fn not_found(message: impl Into<String>) -> Self {
        DevError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }

    fn forbidden(message: impl Into<String>) -> Self {
        DevError {
            status: StatusCode::FORBIDDEN,
            message: message.into(),
        }
    }

    fn internal(error: anyhow::Error) -> Self {
        tracing::error!(error = format!("{error:#}"), "weir dev failed");
        DevError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: format!("{error:#}"),
        }
    }
}

impl From<anyhow::Error> for DevError {
    fn from(error: anyhow::Error) -> Self {
        DevError::internal(error)
    }
}

impl From<weir_store::StoreError> for DevError {
    fn from(error: weir_store::StoreError) -> Self {
        DevError::internal(error.into())
    }
}

impl IntoResponse for DevError {
    fn into_response(self) -> Response {
        let code = match self.status {
            StatusCode::BAD_REQUEST => "bad_request",
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            StatusCode::UNPROCESSABLE_ENTITY => "unprocessable",
            _ => "internal",
        };
        let body = json!({"error": {"code": code, "message": self.message}});
        (self.status, Json(body)).into_response()
    }
}
