//! The pages of `weir dev` and the JSON they read (`docs/dev.md`): the simulator at
//! `/web/test`, the iparams form at `/custom_configs`, and the start of an OAuth
//! authorization at `/web/oauth/authorize`. No authentication: `weir dev` listens on
//! loopback only, for the developer at this machine.

use std::collections::VecDeque;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Extension, Path, Request, State};
use axum::http::{StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use weir_core::{AppDefinition, InvocationFilter, InvocationRecord, PackageProblem};
use weir_engine::ErrorKind;
use weir_engine::commands::oauth::AuthorizeRequest;
use weir_engine::lifecycle;
use weir_store::PageRequest;

use super::error::{DevBody, DevError, DevQuery};
use super::events::{self, Kind, Simulated};
use super::local_only;
use super::payloads;
use super::simulate::{self, SimulateError};
use super::workspace::{Current, Workspace};

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
        .route("/web/oauth/authorize", get(oauth_authorize))
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::new(own_hosts),
            local_only::local_only,
        ))
        .with_state(workspace)
}

/// Before anything reaches the app: take the edits made since the last request, so the
/// next event runs the code as it is on disk; and turn `/in/global/<app name>/…` into
/// the current version's URL, so that global webhook URLs stay put across edits. The
/// version found goes with the request (`Extension<Current>`): one look per request.
pub async fn keep_in_step(State(workspace): Shared, mut request: Request, next: Next) -> Response {
    let current = match workspace.current().await {
        Ok(current) => current,
        Err(error) => return DevError::internal(error).into_response(),
    };
    request.extensions_mut().insert(current.clone());
    if let Some(key) = workspace.urls.global_webhook_key(request.uri().path()) {
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
        "common.js" => (
            "text/javascript; charset=utf-8",
            include_str!("pages/common.js"),
        ),
        "simulator.js" => (
            "text/javascript; charset=utf-8",
            include_str!("pages/simulator.js"),
        ),
        "custom_configs.js" => (
            "text/javascript; charset=utf-8",
            include_str!("pages/custom_configs.js"),
        ),
        _ => {
            let message = format!("no asset {file}");
            return DevError::new(StatusCode::NOT_FOUND, message).into_response();
        }
    };
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn app(
    State(workspace): Shared,
    Extension(current): Extension<Current>,
) -> Result<Json<Value>, DevError> {
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
        "oauth": oauth_view(&workspace, definition).await,
    })))
}

/// The integrations of the app's `oauth_config.json` (none when it has none, or a broken
/// one, which `weir validate`'s rules do not read).
pub fn oauth_integrations(definition: &AppDefinition) -> Vec<String> {
    let config = definition.oauth_config.as_ref();
    let parsed = config.and_then(|c| weir_core::oauth::OAuthConfig::parse(c).ok());
    parsed.map_or_else(Vec::new, |config| {
        let integrations = config.integrations().iter();
        integrations.map(|i| i.name.clone()).collect()
    })
}

/// Each integration with the link that authorizes the dev installation, and whether it is.
async fn oauth_view(workspace: &Workspace, definition: &AppDefinition) -> Vec<Value> {
    if oauth_integrations(definition).is_empty() {
        return Vec::new();
    }
    let statuses = match workspace.installation().await {
        Ok(installation) => workspace.engine.oauth_status(&installation).await,
        Err(error) => return vec![json!({"error": format!("{error:#}")})],
    };
    match statuses {
        Ok(statuses) => statuses
            .into_iter()
            .map(|status| {
                json!({
                    "integration": status.integration,
                    "authorize_url": workspace.urls.oauth_authorize(&status.integration),
                    "authorized": status.authorized,
                    "expires_at": status.expires_at,
                })
            })
            .collect(),
        Err(error) => vec![json!({"error": error.message()})],
    }
}

