//! The platform as one installation's handlers see it: every call the sandbox forwards
//! (a [`HostCall`]: `$db.get`, `$request.post`, an `axios` request, …) is answered here,
//! scoped to that installation.

pub mod api_client;
mod app_data;
mod entities;
mod node_http;
pub mod recording;
mod request;
mod request_template;
pub mod schedule;
mod target_url;
mod url_rules;
mod webhooks;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::{Map, Value};
use weir_core::{AppDefinition, Installation};
use weir_sandbox::{Host, HostCall, HostError, HostResult, HttpMethod, RequestCall};

use crate::platform::Platform;

pub struct PlatformHost {
    platform: Arc<Platform>,
    context: Arc<CallContext>,
}

/// What the platform knows of the invocation making the calls.
#[derive(Debug, Clone)]
pub struct CallContext {
    /// The event whose handler is running, e.g. `onAppInstall`.
    pub event: String,
    pub installation: Arc<Installation>,
    pub app: Arc<AppDefinition>,
    /// This installation's URL for external events (`weir_core::target_url`).
    pub target_url: String,
    /// When the handler runs on a registered webhook's response (`then`): the chain's
    /// first call, under which the webhooks it triggers are recorded.
    pub chain: Option<weir_core::ReferenceId>,
}

impl CallContext {
    /// Every iparam, secure ones included: server code and request templates see them all.
    pub fn all_iparams(&self) -> Map<String, Value> {
        let iparams = &self.installation.iparams;
        let mut all = iparams.public.clone();
        all.extend(iparams.secure.clone());
        all
    }

    /// Whether the app has a handler for `event`. An app that leaves its handlers to
    /// `exports.events` (platform 2.0) is taken at its word until the event runs.
    pub fn app_handles(&self, event: &str) -> bool {
        let source = weir_core::EventSource::Platform;
        self.app.handler_for(&source, event).is_some()
    }
}

impl PlatformHost {
    pub fn new(platform: Arc<Platform>, context: CallContext) -> Self {
        PlatformHost {
            platform,
            context: Arc::new(context),
        }
    }
}

impl Host for PlatformHost {
    fn call(&self, call: HostCall) -> Pin<Box<dyn Future<Output = HostResult> + Send>> {
        let (platform, context) = (self.platform.clone(), self.context.clone());
        Box::pin(async move {
            match call {
                HostCall::Db(call) => {
                    let installation = &context.installation.id;
                    db_allowance(&platform, installation)?;
                    app_data::call(platform.store.as_ref(), installation, &call).await
                }
                HostCall::Schedule(call) => schedule::call(&platform, &context, &call).await,
                HostCall::Request(RequestCall::Url(request)) => {
                    request::url_style(&platform, &context, &request).await
                }
                HostCall::Request(RequestCall::Template(request)) => {
                    request_template::invoke(&platform, &context, &request).await
                }
                HostCall::ApiClient(call) => api_client::call(&platform, &context, &call).await,
                HostCall::TriggerWebhook(trigger) => {
                    webhooks::trigger(&platform, &context, trigger).await
                }
                HostCall::GenerateTargetUrl { options } => target_url::generate(&context, &options),
                // Entity storage is `$db` too: its calls count against the same allowance.
                HostCall::Entity(call) => {
                    db_allowance(&platform, &context.installation.id)?;
                    let page_size = platform.settings.entity_page_size;
                    entities::call(platform.store.as_ref(), &context, &call, page_size).await
                }
                HostCall::NodeHttp(request) => node_http::send(&platform, &request).await,
            }
        })
    }
}

/// Counts one `$db` call (entity storage's included) against the installation's allowance;
/// past it, the call is refused with 429.
fn db_allowance(
    platform: &Platform,
    installation: &weir_core::InstallationId,
) -> Result<(), HostError> {
    platform.db_calls.check(installation).map_err(|wait| {
        HostError::new(
            429,
            format!(
                "Too many $db requests: at most {} a minute per installation; retry in {} s",
                platform.settings.db_calls_per_minute,
                wait.as_secs()
            ),
        )
    })
}

/// A store failure, as apps see it: the platform's fault, not theirs.
fn internal(error: weir_store::StoreError) -> HostError {
    tracing::error!(%error, "a platform call failed in the store");
    HostError::new(500, "Internal server error")
}

/// The method of `$request` and `apiClient` calls, as the outbound client sends it.
fn method_of(method: HttpMethod) -> reqwest::Method {
    match method {
        HttpMethod::Get => reqwest::Method::GET,
        HttpMethod::Post => reqwest::Method::POST,
        HttpMethod::Put => reqwest::Method::PUT,
        HttpMethod::Patch => reqwest::Method::PATCH,
        HttpMethod::Delete => reqwest::Method::DELETE,
    }
}
