//! One suite, both backends: every test here runs against embedded SQLite and against a
//! fresh PostgreSQL database (`WEIR_TEST_DATABASE_URL`).

use std::sync::Arc;

use jiff::Timestamp;
use serde_json::json;
use weir_core::{
    Account, AccountId, ApiKey, ApiKeyId, ApiToken, AppId, AppName, Departments, Domain,
    Installation, InstallationId, InstallationStatus, Iparams, Product, Region,
};
use weir_store::{
    AccountChanges, DataWrite, Expect, NewApp, PageRequest, PgStore, SqliteStore, Store,
    StoreError, StoredData,
};
use weir_testkit::TempDir;

/// A store under test, and where its data lives so that it can be opened again.
struct Backend {
    store: Arc<dyn Store>,
    location: Location,
}

enum Location {
    Sqlite(TempDir),
    Postgres(String),
}

impl Location {
    async fn open(&self) -> Arc<dyn Store> {
        match self {
            Location::Sqlite(dir) => Arc::new(SqliteStore::open(dir.path()).await.unwrap()),
            Location::Postgres(url) => Arc::new(PgStore::connect(url).await.unwrap()),
        }
    }
}

async fn sqlite() -> Backend {
    let location = Location::Sqlite(TempDir::new());
    Backend {
        store: location.open().await,
        location,
    }
}

async fn postgres() -> Backend {
    let location = Location::Postgres(weir_testkit::fresh_postgres_database().await);
    Backend {
        store: location.open().await,
        location,
    }
}

macro_rules! conformance {
    ($($test:ident),* $(,)?) => {
        mod on_sqlite {$(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() { super::$test(super::sqlite().await).await }
        )*}
        mod on_postgres {$(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() { super::$test(super::postgres().await).await }
        )*}
    };
}

conformance!(
    accounts_round_trip,
    accounts_paginate_in_id_order,
    app_versions_count_per_name,
    one_active_installation_per_app,
    account_with_installations_cannot_be_deleted,
    api_keys_round_trip,
    settings_keep_their_first_value,
    data_survives_reopening,
    concurrent_writes_all_land_and_a_failing_one_stands_alone,
    a_reference_to_a_missing_row_is_not_found,
    app_data_writes_follow_their_conditions,
    app_data_entries_expire,
);

/// An installation to hang `$db` entries on.
async fn installed(store: &Arc<dyn Store>) -> InstallationId {
    let acme = account("acme");
    store.insert_account(&acme).await.unwrap();
    let app = store.insert_app(new_app("pomodoro")).await.unwrap();
    let installation = installation(&acme, &app);
    store.insert_installation(&installation).await.unwrap();
    installation.id
}

fn write<'a>(
    id: &'a InstallationId,
    value: &'a serde_json::Value,
    expect: Expect,
) -> DataWrite<'a> {
    DataWrite {
        installation: id,
        key: "k",
        value,
        expires_at: None,
        expect,
        now: now(),
    }
}

async fn app_data_writes_follow_their_conditions(backend: Backend) {
    let store = backend.store;
    let id = installed(&store).await;
    let (one, two) = (json!({"n": 1}), json!({"n": 2}));
    assert!(
        !store
            .put_app_data(write(&id, &one, Expect::Present))
            .await
            .unwrap(),
        "nothing to update"
    );
    assert!(
        store
            .put_app_data(write(&id, &one, Expect::Absent))
            .await
            .unwrap()
    );
    assert!(
        !store
            .put_app_data(write(&id, &two, Expect::Absent))
            .await
            .unwrap(),
        "it exists now"
    );
    let stored = store.app_data(&id, "k", now()).await.unwrap().unwrap();
    assert_eq!(
        stored,
        StoredData {
            value: one.clone(),
            version: 1,
            expires_at: None
        }
    );

    assert!(
        store
            .put_app_data(write(&id, &two, Expect::Version(1)))
            .await
            .unwrap()
    );
    assert!(
        !store
            .put_app_data(write(&id, &one, Expect::Version(1)))
            .await
            .unwrap(),
        "a stale version loses"
    );
    assert_eq!(
        store.app_data(&id, "k", now()).await.unwrap().unwrap(),
        StoredData {
            value: two,
            version: 2,
            expires_at: None
        }
    );
    assert!(
        store
            .put_app_data(write(&id, &one, Expect::Anything))
            .await
            .unwrap()
    );

    assert!(store.delete_app_data(&id, "k", now()).await.unwrap());
    assert!(!store.delete_app_data(&id, "k", now()).await.unwrap());
    assert_eq!(store.app_data(&id, "k", now()).await.unwrap(), None);
}