/// Starts an OAuth authorization of the dev installation and sends the browser to the
/// authorization server, which sends it back to `/oauth/callback`. `?integration=` picks
/// one of several; every other parameter is an `oauth_iparams` value.
async fn oauth_authorize(
    State(workspace): Shared,
    DevQuery(mut params): DevQuery<std::collections::BTreeMap<String, String>>,
) -> Result<Response, DevError> {
    let integration = params.remove("integration");
    let oauth_iparams = params
        .into_iter()
        .map(|(name, value)| (name, Value::String(value)))
        .collect();
    let installation = workspace.installation().await?;
    let asked = AuthorizeRequest {
        integration,
        oauth_iparams,
    };
    let started = workspace
        .engine
        .authorize_oauth(&installation, asked)
        .await
        .map_err(|error| match error.kind() {
            ErrorKind::Invalid | ErrorKind::Malformed | ErrorKind::Conflict => {
                DevError::new(StatusCode::UNPROCESSABLE_ENTITY, error.message())
            }
            _ => DevError::internal(anyhow::anyhow!("{error}")),
        })?;
    Ok(Redirect::to(&started.authorize_url).into_response())
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
fn product_of(current: &Current, asked: Option<String>) -> Result<String, DevError> {
    let products = events::products(&current.definition);
    match asked {
        Some(product) if products.contains(&product) => Ok(product),
        Some(product) => Err(DevError::new(
            StatusCode::NOT_FOUND,
            format!(
                "product: the app declares no {product:?} (it declares {})",
                products.join(", ")
            ),
        )),
        None => products.into_iter().next().ok_or_else(|| {
            DevError::new(
                StatusCode::NOT_FOUND,
                "the app declares no product or module",
            )
        }),
    }
}

async fn events_list(
    Extension(current): Extension<Current>,
    DevQuery(param): DevQuery<ProductParam>,
) -> Result<Json<Value>, DevError> {
    let product = product_of(&current, param.product)?;
    Ok(Json(json!({
        "product": product,
        "events": events::offered(&current.definition, &product),
    })))
}

/// The event a payload route is about, as the app offers it now.
struct Chosen {
    current: Current,
    product: String,
    event: Simulated,
}

fn choose(current: Current, event: String, param: ProductParam) -> Result<Chosen, DevError> {
    let product = product_of(&current, param.product)?;
    let offered = events::offered(&current.definition, &product);
    let Some(event) = offered.into_iter().find(|e| e.name == event) else {
        let message = events::not_offered(&event, &product);
        return Err(DevError::new(StatusCode::NOT_FOUND, message));
    };
    Ok(Chosen {
        current,
        product,
        event,
    })
}

impl Chosen {
    async fn default_payload(&self, workspace: &Workspace) -> Result<Value, DevError> {
        let installation = workspace.installation().await?;
        Ok(payloads::default(
            &workspace.account,
            &installation,
            &self.current.definition,
            &self.product,
            &self.event.name,
            self.event.kind,
        ))
    }

    /// Writes `payload` to the event's test_data file; returns its path.
    fn save(&self, workspace: &Workspace, payload: &Value) -> Result<String, DevError> {
        let definition = &self.current.definition;
        let (product, event) = (&self.product, &self.event.name);
        Ok(payloads::save(
            &workspace.dir,
            definition,
            product,
            event,
            payload,
        )?)
    }
}

/// The event's payload; a test_data file that is not JSON comes back as its text and
/// the problem, for the developer to mend in place.
async fn payload(
    State(workspace): Shared,
    Extension(current): Extension<Current>,
    Path(event): Path<String>,
    DevQuery(param): DevQuery<ProductParam>,
) -> Result<Json<Value>, DevError> {
    let chosen = choose(current, event, param)?;
    let default = chosen.default_payload(&workspace).await?;
    let definition = &chosen.current.definition;
    let (product, event) = (&chosen.product, &chosen.event.name);
    let found = payloads::load(&workspace.dir, definition, product, event, || default)?;
    Ok(Json(json!({
        "event": event,
        "product": product,
        "payload": found.payload,
        "text": found.text,
        "problem": found.problem,
        "source": found.source,
        "path": found.path,
    })))
}

async fn save_payload(
    State(workspace): Shared,
    Extension(current): Extension<Current>,
    Path(event): Path<String>,
    DevQuery(param): DevQuery<ProductParam>,
    DevBody(body): DevBody,
) -> Result<Json<Value>, DevError> {
    let chosen = choose(current, event, param)?;
    let payload = json_object(&body)?;
    let path = chosen.save(&workspace, &payload)?;
    Ok(Json(json!({"path": path})))
}

async fn reset_payload(
    State(workspace): Shared,
    Extension(current): Extension<Current>,
    Path(event): Path<String>,
    DevQuery(param): DevQuery<ProductParam>,
) -> Result<Json<Value>, DevError> {
    let chosen = choose(current, event, param)?;
    let default = chosen.default_payload(&workspace).await?;
    let path = chosen.save(&workspace, &default)?;
    Ok(Json(json!({"payload": default, "path": path})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SimulateBody {
    event: String,
    product: Option<String>,
    payload: Value,
}

async fn simulate(
    State(workspace): Shared,
    Extension(current): Extension<Current>,
    DevBody(body): DevBody,
) -> Result<Response, DevError> {
    let body: SimulateBody = serde_json::from_slice(&body)
        .map_err(|e| DevError::new(StatusCode::BAD_REQUEST, format!("the request body: {e}")))?;
    let product = product_of(&current, body.product)?;
    let run = simulate::run(&workspace, &current, &product, &body.event, body.payload);
    match run.await {
        Ok(outcome) => Ok(Json(outcome).into_response()),
        Err(SimulateError::NoSuchEvent(message)) => {
            Err(DevError::new(StatusCode::NOT_FOUND, message))
        }
        Err(SimulateError::BadRequest(message)) => {
            Err(DevError::new(StatusCode::UNPROCESSABLE_ENTITY, message))
        }
        Err(SimulateError::Failed(error)) => Err(DevError::internal(error)),
    }
}

/// The latest runs of the installation's handlers, newest first: simulated ones and real
/// traffic alike (target URL posts, schedules).
async fn activity(
    State(workspace): Shared,
    DevQuery(limit): DevQuery<Limit>,
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
    let listed: Vec<Value> = latest.iter().map(listed_run).collect();
    Ok(Json(json!({"invocations": listed})))
}

/// A run as the activity lists it: its record, and for a lifecycle event the refusal an
/// install (uninstall, update) would take from it, as the simulator's outcome says.
fn listed_run(record: &InvocationRecord) -> Value {
    let mut listed = json!(record);
    if events::kind_of(&record.event) == Kind::Lifecycle {
        listed["refused"] = json!(lifecycle::refusal(record));
    }
    listed
}

/// The last `limit` runs of the past `minutes`, oldest first.
async fn runs_since(
    workspace: &Workspace,
    minutes: i64,
    limit: usize,
) -> Result<Vec<InvocationRecord>, DevError> {
    let store = workspace.engine.store();
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

async fn iparams(
    State(workspace): Shared,
    Extension(current): Extension<Current>,
) -> Result<Json<Value>, DevError> {
    let fields: Vec<Value> = current
        .definition
        .iparams
        .iter()
        .map(|spec| {
            json!({
                "name": spec.name,
                "display_name": spec.display_name,
                "description": spec.description,
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

async fn save_iparams(
    State(workspace): Shared,
    Extension(current): Extension<Current>,
    DevBody(body): DevBody,
) -> Result<Json<Value>, DevError> {
    let body: IparamsBody = serde_json::from_slice(&body)
        .map_err(|e| DevError::new(StatusCode::BAD_REQUEST, format!("the request body: {e}")))?;
    match workspace.save_iparams(&current, body.values).await? {
        Ok(()) => Ok(Json(json!({"values": workspace.iparam_values().await?}))),
        Err(message) => Err(DevError::new(StatusCode::UNPROCESSABLE_ENTITY, message)),
    }
}

/// The body as a JSON object, or an error with serde's line and column.
fn json_object(body: &[u8]) -> Result<Value, DevError> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(fields)) => Ok(Value::Object(fields)),
        Ok(_) => Err(DevError::new(
            StatusCode::BAD_REQUEST,
            "the payload must be a JSON object",
        )),
        Err(e) => Err(DevError::new(
            StatusCode::BAD_REQUEST,
            format!("the payload is not JSON: {e}"),
        )),
    }
}
