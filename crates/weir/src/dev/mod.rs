//! `weir dev [DIR]`: the local runner. Validates the app, installs it in an embedded Weir
//! kept in `DIR/.weir/` (one account, one installation), and serves the simulator
//! (`/web/test`), the iparams form (`/custom_configs`) and real traffic: the target URL,
//! global webhooks, schedules. Edits to the app's files take effect on the next event.

mod error;
mod events;
mod extension;
mod local_only;
mod payloads;
mod routes;
mod simulate;
mod urls;
mod workspace;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use weir_engine::PlatformSettings;
use weir_engine::outbound::OutboundSettings;
use weir_http::ServerState;
use weir_store::StoreConfig;

use crate::{admin_token, config, secret_key, serve, validate};
use workspace::Workspace;

/// How often the files are looked at when no request comes: schedules then run the
/// code as it is on disk too.
const LOOK_AGAIN: Duration = Duration::from_secs(1);
/// A developer's own machine: its local services are theirs to call.
const LOCAL_NETWORKS: &[&str] = &[
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
];

#[derive(clap::Args)]
pub struct DevArgs {
    /// The app folder (holding manifest.json)
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Port to listen on, on 127.0.0.1 (0: any free port)
    #[arg(long, default_value_t = 10001)]
    port: u16,
    /// Base of the URLs handed out, for a tunnel of your own to this port, e.g.
    /// https://abc.example-tunnel.dev [default: http://localhost:<port>]
    #[arg(long)]
    public_url: Option<String>,
    /// Send the app's calls to HOST to ADDRESS instead, over plain HTTP: HOST=IP:PORT,
    /// repeatable. Lets an app that calls https://api.github.com run against a local fake
    #[arg(long = "host-override", value_delimiter = ',')]
    host_overrides: Vec<String>,
}

/// Runs until SIGINT or SIGTERM; returns false (having printed the problems) if the app
/// is not valid.
pub async fn run(args: DevArgs) -> anyhow::Result<bool> {
    let dir = args.dir;
    let snapshot = workspace::Snapshot::take(&dir)?;
    if !validate::report(&dir, &snapshot.packed) {
        return Ok(false);
    }
    let state_dir = workspace::state_dir(&dir);
    std::fs::create_dir_all(&state_dir)
        .with_context(|| format!("cannot create {}", state_dir.display()))?;
    let store_config = StoreConfig::Sqlite {
        data_dir: state_dir.clone(),
    };
    let store = weir_store::open(&store_config)
        .await
        .context("cannot open the store in .weir/")?;
    secret_key::unlock(store.as_ref(), &secret_key::KeyArgs::default()).await?;
    let admin_token = admin_token::resolve(store.as_ref(), &state_dir).await?;
    let address = SocketAddr::from(([127, 0, 0, 1], args.port));
    let listener = TcpListener::bind(address).await.with_context(|| {
        format!("cannot listen on {address} (is another weir dev running? try --port)")
    })?;
    let address = listener.local_addr()?;
    let public_url = match args.public_url {
        Some(url) => config::checked_public_url(&url)?,
        None => format!("http://localhost:{}", address.port()),
    };
    let outbound = OutboundSettings {
        allow_private: LOCAL_NETWORKS
            .iter()
            .map(|n| n.parse())
            .collect::<Result<_, _>>()
            .map_err(anyhow::Error::msg)?,
        host_overrides: config::host_overrides(args.host_overrides)?,
    };
    let settings = PlatformSettings {
        validate_extension_urls: false,
        security_key: serve::security_key(store.as_ref()).await?,
        ..PlatformSettings::default()
    };
    let engine = serve::start_engine(store, &outbound, settings, &public_url, "test")?;
    let workspace =
        Workspace::open(&dir, engine.clone(), snapshot, address.port(), &public_url).await?;
    let workspace = Arc::new(workspace);
    engine.spawn_workers();
    tokio::spawn(keep_looking(workspace.clone()));
    let state = ServerState {
        engine,
        admin_token: Arc::new(admin_token),
        limits: weir_http::Limits::default(),
        console: weir_http::ConsoleSettings::default(),
    };
    let routed = routes::router(workspace.clone(), local_only::own_hosts(address.port()))
        .merge(weir_http::router(state));
    // Around the whole router, not its routes: `keep_in_step` may rewrite the URI, which
    // must happen before routing.
    let app =
        axum::Router::new()
            .fallback_service(routed)
            .layer(axum::middleware::from_fn_with_state(
                workspace.clone(),
                routes::keep_in_step,
            ));
    let stop = serve::shutdown_signal();
    print_urls(&workspace).await?;
    // Tests and scripts read this line to learn the port when listening on port 0.
    println!("weir listening on http://{address}");
    let timeouts = weir_http::Timeouts::default();
    weir_http::serve(listener, app, stop, timeouts).await?;
    Ok(true)
}

async fn print_urls(workspace: &Workspace) -> anyhow::Result<()> {
    let urls = &workspace.urls;
    let current = workspace.current().await?;
    println!();
    println!("weir dev: {} is installed and running", workspace.app_name);
    println!("  simulator       {}", urls.simulator());
    println!("  iparams         {}", urls.iparams());
    println!("  target URL      {}", urls.target);
    for (key, url) in urls.global_webhooks(&current.definition) {
        println!("  global webhook  {url}  ({key})");
    }
    for integration in routes::oauth_integrations(&current.definition) {
        let named = match integration.as_str() {
            "" => String::new(),
            name => format!("  ({name})"),
        };
        println!(
            "  OAuth           {}{named}",
            urls.oauth_authorize(&integration)
        );
    }
    if current.definition.oauth_config.is_some() {
        println!(
            "  OAuth callback  {}  (the redirect URI to register)",
            urls.oauth_callback()
        );
    }
    println!(
        "  state           {}",
        workspace::state_dir(&workspace.dir).display()
    );
    println!();
    Ok(())
}

/// Takes edits made while no request comes, so that schedules run the new code.
async fn keep_looking(workspace: Arc<Workspace>) {
    loop {
        tokio::time::sleep(LOOK_AGAIN).await;
        if let Err(error) = workspace.current().await {
            tracing::warn!(error = format!("{error:#}"), "cannot read the app folder");
        }
    }
}
