//! Running one installation's handler for one event: the app's code (loaded once per
//! version), the sandbox with the platform behind it, and the invocation record kept in
//! the store.

use std::sync::Arc;

use serde_json::{Value, json};
use weir_core::{
    AppDefinition, EventSource, Installation, InvocationId, InvocationRecord, target_url,
};
use weir_sandbox::{Entry, Host, Invocation, Limits, Outcome, Render, Sandbox};

use crate::apps::{AppCache, LoadError, LoadedApp};
use crate::host::recording::{CallLog, RecordedCall, RecordingHost};
use crate::host::{CallContext, PlatformHost};
use crate::platform::Platform;

/// The event a chain's handler runs for: a registered webhook's response.
pub const CHAIN_EVENT: &str = "onWebhookResponse";

pub struct Runner {
    platform: Arc<Platform>,
    sandbox: Sandbox,
    apps: AppCache,
    settings: RunnerSettings,
}

#[derive(Debug, Clone)]
pub struct RunnerSettings {
    /// The base of target URLs (`--public-url`).
    pub public_url: String,
    pub limits: Limits,
    /// `process.env.ENV` for apps: "production", or "test" under `weir dev`.
    pub env: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("the app has no handler for {event}")]
    NoHandler { event: String },
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Store(#[from] weir_store::StoreError),
}

impl Runner {
    pub fn new(platform: Arc<Platform>, sandbox: Sandbox, settings: RunnerSettings) -> Self {
        Runner {
            platform,
            sandbox,
            apps: AppCache::default(),
            settings,
        }
    }

    pub fn platform(&self) -> &Arc<Platform> {
        &self.platform
    }

    pub fn settings(&self) -> &RunnerSettings {
        &self.settings
    }

    /// The installation's URL for external events.
    pub fn target_url(&self, installation: &Installation) -> String {
        target_url(&self.settings.public_url, &installation.target_token)
    }

    /// How many handlers run at once (the sandbox's JavaScript threads).
    pub fn threads(&self) -> usize {
        self.sandbox.threads()
    }

    /// Runs the installation's handler for `event` with `payload` (the whole envelope)
    /// and keeps the record. A handler that fails is a record with that status, not an
    /// error: errors here mean the handler could not be run at all.
    pub async fn run(
        &self,
        installation: Arc<Installation>,
        event: &str,
        payload: Value,
    ) -> Result<InvocationRecord, RunError> {
        let app = self.app(&installation.app_id).await?;
        let handler = handler_for(&app.definition, event).ok_or_else(|| RunError::NoHandler {
            event: event.to_owned(),
        })?;
        self.invoke(
            installation,
            &app,
            event,
            Entry::Handler(handler),
            payload,
            Extras::default(),
        )
        .await
    }

    /// Runs `handler` for `event`: for jobs, which know their handler already (an omni
    /// app may handle one event with different functions per product).
    pub async fn run_handler(
        &self,
        installation: Arc<Installation>,
        event: &str,
        handler: &str,
        payload: Value,
    ) -> Result<InvocationRecord, RunError> {
        let app = self.app(&installation.app_id).await?;
        self.invoke(
            installation,
            &app,
            event,
            Entry::Handler(handler.to_owned()),
            payload,
            Extras::default(),
        )
        .await
    }

    /// Runs `handler` for `event` as `run_handler` does, and also answers with every
    /// platform call the handler made: the simulator of `weir dev` shows them.
    pub async fn run_traced(
        &self,
        installation: Arc<Installation>,
        event: &str,
        handler: &str,
        payload: Value,
    ) -> Result<(InvocationRecord, Vec<RecordedCall>), RunError> {
        let app = self.app(&installation.app_id).await?;
        let log = Arc::new(CallLog::default());
        let extras = Extras {
            log: Some(log.clone()),
            ..Extras::default()
        };
        let entry = Entry::Handler(handler.to_owned());
        let record = self
            .invoke(installation, &app, event, entry, payload, extras)
            .await?;
        Ok((record, log.take()))
    }

    /// Runs `handler` on a registered webhook's response, as a link of the chain that
    /// `chain` started: the webhooks it triggers are recorded under it.
    pub async fn run_chain_link(
        &self,
        installation: Arc<Installation>,
        handler: &str,
        payload: Value,
        chain: weir_core::ReferenceId,
    ) -> Result<InvocationRecord, RunError> {
        let app = self.app(&installation.app_id).await?;
        let entry = Entry::Handler(handler.to_owned());
        let extras = Extras {
            chain: Some(chain),
            ..Extras::default()
        };
        self.invoke(installation, &app, CHAIN_EVENT, entry, payload, extras)
            .await
    }

    /// An app version's declarations and code, read once per process.
    pub async fn app(&self, id: &weir_core::AppId) -> Result<Arc<LoadedApp>, LoadError> {
        self.apps.get(self.platform.store.as_ref(), id).await
    }

