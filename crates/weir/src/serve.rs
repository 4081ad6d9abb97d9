//! `weir serve`: open the store, settle the admin token, listen, and stop cleanly on
//! SIGINT or SIGTERM: requests in flight finish, workers stop claiming and finish what
//! they run (giving back what is still running when the drain time ends), and queued
//! writes are committed.

use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use weir_engine::outbound::OutboundSettings;
use weir_engine::platform::SecurityKey;
use weir_engine::{Engine, EngineSettings, PlatformSettings};
use weir_http::ServerState;
use weir_store::StoreConfig;

use crate::{admin_token, secret_key};

/// How long requests in flight may run on after SIGINT/SIGTERM.
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(30);
use crate::config::ServeConfig;

pub async fn run(config: ServeConfig) -> anyhow::Result<()> {
    let store_config = match &config.database_url {
        Some(url) => StoreConfig::Postgres { url: url.clone() },
        None => StoreConfig::Sqlite {
            data_dir: config.data_dir.clone(),
        },
    };
    let store = weir_store::open(&store_config)
        .await
        .context("cannot open the store")?;
    let unlocked = secret_key::unlock(store.as_ref(), &config.keys).await?;
    let admin_token = admin_token::resolve(store.as_ref(), &config.data_dir).await?;
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let address = listener.local_addr()?;
    let public_url = config
        .public_url
        .unwrap_or_else(|| format!("http://{address}"));
    let platform_settings = PlatformSettings {
        external_events_per_minute: config.external_events_per_minute,
        entity_page_size: config.entity_page_size,
        validate_extension_urls: config.check_extension_urls,
        disable_failing_after: config.disable_failing_after,
        operational_debounce: config.operational_debounce,
        extension_webhook_timeout: config.extension_webhook_timeout,
        retention: config.retention,
        security_key: security_key(store.as_ref()).await?,
        ..PlatformSettings::default()
    };
    if config.workers {
        secret_key::spawn_background_rotation(store.clone(), unlocked);
    }
    let engine = start_engine(
        store,
        &config.outbound,
        platform_settings,
        &public_url,
        "production",
    )?;
    if config.workers {
        engine.spawn_workers();
    }
    let runner_workers = engine.workers();
    let state = ServerState {
        engine,
        admin_token: Arc::new(admin_token),
        limits: weir_http::Limits {
            webhook_body: weir_http::inbound_body::Limits {
                max_bytes: config.webhook_max_bytes,
                ..Default::default()
            },
            ..weir_http::Limits::default()
        },
        console: config.console.clone(),
    };
    let app = match config.api {
        true => weir_http::router(state),
        false => weir_http::health_router(state),
    };
    let signalled_to_stop = shutdown_signal();
    // Tests and scripts read this line to learn the port when listening on port 0.
    println!("weir listening on http://{address}");
    tracing::info!(%address, %public_url, storage = storage_name(&store_config), "weir is serving");
    let workers = runner_workers.clone();
    let (signalled, on_signal) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        signalled_to_stop.await;
        // The workers stop claiming now and finish what they run within the drain time,
        // beside the requests in flight.
        workers.stop(DRAIN_TIME);
        let _ = signalled.send(());
    };
    // Requests in flight get DRAIN_TIME to finish; a stuck one does not keep Weir up.
    let drained_or_late = async move {
        if on_signal.await.is_ok() {
            tokio::time::sleep(DRAIN_TIME).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        served = weir_http::serve(listener, app, shutdown, config.timeouts) => served?,
        () = drained_or_late => tracing::warn!(
            seconds = DRAIN_TIME.as_secs(),
            "requests still running after the drain time; stopping without them"
        ),
    }
    // Each worker ends by the drain's end, giving back what it still ran then; a store
    // that does not answer the give-back does not keep Weir up either.
    let given_back = DRAIN_TIME + std::time::Duration::from_secs(10);
    if tokio::time::timeout(given_back, runner_workers.stopped())
        .await
        .is_err()
    {
        tracing::warn!("workers still stopping; stopping without them");
    }
    // The store is dropped here: the SQLite writer commits what is queued, then stops.
    tracing::info!("weir stopped");
    Ok(())
}

/// The engine, with one JavaScript thread per core.
pub(crate) fn start_engine(
    store: Arc<dyn weir_store::Store>,
    outbound: &OutboundSettings,
    platform: PlatformSettings,
    public_url: &str,
    env: &'static str,
) -> anyhow::Result<Arc<Engine>> {
    let settings = EngineSettings {
        public_url: public_url.to_owned(),
        platform,
        outbound: outbound.clone(),
        sandbox: weir_sandbox::Limits::default(),
        packages: weir_core::PackageLimits::default(),
        env,
        threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
    };
    let engine = Engine::start(store, settings).context("cannot start the JavaScript threads")?;
    Ok(Arc::new(engine))
}

/// The key that signs `securityContext` tokens: made once and kept in the store, so that
/// every node and every restart verifies what any node issued.
pub(crate) async fn security_key(store: &dyn weir_store::Store) -> anyhow::Result<SecurityKey> {
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    let mut fresh = [0u8; 32];
    getrandom::fill(&mut fresh)
        .map_err(|e| anyhow::anyhow!("the operating system's random source failed: {e}"))?;
    let kept = store
        .init_setting("security_context_key", &engine.encode(fresh))
        .await
        .context("cannot keep the security context key")?;
    let key = engine
        .decode(kept)
        .context("the stored security context key is not base64")?;
    Ok(SecurityKey(key))
}

fn storage_name(config: &StoreConfig) -> &'static str {
    match config {
        StoreConfig::Sqlite { .. } => "sqlite",
        StoreConfig::Postgres { .. } => "postgres",
    }
}

/// Resolves on the first SIGINT or SIGTERM. The handlers are in place when this returns,
/// before the first poll: a signal that comes as soon as "weir listening" is printed
/// (tests stop servers at once) stops Weir cleanly instead of killing it.
pub(crate) fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()).ok(),
            signal(SignalKind::terminate()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let (mut interrupt, mut terminate) = signals;
            let interrupted = async {
                match &mut interrupt {
                    Some(signal) => signal.recv().await,
                    None => std::future::pending().await,
                }
            };
            let terminated = async {
                match &mut terminate {
                    Some(signal) => signal.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = interrupted => {}
                _ = terminated => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down: finishing requests in flight");
    }
}
