//! One suite, both backends: every test here runs against embedded SQLite and against a
//! fresh PostgreSQL database (`WEIR_TEST_DATABASE_URL`).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Value, json};
use weir_core::entity_storage::query::Filter;
use weir_core::{
    Account, AccountId, ApiKey, ApiKeyId, ApiToken, AppId, AppName, ConsoleLine, Departments,
    Domain, EventSource, HttpMethod, Installation, InstallationId, InstallationStatus,
    InvocationFilter, InvocationId, InvocationRecord, InvocationStatus, Iparams, Job, JobStatus,
    Product, ProductEvent, Region, Repeat, Schedule, ScheduleLimits, ScheduleSpec, Subscription,
    TimeUnit,
};
use weir_core::{Keyring, SealingKey};
use weir_store::{
    AccountChanges, ConnectorSubscription, DataWrite, DeliveryFilter, DeliveryOutcome,
    DirectedEvent, EntityList, EntityRecord, EntityRecordChange, EventSelector, Expect,
    GlobalWebhookCount, Ingested, JobOutcome, Lease, NewApp, NewEntityRecord, NewJob, PageRequest,
    PendingAuthorization, PgStore, RecordKey, RecordKind, ScheduleWrite, SqliteStore, Store,
    StoreError, StoredData, StoredOAuthToken, WorkQueue,
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
    /// The store again; on PostgreSQL with every statement run by a generic plan, made
    /// when first prepared (as the server may choose after five runs of a statement).
    async fn open_with_generic_plans(&self) -> Arc<dyn Store> {
        match self {
            Location::Sqlite(_) => self.open().await,
            Location::Postgres(url) => {
                let url = format!("{url}?options=-c%20plan_cache_mode%3Dforce_generic_plan");
                let store: Arc<dyn Store> = Arc::new(PgStore::connect(&url).await.unwrap());
                store.unlock(suite_keyring()).await.unwrap();
                store
            }
        }
    }

    /// The store again, unlocked with the suite's key.
    async fn open(&self) -> Arc<dyn Store> {
        self.open_with(suite_keyring()).await.unwrap()
    }

    /// The store again, unlocked with `keyring` (or why it would not unlock).
    async fn open_with(&self, keyring: Keyring) -> Result<Arc<dyn Store>, StoreError> {
        let store = self.open_locked().await;
        store.unlock(keyring).await?;
        Ok(store)
    }

    async fn open_locked(&self) -> Arc<dyn Store> {
        match self {
            Location::Sqlite(dir) => Arc::new(SqliteStore::open(dir.path()).await.unwrap()),
            Location::Postgres(url) => Arc::new(PgStore::connect(url).await.unwrap()),
        }
    }
}

/// The key every store of the suite is sealed with, unless a test says otherwise.
fn suite_keyring() -> Keyring {
    static KEY: std::sync::LazyLock<SealingKey> =
        std::sync::LazyLock::new(|| SealingKey::generate().unwrap());
    Keyring::new(KEY.clone(), vec![])
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
    concurrent_ingests_and_finishes_each_get_their_own_answer,
    concurrent_directed_events_each_store_all_or_nothing,
    concurrent_handler_runs_each_record_and_finish_their_own_job,
    a_reference_to_a_missing_row_is_not_found,
    app_data_writes_follow_their_conditions,
    app_data_entries_expire,
    invocation_records_round_trip,
    invocations_filter_and_paginate_per_installation,
    schedules_round_trip,
    schedules_are_limited_per_kind_and_installation,
    concurrent_schedule_creations_respect_the_limit,
    due_schedules_of_active_installations_are_claimed_once_per_lease,
    concurrent_claims_never_share_a_schedule,
    finished_runs_delete_or_reschedule,
    a_run_finishing_after_an_update_leaves_the_update_alone,
    the_next_due_time_is_the_earliest_claimable_run,
    invocations_and_schedules_survive_reopening,
    events_fan_out_to_listening_active_installations_of_their_account,
    idempotency_keys_hold_for_a_day_per_account,
    concurrent_ingests_of_one_key_store_it_once,
    jobs_are_claimed_once_per_lease_and_finished_once,
    concurrent_job_claims_never_share_a_job,
    uninstalling_cancels_pending_jobs,
    deleting_an_installation_leaves_nothing_behind_but_its_records,
    deleting_an_account_deletes_every_record_of_it,
    installing_installations_hear_nothing_until_activated,
    switching_the_app_version_switches_the_subscriptions,
    installations_are_found_by_target_token,
    iparams_are_replaced_until_uninstalled,
    directed_events_store_all_or_nothing,
    selectors_route_to_active_installations_of_the_app,
    global_webhooks_are_counted_per_app_version,
    connector_subscriptions_keep_state_and_refresh_once_per_lease,
    events_owe_deliveries_to_enabled_subscriptions_of_their_account,
    events_and_subscriptions_are_read_many_at_once,
    operational_events_are_told_once_with_their_change,
    a_disabled_subscriptions_skipped_backlog_goes_with_retention,
    deliveries_are_claimed_finished_and_replayed,
    a_pending_delivery_is_retried_now_unless_an_attempt_is_in_flight,
    the_admin_lists_deliveries_of_every_account,
    webhook_call_records_are_kept_listed_and_purged,
    fifo_deliveries_go_in_the_order_they_were_stored,
    a_claim_takes_no_more_than_asked_whatever_the_plan,
    leases_are_extended_only_while_held,
    announced_work_is_heard_by_every_node,
    retention_deletes_old_finished_records_in_batches_and_nothing_pending,
    entity_records_round_trip,
    entity_records_filter_and_paginate,
    entity_records_are_per_installation_and_go_with_it,
    oauth_tokens_are_kept_per_installation_and_integration_until_uninstalled,
    secrets_are_sealed_at_rest,
    a_rotation_seals_every_secret_again_under_the_new_key,
    a_missing_or_wrong_key_is_refused_by_name,
    secrets_stored_in_clear_are_sealed_when_unlocked,
    an_authorization_state_is_taken_once_and_forgotten_when_abandoned,
);

/// An installation to hang `$db` entries on.
async fn installed(store: &Arc<dyn Store>) -> InstallationId {
    installed_in(store, "acme").await.id
}

/// An active installation in a new account of this id.
async fn installed_in(store: &Arc<dyn Store>, account_id: &str) -> Installation {
    let owner = account(account_id);
    store.insert_account(&owner).await.unwrap();
    let app = store.insert_app(new_app("pomodoro")).await.unwrap();
    let installation = installation(&owner, &app);
    store.insert_installation(&installation).await.unwrap();
    installation
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

/// On PostgreSQL, the store outlives the connections it made: a server restart ends every
/// session, and the next lookups, list, ingest and write are made on new connections
/// instead of failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_outlives_its_connections() {
    let backend = postgres().await;
    let Location::Postgres(url) = &backend.location else {
        panic!("postgres() gives a PostgreSQL store")
    };
    let store = backend.store;
    let acme = account("12345");
    store.insert_account(&acme).await.unwrap();
    let everything = PageRequest::first(10);
    for round in 0..3 {
        // Lookups at once, so that several connections are open when the sessions end.
        let mut lookups = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let (store, id) = (store.clone(), acme.id.clone());
            lookups.spawn(async move { store.account(&id).await.map(|found| found.is_some()) });
        }
        let found = lookups.join_all().await;
        assert!(found.iter().all(|found| found == &Ok(true)), "{found:?}");
        assert_eq!(
            store.account(&acme.id).await.unwrap(),
            Some(acme.clone()),
            "lookup, round {round}"
        );
        let listed = store.accounts(&everything).await.unwrap();
        assert_eq!(listed.items.first(), Some(&acme), "list, round {round}");
        let event = product_event("12345", "onTicketCreate", None, now());
        let ingested = store.ingest_events(&[event]).await;
        assert!(ingested.is_ok(), "ingest, round {round}: {ingested:?}");
        let inserted = store.insert_account(&account(&format!("777{round}"))).await;
        assert_eq!(inserted, Ok(()), "a single write, round {round}");
        weir_testkit::end_postgres_sessions(url).await;
    }
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
        subscriptions: Vec::new(),
        created_at: now(),
    }
}