    /// Runs a connector module of an app version outside any installation (a global
    /// webhook's `handle`): no platform calls, no `apiClient`, no record, and `time` as
    /// its limit.
    pub async fn run_unattached(
        &self,
        app: &LoadedApp,
        path: &str,
        args: Value,
        time: std::time::Duration,
    ) -> Outcome {
        self.sandbox
            .run(Invocation {
                code: app.code.clone(),
                handler: Entry::Module(path.to_owned()),
                payload: args,
                host: Arc::new(weir_sandbox::NoHost),
                limits: Limits {
                    time,
                    ..self.settings.limits
                },
                env: self.settings.env,
            })
            .await
    }

    /// Whether the app of `installation` has a handler for `event`.
    pub async fn handles(
        &self,
        installation: &Installation,
        event: &str,
    ) -> Result<bool, LoadError> {
        let app = self.app(&installation.app_id).await?;
        Ok(handler_for(&app.definition, event).is_some())
    }

    /// Runs a connector method (`path`, e.g. `global-webhooks/chat-events/handle.js`) for
    /// `event` with `args`, adding the connection's `parameters` (the installation's
    /// iparams) and `credentials` (its secure iparams), and keeps the record.
    pub async fn run_connector_method(
        &self,
        installation: Arc<Installation>,
        event: &str,
        path: &str,
        mut args: Value,
    ) -> Result<InvocationRecord, RunError> {
        let app = self.app(&installation.app_id).await?;
        if app.code.source(path).is_none() {
            return Err(RunError::NoHandler {
                event: format!("{event} ({path} is not in the package)"),
            });
        }
        if !args.is_object() {
            args = json!({});
        }
        // The app's connector parameters, under the installation's own.
        let iparams = &installation.iparams;
        let mut parameters =
            crate::inbound::connector_parameters_of(self, &installation.app_id).await?;
        parameters.extend(iparams.public.clone());
        args["parameters"] = Value::Object(parameters);
        args["credentials"] = Value::Object(iparams.secure.clone());
        self.invoke(
            installation,
            &app,
            event,
            Entry::Module(path.to_owned()),
            args,
            Extras::default(),
        )
        .await
    }

    async fn invoke(
        &self,
        installation: Arc<Installation>,
        app: &LoadedApp,
        event: &str,
        entry: Entry,
        payload: Value,
        extras: Extras,
    ) -> Result<InvocationRecord, RunError> {
        let context = CallContext {
            event: event.to_owned(),
            installation: installation.clone(),
            app: app.definition.clone(),
            target_url: target_url(&self.settings.public_url, &installation.target_token),
            chain: extras.chain,
        };
        let handler = match &entry {
            Entry::Handler(name) | Entry::Module(name) => name.clone(),
        };
        let mut host: Arc<dyn Host> = Arc::new(PlatformHost::new(self.platform.clone(), context));
        if let Some(log) = extras.log {
            host = Arc::new(RecordingHost::new(host, log));
        }
        let started_at = weir_core::now();
        let outcome = self
            .sandbox
            .run(Invocation {
                code: app.code.clone(),
                handler: entry,
                payload,
                host,
                limits: self.settings.limits,
                env: self.settings.env,
            })
            .await;
        let took = outcome.duration;
        let record = record_of(&installation, event, handler, started_at, outcome);
        self.platform
            .metrics
            .observe_invocation(record.status, took);
        self.platform.store.insert_invocation(&record).await?;
        if record.status != weir_core::InvocationStatus::Success {
            let told = crate::notices::after_handler_failed(&self.platform, &record);
            if let Err(error) = told.await {
                tracing::error!(%error, "whether the handler keeps failing could not be read");
            }
        }
        Ok(record)
    }
}

/// What some runs add to an invocation.
#[derive(Default)]
struct Extras {
    /// The chain a `then` handler is a link of.
    chain: Option<weir_core::ReferenceId>,
    /// Where to log the platform calls the handler makes.
    log: Option<Arc<CallLog>>,
}

/// The function that handles `event` when Weir runs it by name for one installation (the
/// core rule for [`EventSource::Platform`]).
fn handler_for(app: &AppDefinition, event: &str) -> Option<String> {
    app.handler_for(&EventSource::Platform, event)
}

fn record_of(
    installation: &Installation,
    event: &str,
    handler: String,
    started_at: jiff::Timestamp,
    outcome: Outcome,
) -> InvocationRecord {
    InvocationRecord {
        id: InvocationId::generate(),
        installation_id: installation.id.clone(),
        account_id: installation.account_id.clone(),
        app_id: installation.app_id.clone(),
        event: event.to_owned(),
        handler,
        status: outcome.status,
        started_at,
        duration_ms: outcome.duration.as_millis() as u64,
        console: outcome.console,
        console_dropped: outcome.console_dropped as u64,
        error: outcome.error,
        stack: outcome.stack,
        render: outcome.render.map(|render| render_json(&render)),
        result: outcome.value,
    }
}

/// `renderData`'s answer as the platform would send it (REFERENCE §1).
fn render_json(render: &Render) -> Value {
    match render {
        Render::Ok { data: None } => json!({"status": 200}),
        Render::Ok { data: Some(data) } => json!({"status": 200, "response": data}),
        Render::Error { status, message } => {
            json!({"status": status, "message": message, "errorSource": "APP"})
        }
        Render::Invalid => json!({
            "status": 400,
            "message": "The error should be a JSON Object with a message or a status parameter.",
        }),
    }
}