async fn app_data_entries_expire(backend: Backend) {
    let store = backend.store;
    let id = installed(&store).await;
    let value = json!({"session": "s"});
    let base = now();
    let later = |ms: i64| Timestamp::from_millisecond(base.as_millisecond() + ms).unwrap();
    let mut expiring = write(&id, &value, Expect::Anything);
    expiring.expires_at = Some(later(1_000));
    assert!(store.put_app_data(expiring).await.unwrap());
    let stored = store.app_data(&id, "k", now()).await.unwrap().unwrap();
    assert_eq!(stored.expires_at, Some(later(1_000)));
    assert_eq!(
        store.app_data(&id, "k", later(2_000)).await.unwrap(),
        None,
        "past its time"
    );

    let mut again = write(&id, &value, Expect::Absent);
    again.now = later(2_000);
    assert!(
        store.put_app_data(again).await.unwrap(),
        "an expired entry counts as absent"
    );
}

async fn a_reference_to_a_missing_row_is_not_found(backend: Backend) {
    let store = backend.store;
    let app = store.insert_app(new_app("pomodoro")).await.unwrap();
    let orphan = installation(&account("nobody"), &app);
    assert_eq!(
        store.insert_installation(&orphan).await,
        Err(StoreError::NotFound)
    );
    let key = ApiKey {
        id: ApiKeyId::generate(),
        account_id: AccountId::parse("nobody").unwrap(),
        name: None,
        token_hash: ApiToken::generate("weir_ak_").hash(),
        created_at: now(),
    };
    assert_eq!(store.insert_api_key(&key).await, Err(StoreError::NotFound));
}

fn now() -> Timestamp {
    weir_core::now()
}

fn account(id: &str) -> Account {
    Account {
        id: AccountId::parse(id).unwrap(),
        domain: Domain::parse("acme.freshsales.io").unwrap(),
        region: Region::US,
        product: Product::parse("freshsales").unwrap(),
        departments: Departments::parse(vec!["d1".into()]).unwrap(),
        created_at: now(),
        updated_at: now(),
    }
}

fn new_app(name: &str) -> NewApp {
    NewApp {
        id: AppId::generate(),
        name: AppName::parse(name).unwrap(),
        platform_version: Some("2.3".into()),
        package: vec![0x50, 0x4b, 1, 2, 3],
        package_sha256: "abc".into(),
        created_at: now(),
    }
}

fn installation(account: &Account, app: &weir_core::App) -> Installation {
    Installation {
        id: InstallationId::generate(),
        account_id: account.id.clone(),
        app_id: app.id.clone(),
        app_name: app.name.clone(),
        status: InstallationStatus::Active,
        iparams: Iparams {
            public: json!({"domain": "x.io"}).as_object().unwrap().clone(),
            secure: json!({"api_key": "s3cret"}).as_object().unwrap().clone(),
        },
        departments: Departments::default(),
        scopes: vec!["Desk.events.ALL".into()],
        target_token: weir_core::TargetToken::generate(),
        created_at: now(),
        updated_at: now(),
    }
}

