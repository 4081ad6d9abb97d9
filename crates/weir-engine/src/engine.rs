//! The engine's front door. Everything the HTTP layer and `weir dev` change goes through
//! one of `Engine`'s commands (in `commands/`): each checks the request against the
//! rules, stores what it makes, wakes the workers that have new work, and answers a value
//! or one [`Error`](crate::Error). Reads may go to the store directly ([`Engine::store`]).
//!
//! The engine also starts and stops this node's background workers.

use std::sync::Arc;

use weir_core::{Account, AppId, Installation, InstallationId, PackageLimits};
use weir_store::Store;

use crate::apps::LoadedApp;
use crate::error::{Error, ErrorKind};
use crate::fresh_cache::FreshCache;
use crate::host::recording::RecordedCall;
use crate::outbound::{Outbound, OutboundSettings};
use crate::platform::{Platform, PlatformSettings};
use crate::runner::{Runner, RunnerSettings};
use crate::supervisor::Workers;

pub struct Engine {
    runner: Arc<Runner>,
    /// Installations by target token, for busy target URLs. A request accepted for an
    /// installation uninstalled on another node a moment before is stored, and its job
    /// is then cancelled by the dispatcher, which reads the installation afresh.
    targets: FreshCache<Installation>,
    /// Accounts by id, for the products posting events to them. An event posted to an
    /// account deleted on another node a moment before is refused by the store, and
    /// `post_events`, reading the account afresh, says it is not found; one posted just after a change of its product takes the old product as
    /// its default, as it would have a moment earlier.
    accounts: FreshCache<Account>,
    /// What an uploaded package may unpack to.
    packages: PackageLimits,
    /// Why the node was last found unready (`None`: ready), so that a health check
    /// polled every few seconds logs a change, not every answer.
    last_unready: std::sync::Mutex<Option<String>>,
}

/// How an engine is set up: the operator's settings, with the platforms' figures as
/// defaults.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// The base of every URL Weir hands out (target URLs, global webhooks).
    pub public_url: String,
    pub platform: PlatformSettings,
    pub outbound: OutboundSettings,
    /// Each handler run's allowance of time, memory and more.
    pub sandbox: weir_sandbox::Limits,
    pub packages: PackageLimits,
    /// `process.env.ENV` for apps: "production", or "test" under `weir dev`.
    pub env: &'static str,
    /// JavaScript threads: how many handlers run at once.
    pub threads: usize,
}

impl Engine {
    /// An engine on `store`, with its JavaScript threads started; no background worker runs
    /// until [`Engine::spawn_workers`].
    pub fn start(store: Arc<dyn Store>, settings: EngineSettings) -> std::io::Result<Self> {
        let sandbox = weir_sandbox::Sandbox::start(settings.threads)?;
        let outbound = Outbound::new(settings.outbound);
        let platform = Platform::new(store, outbound, settings.platform);
        let runner = Runner::new(
            Arc::new(platform),
            sandbox,
            RunnerSettings {
                public_url: settings.public_url,
                limits: settings.sandbox,
                env: settings.env,
            },
        );
        Ok(Engine::with_runner(Arc::new(runner), settings.packages))
    }

    /// An engine over a runner made elsewhere (engine tests make their own).
    pub fn with_runner(runner: Arc<Runner>, packages: PackageLimits) -> Self {
        Engine {
            runner,
            targets: FreshCache::default(),
            accounts: FreshCache::default(),
            packages,
            last_unready: std::sync::Mutex::new(None),
        }
    }

    /// Starts this node's workers: handlers for jobs, schedules, connector refreshes,
    /// deliveries, record retention, and the ear for work that other nodes store.
    pub fn spawn_workers(&self) {
        let platform = self.platform();
        crate::scheduler::spawn(self.runner.clone());
        crate::dispatcher::spawn(self.runner.clone());
        crate::connector_refresher::spawn(self.runner.clone());
        crate::deliverer::spawn(platform.clone());
        crate::retention::spawn(platform.clone());
        crate::wakeups::spawn_listener(platform.clone());
    }

    /// This node's workers: to stop them (`Workers::stop`) and wait for them.
    pub fn workers(&self) -> Arc<Workers> {
        self.platform().workers.clone()
    }

