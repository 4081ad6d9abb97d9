//! A small Weir for engine tests: a real SQLite store, the real sandbox and outbound
//! client, and a fake third party on loopback that apps reach through host overrides.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use serde_json::{Map, Value};
use weir_core::{
    Account, AccountId, AppId, AppName, Departments, Domain, Installation, InstallationId,
    InstallationStatus, InvocationRecord, Iparams, Product, Region,
};
use weir_engine::outbound::{Outbound, OutboundSettings};
use weir_engine::{Platform, PlatformSettings, Runner, RunnerSettings};
use weir_sandbox::{Limits, Sandbox};
use weir_store::{NewApp, SqliteStore, Store};
use weir_testkit::TempDir;

pub struct World {
    pub runner: Arc<Runner>,
    pub store: Arc<dyn Store>,
    _dir: TempDir,
}

impl World {
    /// `overrides`: host names sent to local fakes.
    pub async fn new(overrides: &[(&str, SocketAddr)], settings: PlatformSettings) -> Self {
        let dir = TempDir::new();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).await.unwrap());
        let outbound = Outbound::new(OutboundSettings {
            allow_private: vec![],
            host_overrides: overrides
                .iter()
                .map(|(host, address)| (host.to_string(), *address))
                .collect(),
        });
        let platform = Arc::new(Platform::new(store.clone(), outbound, settings));
        let runner = Runner::new(
            platform,
            Sandbox::start(2).unwrap(),
            RunnerSettings {
                public_url: "https://weir.example.com".into(),
                limits: Limits {
                    time: Duration::from_secs(5),
                    ..Limits::default()
                },
                env: "test",
            },
        );
        World {
            runner: Arc::new(runner),
            store,
            _dir: dir,
        }
    }

    /// Stores the app's package and installs it in a fresh Freshdesk account.
    pub async fn install(
        &self,
        files: &[(&str, &str)],
        public: Value,
        secure: Value,
    ) -> Arc<Installation> {
        let now = weir_core::now();
        let account = Account {
            id: AccountId::generate(),
            domain: Domain::parse("acme.freshdesk.com").unwrap(),
            region: Region::US,
            product: Product::parse("freshdesk").unwrap(),
            departments: Departments::default(),
            created_at: now,
            updated_at: now,
        };
        self.store.insert_account(&account).await.unwrap();
        let package = weir_testkit::zip(files);
        let app = self
            .store
            .insert_app(NewApp {
                id: AppId::generate(),
                name: AppName::parse("test-app").unwrap(),
                platform_version: Some("2.3".into()),
                package_sha256: weir_core::sha256_hex(&package),
                subscriptions: subscriptions_of(&package),
                package,
                created_at: now,
            })
            .await
            .unwrap();
        let object =
            |value: Value| -> Map<String, Value> { value.as_object().cloned().unwrap_or_default() };
        let installation = Installation {
            id: InstallationId::generate(),
            account_id: account.id,
            app_id: app.id,
            app_name: app.name,
            status: InstallationStatus::Active,
            iparams: Iparams {
                public: object(public),
                secure: object(secure),
            },
            departments: Departments::default(),
            scopes: vec![],
            target_token: weir_core::TargetToken::generate(),
            created_at: now,
            updated_at: now,
        };
        self.store.insert_installation(&installation).await.unwrap();
        Arc::new(installation)
    }

    pub async fn run(&self, installation: &Arc<Installation>, event: &str) -> InvocationRecord {
        let account = self
            .store
            .account(&installation.account_id)
            .await
            .unwrap()
            .unwrap();
        let payload = weir_engine::envelope::base(&account, installation, event);
        self.run_with(installation, event, payload).await
    }

    pub async fn run_with(
        &self,
        installation: &Arc<Installation>,
        event: &str,
        payload: Value,
    ) -> InvocationRecord {
        self.runner
            .run(installation.clone(), event, payload)
            .await
            .unwrap()
    }
}

/// One request the fake third party received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HashMap<String, String>,
    pub body: String,
}

/// What the fake answers: status, content type, body, and a delay before answering.
pub type Reply = (u16, &'static str, String, Duration);
type Responder = Arc<dyn Fn(&Received) -> Reply + Send + Sync>;

/// A third party on loopback that records every request and answers as told.
pub struct FakeThirdParty {
    pub address: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
}

impl FakeThirdParty {
    pub async fn start(respond: impl Fn(&Received) -> Reply + Send + Sync + 'static) -> Self {
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let responder: Responder = Arc::new(respond);
        let log = received.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let (log, responder) = (log.clone(), responder.clone());
                async move {
                    let request = Received {
                        method: method.to_string(),
                        path: uri.path().to_owned(),
                        query: uri.query().map(str::to_owned),
                        headers: headers
                            .iter()
                            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_owned()))
                            .collect(),
                        body: String::from_utf8_lossy(&body).into_owned(),
                    };
                    log.lock().unwrap().push(request.clone());
                    let (status, content_type, body, delay) = responder(&request);
                    tokio::time::sleep(delay).await;
                    (
                        StatusCode::from_u16(status).unwrap(),
                        [("content-type", content_type)],
                        body,
                    )
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeThirdParty { address, received }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// A JSON answer, at once.
pub fn json_reply(status: u16, body: Value) -> Reply {
    (status, "application/json", body.to_string(), Duration::ZERO)
}

/// The product events a packaged app listens to, as uploading it would store them; none
/// for a package that uploading would refuse (some tests run such code directly).
pub fn subscriptions_of(package: &[u8]) -> Vec<weir_core::Subscription> {
    let package = weir_core::Package::from_zip(package, Default::default()).unwrap();
    weir_core::AppDefinition::parse(&package)
        .map(|definition| definition.product_subscriptions())
        .unwrap_or_default()
}