async fn accounts_round_trip(backend: Backend) {
    let store = backend.store;
    let mut acme = account("12345");
    store.insert_account(&acme).await.unwrap();
    assert_eq!(store.account(&acme.id).await.unwrap(), Some(acme.clone()));

    let duplicate = store.insert_account(&acme).await.unwrap_err();
    assert_eq!(
        duplicate,
        StoreError::Conflict("account 12345 already exists".into())
    );

    let changes = AccountChanges {
        region: Some(Region::EU),
        departments: Some(Departments::default()),
        updated_at: Timestamp::from_millisecond(acme.updated_at.as_millisecond() + 1).unwrap(),
        ..AccountChanges::default()
    };
    store.update_account(&acme.id, &changes).await.unwrap();
    acme.region = Region::EU;
    acme.departments = Departments::default();
    acme.updated_at = changes.updated_at;
    assert_eq!(
        store.account(&acme.id).await.unwrap(),
        Some(acme.clone()),
        "only the given fields change"
    );

    store.delete_account(&acme.id).await.unwrap();
    assert_eq!(store.account(&acme.id).await.unwrap(), None);
    assert_eq!(
        store.delete_account(&acme.id).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.update_account(&acme.id, &changes).await,
        Err(StoreError::NotFound)
    );
}

async fn accounts_paginate_in_id_order(backend: Backend) {
    let store = backend.store;
    for id in ["c", "a", "b"] {
        store.insert_account(&account(id)).await.unwrap();
    }
    let first = store.accounts(&PageRequest::first(2)).await.unwrap();
    let ids: Vec<&str> = first.items.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["a", "b"]);
    assert_eq!(first.next_after.as_deref(), Some("b"));
    let rest = store
        .accounts(&PageRequest {
            after: first.next_after,
            limit: 2,
        })
        .await
        .unwrap();
    let ids: Vec<&str> = rest.items.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["c"]);
    assert_eq!(rest.next_after, None);
}

async fn app_versions_count_per_name(backend: Backend) {
    let store = backend.store;
    let v1 = store.insert_app(new_app("pomodoro")).await.unwrap();
    let v2 = store.insert_app(new_app("pomodoro")).await.unwrap();
    let other = store.insert_app(new_app("timer")).await.unwrap();
    assert_eq!((v1.version, v2.version, other.version), (1, 2, 1));
    assert_eq!(v1.package_size, 5);
    assert_eq!(store.app(&v2.id).await.unwrap(), Some(v2.clone()));
    assert_eq!(
        store.app_package(&v1.id).await.unwrap(),
        Some(vec![0x50, 0x4b, 1, 2, 3])
    );
    assert_eq!(store.app(&AppId::generate()).await.unwrap(), None);
    let all = store.apps(&PageRequest::first(10)).await.unwrap();
    assert_eq!(all.items, vec![v1, v2, other]);
}

