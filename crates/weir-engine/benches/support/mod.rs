//! What the engine's benches share: an account `bench` with one installed app whose
//! trivial handler listens to `onContactCreate`, and product events for it.

use serde_json::{Value, json};
use weir_core::{
    Account, AccountId, AppId, AppName, Departments, Domain, EventId, Installation, InstallationId,
    InstallationStatus, Iparams, Product, ProductEvent, Region,
};
use weir_store::{NewApp, Store};

const MANIFEST: &str = r#"{"platform-version": "2.3",
  "product": {"freshsales": {"events": {"onContactCreate": {"handler": "onContact"}}}}}"#;
const SERVER_JS: &str = "exports = { onContact: function (payload) { return 1; } };";

/// Stores the account, the app and its installation; returns the installation.
pub async fn install_listening_app(store: &dyn Store) -> Installation {
    let now = weir_core::now();
    let account = Account {
        id: AccountId::parse("bench").unwrap(),
        domain: Domain::parse("bench.myfreshworks.com").unwrap(),
        region: Region::US,
        product: Product::parse("freshsales").unwrap(),
        departments: Departments::default(),
        created_at: now,
        updated_at: now,
    };
    store.insert_account(&account).await.unwrap();
    let package =
        weir_testkit::zip(&[("manifest.json", MANIFEST), ("server/server.js", SERVER_JS)]);
    let definition = weir_core::AppDefinition::parse(
        &weir_core::Package::from_zip(&package, Default::default()).unwrap(),
    )
    .unwrap();
    let app = store
        .insert_app(NewApp {
            id: AppId::generate(),
            name: AppName::parse("bench").unwrap(),
            platform_version: Some("2.3".into()),
            package_sha256: weir_core::sha256_hex(&package),
            subscriptions: definition.product_subscriptions(),
            package,
            created_at: now,
        })
        .await
        .unwrap();
    let installation = Installation {
        id: InstallationId::generate(),
        account_id: account.id,
        app_id: app.id,
        app_name: app.name,
        status: InstallationStatus::Active,
        iparams: Iparams::default(),
        departments: Departments::default(),
        scopes: vec![],
        target_token: weir_core::TargetToken::generate(),
        created_at: now,
        updated_at: now,
    };
    store.insert_installation(&installation).await.unwrap();
    installation
}

/// An `onContactCreate` event of the account `bench`, carrying `data`.
pub fn contact_event(data: Value) -> ProductEvent {
    ProductEvent {
        id: EventId::generate(),
        account_id: AccountId::parse("bench").unwrap(),
        source: weir_core::EventSource::Product(Product::parse("freshsales").unwrap()),
        name: "onContactCreate".into(),
        body: json!({ "data": data }),
        idempotency_key: None,
        received_at: weir_core::now(),
    }
}