/// An app listening to `(product, event, handler)` each, without retries.
fn listening_app(name: &str, events: &[(&str, &str, &str)]) -> NewApp {
    NewApp {
        subscriptions: events
            .iter()
            .map(|(product, event, handler)| Subscription {
                product: (*product).into(),
                event: (*event).into(),
                handler: (*handler).into(),
                max_attempts: 1,
            })
            .collect(),
        ..new_app(name)
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
    // A setting that changes (the console's sessions' start) is put, whatever it was.
    for value in ["1", "2"] {
        store.put_setting("sessions_since", value).await.unwrap();
        assert_eq!(
            store.setting("sessions_since").await.unwrap().as_deref(),
            Some(value)
        );
    }
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

/// Ingests and delivery outcomes that arrive together are committed together (group
/// commit on both backends): one that fails (an event of an account that does not exist,
/// a finish whose claim was overtaken) must fail alone, and every other caller must hear
/// exactly what its own write did.
async fn concurrent_ingests_and_finishes_each_get_their_own_answer(backend: Backend) {
    let store = backend.store;
    store.insert_account(&account("busy")).await.unwrap();
    for _ in 0..2 {
        let subscription = webhook_subscription("busy", &["onContactCreate"]);
        store
            .insert_webhook_subscription(&subscription)
            .await
            .unwrap();
    }
    let start = now();
    let ingests = (0..100).map(|i| {
        let store = store.clone();
        let owner = if i == 50 { "nobody" } else { "busy" };
        let events = vec![product_event(owner, "onContactCreate", None, start); 1 + i % 3];
        let events: Vec<ProductEvent> = events
            .into_iter()
            .map(|event| ProductEvent {
                id: weir_core::EventId::generate(),
                ..event
            })
            .collect();
        tokio::spawn(async move { (events.len(), store.ingest_events(&events).await) })
    });
    let mut stored = 0;
    for (sent, result) in futures_join(ingests).await {
        match result {
            Ok(ingested) => {
                assert_eq!(ingested.len(), sent);
                for one in ingested {
                    let Ingested::Created { deliveries, .. } = one else {
                        panic!("nothing here repeats a key");
                    };
                    assert_eq!(deliveries, 2, "one delivery per subscription");
                    stored += 1;
                }
            }
            Err(error) => assert_eq!(error, StoreError::NotFound, "only nobody's event fails"),
        }
    }
    let expected: usize = (0..100).filter(|i| *i != 50).map(|i| 1 + i % 3).sum();
    assert_eq!(stored, expected);

    let lease = after_ms(start, 60_000);
    let claimed = store.claim_deliveries(start, lease, 1_000).await.unwrap();
    assert_eq!(claimed.len(), expected * 2, "every delivery stored, once");
    let attempt = weir_core::Attempt {
        number: 1,
        at: start,
        status_code: Some(200),
        duration_ms: 3,
        error: None,
        response: None,
    };
    let finishes = claimed.iter().enumerate().map(|(i, delivery)| {
        let (store, attempt) = (store.clone(), attempt.clone());
        let mut delivery = delivery.clone();
        // Every tenth finish holds a claim that was overtaken: it must change nothing.
        let overtaken = i % 10 == 0;
        if overtaken {
            delivery.generation -= 1;
        }
        tokio::spawn(async move {
            let finished = store
                .finish_delivery(&delivery, Some(&attempt), DeliveryOutcome::Delivered, &[])
                .await;
            (overtaken, finished)
        })
    });
    for (overtaken, finished) in futures_join(finishes).await {
        assert_eq!(finished, Ok(!overtaken), "a finish hears what it did");
    }
    let again = store
        .claim_deliveries(after_ms(lease, 1), after_ms(lease, 60_000), 1_000)
        .await
        .unwrap();
    assert_eq!(
        again.len(),
        claimed.len().div_ceil(10),
        "the overtaken ones alone are still pending"
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

/// `base` moved by `ms` milliseconds, either way.
fn after_ms(base: Timestamp, ms: i64) -> Timestamp {
    Timestamp::from_millisecond(base.as_millisecond() + ms).unwrap()
}

/// A record with nothing optional: no output, no error, no render, no result.
fn invocation_record(
    installation: &Installation,
    event: &str,
    status: InvocationStatus,
    started_at: Timestamp,
) -> InvocationRecord {
    InvocationRecord {
        id: InvocationId::generate(),
        installation_id: installation.id.clone(),
        account_id: installation.account_id.clone(),
        app_id: installation.app_id.clone(),
        event: event.into(),
        handler: format!("{event}Handler"),
        status,
        started_at,
        duration_ms: 0,
        console: vec![],
        console_dropped: 0,
        error: None,
        stack: None,
        render: None,
        result: None,
    }
}

/// A record with every field set.
fn full_invocation_record(installation: &Installation) -> InvocationRecord {
    let line = |level: &str, text: &str| ConsoleLine {
        level: level.into(),
        text: text.into(),
    };
    InvocationRecord {
        duration_ms: 1_234,
        console: vec![
            line("log", "ticket 42 ✓"),
            line("error", "two\nlines \"quoted\""),
        ],
        console_dropped: 4_096,
        error: Some("TypeError: x is undefined".into()),
        stack: Some("at onTicketCreate (server.js:3:7)".into()),
        render: Some(json!({"status": 200, "message": {"ok": true, "items": [1, 2]}})),
        result: Some(json!([1, "two", null, 3.5, {"nested": {"deep": true}}])),
        ..invocation_record(
            installation,
            "onTicketCreate",
            InvocationStatus::Error,
            now(),
        )
    }
}

async fn invocation_records_round_trip(backend: Backend) {
    let store = backend.store;
    let installation = installed_in(&store, "acme").await;
    let full = full_invocation_record(&installation);
    let bare = invocation_record(
        &installation,
        "onAppInstall",
        InvocationStatus::Success,
        now(),
    );
    let null_result = InvocationRecord {
        result: Some(Value::Null),
        ..invocation_record(
            &installation,
            "onAppInstall",
            InvocationStatus::OutOfMemory,
            now(),
        )
    };
    for record in [&full, &bare, &null_result] {
        store.insert_invocation(record).await.unwrap();
        assert_eq!(
            store.invocation(&record.id).await.unwrap().as_ref(),
            Some(record)
        );
    }
    assert_eq!(
        store.invocation(&InvocationId::generate()).await.unwrap(),
        None
    );
    assert!(matches!(
        store.insert_invocation(&full).await,
        Err(StoreError::Conflict(_))
    ));

    let orphan = Installation {
        id: InstallationId::generate(),
        ..installation
    };
    let orphan_record =
        invocation_record(&orphan, "onAppInstall", InvocationStatus::Success, now());
    assert_eq!(
        store.insert_invocation(&orphan_record).await,
        Err(StoreError::NotFound)
    );
}

/// The ids of an installation's records that pass `filter`, on one page.
async fn listed_ids(
    store: &Arc<dyn Store>,
    installation: &InstallationId,
    filter: InvocationFilter,
) -> Vec<InvocationId> {
    let page = store
        .invocations(installation, &filter, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(page.next_after, None);
    page.items.into_iter().map(|record| record.id).collect()
}

async fn invocations_filter_and_paginate_per_installation(backend: Backend) {
    use InvocationStatus::{Error, Success, Timeout};
    let store = backend.store;
    let acme = installed_in(&store, "acme").await;
    let other = installed_in(&store, "other").await;
    let base = now();
    let records = [
        ("onContactCreate", Success, 0),
        ("onContactCreate", Error, 1_000),
        ("onTicketCreate", Success, 2_000),
        ("onTicketCreate", Timeout, 3_000),
    ]
    .map(|(event, status, ms)| invocation_record(&acme, event, status, after_ms(base, ms)));
    for record in &records {
        store.insert_invocation(record).await.unwrap();
    }
    let others = invocation_record(&other, "onContactCreate", Success, base);
    store.insert_invocation(&others).await.unwrap();
    let ids = |picked: &[usize]| -> Vec<InvocationId> {
        picked.iter().map(|&i| records[i].id.clone()).collect()
    };

    let all = InvocationFilter::default();
    assert_eq!(
        listed_ids(&store, &acme.id, all.clone()).await,
        ids(&[0, 1, 2, 3])
    );
    assert_eq!(
        listed_ids(&store, &other.id, all.clone()).await,
        [others.id]
    );
    let by_event = InvocationFilter {
        event: Some("onContactCreate".into()),
        ..all.clone()
    };
    assert_eq!(listed_ids(&store, &acme.id, by_event).await, ids(&[0, 1]));
    let by_status = InvocationFilter {
        status: Some(Success),
        ..all.clone()
    };
    assert_eq!(
        listed_ids(&store, &acme.id, by_status.clone()).await,
        ids(&[0, 2])
    );
    let since = InvocationFilter {
        since: Some(after_ms(base, 1_000)),
        ..all.clone()
    };
    assert_eq!(
        listed_ids(&store, &acme.id, since).await,
        ids(&[1, 2, 3]),
        "since is inclusive"
    );
    let until = InvocationFilter {
        until: Some(after_ms(base, 2_000)),
        ..all.clone()
    };
    assert_eq!(
        listed_ids(&store, &acme.id, until).await,
        ids(&[0, 1]),
        "until is exclusive"
    );
    let everything = InvocationFilter {
        event: Some("onTicketCreate".into()),
        status: Some(Timeout),
        since: Some(after_ms(base, 2_000)),
        until: Some(after_ms(base, 3_001)),
    };
    assert_eq!(listed_ids(&store, &acme.id, everything).await, ids(&[3]));

    let first = store
        .invocations(&acme.id, &all, &PageRequest::first(3))
        .await
        .unwrap();
    assert_eq!(first.items, records[..3]);
    assert_eq!(first.next_after.as_deref(), Some(records[2].id.as_str()));
    let rest = PageRequest {
        after: first.next_after,
        limit: 3,
    };
    let rest = store.invocations(&acme.id, &all, &rest).await.unwrap();
    assert_eq!(rest.items, records[3..]);
    assert_eq!(rest.next_after, None);

    let first = store
        .invocations(&acme.id, &by_status, &PageRequest::first(1))
        .await
        .unwrap();
    assert_eq!(first.items, records[..1]);
    let rest = PageRequest {
        after: first.next_after,
        limit: 1,
    };
    let rest = store
        .invocations(&acme.id, &by_status, &rest)
        .await
        .unwrap();
    assert_eq!(
        rest.items,
        records[2..3],
        "the cursor and the filter combine"
    );
    assert_eq!(rest.next_after, None);
}

fn one_time_schedule(installation: &InstallationId, name: &str, at: Timestamp) -> Schedule {
    Schedule {
        installation_id: installation.clone(),
        spec: ScheduleSpec {
            name: name.into(),
            data: json!({"ticket": 42, "note": "café"})
                .as_object()
                .unwrap()
                .clone(),
            schedule_at: at.to_string(),
            first_run: at,
            repeat: None,
        },
        next_run_at: at,
        version: 1,
        created_at: now(),
        updated_at: now(),
    }
}

fn recurring_schedule(installation: &InstallationId, name: &str, at: Timestamp) -> Schedule {
    let mut schedule = one_time_schedule(installation, name, at);
    schedule.spec.repeat = Some(Repeat {
        time_unit: TimeUnit::Minutes,
        frequency: 15,
        timezone: None,
    });
    schedule
}

fn names(schedules: &[Schedule]) -> Vec<&str> {
    schedules.iter().map(|s| s.spec.name.as_str()).collect()
}

async fn schedules_round_trip(backend: Backend) {
    let store = backend.store;
    let id = installed(&store).await;
    let limits = ScheduleLimits::default();
    let base = now();
    let reminder = one_time_schedule(&id, "reminder", after_ms(base, 600_000));
    assert_eq!(
        store.insert_schedule(&reminder, &limits).await.unwrap(),
        ScheduleWrite::Written
    );
    assert_eq!(
        store.schedule(&id, "reminder").await.unwrap(),
        Some(reminder.clone())
    );
    assert_eq!(store.schedule(&id, "nothing").await.unwrap(), None);

    let same_name = one_time_schedule(&id, "reminder", after_ms(base, 900_000));
    assert_eq!(
        store.insert_schedule(&same_name, &limits).await.unwrap(),
        ScheduleWrite::NameTaken
    );
    assert_eq!(
        store.schedule(&id, "reminder").await.unwrap(),
        Some(reminder.clone()),
        "the first one stays"
    );

    let mut changed = reminder.clone();
    changed.spec.data = json!({"ticket": 43}).as_object().unwrap().clone();
    changed.spec.schedule_at = "2026-03-27T09:00:00".into();
    changed.spec.first_run = after_ms(base, 3_600_000);
    changed.spec.repeat = Some(Repeat {
        time_unit: TimeUnit::Days,
        frequency: 2,
        timezone: Some("Europe/Paris".into()),
    });
    changed.next_run_at = after_ms(base, 7_200_000);
    changed.created_at = after_ms(reminder.created_at, 99);
    changed.updated_at = after_ms(reminder.updated_at, 5);
    assert_eq!(
        store.update_schedule(&changed, &limits).await.unwrap(),
        ScheduleWrite::Written
    );
    let expected = Schedule {
        version: 2,
        created_at: reminder.created_at,
        ..changed.clone()
    };
    assert_eq!(
        store.schedule(&id, "reminder").await.unwrap(),
        Some(expected),
        "the spec is replaced, the version bumped, the creation time kept"
    );

    let missing = one_time_schedule(&id, "missing", after_ms(base, 600_000));
    assert_eq!(
        store.update_schedule(&missing, &limits).await.unwrap(),
        ScheduleWrite::NotFound
    );
    assert_eq!(store.schedule(&id, "missing").await.unwrap(), None);

    assert!(store.delete_schedule(&id, "reminder").await.unwrap());
    assert_eq!(store.schedule(&id, "reminder").await.unwrap(), None);
    assert!(!store.delete_schedule(&id, "reminder").await.unwrap());

    let orphan = one_time_schedule(&InstallationId::generate(), "x", after_ms(base, 600_000));
    assert_eq!(
        store.insert_schedule(&orphan, &limits).await,
        Err(StoreError::NotFound)
    );
}

async fn schedules_are_limited_per_kind_and_installation(backend: Backend) {
    use ScheduleWrite::{OneTimeLimit, RecurringLimit, Written};
    let store = backend.store;
    let acme = installed_in(&store, "acme").await.id;
    let other = installed_in(&store, "other").await.id;
    let limits = ScheduleLimits {
        max_one_time: 2,
        max_recurring: 1,
        ..ScheduleLimits::default()
    };
    let at = after_ms(now(), 600_000);
    let insert = |schedule: Schedule| {
        let store = store.clone();
        async move { store.insert_schedule(&schedule, &limits).await.unwrap() }
    };
    let update = |schedule: Schedule| {
        let store = store.clone();
        async move { store.update_schedule(&schedule, &limits).await.unwrap() }
    };

    assert_eq!(insert(one_time_schedule(&acme, "a", at)).await, Written);
    assert_eq!(insert(one_time_schedule(&acme, "b", at)).await, Written);
    assert_eq!(
        insert(one_time_schedule(&acme, "c", at)).await,
        OneTimeLimit
    );
    assert_eq!(
        insert(recurring_schedule(&acme, "r1", at)).await,
        Written,
        "each kind has its own limit"
    );
    assert_eq!(
        insert(recurring_schedule(&acme, "r2", at)).await,
        RecurringLimit
    );
    assert_eq!(
        insert(one_time_schedule(&other, "a", at)).await,
        Written,
        "limits are per installation"
    );
    assert_eq!(insert(recurring_schedule(&other, "r1", at)).await, Written);
    assert_eq!(store.schedule(&acme, "c").await.unwrap(), None);
    assert_eq!(store.schedule(&acme, "r2").await.unwrap(), None);

    let moved = one_time_schedule(&acme, "b", after_ms(at, 60_000));
    assert_eq!(
        update(moved).await,
        Written,
        "a schedule that keeps its kind keeps its place"
    );
    assert_eq!(
        update(recurring_schedule(&acme, "b", at)).await,
        RecurringLimit,
        "becoming recurring needs a free recurring place"
    );
    let b = store.schedule(&acme, "b").await.unwrap().unwrap();
    assert_eq!((b.spec.repeat, b.version), (None, 2), "left as it was");

    assert!(store.delete_schedule(&acme, "r1").await.unwrap());
    assert_eq!(update(recurring_schedule(&acme, "b", at)).await, Written);
    assert_eq!(
        insert(one_time_schedule(&acme, "c", at)).await,
        Written,
        "b's one-time place is free now"
    );
    assert_eq!(
        update(one_time_schedule(&acme, "b", at)).await,
        OneTimeLimit,
        "becoming one-time needs a free one-time place"
    );
}

async fn concurrent_schedule_creations_respect_the_limit(backend: Backend) {
    let store = backend.store;
    let id = installed(&store).await;
    let limits = ScheduleLimits {
        max_one_time: 3,
        ..ScheduleLimits::default()
    };
    let at = after_ms(now(), 600_000);
    let creations = (0..12).map(|n| {
        let store = store.clone();
        let schedule = one_time_schedule(&id, &format!("s{n:02}"), at);
        tokio::spawn(async move { store.insert_schedule(&schedule, &limits).await.unwrap() })
    });
    let outcomes = futures_join(creations).await;
    let written = outcomes
        .iter()
        .filter(|&&o| o == ScheduleWrite::Written)
        .count();
    let refused = outcomes
        .iter()
        .filter(|&&o| o == ScheduleWrite::OneTimeLimit)
        .count();
    assert_eq!((written, refused), (3, 9), "{outcomes:?}");
}

async fn due_schedules_of_active_installations_are_claimed_once_per_lease(backend: Backend) {
    let store = backend.store;
    let active = installed_in(&store, "acme").await.id;
    let gone = installed_in(&store, "gone").await.id;
    let limits = ScheduleLimits::default();
    let base = now();
    let first = one_time_schedule(&active, "first", after_ms(base, -2_000));
    let second = recurring_schedule(&active, "second", after_ms(base, -1_000));
    let due_now = one_time_schedule(&active, "due-now", base);
    let later = one_time_schedule(&active, "later", after_ms(base, 60_000));
    let orphaned = one_time_schedule(&gone, "orphaned", after_ms(base, -3_000));
    for schedule in [&first, &second, &due_now, &later, &orphaned] {
        store.insert_schedule(schedule, &limits).await.unwrap();
    }
    store.uninstall(&gone, base).await.unwrap();
    assert_eq!(
        store.schedule(&gone, "orphaned").await.unwrap(),
        None,
        "uninstalling deletes the installation's schedules"
    );

    let lease = after_ms(base, 30_000);
    assert_eq!(
        store.claim_due_schedules(base, lease, 10).await.unwrap(),
        [first.clone(), second.clone(), due_now.clone()],
        "the due schedules of active installations, earliest first, as stored"
    );
    let soon = after_ms(base, 1_000);
    assert_eq!(
        store
            .claim_due_schedules(soon, after_ms(soon, 30_000), 10)
            .await
            .unwrap(),
        [],
        "claimed until the lease ends"
    );
    assert_eq!(
        store
            .claim_due_schedules(lease, after_ms(lease, 30_000), 10)
            .await
            .unwrap(),
        [],
        "a claim holds to its last millisecond"
    );
    let expired = after_ms(lease, 1);
    let again = store
        .claim_due_schedules(expired, after_ms(expired, 30_000), 2)
        .await
        .unwrap();
    assert_eq!(
        names(&again),
        ["first", "second"],
        "claimable again once the claim ran out, up to the limit"
    );
    assert_eq!(
        names(
            &store
                .claim_due_schedules(expired, after_ms(expired, 30_000), 10)
                .await
                .unwrap()
        ),
        ["due-now"]
    );
}

async fn concurrent_claims_never_share_a_schedule(backend: Backend) {
    let store = backend.store;
    let id = installed(&store).await;
    let base = now();
    let mut all = BTreeSet::new();
    for n in 0..20 {
        let name = format!("s{n:02}");
        let schedule = one_time_schedule(&id, &name, after_ms(base, -10 * n));
        store
            .insert_schedule(&schedule, &ScheduleLimits::default())
            .await
            .unwrap();
        all.insert(name);
    }
    for round in 0..5 {
        let now = after_ms(base, round * 10_000);
        let lease = after_ms(now, 5_000);
        let (a, b) = tokio::join!(
            store.claim_due_schedules(now, lease, 20),
            store.claim_due_schedules(now, lease, 20)
        );
        let claimed = |schedules: Vec<Schedule>| -> BTreeSet<String> {
            schedules.into_iter().map(|s| s.spec.name).collect()
        };
        let (a, b) = (claimed(a.unwrap()), claimed(b.unwrap()));
        assert!(a.is_disjoint(&b), "round {round}: {a:?} and {b:?}");
        assert_eq!(
            a.union(&b).cloned().collect::<BTreeSet<_>>(),
            all,
            "round {round}: every due schedule is claimed by one of them"
        );
    }
}

async fn finished_runs_delete_or_reschedule(backend: Backend) {
    let store = backend.store;
    let id = installed(&store).await;
    let base = now();
    let once = one_time_schedule(&id, "once", after_ms(base, -1_000));
    let every = recurring_schedule(&id, "every", after_ms(base, -1_000));
    for schedule in [&once, &every] {
        store
            .insert_schedule(schedule, &ScheduleLimits::default())
            .await
            .unwrap();
    }
    let lease = after_ms(base, 30_000);
    let claimed = store.claim_due_schedules(base, lease, 10).await.unwrap();
    assert_eq!(claimed.len(), 2);

    assert!(
        store
            .finish_schedule_run(&id, "once", 1, None)
            .await
            .unwrap()
    );
    assert_eq!(
        store.schedule(&id, "once").await.unwrap(),
        None,
        "a one-time schedule that ran is gone"
    );

    let next = after_ms(base, 15 * 60_000);
    assert!(
        store
            .finish_schedule_run(&id, "every", 1, Some(next))
            .await
            .unwrap()
    );
    let rescheduled = Schedule {
        next_run_at: next,
        version: 2,
        ..every.clone()
    };
    assert_eq!(
        store.schedule(&id, "every").await.unwrap(),
        Some(rescheduled.clone())
    );
    assert!(
        !store
            .finish_schedule_run(&id, "every", 1, Some(after_ms(next, 1)))
            .await
            .unwrap(),
        "a run finishes once"
    );
    assert_eq!(
        store
            .claim_due_schedules(next, after_ms(next, 30_000), 10)
            .await
            .unwrap(),
        [rescheduled],
        "released: due again at its next run, before the old lease ends"
    );
}

async fn a_run_finishing_after_an_update_leaves_the_update_alone(backend: Backend) {
    let store = backend.store;
    let id = installed(&store).await;
    let limits = ScheduleLimits::default();
    let base = now();
    let once = one_time_schedule(&id, "once", after_ms(base, -1_000));
    let every = recurring_schedule(&id, "every", after_ms(base, -1_000));
    for schedule in [&once, &every] {
        store.insert_schedule(schedule, &limits).await.unwrap();
    }
    let lease = after_ms(base, 30_000);
    assert_eq!(
        store
            .claim_due_schedules(base, lease, 10)
            .await
            .unwrap()
            .len(),
        2
    );

    let moved_once = one_time_schedule(&id, "once", after_ms(base, 600_000));
    let mut moved_every = recurring_schedule(&id, "every", after_ms(base, -500));
    moved_every.spec.repeat = Some(Repeat {
        time_unit: TimeUnit::Hours,
        frequency: 2,
        timezone: Some("America/New_York".into()),
    });
    for (before, after) in [(&once, &moved_once), (&every, &moved_every)] {
        assert_eq!(
            store.update_schedule(after, &limits).await.unwrap(),
            ScheduleWrite::Written
        );
        let name = after.spec.name.as_str();
        let finish_at = Some(after_ms(base, 3_600_000)).filter(|_| name == "every");
        assert!(
            !store
                .finish_schedule_run(&id, name, 1, finish_at)
                .await
                .unwrap(),
            "{name}: the run's version is stale"
        );
        let updated = Schedule {
            version: 2,
            created_at: before.created_at,
            ..after.clone()
        };
        assert_eq!(store.schedule(&id, name).await.unwrap(), Some(updated));
    }

    let soon = after_ms(base, 1);
    assert_eq!(
        names(
            &store
                .claim_due_schedules(soon, after_ms(soon, 30_000), 10)
                .await
                .unwrap()
        ),
        ["every"],
        "the update released the claim"
    );
}

async fn the_next_due_time_is_the_earliest_claimable_run(backend: Backend) {
    let store = backend.store;
    let active = installed_in(&store, "acme").await.id;
    let gone = installed_in(&store, "gone").await.id;
    assert_eq!(store.next_schedule_due().await.unwrap(), None);

    let base = now();
    let limits = ScheduleLimits::default();
    for schedule in [
        one_time_schedule(&active, "soon", after_ms(base, 1_000)),
        recurring_schedule(&active, "later", after_ms(base, 5_000)),
        one_time_schedule(&gone, "orphaned", after_ms(base, -5_000)),
    ] {
        store.insert_schedule(&schedule, &limits).await.unwrap();
    }
    store.uninstall(&gone, base).await.unwrap();
    assert_eq!(
        store.next_schedule_due().await.unwrap(),
        Some(after_ms(base, 1_000)),
        "schedules of uninstalled installations do not count"
    );

    let first_lease = after_ms(base, 20_000);
    let claimed = store
        .claim_due_schedules(after_ms(base, 1_000), first_lease, 10)
        .await
        .unwrap();
    assert_eq!(names(&claimed), ["soon"]);
    assert_eq!(
        store.next_schedule_due().await.unwrap(),
        Some(after_ms(base, 5_000)),
        "a claimed schedule is not due while its claim holds"
    );
    let second_lease = after_ms(base, 10_000);
    let claimed = store
        .claim_due_schedules(after_ms(base, 5_000), second_lease, 10)
        .await
        .unwrap();
    assert_eq!(names(&claimed), ["later"]);
    assert_eq!(
        store.next_schedule_due().await.unwrap(),
        Some(after_ms(second_lease, 1)),
        "with everything claimed, the first claim to run out"
    );

    let next = after_ms(base, 905_000);
    assert!(
        store
            .finish_schedule_run(&active, "later", 1, Some(next))
            .await
            .unwrap()
    );
    assert_eq!(
        store.next_schedule_due().await.unwrap(),
        Some(after_ms(first_lease, 1))
    );
    assert!(
        store
            .finish_schedule_run(&active, "soon", 1, None)
            .await
            .unwrap()
    );
    assert_eq!(store.next_schedule_due().await.unwrap(), Some(next));
}

async fn invocations_and_schedules_survive_reopening(backend: Backend) {
    let installation = installed_in(&backend.store, "acme").await;
    let record = full_invocation_record(&installation);
    backend.store.insert_invocation(&record).await.unwrap();
    let base = now();
    let schedule = recurring_schedule(&installation.id, "poll", after_ms(base, -1_000));
    backend
        .store
        .insert_schedule(&schedule, &ScheduleLimits::default())
        .await
        .unwrap();
    let lease = after_ms(base, 30_000);
    let claimed = backend
        .store
        .claim_due_schedules(base, lease, 10)
        .await
        .unwrap();
    assert_eq!(claimed, std::slice::from_ref(&schedule));
    drop(backend.store);

    let reopened = backend.location.open().await;
    assert_eq!(reopened.invocation(&record.id).await.unwrap(), Some(record));
    assert_eq!(
        reopened.schedule(&installation.id, "poll").await.unwrap(),
        Some(schedule)
    );
    assert_eq!(
        reopened.claim_due_schedules(base, lease, 10).await.unwrap(),
        [],
        "the claim is kept too"
    );
    assert_eq!(
        reopened.next_schedule_due().await.unwrap(),
        Some(after_ms(lease, 1))
    );
}

/// An event for `account`, received at `at`.
fn product_event(account: &str, name: &str, key: Option<&str>, at: Timestamp) -> ProductEvent {
    ProductEvent {
        id: weir_core::EventId::generate(),
        account_id: AccountId::parse(account).unwrap(),
        source: EventSource::Product(Product::parse("freshsales").unwrap()),
        name: name.into(),
        body: json!({"data": {"contact": {"id": 7}}}),
        idempotency_key: key.map(String::from),
        received_at: at,
    }
}

/// Installs `app` in `account` (which must exist).
async fn install(store: &Arc<dyn Store>, account: &Account, app: NewApp) -> Installation {
    let app = store.insert_app(app).await.unwrap();
    let installation = installation(account, &app);
    store.insert_installation(&installation).await.unwrap();
    installation
}

async fn ingest_one(store: &Arc<dyn Store>, event: &ProductEvent) -> Ingested {
    let mut ingested = store
        .ingest_events(std::slice::from_ref(event))
        .await
        .unwrap();
    assert_eq!(ingested.len(), 1);
    ingested.remove(0)
}

fn job_installations(jobs: &[Job]) -> Vec<&str> {
    jobs.iter().map(|j| j.installation_id.as_str()).collect()
}

async fn events_fan_out_to_listening_active_installations_of_their_account(backend: Backend) {
    let store = backend.store;
    let (acme, other) = (account("acme"), account("other"));
    store.insert_account(&acme).await.unwrap();
    store.insert_account(&other).await.unwrap();
    let contacts = [("freshsales", "onContactCreate", "onContact")];
    let listener = install(&store, &acme, listening_app("listener", &contacts)).await;
    let deals = [("freshsales", "onDealCreate", "onDeal")];
    install(&store, &acme, listening_app("deals-only", &deals)).await;
    let crm = [("freshworks_crm", "onContactCreate", "onCrmContact")];
    install(&store, &acme, listening_app("crm-only", &crm)).await;
    let gone = install(&store, &acme, listening_app("gone", &contacts)).await;
    store.uninstall(&gone.id, now()).await.unwrap();
    install(&store, &other, listening_app("elsewhere", &contacts)).await;

    let event = product_event("acme", "onContactCreate", None, now());
    let ingested = ingest_one(&store, &event).await;
    assert_eq!(
        ingested,
        Ingested::Created {
            id: event.id.clone(),
            jobs: 1,
            deliveries: 0
        }
    );
    assert_eq!(
        store.product_event(&event.id).await.unwrap(),
        Some(event.clone())
    );
    let jobs = store.jobs_of_event(&event.id).await.unwrap();
    assert_eq!(
        jobs,
        [Job {
            event_id: event.id.clone(),
            installation_id: listener.id.clone(),
            event: "onContactCreate".into(),
            handler: "onContact".into(),
            status: JobStatus::Pending,
            attempts: 0,
            max_attempts: 1,
            run_at: event.received_at,
            last_invocation: None,
        }]
    );

    // Nobody listens: the event is kept all the same, with no jobs.
    let unheard = product_event("acme", "onTaskCreate", None, now());
    let ingested = ingest_one(&store, &unheard).await;
    assert_eq!(
        ingested,
        Ingested::Created {
            id: unheard.id.clone(),
            jobs: 0,
            deliveries: 0
        }
    );
    assert!(store.product_event(&unheard.id).await.unwrap().is_some());
}

async fn idempotency_keys_hold_for_a_day_per_account(backend: Backend) {
    let store = backend.store;
    store.insert_account(&account("acme")).await.unwrap();
    store.insert_account(&account("other")).await.unwrap();
    let start = now();
    let first = product_event("acme", "onContactCreate", Some("k1"), start);
    assert!(matches!(
        ingest_one(&store, &first).await,
        Ingested::Created { .. }
    ));

    let repeat = product_event(
        "acme",
        "onContactCreate",
        Some("k1"),
        after_ms(start, 3_600_000),
    );
    assert_eq!(
        ingest_one(&store, &repeat).await,
        Ingested::Duplicate {
            id: first.id.clone()
        }
    );
    assert_eq!(
        store.product_event(&repeat.id).await.unwrap(),
        None,
        "nothing stored"
    );

    let elsewhere = product_event("other", "onContactCreate", Some("k1"), start);
    assert!(matches!(
        ingest_one(&store, &elsewhere).await,
        Ingested::Created { .. }
    ));

    // A day later the key is free again, and the new event holds it.
    let day = 24 * 3_600_000;
    let later = product_event("acme", "onContactCreate", Some("k1"), after_ms(start, day));
    assert!(matches!(
        ingest_one(&store, &later).await,
        Ingested::Created { .. }
    ));
    let again = product_event(
        "acme",
        "onContactCreate",
        Some("k1"),
        after_ms(start, day + 1),
    );
    assert_eq!(
        ingest_one(&store, &again).await,
        Ingested::Duplicate {
            id: later.id.clone()
        }
    );
    assert!(
        store.product_event(&first.id).await.unwrap().is_some(),
        "the first event stays"
    );

    // Within one batch, the second of a key repeats the first; other events are stored.
    let batch = [
        product_event("acme", "onDealCreate", Some("k2"), start),
        product_event("acme", "onDealCreate", Some("k2"), start),
        product_event("acme", "onDealCreate", None, start),
    ];
    let ingested = store.ingest_events(&batch).await.unwrap();
    assert_eq!(
        ingested,
        [
            Ingested::Created {
                id: batch[0].id.clone(),
                jobs: 0,
                deliveries: 0
            },
            Ingested::Duplicate {
                id: batch[0].id.clone()
            },
            Ingested::Created {
                id: batch[2].id.clone(),
                jobs: 0,
                deliveries: 0
            },
        ]
    );
}

async fn concurrent_ingests_of_one_key_store_it_once(backend: Backend) {
    let store = backend.store;
    let acme = account("acme");
    store.insert_account(&acme).await.unwrap();
    let contacts = [("freshsales", "onContactCreate", "onContact")];
    install(&store, &acme, listening_app("listener", &contacts)).await;
    let ingests = (0..8).map(|_| {
        let store = store.clone();
        let event = product_event("acme", "onContactCreate", Some("same"), now());
        tokio::spawn(async move { store.ingest_events(&[event]).await.unwrap().remove(0) })
    });
    let ingested = futures_join(ingests).await;
    let created: Vec<_> = ingested
        .iter()
        .filter(|i| matches!(i, Ingested::Created { .. }))
        .collect();
    assert_eq!(created.len(), 1, "{ingested:?}");
    assert!(
        ingested.iter().all(|i| i.id() == created[0].id()),
        "{ingested:?}"
    );
    assert_eq!(store.jobs_of_event(created[0].id()).await.unwrap().len(), 1);
}

async fn jobs_are_claimed_once_per_lease_and_finished_once(backend: Backend) {
    let store = backend.store;
    let acme = account("acme");
    store.insert_account(&acme).await.unwrap();
    let contacts = [("freshsales", "onContactCreate", "onContact")];
    let listener = install(&store, &acme, listening_app("listener", &contacts)).await;
    let start = now();
    let event = product_event("acme", "onContactCreate", None, start);
    ingest_one(&store, &event).await;
    assert_eq!(store.next_job_due().await.unwrap(), Some(event.received_at));
    assert!(
        store
            .claim_jobs(after_ms(start, -1), start, 10)
            .await
            .unwrap()
            .is_empty(),
        "not due yet"
    );

    let lease = after_ms(start, 60_000);
    let claimed = store.claim_jobs(start, lease, 10).await.unwrap();
    assert_eq!(job_installations(&claimed), [listener.id.as_str()]);
    assert_eq!((claimed[0].attempts, claimed[0].run_at), (1, lease));
    assert!(
        store
            .claim_jobs(after_ms(start, 59_999), lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.next_job_due().await.unwrap(),
        Some(lease),
        "due again when the lease ends"
    );

    // The claimer died: the job is claimed again once the lease is over.
    let second = store
        .claim_jobs(lease, after_ms(lease, 60_000), 10)
        .await
        .unwrap();
    assert_eq!(second[0].attempts, 2);

    let record = InvocationId::generate();
    let retry_at = after_ms(start, 600_000);
    let retry = JobOutcome::RetryAt {
        at: retry_at,
        invocation: Some(record.clone()),
    };
    let stale = JobOutcome::Failed { invocation: None };
    assert!(
        !store
            .finish_job(&event.id, &listener.id, 1, stale)
            .await
            .unwrap(),
        "the first claim's run cannot finish the second claim"
    );
    assert!(
        store
            .finish_job(&event.id, &listener.id, 2, retry)
            .await
            .unwrap()
    );
    let jobs = store.jobs_of_event(&event.id).await.unwrap();
    assert_eq!(
        (
            jobs[0].status,
            jobs[0].run_at,
            jobs[0].last_invocation.clone()
        ),
        (JobStatus::Pending, retry_at, Some(record.clone()))
    );

    let done = JobOutcome::Done {
        invocation: InvocationId::generate(),
    };
    assert!(
        store
            .finish_job(&event.id, &listener.id, 2, done.clone())
            .await
            .unwrap()
    );
    assert!(
        !store
            .finish_job(&event.id, &listener.id, 2, done)
            .await
            .unwrap(),
        "finished once"
    );
    let failed = JobOutcome::Failed { invocation: None };
    assert!(
        !store
            .finish_job(&event.id, &listener.id, 2, failed)
            .await
            .unwrap()
    );
    assert_eq!(
        store.jobs_of_event(&event.id).await.unwrap()[0].status,
        JobStatus::Done
    );
    assert_eq!(store.next_job_due().await.unwrap(), None);
    assert!(
        store
            .claim_jobs(after_ms(start, 10_000_000), after_ms(start, 20_000_000), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Handler runs ending at once each get their own answer: a record for a missing
/// installation is refused alone (and its job, as the dispatcher does, is not finished),
/// a run of an older claim does not finish the job, and of two runs finishing one job
/// only one does.
async fn concurrent_handler_runs_each_record_and_finish_their_own_job(backend: Backend) {
    let store = backend.store;
    let acme = account("acme");
    store.insert_account(&acme).await.unwrap();
    let contacts = [("freshsales", "onContactCreate", "onContact")];
    let listener = install(&store, &acme, listening_app("listener", &contacts)).await;
    let start = now();
    let events: Vec<_> = (0..40)
        .map(|_| product_event("acme", "onContactCreate", None, start))
        .collect();
    store.ingest_events(&events).await.unwrap();
    let claimed = store
        .claim_jobs(start, after_ms(start, 60_000), 100)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 40);
    let records: Vec<InvocationRecord> = (0..claimed.len())
        .map(|i| {
            let mut record = invocation_record(
                &listener,
                "onContactCreate",
                InvocationStatus::Success,
                now(),
            );
            if i == 20 {
                record.installation_id = InstallationId::generate();
            }
            record
        })
        .collect();
    // The records, then the jobs' ends, all at once.
    let recording = records.iter().cloned().map(|record| {
        let store = store.clone();
        tokio::spawn(async move { store.insert_invocation(&record).await })
    });
    let recorded = futures_join(recording).await;
    let finish = |i: usize, attempt: u32| {
        let (store, job) = (store.clone(), claimed[i].clone());
        let done = JobOutcome::Done {
            invocation: records[i].id.clone(),
        };
        tokio::spawn(async move {
            let finished = store
                .finish_job(&job.event_id, &job.installation_id, attempt, done)
                .await;
            (i, finished.unwrap())
        })
    };
    // The jobs' ends, all at once, but for job 5's and for job 20's, whose record was
    // refused; run 10 is of an older claim.
    let ends = (0..claimed.len())
        .filter(|i| ![5, 20].contains(i))
        .map(|i| match i {
            10 => finish(i, claimed[i].attempts - 1),
            _ => finish(i, claimed[i].attempts),
        });
    let mut finished: HashMap<usize, Vec<bool>> = HashMap::new();
    for (i, done) in futures_join(ends).await {
        finished.entry(i).or_default().push(done);
    }
    // Job 5 ends twice at once, as two runs of it would.
    for (i, done) in futures_join(
        [
            finish(5, claimed[5].attempts),
            finish(5, claimed[5].attempts),
        ]
        .into_iter(),
    )
    .await
    {
        finished.entry(i).or_default().push(done);
    }
    for (i, ((job, record), recorded)) in claimed.iter().zip(&records).zip(recorded).enumerate() {
        let mut finished = finished.remove(&i).unwrap_or_default();
        finished.sort();
        let kept = store.invocation(&record.id).await.unwrap();
        let now_job = store.jobs_of_event(&job.event_id).await.unwrap().remove(0);
        if i == 20 {
            assert_eq!(recorded, Err(StoreError::NotFound));
            assert_eq!(kept, None);
        } else {
            assert_eq!(recorded, Ok(()), "record {i}");
            assert_eq!(kept.map(|r| r.id), Some(record.id.clone()), "record {i}");
        }
        let (status, last) = (now_job.status, now_job.last_invocation);
        match i {
            10 | 20 => {
                let expected: &[bool] = if i == 10 { &[false] } else { &[] };
                assert_eq!(finished, expected, "an older claim's run, or none");
                assert_eq!((status, last), (JobStatus::Pending, None));
            }
            5 => {
                assert_eq!(finished, [false, true], "one of two runs finishes the job");
                assert_eq!((status, last), (JobStatus::Done, Some(record.id.clone())));
            }
            _ => {
                assert_eq!(finished, [true], "run {i}");
                assert_eq!(
                    (status, last),
                    (JobStatus::Done, Some(record.id.clone())),
                    "run {i}"
                );
            }
        }
    }
}

async fn concurrent_job_claims_never_share_a_job(backend: Backend) {
    let store = backend.store;
    let acme = account("acme");
    store.insert_account(&acme).await.unwrap();
    let contacts = [("freshsales", "onContactCreate", "onContact")];
    install(&store, &acme, listening_app("listener", &contacts)).await;
    let start = now();
    let events: Vec<_> = (0..40)
        .map(|_| product_event("acme", "onContactCreate", None, start))
        .collect();
    store.ingest_events(&events).await.unwrap();
    let lease = after_ms(start, 60_000);
    let (a, b) = tokio::join!(
        store.claim_jobs(start, lease, 25),
        store.claim_jobs(start, lease, 25)
    );
    let ids = |jobs: Vec<Job>| -> BTreeSet<String> {
        jobs.into_iter()
            .map(|j| j.event_id.as_str().to_owned())
            .collect()
    };
    let (a, b) = (ids(a.unwrap()), ids(b.unwrap()));
    assert!(a.is_disjoint(&b), "{a:?} and {b:?}");
    let rest = ids(store.claim_jobs(start, lease, 100).await.unwrap());
    assert_eq!(
        a.len() + b.len() + rest.len(),
        40,
        "every job is claimed exactly once"
    );
}

async fn uninstalling_cancels_pending_jobs(backend: Backend) {
    let store = backend.store;
    let acme = account("acme");
    store.insert_account(&acme).await.unwrap();
    let contacts = [("freshsales", "onContactCreate", "onContact")];
    let listener = install(&store, &acme, listening_app("listener", &contacts)).await;
    let event = product_event("acme", "onContactCreate", None, now());
    ingest_one(&store, &event).await;
    store.uninstall(&listener.id, now()).await.unwrap();
    let jobs = store.jobs_of_event(&event.id).await.unwrap();
    assert_eq!(jobs[0].status, JobStatus::Cancelled);
    assert!(
        store
            .claim_jobs(after_ms(now(), 1000), after_ms(now(), 2000), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.next_job_due().await.unwrap(), None);
}

async fn deleting_an_installation_leaves_nothing_behind_but_its_records(backend: Backend) {
    let store = backend.store;
    let acme = account("acme");
    store.insert_account(&acme).await.unwrap();
    let contacts = [("freshsales", "onContactCreate", "onContact")];
    let listener = install(&store, &acme, listening_app("listener", &contacts)).await;
    let value = json!({"n": 1});
    store
        .put_app_data(write(&listener.id, &value, Expect::Anything))
        .await
        .unwrap();
    let record = invocation_record(&listener, "onAppInstall", InvocationStatus::Error, now());
    store.insert_invocation(&record).await.unwrap();
    let schedule = one_time_schedule(&listener.id, "s", after_ms(now(), 60_000));
    store
        .insert_schedule(&schedule, &ScheduleLimits::default())
        .await
        .unwrap();
    let event = product_event("acme", "onContactCreate", None, now());
    ingest_one(&store, &event).await;

    assert!(store.delete_installation(&listener.id).await.unwrap());
    assert_eq!(store.installation(&listener.id).await.unwrap(), None);
    assert_eq!(
        store.app_data(&listener.id, "k", now()).await.unwrap(),
        None
    );
    assert_eq!(store.schedule(&listener.id, "s").await.unwrap(), None);
    assert!(store.jobs_of_event(&event.id).await.unwrap().is_empty());
    // The record of the handler's run says why the install was refused: it stays, by
    // its id and under the installation's.
    assert_eq!(
        store.invocation(&record.id).await.unwrap(),
        Some(record.clone())
    );
    let records = store
        .invocations(
            &listener.id,
            &InvocationFilter::default(),
            &PageRequest::first(10),
        )
        .await
        .unwrap();
    assert_eq!(records.items, vec![record]);
    assert!(!store.delete_installation(&listener.id).await.unwrap());
    // The app can be installed again in the account.
    let app = store.app(&listener.app_id).await.unwrap().unwrap();
    store
        .insert_installation(&installation(&acme, &app))
        .await
        .unwrap();
}

async fn switching_the_app_version_switches_the_subscriptions(backend: Backend) {
    let store = backend.store;
    let acme = account("acme");
    store.insert_account(&acme).await.unwrap();
    let contacts = [("freshsales", "onContactCreate", "onContact")];
    let first = install(&store, &acme, listening_app("listener", &contacts)).await;
    let deals = [("freshsales", "onDealCreate", "onDeal")];
    let second = store
        .insert_app(listening_app("listener", &deals))
        .await
        .unwrap();
    let stale = store
        .switch_app(&first.id, &second.id, &second.id, now())
        .await;
    assert_eq!(
        stale.unwrap_err(),
        StoreError::NotFound,
        "only from the version it is on"
    );
    store
        .switch_app(&first.id, &first.app_id, &second.id, now())
        .await
        .unwrap();
    assert_eq!(
        store.installation(&first.id).await.unwrap().unwrap().app_id,
        second.id
    );

    let contact = product_event("acme", "onContactCreate", None, now());
    let deal = product_event("acme", "onDealCreate", None, now());
    let ingested = store
        .ingest_events(&[contact.clone(), deal.clone()])
        .await
        .unwrap();
    assert_eq!(
        ingested,
        [
            Ingested::Created {
                id: contact.id,
                jobs: 0,
                deliveries: 0
            },
            Ingested::Created {
                id: deal.id,
                jobs: 1,
                deliveries: 0
            },
        ]
    );
    store.uninstall(&first.id, now()).await.unwrap();
    let missing = store
        .switch_app(&first.id, &second.id, &first.app_id, now())
        .await
        .unwrap_err();
    assert_eq!(
        missing,
        StoreError::NotFound,
        "only an active installation switches"
    );
}

async fn iparams_are_replaced_until_uninstalled(backend: Backend) {
    let store = backend.store;
    let installation = installed_in(&store, "acme").await;
    let changed = Iparams {
        public: json!({"domain": "y.io", "retries": 3})
            .as_object()
            .unwrap()
            .clone(),
        secure: json!({"api_key": "n3w"}).as_object().unwrap().clone(),
    };
    let later = now() + jiff::SignedDuration::from_secs(5);
    store
        .set_iparams(&installation.id, &changed, later)
        .await
        .unwrap();
    let stored = store.installation(&installation.id).await.unwrap().unwrap();
    assert_eq!(stored.iparams, changed);
    assert_eq!(stored.updated_at.as_millisecond(), later.as_millisecond());

    store.uninstall(&installation.id, now()).await.unwrap();
    let refused = store
        .set_iparams(&installation.id, &Iparams::default(), now())
        .await
        .unwrap_err();
    assert_eq!(
        refused,
        StoreError::NotFound,
        "an uninstalled one keeps its own"
    );
    let missing = store
        .set_iparams(&InstallationId::generate(), &changed, now())
        .await
        .unwrap_err();
    assert_eq!(missing, StoreError::NotFound);
}

async fn installations_are_found_by_target_token(backend: Backend) {
    let store = backend.store;
    let installation = installed_in(&store, "acme").await;
    let found = store
        .installation_by_target_token(&installation.target_token)
        .await
        .unwrap();
    assert_eq!(found, Some(installation.clone()));
    store.uninstall(&installation.id, now()).await.unwrap();
    let found = store
        .installation_by_target_token(&installation.target_token)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        found.status,
        InstallationStatus::Uninstalled,
        "still found, to answer 410"
    );
    let made_up = weir_core::TargetToken::generate();
    assert_eq!(
        store.installation_by_target_token(&made_up).await.unwrap(),
        None
    );
}

fn external_event(account: &str) -> ProductEvent {
    ProductEvent {
        source: EventSource::External,
        ..product_event(account, "onExternalEvent", None, now())
    }
}

async fn directed_events_store_all_or_nothing(backend: Backend) {
    let store = backend.store;
    let installation = installed_in(&store, "acme").await;
    let job = |installation: &InstallationId| NewJob {
        installation_id: installation.clone(),
        handler: "onWebhook".into(),
        max_attempts: 1,
    };
    let event = external_event("acme");
    let directed = DirectedEvent {
        event: event.clone(),
        jobs: vec![job(&installation.id)],
    };
    store.ingest_directed(&[directed]).await.unwrap();
    assert_eq!(
        store.product_event(&event.id).await.unwrap(),
        Some(event.clone())
    );
    let jobs = store.jobs_of_event(&event.id).await.unwrap();
    assert_eq!(
        (
            jobs[0].installation_id.clone(),
            jobs[0].event.as_str(),
            jobs[0].handler.as_str()
        ),
        (installation.id.clone(), "onExternalEvent", "onWebhook")
    );
    assert_eq!(jobs[0].status, JobStatus::Pending);
    // A connector's event reads back as one, as the external one did.
    let routed = ProductEvent {
        source: EventSource::Connector,
        ..product_event("acme", "chat-message", None, now())
    };
    let directed = DirectedEvent {
        event: routed.clone(),
        jobs: vec![job(&installation.id)],
    };
    store.ingest_directed(&[directed]).await.unwrap();
    assert_eq!(store.product_event(&routed.id).await.unwrap(), Some(routed));

    // A job for an installation that does not exist undoes the whole batch.
    let (first, second) = (external_event("acme"), external_event("acme"));
    let batch = [
        DirectedEvent {
            event: first.clone(),
            jobs: vec![job(&installation.id)],
        },
        DirectedEvent {
            event: second.clone(),
            jobs: vec![job(&InstallationId::generate())],
        },
    ];
    assert_eq!(
        store.ingest_directed(&batch).await.unwrap_err(),
        StoreError::NotFound
    );
    assert_eq!(store.product_event(&first.id).await.unwrap(), None);
    assert_eq!(store.product_event(&second.id).await.unwrap(), None);
}

/// Directed events posted together are committed together (group commit): a batch with a
/// job for a missing installation fails alone and leaves nothing, the others are stored
/// whole, each with its job.
async fn concurrent_directed_events_each_store_all_or_nothing(backend: Backend) {
    let store = backend.store;
    let installation = installed_in(&store, "acme").await;
    let posts = (0..60).map(|i| {
        let store = store.clone();
        let target = if i == 30 {
            InstallationId::generate()
        } else {
            installation.id.clone()
        };
        let event = external_event("acme");
        let directed = DirectedEvent {
            event: event.clone(),
            jobs: vec![NewJob {
                installation_id: target,
                handler: "onWebhook".into(),
                max_attempts: 1,
            }],
        };
        tokio::spawn(async move { (i, event, store.ingest_directed(&[directed]).await) })
    });
    for (i, event, stored) in futures_join(posts).await {
        let jobs = store.jobs_of_event(&event.id).await.unwrap();
        if i == 30 {
            assert_eq!(stored, Err(StoreError::NotFound));
            assert_eq!(store.product_event(&event.id).await.unwrap(), None);
            assert!(jobs.is_empty());
        } else {
            assert_eq!(stored, Ok(()), "post {i}");
            assert_eq!(store.product_event(&event.id).await.unwrap(), Some(event));
            assert_eq!(job_installations(&jobs), [installation.id.as_str()]);
        }
    }
}

async fn selectors_route_to_active_installations_of_the_app(backend: Backend) {
    let store = backend.store;
    let (acme, globex) = (account("acme"), account("globex"));
    store.insert_account(&acme).await.unwrap();
    store.insert_account(&globex).await.unwrap();
    let a = install(&store, &acme, new_app("connector")).await;
    let b = install(&store, &globex, new_app("connector")).await;
    let other = install(&store, &acme, new_app("other")).await;
    let selector = |installation: &Installation, event: &str, value: &str| EventSelector {
        installation_id: installation.id.clone(),
        event_key: event.into(),
        app_name: installation.app_name.clone(),
        webhook_key: "all-events".into(),
        selector: value.into(),
        updated_at: now(),
    };
    store
        .put_selector(&selector(&a, "message", "user_id:1"))
        .await
        .unwrap();
    store
        .put_selector(&selector(&a, "message", "user_id:7"))
        .await
        .unwrap(); // replaces
    store
        .put_selector(&selector(&a, "reaction", "user_id:7"))
        .await
        .unwrap();
    store
        .put_selector(&selector(&b, "message", "user_id:2"))
        .await
        .unwrap();
    store
        .put_selector(&selector(&other, "message", "user_id:7"))
        .await
        .unwrap();
    assert_eq!(store.selectors(&a.id).await.unwrap().len(), 2);

    let app = a.app_name.clone();
    let routed = store
        .selected(&app, "all-events", "user_id:7")
        .await
        .unwrap();
    let routes: Vec<_> = routed
        .iter()
        .map(|s| (s.installation_id.as_str(), s.event_key.as_str()))
        .collect();
    assert_eq!(
        routes,
        [(a.id.as_str(), "message"), (a.id.as_str(), "reaction")]
    );
    assert!(
        store
            .selected(&app, "all-events", "user_id:1")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .selected(&app, "other-hook", "user_id:7")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .selected(&app, "all-events", "user_id:2")
            .await
            .unwrap()
            .len(),
        1
    );

    store.uninstall(&b.id, now()).await.unwrap();
    assert!(
        store
            .selected(&app, "all-events", "user_id:2")
            .await
            .unwrap()
            .is_empty()
    );
}

async fn global_webhooks_are_counted_per_app_version(backend: Backend) {
    let store = backend.store;
    let app = store.insert_app(new_app("connector")).await.unwrap();
    let count = |routed, unmatched, last| GlobalWebhookCount {
        app: &app.id,
        webhook_key: "all-events",
        events_routed: routed,
        events_unmatched: unmatched,
        last_unmatched: last,
        at: now(),
    };
    store
        .count_global_webhook(&count(2, 0, None))
        .await
        .unwrap();
    store
        .count_global_webhook(&count(0, 1, Some("user_id:9")))
        .await
        .unwrap();
    store
        .count_global_webhook(&count(1, 0, None))
        .await
        .unwrap();
    let stats = store.global_webhook_stats(&app.id).await.unwrap();
    assert_eq!(stats.len(), 1);
    assert_eq!(
        (
            stats[0].requests,
            stats[0].events_routed,
            stats[0].events_unmatched
        ),
        (3, 3, 1)
    );
    assert_eq!(stats[0].last_unmatched.as_deref(), Some("user_id:9"));
}

async fn installing_installations_hear_nothing_until_activated(backend: Backend) {
    let store = backend.store;
    let acme = account("acme");
    store.insert_account(&acme).await.unwrap();
    let contacts = [("freshsales", "onContactCreate", "onContact")];
    let app = store
        .insert_app(listening_app("listener", &contacts))
        .await
        .unwrap();
    let pending = Installation {
        status: InstallationStatus::Installing,
        ..installation(&acme, &app)
    };
    store.insert_installation(&pending).await.unwrap();
    let rival = Installation {
        status: InstallationStatus::Installing,
        ..installation(&acme, &app)
    };
    store.insert_installation(&rival).await.unwrap();
    let schedule = one_time_schedule(&pending.id, "s", after_ms(now(), -1000));
    store
        .insert_schedule(&schedule, &ScheduleLimits::default())
        .await
        .unwrap();

    let early = product_event("acme", "onContactCreate", None, now());
    assert_eq!(
        ingest_one(&store, &early).await,
        Ingested::Created {
            id: early.id.clone(),
            jobs: 0,
            deliveries: 0
        }
    );
    let lease = after_ms(now(), 60_000);
    assert!(
        store
            .claim_due_schedules(now(), lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let listed = store
        .installations(&acme.id, &PageRequest::first(10))
        .await
        .unwrap();
    assert!(
        listed.items.is_empty(),
        "only active installations are listed"
    );

    store.activate_installation(&pending, now()).await.unwrap();
    let late = product_event("acme", "onContactCreate", None, now());
    assert_eq!(
        ingest_one(&store, &late).await,
        Ingested::Created {
            id: late.id.clone(),
            jobs: 1,
            deliveries: 0
        }
    );
    assert_eq!(
        store
            .claim_due_schedules(now(), lease, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    // The rival install lost the race: the account has the app already.
    let lost = store
        .activate_installation(&rival, now())
        .await
        .unwrap_err();
    assert!(
        matches!(&lost, StoreError::Conflict(m) if m.contains("already installed")),
        "{lost:?}"
    );
    assert_eq!(
        store
            .activate_installation(&pending, now())
            .await
            .unwrap_err(),
        StoreError::NotFound,
        "active already"
    );
}

async fn connector_subscriptions_keep_state_and_refresh_once_per_lease(backend: Backend) {
    let store = backend.store;
    let installation = installed_in(&store, "acme").await;
    let start = now();
    let subscription = ConnectorSubscription {
        installation_id: installation.id.clone(),
        event_key: "task-created".into(),
        state: json!({"webhookId": "w-1"}),
        refresh_at: Some(after_ms(start, 60_000)),
        updated_at: start,
    };
    store
        .put_connector_subscription(&subscription)
        .await
        .unwrap();
    let quiet = ConnectorSubscription {
        event_key: "task-deleted".into(),
        refresh_at: None,
        ..subscription.clone()
    };
    store.put_connector_subscription(&quiet).await.unwrap();
    assert_eq!(
        store
            .connector_subscription(&installation.id, "task-created")
            .await
            .unwrap(),
        Some(subscription.clone())
    );
    assert_eq!(
        store
            .connector_subscriptions(&installation.id)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        store.next_refresh_due().await.unwrap(),
        subscription.refresh_at
    );

    assert!(
        store
            .claim_due_refreshes(start, after_ms(start, 1), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let due = after_ms(start, 60_000);
    let lease = after_ms(due, 30_000);
    let claimed = store.claim_due_refreshes(due, lease, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        (claimed[0].event_key.as_str(), claimed[0].refresh_at),
        ("task-created", Some(lease))
    );
    assert!(
        store
            .claim_due_refreshes(due, lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "held"
    );

    let refreshed = ConnectorSubscription {
        state: json!({"webhookId": "w-2"}),
        refresh_at: Some(after_ms(due, 86_400_000)),
        updated_at: due,
        ..subscription
    };
    store.put_connector_subscription(&refreshed).await.unwrap();
    let kept = store
        .connector_subscription(&installation.id, "task-created")
        .await
        .unwrap();
    assert_eq!(kept.unwrap().state, json!({"webhookId": "w-2"}));

    store.uninstall(&installation.id, now()).await.unwrap();
    assert_eq!(
        store.next_refresh_due().await.unwrap(),
        None,
        "uninstalled: no refresh"
    );
}

fn webhook_subscription(account: &str, events: &[&str]) -> weir_core::WebhookSubscription {
    weir_core::WebhookSubscription {
        id: weir_core::SubscriptionId::generate(),
        account_id: AccountId::parse(account).unwrap(),
        installation_id: None,
        kind: weir_core::SubscriptionKind::CustomerWebhook,
        url: "https://hooks.example.com/in".into(),
        events: events.iter().map(|e| e.to_string()).collect(),
        filters: serde_json::Map::new(),
        secret: weir_core::WebhookSecret::generate(),
        previous_secrets: Vec::new(),
        enabled: true,
        disabled_reason: None,
        timeout_ms: 15_000,
        max_in_flight: weir_core::delivery::DEFAULT_MAX_IN_FLIGHT,
        rate_per_second: None,
        fifo: false,
        batch_size: 1,
        linger_ms: 0,
        failing_since: None,
        created_at: now(),
        updated_at: now(),
    }
}

/// Operational events are the instance account's events, delivered to its operational
/// webhooks; each is stored only if the change it tells of took, a debounced one once
/// per window; the instance account is none of the operator's.
async fn operational_events_are_told_once_with_their_change(backend: Backend) {
    use weir_core::{OperationalEvent, OperationalEventType};
    use weir_store::Notice;
    let store = backend.store;
    let instance = weir_core::operational::instance_account();
    assert_eq!(store.account(&instance).await.unwrap(), None, "hidden");
    let listed = store.accounts(&PageRequest::first(100)).await.unwrap();
    assert!(listed.items.iter().all(|a| a.id != instance));
    store.insert_account(&account("acme")).await.unwrap();
    let watched = webhook_subscription("acme", &["onContactCreate"]);
    let operator = weir_core::WebhookSubscription {
        kind: weir_core::SubscriptionKind::OperationalWebhook,
        fifo: true,
        ..webhook_subscription(
            weir_core::operational::INSTANCE_ACCOUNT,
            &[
                "subscription.disabled",
                "app.handler_failing",
                "delivery.dead",
            ],
        )
    };
    for subscription in [&watched, &operator] {
        store
            .insert_webhook_subscription(subscription)
            .await
            .unwrap();
    }
    let notice = |kind| Notice::each_time(OperationalEvent::new(kind, json!({"n": 1})));
    let delivery_of = |event: &OperationalEvent| (event.id.clone(), operator.id.clone());

    // A disable tells once: the second disable of the same subscription did not take.
    let first = notice(OperationalEventType::SubscriptionDisabled);
    let again = notice(OperationalEventType::SubscriptionDisabled);
    let reason = "the receiver answered 410 Gone";
    assert!(
        store
            .disable_webhook_subscription(&watched.id, reason, now(), std::slice::from_ref(&first))
            .await
            .unwrap()
    );
    assert!(
        !store
            .disable_webhook_subscription(&watched.id, reason, now(), std::slice::from_ref(&again))
            .await
            .unwrap()
    );
    let (event, subscription) = delivery_of(&first.event);
    let told = store
        .delivery(&event, &subscription)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(told.status, weir_core::DeliveryStatus::Pending);
    assert_eq!(told.account_id, instance);
    let stored = store.product_event(&event).await.unwrap().unwrap();
    assert_eq!(stored.body["type"], "subscription.disabled");
    assert_eq!(stored.source, weir_core::EventSource::Operational);
    assert_eq!(store.product_event(&again.event.id).await.unwrap(), None);

    // Debounced: once per subject per window; a type nobody takes is stored, owing nothing.
    let failing = |installation: &str| {
        let event = OperationalEvent::new(OperationalEventType::AppHandlerFailing, json!({}));
        let subject = format!("app.handler_failing:{installation}");
        Notice::debounced(event, subject, jiff::SignedDuration::from_hours(1))
    };
    assert!(store.tell(&failing("in_1")).await.unwrap());
    assert!(
        !store.tell(&failing("in_1")).await.unwrap(),
        "within the window"
    );
    let other = failing("in_2");
    assert!(store.tell(&other).await.unwrap());
    let passed = Notice::debounced(
        OperationalEvent::new(OperationalEventType::AppHandlerFailing, json!({})),
        "app.handler_failing:in_1".into(),
        jiff::SignedDuration::ZERO,
    );
    assert!(store.tell(&passed).await.unwrap(), "the window has passed");
    let untaken = notice(OperationalEventType::InstallationFailed);
    assert!(store.tell(&untaken).await.unwrap());
    let (event, subscription) = delivery_of(&untaken.event);
    assert_eq!(store.delivery(&event, &subscription).await.unwrap(), None);

    // While the operational webhook is disabled its events are skipped; a recovery sends
    // them, in order (it is FIFO: their numbers stand).
    let off = weir_core::WebhookSubscription {
        enabled: false,
        disabled_reason: Some("disabled through the API".into()),
        ..operator.clone()
    };
    store.update_webhook_subscription(&off).await.unwrap();
    let skipped = [
        notice(OperationalEventType::AppHandlerFailing),
        notice(OperationalEventType::AppHandlerFailing),
    ];
    for notice in &skipped {
        assert!(store.tell(notice).await.unwrap());
        let (event, subscription) = delivery_of(&notice.event);
        let owed = store
            .delivery(&event, &subscription)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(owed.status, weir_core::DeliveryStatus::Skipped);
    }
    store.update_webhook_subscription(&operator).await.unwrap();
    let since = skipped[0].event.at;
    let recovered = store
        .recover_deliveries(&operator.id, since, now())
        .await
        .unwrap();
    assert_eq!(recovered, 2);
    let claimed = store
        .claim_deliveries(after_ms(now(), 1000), after_ms(now(), 60_000), 10)
        .await
        .unwrap();
    let mine: Vec<_> = claimed
        .iter()
        .filter(|d| d.subscription_id == operator.id)
        .map(|d| d.event_id.clone())
        .collect();
    assert_eq!(mine.len(), 1, "FIFO: one at a time, {mine:?}");

    // A delivery's death is told only if its claim's outcome is the one recorded.
    let dying = webhook_subscription("acme", &["onContactCreate"]);
    store.insert_webhook_subscription(&dying).await.unwrap();
    let event = product_event("acme", "onContactCreate", None, now());
    ingest_one(&store, &event).await;
    let claimed = store
        .claim_deliveries(after_ms(now(), 1000), after_ms(now(), 60_000), 10)
        .await
        .unwrap();
    let last = claimed
        .into_iter()
        .find(|d| d.subscription_id == dying.id)
        .expect("claimed");
    let overtaken = weir_core::Delivery {
        generation: last.generation - 1,
        ..last.clone()
    };
    let (too_late, dead) = (
        notice(OperationalEventType::DeliveryDead),
        notice(OperationalEventType::DeliveryDead),
    );
    let outcome = weir_store::DeliveryOutcome::Dead;
    let finished =
        store.finish_delivery(&overtaken, None, outcome, std::slice::from_ref(&too_late));
    assert!(!finished.await.unwrap());
    let finished = store.finish_delivery(&last, None, outcome, std::slice::from_ref(&dead));
    assert!(finished.await.unwrap());
    assert_eq!(store.product_event(&too_late.event.id).await.unwrap(), None);
    let (event, subscription) = delivery_of(&dead.event);
    let owed = store
        .delivery(&event, &subscription)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(owed.status, weir_core::DeliveryStatus::Pending);
}

/// The deliverer's reads of a round: every event and subscription asked for that
/// exists, once, secrets opened, and nothing for ids that do not.
async fn events_and_subscriptions_are_read_many_at_once(backend: Backend) {
    let store = backend.store;
    store.insert_account(&account("acme")).await.unwrap();
    let mut rotated = webhook_subscription("acme", &["onContactCreate"]);
    rotated.previous_secrets = vec![weir_core::PreviousSecret {
        secret: weir_core::WebhookSecret::generate(),
        until: after_ms(now(), 1000),
    }];
    let plain = webhook_subscription("acme", &["onDealCreate"]);
    for subscription in [&rotated, &plain] {
        store
            .insert_webhook_subscription(subscription)
            .await
            .unwrap();
    }
    let first = product_event("acme", "onContactCreate", None, now());
    let second = product_event("acme", "onDealCreate", None, now());
    for event in [&first, &second] {
        ingest_one(&store, event).await;
    }
    let missing = weir_core::SubscriptionId::generate();
    let mut read = store
        .webhook_subscriptions_by_id(&[plain.id.clone(), missing, rotated.id.clone()])
        .await
        .unwrap();
    // Ids grow with time: in id order, `rotated` (made first) comes before `plain`.
    read.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(
        read,
        vec![rotated.clone(), plain.clone()],
        "both, secrets included, and nothing for the missing id"
    );

    let gone = product_event("acme", "onContactCreate", None, now()).id;
    let mut events = store
        .product_events(&[second.id.clone(), gone, first.id.clone()])
        .await
        .unwrap();
    events.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(events, vec![first.clone(), second.clone()]);
    assert!(store.product_events(&[]).await.unwrap().is_empty());
}

async fn events_owe_deliveries_to_enabled_subscriptions_of_their_account(backend: Backend) {
    let store = backend.store;
    store.insert_account(&account("acme")).await.unwrap();
    store.insert_account(&account("other")).await.unwrap();
    let contacts = webhook_subscription("acme", &["onContactCreate", "onDealCreate"]);
    let deals = webhook_subscription("acme", &["onDealCreate"]);
    let elsewhere = webhook_subscription("other", &["onContactCreate"]);
    let mut rotated = webhook_subscription("acme", &["onContactCreate"]);
    rotated.previous_secrets = vec![weir_core::PreviousSecret {
        secret: weir_core::WebhookSecret::generate(),
        until: after_ms(now(), 1000),
    }];
    for subscription in [&contacts, &deals, &elsewhere, &rotated] {
        store
            .insert_webhook_subscription(subscription)
            .await
            .unwrap();
    }
    assert_eq!(
        store.webhook_subscription(&rotated.id).await.unwrap(),
        Some(rotated.clone()),
        "round trip, secrets included"
    );
    let listed = store
        .webhook_subscriptions(&AccountId::parse("acme").unwrap(), &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 3);

    let event = product_event("acme", "onContactCreate", None, now());
    let Ingested::Created { deliveries, .. } = ingest_one(&store, &event).await else {
        panic!("stored")
    };
    assert_eq!(deliveries, 2, "contacts and rotated");

    // Disabled: the waiting deliveries die, and new events owe it a skipped delivery
    // (never attempted; a recovery sends it).
    let disabled = weir_core::WebhookSubscription {
        enabled: false,
        disabled_reason: Some("the receiver answered 410 Gone".into()),
        ..contacts.clone()
    };
    store.update_webhook_subscription(&disabled).await.unwrap();
    let dead = store
        .delivery(&event.id, &contacts.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dead.status, weir_core::DeliveryStatus::Dead);
    let later = product_event("acme", "onDealCreate", None, now());
    let Ingested::Created { deliveries, .. } = ingest_one(&store, &later).await else {
        panic!("stored")
    };
    assert_eq!(deliveries, 2, "deals, and contacts skipped");
    let skipped = store.delivery(&later.id, &contacts.id).await.unwrap();
    assert_eq!(
        skipped.map(|d| d.status),
        Some(weir_core::DeliveryStatus::Skipped)
    );

    // Changing the events changes what is owed.
    let widened = weir_core::WebhookSubscription {
        events: vec!["onContactCreate".into(), "onDealCreate".into()],
        ..deals.clone()
    };
    store.update_webhook_subscription(&widened).await.unwrap();
    let third = product_event("acme", "onContactCreate", None, now());
    let Ingested::Created { deliveries, .. } = ingest_one(&store, &third).await else {
        panic!("stored")
    };
    assert_eq!(
        deliveries, 3,
        "deals (widened) and rotated, contacts skipped"
    );
    assert!(store.delete_webhook_subscription(&deals.id).await.unwrap());
    assert_eq!(store.delivery(&third.id, &deals.id).await.unwrap(), None);
    let gone = store
        .update_webhook_subscription(&widened)
        .await
        .unwrap_err();
    assert_eq!(gone, StoreError::NotFound);
}

async fn deliveries_are_claimed_finished_and_replayed(backend: Backend) {
    let store = backend.store;
    store.insert_account(&account("acme")).await.unwrap();
    let subscription = webhook_subscription("acme", &["onContactCreate"]);
    store
        .insert_webhook_subscription(&subscription)
        .await
        .unwrap();
    let start = now();
    let events: Vec<_> = (0..3)
        .map(|_| product_event("acme", "onContactCreate", None, start))
        .collect();
    store.ingest_events(&events).await.unwrap();
    assert_eq!(store.next_delivery_due().await.unwrap(), Some(start));

    let lease = after_ms(start, 60_000);
    let (a, b) = tokio::join!(
        store.claim_deliveries(start, lease, 2),
        store.claim_deliveries(start, lease, 2)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.len() + b.len(), 3, "each claimed once");
    let claimed: Vec<_> = a.into_iter().chain(b).collect();
    assert!(
        claimed
            .iter()
            .all(|d| d.attempts == 1 && d.tries == 1 && d.run_at == lease)
    );

    let attempt = weir_core::Attempt {
        number: 1,
        at: start,
        status_code: Some(200),
        duration_ms: 12,
        error: None,
        response: Some("ok".into()),
    };
    let first = &claimed[0];
    assert!(
        store
            .finish_delivery(first, Some(&attempt), DeliveryOutcome::Delivered, &[])
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .attempts(&first.event_id, &first.subscription_id)
            .await
            .unwrap(),
        std::slice::from_ref(&attempt)
    );
    assert!(
        !store
            .finish_delivery(first, None, DeliveryOutcome::Dead, &[])
            .await
            .unwrap(),
        "finished once"
    );
    let retry_at = after_ms(start, 5_000);
    let second = &claimed[1];
    let failed = weir_core::Attempt {
        status_code: None,
        error: Some("timed out".into()),
        response: None,
        ..attempt.clone()
    };
    store
        .finish_delivery(
            second,
            Some(&failed),
            DeliveryOutcome::RetryAt(retry_at),
            &[],
        )
        .await
        .unwrap();
    let busy = &claimed[2];
    store
        .finish_delivery(
            busy,
            None,
            DeliveryOutcome::Postponed(after_ms(start, 250)),
            &[],
        )
        .await
        .unwrap();
    let waiting = store
        .delivery(&busy.event_id, &busy.subscription_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (waiting.attempts, waiting.tries),
        (0, 0),
        "a postponed claim is no attempt"
    );

    let retried = store
        .claim_deliveries(retry_at, after_ms(retry_at, 60_000), 10)
        .await
        .unwrap();
    assert_eq!(retried.len(), 2, "the retry and the postponed one");
    let again = retried
        .iter()
        .find(|d| d.event_id == second.event_id)
        .unwrap();
    assert_eq!(again.attempts, 2);
    store
        .finish_delivery(again, None, DeliveryOutcome::Dead, &[])
        .await
        .unwrap();

    let filter = DeliveryFilter {
        status: Some(weir_core::DeliveryStatus::Dead),
        ..DeliveryFilter::default()
    };
    let acme = AccountId::parse("acme").unwrap();
    let dead = store
        .deliveries(&acme, &filter, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(dead.items.len(), 1);
    assert!(
        store
            .replay_delivery(&second.event_id, &second.subscription_id, retry_at)
            .await
            .unwrap()
    );
    let replayed = store
        .delivery(&second.event_id, &second.subscription_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (replayed.status, replayed.attempts, replayed.tries),
        (weir_core::DeliveryStatus::Pending, 2, 0),
        "pending again with the whole schedule ahead; attempts keep their numbers"
    );

    // A claim overtaken by a kill and a replay cannot record its outcome over the replay.
    let retake = store
        .claim_deliveries(retry_at, after_ms(retry_at, 60_000), 10)
        .await
        .unwrap();
    let overtaken = retake
        .iter()
        .find(|d| d.event_id == second.event_id)
        .unwrap();
    let disabled = weir_core::WebhookSubscription {
        enabled: false,
        ..subscription.clone()
    };
    store.update_webhook_subscription(&disabled).await.unwrap();
    let replayed = store
        .replay_delivery(&second.event_id, &second.subscription_id, retry_at)
        .await
        .unwrap();
    assert!(replayed);
    let stale = store
        .finish_delivery(overtaken, None, DeliveryOutcome::Delivered, &[])
        .await
        .unwrap();
    assert!(!stale, "the overtaken claim's outcome does not apply");

    // Pages of one, in id order, cover every delivery once.
    let mut seen = Vec::new();
    let mut page = PageRequest::first(1);
    loop {
        let listed = store
            .deliveries(&acme, &DeliveryFilter::default(), &page)
            .await
            .unwrap();
        seen.extend(listed.items.iter().map(|d| d.id()));
        match listed.next_after {
            Some(after) => page.after = Some(after),
            None => break,
        }
    }
    assert_eq!(seen.len(), 3);
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
}

async fn a_pending_delivery_is_retried_now_unless_an_attempt_is_in_flight(backend: Backend) {
    let store = backend.store;
    store.insert_account(&account("acme")).await.unwrap();
    let subscription = webhook_subscription("acme", &["onContactCreate"]);
    store
        .insert_webhook_subscription(&subscription)
        .await
        .unwrap();
    let start = now();
    let event = product_event("acme", "onContactCreate", None, start);
    store
        .ingest_events(std::slice::from_ref(&event))
        .await
        .unwrap();
    let key = (&event.id, &subscription.id);

    let claimed = store
        .claim_deliveries(start, after_ms(start, 10_000), 1)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(
        !store.retry_delivery_now(key.0, key.1, start).await.unwrap(),
        "claimed, its attempt in flight: a retry now would send a second beside it"
    );
    let failed = weir_core::Attempt {
        number: 1,
        at: start,
        status_code: Some(500),
        duration_ms: 3,
        error: None,
        response: Some("down".into()),
    };
    let hours_later = after_ms(start, 36_000_000);
    store
        .finish_delivery(
            &claimed[0],
            Some(&failed),
            DeliveryOutcome::RetryAt(hours_later),
            &[],
        )
        .await
        .unwrap();
    let retry_at = after_ms(start, 1_000);
    assert!(
        store
            .retry_delivery_now(key.0, key.1, retry_at)
            .await
            .unwrap()
    );
    let due = store.delivery(key.0, key.1).await.unwrap().unwrap();
    assert_eq!(
        (due.status, due.run_at, due.attempts, due.tries),
        (weir_core::DeliveryStatus::Pending, retry_at, 1, 1),
        "due now, where it stood on its schedule"
    );
    assert!(due.generation > claimed[0].generation);
    let again = store
        .claim_deliveries(retry_at, after_ms(retry_at, 10_000), 1)
        .await
        .unwrap();
    assert_eq!(again.len(), 1, "claimable at once");
    store
        .finish_delivery(&again[0], None, DeliveryOutcome::Dead, &[])
        .await
        .unwrap();
    assert!(
        !store
            .retry_delivery_now(key.0, key.1, retry_at)
            .await
            .unwrap(),
        "only a pending delivery"
    );
}

async fn the_admin_lists_deliveries_of_every_account(backend: Backend) {
    let store = backend.store;
    let mut subscriptions = Vec::new();
    for name in ["acme", "globex"] {
        store.insert_account(&account(name)).await.unwrap();
        let subscription = webhook_subscription(name, &["onContactCreate"]);
        store
            .insert_webhook_subscription(&subscription)
            .await
            .unwrap();
        subscriptions.push(subscription);
    }
    let start = now();
    let events: Vec<_> = ["acme", "globex", "acme", "globex"]
        .into_iter()
        .map(|name| product_event(name, "onContactCreate", None, start))
        .collect();
    store.ingest_events(&events).await.unwrap();
    let claimed = store
        .claim_deliveries(start, after_ms(start, 10_000), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 4);
    for (n, delivery) in claimed.iter().enumerate() {
        let outcome = match n {
            0 => DeliveryOutcome::Dead,
            1 => DeliveryOutcome::RetryAt(after_ms(start, 5_000)),
            _ => DeliveryOutcome::Delivered,
        };
        store
            .finish_delivery(delivery, None, outcome, &[])
            .await
            .unwrap();
    }

    let list = |filter: DeliveryFilter| {
        let store = store.clone();
        async move {
            let mut seen = Vec::new();
            let mut page = PageRequest::first(1);
            loop {
                let listed = store.deliveries_everywhere(&filter, &page).await.unwrap();
                seen.extend(listed.items);
                match listed.next_after {
                    Some(after) => page.after = Some(after),
                    None => return seen,
                }
            }
        }
    };
    let all = list(DeliveryFilter::default()).await;
    assert_eq!(
        all.len(),
        4,
        "pages of one cover every account's deliveries"
    );
    assert!(all.windows(2).all(|w| w[0].id() < w[1].id()));
    let accounts: std::collections::BTreeSet<_> =
        all.iter().map(|d| d.account_id.as_str()).collect();
    assert_eq!(accounts.len(), 2);
    for status in [
        weir_core::DeliveryStatus::Dead,
        weir_core::DeliveryStatus::Pending,
        weir_core::DeliveryStatus::Delivered,
    ] {
        let filter = DeliveryFilter {
            status: Some(status),
            ..DeliveryFilter::default()
        };
        let listed = list(filter).await;
        let expected = claimed
            .iter()
            .enumerate()
            .filter(|(n, _)| match status {
                weir_core::DeliveryStatus::Dead => *n == 0,
                weir_core::DeliveryStatus::Pending => *n == 1,
                _ => *n > 1,
            })
            .count();
        assert_eq!(listed.len(), expected, "{status:?}");
        assert!(listed.iter().all(|d| d.status == status));
    }
    let of_globex = DeliveryFilter {
        subscription: Some(subscriptions[1].id.clone()),
        until: Some(after_ms(start, 60_000)),
        ..DeliveryFilter::default()
    };
    let listed = list(of_globex).await;
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|d| d.account_id.as_str() == "globex"));
}

async fn webhook_call_records_are_kept_listed_and_purged(backend: Backend) {
    let store = backend.store;
    let installation = installed_in(&store, "acme").await;
    let record = |at: Timestamp| weir_core::WebhookInvocation {
        reference_id: weir_core::ReferenceId::generate(),
        installation_id: installation.id.clone(),
        account_id: installation.account_id.clone(),
        webhook_id: "notify".into(),
        chain_id: weir_core::ReferenceId::generate(),
        method: HttpMethod::Post,
        target_host: "api.partner.test".into(),
        request_bytes: 12,
        response_bytes: 34,
        status: Some(201),
        error: false,
        error_message: None,
        duration_ms: 5,
        started_at: at,
    };
    let old = record(after_ms(now(), -40 * 86_400_000));
    let recent = record(now());
    for r in [&old, &recent] {
        store.insert_webhook_invocation(r).await.unwrap();
    }
    assert_eq!(
        store
            .webhook_invocation(&recent.reference_id)
            .await
            .unwrap(),
        Some(recent.clone())
    );
    let listed = store
        .webhook_invocations(&installation.id, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 2);
    let purged = store
        .purge_webhook_invocations(after_ms(now(), -30 * 86_400_000))
        .await
        .unwrap();
    assert_eq!(purged, 1);
    assert_eq!(
        store.webhook_invocation(&old.reference_id).await.unwrap(),
        None
    );
    assert!(
        store
            .webhook_invocation(&recent.reference_id)
            .await
            .unwrap()
            .is_some()
    );
}

async fn fifo_deliveries_go_in_the_order_they_were_stored(backend: Backend) {
    let store = backend.store;
    store.insert_account(&account("acme")).await.unwrap();
    let fifo = weir_core::WebhookSubscription {
        fifo: true,
        ..webhook_subscription("acme", &["onContactCreate"])
    };
    store.insert_webhook_subscription(&fifo).await.unwrap();
    let start = now();
    // The earlier event id is stored second (say, its request was slower to commit).
    let earlier = product_event("acme", "onContactCreate", None, start);
    let later = product_event("acme", "onContactCreate", None, start);
    ingest_one(&store, &later).await;
    ingest_one(&store, &earlier).await;
    let lease = after_ms(start, 60_000);
    let first = store.claim_deliveries(start, lease, 10).await.unwrap();
    let ids = |claimed: &[weir_core::Delivery]| -> Vec<String> {
        claimed.iter().map(|d| d.event_id.to_string()).collect()
    };
    assert_eq!(
        ids(&first),
        [later.id.to_string()],
        "the one stored first goes first, alone"
    );
    store
        .finish_delivery(&first[0], None, DeliveryOutcome::Delivered, &[])
        .await
        .unwrap();
    let second = store.claim_deliveries(start, lease, 10).await.unwrap();
    assert_eq!(ids(&second), [earlier.id.to_string()]);
}

/// Planned while the tables were empty, PostgreSQL once ran a claim's locking subquery
/// again for every row it updated, so a claim of 64 took all 1,000 due deliveries and the
/// deliverer had no room for them. Every claim takes at most what it asks for, each row
/// once, and leaves the rest claimable.
async fn a_claim_takes_no_more_than_asked_whatever_the_plan(backend: Backend) {
    let store = backend.location.open_with_generic_plans().await;
    let acme = account("acme");
    store.insert_account(&acme).await.unwrap();
    let start = now();
    let lease = after_ms(start, 60_000);
    // Prepared (and planned) while nothing is due.
    assert!(
        store
            .claim_deliveries(start, lease, 64)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.claim_jobs(start, lease, 64).await.unwrap().is_empty());

    install(
        &store,
        &acme,
        listening_app("app", &[("freshsales", "onContactCreate", "h")]),
    )
    .await;
    for _ in 0..10 {
        let subscription = webhook_subscription("acme", &["onContactCreate"]);
        store
            .insert_webhook_subscription(&subscription)
            .await
            .unwrap();
    }
    for _ in 0..10 {
        let events: Vec<_> = (0..10)
            .map(|_| product_event("acme", "onContactCreate", None, start))
            .collect();
        store.ingest_events(&events).await.unwrap();
    }

    let mut deliveries = BTreeSet::new();
    loop {
        let claimed = store.claim_deliveries(start, lease, 64).await.unwrap();
        assert!(claimed.len() <= 64, "asked for 64, took {}", claimed.len());
        if claimed.is_empty() {
            break;
        }
        for delivery in claimed {
            assert!(
                deliveries.insert(delivery.id()),
                "claimed twice: {}",
                delivery.id()
            );
        }
    }
    assert_eq!(deliveries.len(), 1000, "100 events to 10 subscriptions");

    let mut jobs = BTreeSet::new();
    loop {
        let claimed = store.claim_jobs(start, lease, 7).await.unwrap();
        assert!(claimed.len() <= 7, "asked for 7, took {}", claimed.len());
        if claimed.is_empty() {
            break;
        }
        for job in claimed {
            assert!(
                jobs.insert(job.event_id.clone()),
                "claimed twice: {}",
                job.event_id
            );
        }
    }
    assert_eq!(jobs.len(), 100, "one job an event");
}

/// A heartbeat moves a lease only while the row still holds the lease the worker knows
/// of: not once the work was finished, nor once another claim took it.
async fn leases_are_extended_only_while_held(backend: Backend) {
    let store = backend.store;
    let acme = account("acme");
    store.insert_account(&acme).await.unwrap();
    let installation = install(
        &store,
        &acme,
        listening_app("app", &[("freshsales", "onContactCreate", "h")]),
    )
    .await;
    let subscription = webhook_subscription("acme", &["onContactCreate"]);
    store
        .insert_webhook_subscription(&subscription)
        .await
        .unwrap();
    let start = now();
    let events: Vec<_> = (0..2)
        .map(|_| product_event("acme", "onContactCreate", None, start))
        .collect();
    store.ingest_events(&events).await.unwrap();
    let schedule = one_time_schedule(&installation.id, "tick", start);
    store
        .insert_schedule(&schedule, &ScheduleLimits::default())
        .await
        .unwrap();

    let lease = after_ms(start, 10_000);
    let jobs = store.claim_jobs(start, lease, 10).await.unwrap();
    let deliveries = store.claim_deliveries(start, lease, 10).await.unwrap();
    let schedules = store.claim_due_schedules(start, lease, 10).await.unwrap();
    assert_eq!((jobs.len(), deliveries.len(), schedules.len()), (2, 2, 1));
    let held = |queue, key: (&str, &str)| Lease {
        queue,
        key: (key.0.to_owned(), key.1.to_owned()),
        until: lease,
    };
    let leases = vec![
        held(
            WorkQueue::Jobs,
            (jobs[0].event_id.as_str(), installation.id.as_str()),
        ),
        held(
            WorkQueue::Deliveries,
            (deliveries[0].event_id.as_str(), subscription.id.as_str()),
        ),
        held(WorkQueue::Schedules, (installation.id.as_str(), "tick")),
    ];
    let extended = after_ms(start, 20_000);
    assert_eq!(
        store.extend_leases(&leases, extended).await.unwrap(),
        [true, true, true]
    );
    assert_eq!(
        store
            .claim_jobs(after_ms(lease, 1), after_ms(lease, 10_000), 10)
            .await
            .unwrap()
            .len(),
        1,
        "past the first lease only the job whose lease was not extended is claimable"
    );
    assert_eq!(
        store
            .extend_leases(&leases, after_ms(start, 30_000))
            .await
            .unwrap(),
        [false, false, false],
        "the lease held is no longer the one named"
    );

    let moved: Vec<Lease> = leases
        .iter()
        .map(|l| Lease {
            until: extended,
            ..l.clone()
        })
        .collect();
    store
        .finish_delivery(&deliveries[0], None, DeliveryOutcome::Delivered, &[])
        .await
        .unwrap();
    assert_eq!(
        store
            .extend_leases(&moved, after_ms(start, 30_000))
            .await
            .unwrap(),
        [true, false, true],
        "a finished delivery keeps its end"
    );
    assert_eq!(
        store.extend_leases(&[], start).await.unwrap(),
        Vec::<bool>::new()
    );
}

/// What one node announces, every node listening hears (PostgreSQL); on SQLite, which
/// one node uses alone, announcing is accepted and nothing is heard.
async fn announced_work_is_heard_by_every_node(backend: Backend) {
    let store = backend.store;
    let Location::Postgres(_) = &backend.location else {
        store.announce(&[WorkQueue::Jobs]).await.unwrap();
        return;
    };
    let other_node = backend.location.open().await;
    let (heard, mut hearing) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let heard = move |queue| {
            let _ = heard.send(queue);
        };
        other_node.listen(&heard).await
    });
    // The announcing node listens too, and hears nothing of its own announcements (it
    // woke its workers itself).
    let (echo, mut echoes) = tokio::sync::mpsc::unbounded_channel();
    let announcing_node = store.clone();
    tokio::spawn(async move {
        let heard = move |queue| {
            let _ = echo.send(queue);
        };
        announcing_node.listen(&heard).await
    });
    // The listener may not be listening yet: announce until it hears.
    let first = loop {
        store
            .announce(&[WorkQueue::Deliveries, WorkQueue::Jobs])
            .await
            .unwrap();
        match tokio::time::timeout(std::time::Duration::from_millis(200), hearing.recv()).await {
            Ok(queue) => break queue.unwrap(),
            Err(_) => continue,
        }
    };
    assert_eq!(first, WorkQueue::Deliveries);
    assert_eq!(
        hearing.recv().await,
        Some(WorkQueue::Jobs),
        "both, in order"
    );
    // Once the other node heard the last announcement, any echo would have come too.
    store.announce(&[WorkQueue::Schedules]).await.unwrap();
    assert_eq!(hearing.recv().await, Some(WorkQueue::Schedules));
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(
        echoes.try_recv().is_err(),
        "a node does not hear its own announcements"
    );
}

/// A skipped delivery is finished work for retention: an old event whose only delivery
/// was skipped (its subscription disabled) goes; a recent one stays.
async fn a_disabled_subscriptions_skipped_backlog_goes_with_retention(backend: Backend) {
    let store = backend.store;
    store.insert_account(&account("acme")).await.unwrap();
    let disabled = weir_core::WebhookSubscription {
        enabled: false,
        disabled_reason: Some("the receiver answered 410 Gone".into()),
        ..webhook_subscription("acme", &["onContactCreate"])
    };
    store.insert_webhook_subscription(&disabled).await.unwrap();
    let start = now();
    let old = product_event(
        "acme",
        "onContactCreate",
        None,
        after_ms(start, -86_400_000),
    );
    let recent = product_event("acme", "onContactCreate", None, start);
    for event in [&old, &recent] {
        let Ingested::Created { deliveries, .. } = ingest_one(&store, event).await else {
            panic!("stored")
        };
        assert_eq!(deliveries, 1, "kept, skipped");
    }
    let cut_off = after_ms(start, -3_600_000);
    let purged = store
        .purge_records(RecordKind::Events, cut_off, 10)
        .await
        .unwrap();
    assert_eq!(purged, 1, "the old event, with its skipped delivery");
    assert_eq!(store.delivery(&old.id, &disabled.id).await.unwrap(), None);
    let kept = store.delivery(&recent.id, &disabled.id).await.unwrap();
    assert_eq!(
        kept.map(|d| d.status),
        Some(weir_core::DeliveryStatus::Skipped)
    );
}

async fn retention_deletes_old_finished_records_in_batches_and_nothing_pending(backend: Backend) {
    let store = backend.store;
    let acme = account("acme");
    store.insert_account(&acme).await.unwrap();
    let contacts = [("freshsales", "onContactCreate", "onContact")];
    let listener = install(&store, &acme, listening_app("listener", &contacts)).await;
    let subscription = webhook_subscription("acme", &["onContactCreate"]);
    store
        .insert_webhook_subscription(&subscription)
        .await
        .unwrap();
    let start = now();
    let old = |ms: i64| after_ms(start, -86_400_000 + ms);
    // Three old events (a job and a delivery each) and one new.
    let old_events: Vec<_> = (0..3)
        .map(|i| product_event("acme", "onContactCreate", None, old(i)))
        .collect();
    store.ingest_events(&old_events).await.unwrap();
    let new_event = product_event("acme", "onContactCreate", None, start);
    ingest_one(&store, &new_event).await;
    let cut_off = after_ms(start, -3_600_000);

    let purged = store
        .purge_records(RecordKind::Events, cut_off, 10)
        .await
        .unwrap();
    assert_eq!(purged, 0, "every old event still owes a job and a delivery");

    // Finish the first two old events' jobs and deliveries; the third's delivery stays
    // pending.
    let lease = after_ms(start, 60_000);
    let jobs = store.claim_jobs(start, lease, 10).await.unwrap();
    for job in jobs.iter().filter(|j| j.event_id != new_event.id) {
        let done = JobOutcome::Done {
            invocation: InvocationId::generate(),
        };
        store
            .finish_job(&job.event_id, &job.installation_id, job.attempts, done)
            .await
            .unwrap();
    }
    let deliveries = store.claim_deliveries(start, lease, 10).await.unwrap();
    let attempt = |at| weir_core::Attempt {
        number: 1,
        at,
        status_code: Some(200),
        duration_ms: 3,
        error: None,
        response: None,
    };
    for delivery in &deliveries {
        let outcome = match delivery.event_id == old_events[2].id {
            true => DeliveryOutcome::RetryAt(lease),
            false => DeliveryOutcome::Delivered,
        };
        let at = match delivery.event_id == new_event.id {
            true => start,
            false => old(10),
        };
        store
            .finish_delivery(delivery, Some(&attempt(at)), outcome, &[])
            .await
            .unwrap();
    }

    let attempts_purged = store
        .purge_records(RecordKind::Attempts, cut_off, 10)
        .await
        .unwrap();
    assert_eq!(
        attempts_purged, 2,
        "the old attempts of finished deliveries"
    );
    let kept = store
        .attempts(&old_events[2].id, &subscription.id)
        .await
        .unwrap();
    assert_eq!(kept.len(), 1, "a pending delivery keeps its history");

    let first_batch = store
        .purge_records(RecordKind::Events, cut_off, 1)
        .await
        .unwrap();
    let second_batch = store
        .purge_records(RecordKind::Events, cut_off, 1)
        .await
        .unwrap();
    let nothing_left = store
        .purge_records(RecordKind::Events, cut_off, 10)
        .await
        .unwrap();
    assert_eq!((first_batch, second_batch, nothing_left), (1, 1, 0));
    for (event, kept) in [
        (&old_events[0], false),
        (&old_events[1], false),
        (&old_events[2], true),
        (&new_event, true),
    ] {
        let found = store.product_event(&event.id).await.unwrap();
        assert_eq!(found.is_some(), kept, "event {}", event.id);
    }
    assert!(
        store
            .jobs_of_event(&old_events[0].id)
            .await
            .unwrap()
            .is_empty(),
        "its jobs went with it"
    );
    assert!(
        store
            .delivery(&old_events[0].id, &subscription.id)
            .await
            .unwrap()
            .is_none(),
        "its deliveries went with it"
    );

    let run = |at| invocation_record(&listener, "onContactCreate", InvocationStatus::Success, at);
    let (old_run, new_run) = (run(old(0)), run(start));
    store.insert_invocation(&old_run).await.unwrap();
    store.insert_invocation(&new_run).await.unwrap();
    let runs_purged = store
        .purge_records(RecordKind::Invocations, cut_off, 10)
        .await
        .unwrap();
    assert_eq!(runs_purged, 1);
    assert!(store.invocation(&old_run.id).await.unwrap().is_none());
    assert!(store.invocation(&new_run.id).await.unwrap().is_some());

    store.reclaim_space().await.unwrap();
    if let Location::Postgres(url) = &backend.location {
        use sqlx::Connection;
        let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
        let (unvacuumed,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM pg_stat_user_tables WHERE relname IN \
             ('events', 'jobs', 'deliveries', 'delivery_attempts', 'invocations', \
              'webhook_invocations') AND last_vacuum IS NULL",
        )
        .fetch_one(&mut connection)
        .await
        .unwrap();
        assert_eq!(unvacuumed, 0, "the purged tables were vacuumed");
    }
}

// ----- Entity storage ($db.entity) ------------------------------------------------------

/// The data of a record, and its filterable values as the rules would give them.
fn entity_data(data: Value) -> (serde_json::Map<String, Value>, Vec<(String, String)>) {
    let data = data.as_object().unwrap().clone();
    let values = data
        .iter()
        .filter(|(field, _)| ["city", "stars"].contains(&field.as_str()))
        .filter(|(_, value)| !value.is_null())
        .map(|(field, value)| {
            (
                field.clone(),
                value.as_str().map_or(value.to_string(), str::to_owned),
            )
        })
        .collect();
    (data, values)
}

async fn create_record(
    store: &Arc<dyn Store>,
    installation: &InstallationId,
    entity: &str,
    data: Value,
) -> EntityRecord {
    let (data, values) = entity_data(data);
    store
        .insert_entity_record(NewEntityRecord {
            installation,
            entity,
            data: &data,
            values: &values,
            now: now(),
        })
        .await
        .unwrap()
}

fn key<'a>(installation: &'a InstallationId, entity: &'a str, number: i64) -> RecordKey<'a> {
    RecordKey {
        installation,
        entity,
        number,
    }
}

/// The numbers of the records on one page, and whether more follow.
async fn listed(
    store: &Arc<dyn Store>,
    installation: &InstallationId,
    filter: &Filter,
    after: Option<i64>,
    limit: u32,
) -> (Vec<i64>, bool) {
    let list = EntityList {
        installation,
        entity: "hotels",
        filter,
        after,
        limit,
    };
    let page = store.entity_records(&list).await.unwrap();
    (page.records.iter().map(|r| r.number).collect(), page.more)
}

fn filter(conditions: &[(&str, &str)], any: bool) -> Filter {
    Filter {
        conditions: conditions
            .iter()
            .map(|(f, v)| ((*f).to_owned(), (*v).to_owned()))
            .collect(),
        any,
    }
}

async fn entity_records_round_trip(backend: Backend) {
    let store = backend.store;
    let id = installed(&store).await;
    let first = create_record(
        &store,
        &id,
        "hotels",
        json!({"name": "Ritz", "city": "Paris"}),
    )
    .await;
    let second = create_record(&store, &id, "hotels", json!({"name": "Savoy"})).await;
    assert_eq!((first.number, second.number), (1, 2));
    assert_eq!(first.version, 1);
    let other_entity = create_record(&store, &id, "rooms", json!({"n": 1})).await;
    assert_eq!(other_entity.number, 1, "each entity counts its own");

    let stored = store.entity_record(&key(&id, "hotels", 1)).await.unwrap();
    assert_eq!(stored, Some(first.clone()));
    assert_eq!(
        store.entity_record(&key(&id, "hotels", 9)).await.unwrap(),
        None
    );

    let (data, values) = entity_data(json!({"name": "Ritz", "city": "London"}));
    let change = |version| EntityRecordChange {
        key: key(&id, "hotels", 1),
        version,
        data: &data,
        values: &values,
        now: after_ms(now(), 1_000),
    };
    assert!(store.update_entity_record(change(1)).await.unwrap());
    assert!(
        !store.update_entity_record(change(1)).await.unwrap(),
        "an update over a version that is gone is not applied"
    );
    let updated = store
        .entity_record(&key(&id, "hotels", 1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        Value::Object(updated.data),
        json!({"name": "Ritz", "city": "London"})
    );
    assert_eq!((updated.version, updated.created_at), (2, first.created_at));
    assert!(updated.updated_at > first.updated_at);
    let missing = EntityRecordChange {
        key: key(&id, "hotels", 7),
        ..change(1)
    };
    assert!(!store.update_entity_record(missing).await.unwrap());

    assert!(
        store
            .delete_entity_record(&key(&id, "hotels", 2))
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_entity_record(&key(&id, "hotels", 2))
            .await
            .unwrap()
    );
    assert_eq!(
        store.entity_record(&key(&id, "hotels", 2)).await.unwrap(),
        None
    );
    let third = create_record(&store, &id, "hotels", json!({"name": "Plaza"})).await;
    assert_eq!(
        third.number, 3,
        "a deleted record's number is not given again"
    );

    let (data, values) = entity_data(json!({"name": "x"}));
    let nobody = InstallationId::generate();
    let orphan = store
        .insert_entity_record(NewEntityRecord {
            installation: &nobody,
            entity: "hotels",
            data: &data,
            values: &values,
            now: now(),
        })
        .await;
    assert_eq!(orphan, Err(StoreError::NotFound));
}

async fn entity_records_filter_and_paginate(backend: Backend) {
    let store = backend.store;
    let id = installed(&store).await;
    let hotels = [
        json!({"name": "a", "city": "Paris", "stars": 5}),
        json!({"name": "b", "city": "Pune", "stars": 3}),
        json!({"name": "c", "city": "Paris", "stars": 3}),
        json!({"name": "d", "city": "Paris", "stars": 5}),
        json!({"name": "e", "city": null, "stars": 5}),
        json!({"name": "f", "city": "Lyon", "stars": 4}),
        json!({"name": "g", "city": "Paris", "stars": 5}),
    ];
    for hotel in hotels {
        create_record(&store, &id, "hotels", hotel).await;
    }
    let everything = Filter::default();
    assert_eq!(
        listed(&store, &id, &everything, None, 3).await,
        (vec![1, 2, 3], true)
    );
    assert_eq!(
        listed(&store, &id, &everything, Some(3), 3).await,
        (vec![4, 5, 6], true)
    );
    assert_eq!(
        listed(&store, &id, &everything, Some(6), 3).await,
        (vec![7], false)
    );
    assert_eq!(
        listed(&store, &id, &everything, Some(7), 3).await,
        (vec![], false)
    );

    let paris = filter(&[("city", "Paris")], false);
    assert_eq!(
        listed(&store, &id, &paris, None, 10).await,
        (vec![1, 3, 4, 7], false)
    );
    assert_eq!(
        listed(&store, &id, &paris, None, 2).await,
        (vec![1, 3], true)
    );
    assert_eq!(
        listed(&store, &id, &paris, Some(3), 2).await,
        (vec![4, 7], false)
    );

    let five_in_paris = filter(&[("city", "Paris"), ("stars", "5")], false);
    assert_eq!(
        listed(&store, &id, &five_in_paris, None, 10).await,
        (vec![1, 4, 7], false)
    );
    let both_cities = filter(&[("city", "Paris"), ("city", "Pune")], false);
    assert_eq!(
        listed(&store, &id, &both_cities, None, 10).await,
        (vec![], false)
    );
    let either_city = filter(&[("city", "Pune"), ("city", "Lyon")], true);
    assert_eq!(
        listed(&store, &id, &either_city, None, 10).await,
        (vec![2, 6], false)
    );
    let pune_or_four = filter(&[("city", "Pune"), ("stars", "4")], true);
    assert_eq!(
        listed(&store, &id, &pune_or_four, Some(2), 10).await,
        (vec![6], false)
    );
    let nowhere = filter(&[("city", "Rome")], false);
    assert_eq!(
        listed(&store, &id, &nowhere, None, 10).await,
        (vec![], false)
    );

    // Values follow the record: an update moves it, a delete takes it away.
    let (data, values) = entity_data(json!({"name": "b", "city": "Paris", "stars": 3}));
    let moved = EntityRecordChange {
        key: key(&id, "hotels", 2),
        version: 1,
        data: &data,
        values: &values,
        now: now(),
    };
    assert!(store.update_entity_record(moved).await.unwrap());
    assert!(
        store
            .delete_entity_record(&key(&id, "hotels", 4))
            .await
            .unwrap()
    );
    assert_eq!(
        listed(&store, &id, &paris, None, 10).await,
        (vec![1, 2, 3, 7], false)
    );
    let pune = filter(&[("city", "Pune")], false);
    assert_eq!(listed(&store, &id, &pune, None, 10).await, (vec![], false));

    // Whatever plan PostgreSQL settles on for the statement.
    let generic = backend.location.open_with_generic_plans().await;
    for _ in 0..7 {
        assert_eq!(
            listed(&generic, &id, &paris, Some(1), 2).await,
            (vec![2, 3], true)
        );
        assert_eq!(
            listed(&generic, &id, &everything, None, 2).await,
            (vec![1, 2], true)
        );
    }
}

async fn entity_records_are_per_installation_and_go_with_it(backend: Backend) {
    let store = backend.store;
    let acme = installed_in(&store, "acme").await.id;
    let globex = installed_in(&store, "globex").await.id;
    create_record(
        &store,
        &acme,
        "hotels",
        json!({"name": "a", "city": "Paris"}),
    )
    .await;
    create_record(
        &store,
        &acme,
        "hotels",
        json!({"name": "b", "city": "Paris"}),
    )
    .await;
    let theirs = create_record(
        &store,
        &globex,
        "hotels",
        json!({"name": "z", "city": "Paris"}),
    )
    .await;
    assert_eq!(theirs.number, 1, "each installation counts its own");

    let paris = filter(&[("city", "Paris")], false);
    assert_eq!(
        listed(&store, &acme, &paris, None, 10).await,
        (vec![1, 2], false)
    );
    assert_eq!(
        listed(&store, &globex, &paris, None, 10).await,
        (vec![1], false)
    );
    let read = store
        .entity_record(&key(&globex, "hotels", 1))
        .await
        .unwrap();
    assert_eq!(read.unwrap().data["name"], "z");
    assert!(
        store
            .delete_entity_record(&key(&globex, "hotels", 1))
            .await
            .unwrap()
    );
    assert!(
        store
            .entity_record(&key(&acme, "hotels", 1))
            .await
            .unwrap()
            .is_some(),
        "deleting another installation's record of the same number leaves this one"
    );

    // Uninstalling removes the installation's records, and only its own.
    store.uninstall(&acme, now()).await.unwrap();
    assert_eq!(
        store.entity_record(&key(&acme, "hotels", 1)).await.unwrap(),
        None
    );
    assert_eq!(
        listed(&store, &acme, &Filter::default(), None, 10).await,
        (vec![], false)
    );
    let kept = create_record(&store, &globex, "hotels", json!({"name": "y"})).await;
    assert_eq!(kept.number, 2);
    assert_eq!(
        listed(&store, &globex, &Filter::default(), None, 10).await,
        (vec![2], false)
    );

    // Deleting an installation (a failed install) takes its records too.
    assert!(store.delete_installation(&globex).await.unwrap());
    assert_eq!(
        store
            .entity_record(&key(&globex, "hotels", 2))
            .await
            .unwrap(),
        None
    );
}

/// An account's records go with it: those of its uninstalled installations, and those a
/// refused install left without an installation. Another account's stay.
async fn deleting_an_account_deletes_every_record_of_it(backend: Backend) {
    let store = backend.store;
    let acme = account("acme");
    let globex = account("globex");
    store.insert_account(&acme).await.unwrap();
    store.insert_account(&globex).await.unwrap();
    let app = store.insert_app(new_app("pomodoro")).await.unwrap();
    let refused = installation(&acme, &app);
    store.insert_installation(&refused).await.unwrap();
    let refused_record =
        invocation_record(&refused, "onAppInstall", InvocationStatus::Error, now());
    store.insert_invocation(&refused_record).await.unwrap();
    assert!(store.delete_installation(&refused.id).await.unwrap());
    let uninstalled = installation(&acme, &app);
    store.insert_installation(&uninstalled).await.unwrap();
    let uninstalled_record = invocation_record(
        &uninstalled,
        "onAppInstall",
        InvocationStatus::Success,
        now(),
    );
    store.insert_invocation(&uninstalled_record).await.unwrap();
    store.uninstall(&uninstalled.id, now()).await.unwrap();
    let other = installation(&globex, &app);
    store.insert_installation(&other).await.unwrap();
    let other_record = invocation_record(&other, "onAppInstall", InvocationStatus::Success, now());
    store.insert_invocation(&other_record).await.unwrap();

    store.delete_account(&acme.id).await.unwrap();
    assert_eq!(store.invocation(&refused_record.id).await.unwrap(), None);
    assert_eq!(
        store.invocation(&uninstalled_record.id).await.unwrap(),
        None
    );
    assert_eq!(
        store.invocation(&other_record.id).await.unwrap(),
        Some(other_record)
    );
}

fn sealed_token(
    installation: &InstallationId,
    integration: &str,
    tokens: &str,
) -> StoredOAuthToken {
    StoredOAuthToken {
        installation_id: installation.clone(),
        integration: integration.into(),
        tokens: tokens.into(),
        refreshable: true,
        oauth_iparams: json!({"domain": "acme.example.com"})
            .as_object()
            .unwrap()
            .clone(),
        expires_at: Some(after_ms(now(), 3_600_000)),
        updated_at: now(),
    }
}

async fn oauth_tokens_are_kept_per_installation_and_integration_until_uninstalled(
    backend: Backend,
) {
    let store = backend.store;
    let acme = installed_in(&store, "acme").await;
    let default = sealed_token(&acme.id, "", "sealed-1");
    store.put_oauth_token(&default).await.unwrap();
    assert_eq!(
        store.oauth_token(&acme.id, "").await.unwrap(),
        Some(default.clone())
    );
    assert_eq!(store.oauth_token(&acme.id, "zoom").await.unwrap(), None);
    // A refresh replaces the row; another integration has its own.
    let refreshed = StoredOAuthToken {
        tokens: "sealed-2".into(),
        refreshable: false,
        expires_at: None,
        oauth_iparams: Default::default(),
        ..default.clone()
    };
    store.put_oauth_token(&refreshed).await.unwrap();
    let zoom = sealed_token(&acme.id, "zoom", "sealed-3");
    store.put_oauth_token(&zoom).await.unwrap();
    assert_eq!(
        store.oauth_tokens(&acme.id).await.unwrap(),
        [refreshed.clone(), zoom.clone()]
    );
    // Reopened, the rows are the same.
    let reopened = backend.location.open().await;
    assert_eq!(
        reopened.oauth_token(&acme.id, "").await.unwrap(),
        Some(refreshed)
    );
    assert!(store.delete_oauth_token(&acme.id, "zoom").await.unwrap());
    assert!(!store.delete_oauth_token(&acme.id, "zoom").await.unwrap());
    let nobody = sealed_token(&InstallationId::generate(), "", "x");
    assert_eq!(
        store.put_oauth_token(&nobody).await,
        Err(StoreError::NotFound)
    );
    // Another installation's tokens are its own, and outlive this one's uninstall.
    let globex = installed_in(&store, "globex").await;
    store
        .put_oauth_token(&sealed_token(&globex.id, "", "theirs"))
        .await
        .unwrap();
    store.uninstall(&acme.id, now()).await.unwrap();
    assert_eq!(store.oauth_tokens(&acme.id).await.unwrap(), []);
    assert_eq!(store.oauth_tokens(&globex.id).await.unwrap().len(), 1);
    assert!(store.delete_installation(&globex.id).await.unwrap());
    assert_eq!(store.oauth_tokens(&globex.id).await.unwrap(), []);
}

fn pending(
    installation: &InstallationId,
    state: &str,
    expires_at: Timestamp,
) -> PendingAuthorization {
    PendingAuthorization {
        state_hash: weir_core::ApiToken::from_given(state).hash(),
        installation_id: installation.clone(),
        integration: "zoom".into(),
        oauth_iparams: json!({"domain": "acme.example.com"})
            .as_object()
            .unwrap()
            .clone(),
        expires_at,
        created_at: now(),
    }
}

async fn an_authorization_state_is_taken_once_and_forgotten_when_abandoned(backend: Backend) {
    let store = backend.store;
    let acme = installed_in(&store, "acme").await;
    let later = after_ms(now(), 600_000);
    let first = pending(&acme.id, "state-1", later);
    store.insert_pending_authorization(&first).await.unwrap();
    let taken = store
        .take_pending_authorization(&first.state_hash)
        .await
        .unwrap()
        .expect("the state is there");
    assert_eq!(taken.state_hash.as_str(), first.state_hash.as_str());
    assert_eq!(
        (
            &taken.installation_id,
            taken.integration.as_str(),
            &taken.oauth_iparams,
            taken.expires_at,
            taken.created_at
        ),
        (
            &acme.id,
            "zoom",
            &first.oauth_iparams,
            first.expires_at,
            first.created_at
        )
    );
    assert!(
        store
            .take_pending_authorization(&first.state_hash)
            .await
            .unwrap()
            .is_none(),
        "a state serves one callback"
    );
    // Two callbacks racing with one state: one gets it.
    let raced = pending(&acme.id, "state-2", later);
    store.insert_pending_authorization(&raced).await.unwrap();
    let takers = (0..8).map(|_| {
        let (store, hash) = (store.clone(), raced.state_hash.clone());
        tokio::spawn(async move { store.take_pending_authorization(&hash).await.unwrap() })
    });
    let got = futures_join(takers).await;
    assert_eq!(got.iter().filter(|taken| taken.is_some()).count(), 1);
    // An abandoned state is forgotten when a later authorization starts; an expired one
    // still there is handed back for the caller to refuse.
    let abandoned = pending(&acme.id, "state-3", after_ms(now(), -1000));
    store
        .insert_pending_authorization(&abandoned)
        .await
        .unwrap();
    let expired = pending(&acme.id, "state-4", after_ms(now(), -1000));
    store.insert_pending_authorization(&expired).await.unwrap();
    assert!(
        store
            .take_pending_authorization(&abandoned.state_hash)
            .await
            .unwrap()
            .is_none()
    );
    let handed_back = store
        .take_pending_authorization(&expired.state_hash)
        .await
        .unwrap()
        .expect("not forgotten yet");
    assert_eq!(handed_back.expires_at, expired.expires_at);
    let nobody = pending(&InstallationId::generate(), "state-5", later);
    assert!(matches!(
        store.insert_pending_authorization(&nobody).await,
        Err(StoreError::NotFound)
    ));
    // An uninstall forgets the installation's authorizations under way.
    let open = pending(&acme.id, "state-6", later);
    store.insert_pending_authorization(&open).await.unwrap();
    store.uninstall(&acme.id, now()).await.unwrap();
    assert!(
        store
            .take_pending_authorization(&open.state_hash)
            .await
            .unwrap()
            .is_none()
    );
}

/// The secrets a store holds in the tests of secrets at rest, and the rows holding them.
struct StoredSecrets {
    installation: Installation,
    app: AppName,
    subscription: weir_core::WebhookSubscription,
    oauth: StoredOAuthToken,
    /// Every secret, as it must never appear in the database.
    in_clear: Vec<String>,
}

const SECURITY_KEY: &str = "security-context-s3cret-9e01";

/// One secret of every kind that is sealed at rest.
async fn store_secrets(store: &Arc<dyn Store>) -> StoredSecrets {
    let owner = account("acme");
    store.insert_account(&owner).await.unwrap();
    let app = store.insert_app(new_app("pomodoro")).await.unwrap();
    let mut installation = installation(&owner, &app);
    installation.iparams.secure = json!({"api_key": "iparam-s3cret-4f9a"})
        .as_object()
        .unwrap()
        .clone();
    store.insert_installation(&installation).await.unwrap();
    let changed = Iparams {
        public: installation.iparams.public.clone(),
        secure: json!({"api_key": "iparam-s3cret-changed-71c"})
            .as_object()
            .unwrap()
            .clone(),
    };
    store
        .set_iparams(&installation.id, &changed, now())
        .await
        .unwrap();
    installation.iparams = changed;
    let parameters = Iparams {
        public: Default::default(),
        secure: json!({"client_secret": "connector-s3cret-77b1"})
            .as_object()
            .unwrap()
            .clone(),
    };
    store
        .put_app_parameters(&app.name, &parameters)
        .await
        .unwrap();
    let mut subscription = webhook_subscription("acme", &["onContactCreate"]);
    let first = subscription.secret.clone();
    subscription = subscription.rotated(
        weir_core::WebhookSecret::generate_for(weir_core::SignatureScheme::V1a),
        jiff::SignedDuration::from_hours(1),
        now(),
    );
    store
        .insert_webhook_subscription(&subscription)
        .await
        .unwrap();
    let oauth = sealed_token(
        &installation.id,
        "",
        r#"{"access_token":"oauth-s3cret-1c2d"}"#,
    );
    store.put_oauth_token(&oauth).await.unwrap();
    store
        .init_setting("security_context_key", SECURITY_KEY)
        .await
        .unwrap();
    StoredSecrets {
        in_clear: vec![
            "iparam-s3cret-4f9a".into(),
            "iparam-s3cret-changed-71c".into(),
            "connector-s3cret-77b1".into(),
            first.as_str().into(),
            first.as_str()["whsec_".len()..].into(),
            subscription.secret.as_str()["whsk_".len()..].into(),
            "oauth-s3cret-1c2d".into(),
            SECURITY_KEY.into(),
            installation.target_token.as_str().into(),
        ],
        installation,
        app: app.name,
        subscription,
        oauth,
    }
}

/// Every secret reads back as it was written.
async fn assert_secrets_open(store: &Arc<dyn Store>, secrets: &StoredSecrets) {
    let installation = store
        .installation(&secrets.installation.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(installation.iparams, secrets.installation.iparams);
    assert_eq!(
        store.app_parameters(&secrets.app).await.unwrap().secure["client_secret"],
        "connector-s3cret-77b1"
    );
    assert_eq!(
        store
            .webhook_subscription(&secrets.subscription.id)
            .await
            .unwrap()
            .as_ref(),
        Some(&secrets.subscription)
    );
    assert_eq!(
        store
            .oauth_token(&secrets.installation.id, "")
            .await
            .unwrap()
            .as_ref(),
        Some(&secrets.oauth)
    );
    assert_eq!(
        store
            .setting("security_context_key")
            .await
            .unwrap()
            .as_deref(),
        Some(SECURITY_KEY)
    );
}

/// What the database keeps, as an attacker with a copy of it would read it: SQLite's
/// files (the WAL too), or every text column of every table on PostgreSQL.
async fn database_text(location: &Location) -> Vec<u8> {
    match location {
        Location::Sqlite(dir) => ["weir.db", "weir.db-wal"]
            .iter()
            .filter_map(|file| std::fs::read(dir.path().join(file)).ok())
            .flatten()
            .collect(),
        Location::Postgres(url) => {
            use sqlx::{Connection, Row};
            let mut db = sqlx::PgConnection::connect(url).await.unwrap();
            let columns = sqlx::query(
                "SELECT table_name::text AS t, column_name::text AS c \
                 FROM information_schema.columns WHERE table_schema = 'public' \
                 AND data_type IN ('text', 'character varying', 'json', 'jsonb')",
            )
            .fetch_all(&mut db)
            .await
            .unwrap();
            let mut text = Vec::new();
            for column in columns {
                let (table, name): (String, String) = (column.get("t"), column.get("c"));
                let values: Vec<Option<String>> =
                    sqlx::query_scalar(&format!("SELECT \"{name}\"::text FROM \"{table}\""))
                        .fetch_all(&mut db)
                        .await
                        .unwrap();
                for value in values.into_iter().flatten() {
                    text.extend_from_slice(value.as_bytes());
                    text.push(b'\n');
                }
            }
            text
        }
    }
}

async fn assert_nothing_in_clear(location: &Location, secrets: &StoredSecrets) {
    let text = database_text(location).await;
    assert!(text.len() > 1000, "the database was read");
    for secret in &secrets.in_clear {
        let found = text
            .windows(secret.len())
            .any(|window| window == secret.as_bytes());
        assert!(!found, "{secret} is in the database in clear");
    }
}

async fn secrets_are_sealed_at_rest(backend: Backend) {
    let secrets = store_secrets(&backend.store).await;
    assert_secrets_open(&backend.store, &secrets).await;
    let census = backend.store.secrets_census().await.unwrap();
    let key = suite_keyring().current().id().to_owned();
    assert_eq!(census.key_ids(), [key.as_str()]);
    assert_eq!(census.in_clear(), 0);
    drop(backend.store);
    assert_nothing_in_clear(&backend.location, &secrets).await;
    // Bound to its row: a sealed value copied into another row does not open there.
    let reopened = backend.location.open().await;
    let other = installed_in(&reopened, "globex").await;
    raw_sql(
        &backend.location,
        &[format!(
            "UPDATE installations SET secure_iparams = \
             (SELECT secure_iparams FROM installations WHERE id = '{}') WHERE id = '{}'",
            secrets.installation.id, other.id
        )],
    )
    .await;
    let moved = reopened.installation(&other.id).await.unwrap_err();
    assert!(
        matches!(&moved, StoreError::Secrets(why) if why.contains("secure_iparams")),
        "{moved:?}"
    );
}

async fn a_rotation_seals_every_secret_again_under_the_new_key(backend: Backend) {
    let secrets = store_secrets(&backend.store).await;
    drop(backend.store);
    let old = suite_keyring().current().clone();
    let new = SealingKey::generate().unwrap();
    let both = Keyring::new(new.clone(), vec![old.clone()]);
    let store = backend.location.open_with(both).await.unwrap();
    assert_secrets_open(&store, &secrets).await;
    let before = store.secrets_census().await.unwrap();
    assert_eq!(before.under(old.id()), 8, "{before:?}");
    // New writes are sealed under the new key at once.
    store
        .put_app_parameters(&secrets.app, &Default::default())
        .await
        .unwrap();
    store
        .put_app_parameters(
            &secrets.app,
            &Iparams {
                public: Default::default(),
                secure: json!({"client_secret": "connector-s3cret-77b1"})
                    .as_object()
                    .unwrap()
                    .clone(),
            },
        )
        .await
        .unwrap();
    let mut resealed = 0;
    loop {
        match store.reseal(2).await.unwrap() {
            0 => break,
            n => {
                assert!(n <= 2, "batches are bounded");
                resealed += n;
            }
        }
    }
    assert_eq!(resealed, 7, "what the old key sealed, and no more");
    let after = store.secrets_census().await.unwrap();
    assert_eq!(after.key_ids(), [new.id()], "{after:?}");
    assert_eq!(after.under(new.id()), 8);
    drop(store);
    let dropped = Keyring::new(new.clone(), vec![]);
    let store = backend.location.open_with(dropped).await.unwrap();
    assert_secrets_open(&store, &secrets).await;
    drop(store);
    assert_nothing_in_clear(&backend.location, &secrets).await;
}

async fn a_missing_or_wrong_key_is_refused_by_name(backend: Backend) {
    store_secrets(&backend.store).await;
    drop(backend.store);
    let sealed_with = suite_keyring().current().id().to_owned();
    let wrong = SealingKey::generate().unwrap();
    let Err(StoreError::Secrets(why)) = backend
        .location
        .open_with(Keyring::new(wrong.clone(), vec![]))
        .await
    else {
        panic!("a keyring without the key that sealed the secrets is refused")
    };
    assert!(
        why.contains(&sealed_with) && why.contains(wrong.id()),
        "names both keys: {why}"
    );
    // Refused before anything was sealed under the wrong key: the right one still opens
    // everything.
    let store = backend.location.open().await;
    assert_eq!(
        store.secrets_census().await.unwrap().key_ids(),
        [sealed_with.as_str()]
    );
    // A locked store reads what is not secret, and refuses what is.
    let locked = backend.location.open_locked().await;
    assert!(
        locked
            .account(&AccountId::parse("acme").unwrap())
            .await
            .unwrap()
            .is_some()
    );
    let refused = locked.setting("security_context_key").await.unwrap_err();
    assert!(matches!(refused, StoreError::Secrets(_)), "{refused:?}");
}

async fn secrets_stored_in_clear_are_sealed_when_unlocked(backend: Backend) {
    let secrets = store_secrets(&backend.store).await;
    drop(backend.store);
    // As an older Weir wrote them.
    let subscription = &secrets.subscription;
    let previous = serde_json::to_string(&subscription.previous_secrets).unwrap();
    raw_sql(
        &backend.location,
        &[
            format!(
                "UPDATE webhook_subscriptions SET secret = '{}', previous_secrets = '{previous}'",
                subscription.secret.as_str()
            ),
            format!(
                "UPDATE installations SET secure_iparams = '{}'",
                serde_json::to_string(&secrets.installation.iparams.secure).unwrap()
            ),
            "UPDATE app_parameters SET secure = '{\"client_secret\": \"connector-s3cret-77b1\"}'"
                .into(),
            format!(
                "UPDATE oauth_tokens SET sealed = '{}'",
                secrets.oauth.tokens
            ),
            format!(
                "UPDATE installations SET target_token = '{}', target_token_hash = NULL",
                secrets.installation.target_token.as_str()
            ),
            format!(
                "UPDATE settings SET value = '{SECURITY_KEY}' WHERE key = 'security_context_key'"
            ),
        ],
    )
    .await;
    let locked = backend.location.open_locked().await;
    assert_eq!(locked.secrets_census().await.unwrap().in_clear(), 7);
    drop(locked);
    let store = backend.location.open().await;
    let census = store.secrets_census().await.unwrap();
    assert_eq!(census.in_clear(), 0, "{census:?}");
    assert_secrets_open(&store, &secrets).await;
    let found = store
        .installation_by_target_token(&secrets.installation.target_token)
        .await
        .unwrap();
    assert_eq!(
        found.map(|i| i.id),
        Some(secrets.installation.id.clone()),
        "by its hash"
    );
    drop(store);
    assert_nothing_in_clear(&backend.location, &secrets).await;
    // Unlocking again finds nothing more to do.
    let again = backend.location.open().await;
    assert_eq!(again.secrets_census().await.unwrap(), census);
}

/// Runs statements on the database behind the store's back (as another program would).
async fn raw_sql(location: &Location, statements: &[String]) {
    match location {
        Location::Sqlite(dir) => {
            let db = rusqlite::Connection::open(dir.path().join("weir.db")).unwrap();
            db.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
            for statement in statements {
                db.execute(statement, []).unwrap();
            }
        }
        Location::Postgres(url) => {
            use sqlx::Connection;
            let mut db = sqlx::PgConnection::connect(url).await.unwrap();
            for statement in statements {
                sqlx::query(statement).execute(&mut db).await.unwrap();
            }
        }
    }
}