async fn one_active_installation_per_app(backend: Backend) {
    let store = backend.store;
    let acme = account("acme");
    store.insert_account(&acme).await.unwrap();
    let app = store.insert_app(new_app("pomodoro")).await.unwrap();
    let first = installation(&acme, &app);
    store.insert_installation(&first).await.unwrap();
    assert_eq!(
        store.installation(&first.id).await.unwrap(),
        Some(first.clone())
    );

    let second = store
        .insert_installation(&installation(&acme, &app))
        .await
        .unwrap_err();
    assert!(
        matches!(&second, StoreError::Conflict(m) if m.contains("already installed")),
        "{second}"
    );

    store.uninstall(&first.id, now()).await.unwrap();
    let gone = store.installation(&first.id).await.unwrap().unwrap();
    assert_eq!(gone.status, InstallationStatus::Uninstalled);
    assert_eq!(
        store.uninstall(&first.id, now()).await,
        Err(StoreError::NotFound)
    );

    let again = installation(&acme, &app);
    store.insert_installation(&again).await.unwrap();
    let listed = store
        .installations(&acme.id, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(listed.items, vec![again]);
}

async fn account_with_installations_cannot_be_deleted(backend: Backend) {
    let store = backend.store;
    let acme = account("acme");
    store.insert_account(&acme).await.unwrap();
    let app = store.insert_app(new_app("pomodoro")).await.unwrap();
    let installed = installation(&acme, &app);
    store.insert_installation(&installed).await.unwrap();

    let refused = store.delete_account(&acme.id).await.unwrap_err();
    assert!(
        matches!(&refused, StoreError::Conflict(m) if m.contains("active installations")),
        "{refused}"
    );

    store.uninstall(&installed.id, now()).await.unwrap();
    store.delete_account(&acme.id).await.unwrap();
    assert_eq!(store.installation(&installed.id).await.unwrap(), None);
}

async fn api_keys_round_trip(backend: Backend) {
    let store = backend.store;
    let acme = account("acme");
    store.insert_account(&acme).await.unwrap();
    let other = account("other");
    store.insert_account(&other).await.unwrap();
    let token = ApiToken::generate("weir_ak_");
    let key = ApiKey {
        id: ApiKeyId::generate(),
        account_id: acme.id.clone(),
        name: Some("backend".into()),
        token_hash: token.hash(),
        created_at: now(),
    };
    store.insert_api_key(&key).await.unwrap();

    let found = store.api_key_by_hash(&token.hash()).await.unwrap().unwrap();
    assert_eq!(
        (found.id.clone(), found.account_id.clone()),
        (key.id.clone(), acme.id.clone())
    );
    assert!(found.token_hash.matches(&token.hash()));
    let unknown = ApiToken::generate("weir_ak_").hash();
    assert!(store.api_key_by_hash(&unknown).await.unwrap().is_none());
    assert_eq!(store.api_keys(&acme.id).await.unwrap().len(), 1);

    assert_eq!(
        store.delete_api_key(&other.id, &key.id).await,
        Err(StoreError::NotFound)
    );
    store.delete_api_key(&acme.id, &key.id).await.unwrap();
    assert!(
        store
            .api_key_by_hash(&token.hash())
            .await
            .unwrap()
            .is_none()
    );
}

async fn settings_keep_their_first_value(backend: Backend) {
    let store = backend.store;
    assert_eq!(store.setting("admin_token_hash").await.unwrap(), None);
    assert_eq!(
        store
            .init_setting("admin_token_hash", "first")
            .await
            .unwrap(),
        "first"
    );
    assert_eq!(
        store
            .init_setting("admin_token_hash", "second")
            .await
            .unwrap(),
        "first"
    );
    assert_eq!(
        store.setting("admin_token_hash").await.unwrap().as_deref(),
        Some("first")
    );
}

async fn data_survives_reopening(backend: Backend) {
    let acme = account("acme");
    backend.store.insert_account(&acme).await.unwrap();
    let app = backend.store.insert_app(new_app("pomodoro")).await.unwrap();
    drop(backend.store);
    let reopened = backend.location.open().await;
    assert_eq!(reopened.account(&acme.id).await.unwrap(), Some(acme));
    assert_eq!(reopened.app(&app.id).await.unwrap(), Some(app));
    reopened.ping().await.unwrap();
}

async fn concurrent_writes_all_land_and_a_failing_one_stands_alone(backend: Backend) {
    let store = backend.store;
    store.insert_account(&account("taken")).await.unwrap();
    let writes = (0..100).map(|i| {
        let store = store.clone();
        let id = if i == 50 {
            "taken".to_string()
        } else {
            format!("acct{i:03}")
        };
        tokio::spawn(async move { store.insert_account(&account(&id)).await })
    });
    let results: Vec<_> = futures_join(writes).await;
    let failures: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(
        failures,
        [&StoreError::Conflict("account taken already exists".into())],
        "only the duplicate fails"
    );
    let listed = store.accounts(&PageRequest::first(200)).await.unwrap();
    assert_eq!(
        listed.items.len(),
        100,
        "99 new accounts and the one taken before"
    );
}

async fn futures_join<T: Send + 'static>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut results = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        results.push(handle.await.unwrap());
    }
    results
}
