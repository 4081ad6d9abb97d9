//! A small Weir for engine tests: a real SQLite store, the real sandbox and outbound
//! client, and a fake third party on loopback that apps reach through host overrides.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

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
        let key = weir_core::SealingKey::generate().unwrap();
        store
            .unlock(weir_core::Keyring::new(key, vec![]))
            .await
            .unwrap();
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

/// The product events a packaged app listens to, as uploading it would store them; none
/// for a package that uploading would refuse (some tests run such code directly).
pub fn subscriptions_of(package: &[u8]) -> Vec<weir_core::Subscription> {
    let package = weir_core::Package::from_zip(package, Default::default()).unwrap();
    weir_core::AppDefinition::parse(&package)
        .map(|definition| definition.product_subscriptions())
        .unwrap_or_default()
}