    /// The store, for reads. Changes go through the engine's commands.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.platform().store
    }

    /// Runs the installation's `handler` for `event` on a payload of the caller's choosing
    /// and keeps its record, as a job would; answers the record with every platform call
    /// the handler made. `weir dev`'s simulator shows them.
    pub async fn run_traced(
        &self,
        installation: Arc<Installation>,
        event: &str,
        handler: &str,
        payload: serde_json::Value,
    ) -> Result<(weir_core::InvocationRecord, Vec<RecordedCall>), Error> {
        let traced = self
            .runner
            .run_traced(installation, event, handler, payload);
        Ok(traced.await?)
    }

    pub(crate) fn runner(&self) -> &Arc<Runner> {
        &self.runner
    }

    pub fn public_url(&self) -> &str {
        &self.runner.settings().public_url
    }

    /// The installation's URL for external events.
    pub fn target_url(&self, installation: &Installation) -> String {
        self.runner.target_url(installation)
    }

    /// An app version's declarations and code (read once per process).
    pub async fn app(&self, id: &AppId) -> Result<Arc<LoadedApp>, Error> {
        Ok(self.runner.app(id).await?)
    }

    /// A key for one purpose (`purpose` names it, and what it must change with), derived
    /// from the server's key that every node shares: the console's sessions and portal
    /// links are signed with such keys, so each purpose's tokens stand only for it.
    pub fn derived_key(&self, purpose: &str) -> Vec<u8> {
        let key = &self.platform().settings.security_key.0;
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
        ring::hmac::sign(&key, purpose.as_bytes()).as_ref().to_vec()
    }

    /// The installation a `securityContext` token stands for, if it is valid now.
    pub fn verify_security_context(&self, token: &str) -> Option<InstallationId> {
        let key = &self.platform().settings.security_key.0;
        weir_core::security_context::verify(key, token, weir_core::now())
    }

    /// The subscription an installation's extension webhook (of `resources.json`) gets
    /// when it is installed: for `weir dev`, which shows what a delivery would be.
    pub fn extension_subscription(
        &self,
        installation: &Installation,
        webhook: &weir_core::app::ExtensionWebhook,
    ) -> Result<weir_core::WebhookSubscription, crate::extension_webhooks::ExtensionError> {
        let timeout = self.platform().settings.extension_webhook_timeout;
        crate::extension_webhooks::subscription_for(installation, webhook, timeout)
    }

    /// The URL a delivery attempt made now calls (with `orgId` and a fresh
    /// `securityContext` for an extension webhook).
    pub fn delivery_url(
        &self,
        subscription: &weir_core::WebhookSubscription,
    ) -> Result<url::Url, url::ParseError> {
        let key = &self.platform().settings.security_key;
        crate::deliverer::delivery_url(key, subscription, weir_core::now())
    }

    /// Ready when the database takes writes and every worker of this node runs.
    pub async fn readiness(&self) -> Result<(), Error> {
        let why = match self.store().ping().await {
            Err(error) => Some(format!("the database does not take writes: {error}")),
            Ok(()) => {
                let unready = self.platform().workers.unready();
                (!unready.is_empty()).then(|| unready.join("; "))
            }
        };
        self.note_readiness(why.as_deref());
        match why {
            None => Ok(()),
            Some(why) => Err(Error::new(
                ErrorKind::Unavailable,
                format!("not ready: {why}"),
            )),
        }
    }

    /// Logs when readiness changes, and why.
    fn note_readiness(&self, why: Option<&str>) {
        let mut last = self.last_unready.lock().unwrap_or_else(|e| e.into_inner());
        if last.as_deref() == why {
            return;
        }
        match why {
            Some(why) => tracing::warn!(why, "not ready"),
            None => tracing::info!("ready again"),
        }
        *last = why.map(str::to_owned);
    }

    /// `/metrics` in Prometheus text: the queues (read from the store), this node's
    /// counters, its workers, the build and the process.
    pub async fn metrics(&self) -> Result<String, Error> {
        let store = self.store();
        let now = weir_core::now();
        let queues = store.queue_depth(now).await?;
        let writable = store.ping().await.is_ok();
        let platform = self.platform();
        let scraped = crate::metrics::Scraped {
            queues: &queues,
            writable,
            now,
        };
        let mut text = platform.metrics.render(&scraped);
        platform.workers.render(&mut text);
        Ok(text)
    }

    /// Counts one answered HTTP request (`route` is the route's template).
    pub fn observe_http(&self, route: &str, method: &str, status: u16, took: std::time::Duration) {
        self.platform()
            .metrics
            .observe_http(route, method, status, took);
    }

    pub(crate) fn platform(&self) -> &Arc<Platform> {
        self.runner.platform()
    }

    pub(crate) fn targets(&self) -> &FreshCache<Installation> {
        &self.targets
    }

    pub(crate) fn accounts(&self) -> &FreshCache<Account> {
        &self.accounts
    }

    pub(crate) fn package_limits(&self) -> PackageLimits {
        self.packages
    }
}
