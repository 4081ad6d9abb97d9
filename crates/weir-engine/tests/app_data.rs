//! `$db` from a handler's point of view: real handlers in the sandbox, a real SQLite
//! store, the platform's answers and error texts, one namespace per installation.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};
use weir_core::{
    Account, AccountId, AppId, AppName, Departments, Domain, Installation, InstallationId,
    InstallationStatus, Iparams, Package, Product, Region,
};
use weir_engine::{CallContext, PlatformHost};
use weir_sandbox::{AppCode, Invocation, Limits, Sandbox, Status};
use weir_store::{NewApp, SqliteStore, Store};
use weir_testkit::TempDir;

const APP: &str = r#"
exports = {
  steps: async function (args) {
    var seen = [];
    function note(label) {
      return function (answer) { seen.push([label, answer]); };
    }
    await $db.set('counter', { count: 1, tags: ['a'] }).then(note('set'), note('set failed'));
    await $db.set('counter', { count: 9 }, { setIf: 'not_exist' }).then(note('no'), note('setIf not_exist'));
    await $db.set('other', { x: 1 }, { setIf: 'exist' }).then(note('no'), note('setIf exist'));
    await $db.update('counter', 'increment', { count: 2 }).then(note('increment'));
    await $db.update('counter', 'append', { tags: ['b'] }).then(note('append'));
    await $db.update('counter', 'set', { 'logs.t1.time': 5 }).then(note('set path'));
    await $db.get('counter').then(note('get'));
    await $db.get('missing').then(note('no'), note('get missing'));
    await $db.set('', { a: 1 }).then(note('no'), note('blank key'));
    await $db.set('k', 'text').then(note('no'), note('not an object'));
    await $db.delete('counter').then(note('delete'));
    await $db.delete('counter').then(note('no'), note('delete again'));
    return seen;
  },
  remember: function (args) { return $db.set('mine', { who: args.who }); },
  register: function () {
    return generateTargetUrl()
      .then(function (url) { return $db.set('hook', { url: url }).then(function () { return url; }); })
      .fail(function (error) { console.error(error.message); });
  },
  recall: function () { return $db.get('mine'); }
};"#;

struct World {
    store: Arc<dyn Store>,
    sandbox: Sandbox,
    code: Arc<AppCode>,
    _dir: TempDir,
}

impl World {
    async fn new() -> Self {
        let dir = TempDir::new();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).await.unwrap());
        let files: BTreeMap<String, Vec<u8>> =
            [("server/server.js".to_owned(), APP.as_bytes().to_vec())]
                .into_iter()
                .collect();
        let code = Arc::new(AppCode::from_package(&Package::from_files(files)));
        World {
            store,
            sandbox: Sandbox::start(2).unwrap(),
            code,
            _dir: dir,
        }
    }

    async fn install(&self, account: &str) -> InstallationId {
        let now = weir_core::now();
        let account = Account {
            id: AccountId::parse(account).unwrap(),
            domain: Domain::parse("acme.freshsales.io").unwrap(),
            region: Region::US,
            product: Product::parse("freshsales").unwrap(),
            departments: Departments::default(),
            created_at: now,
            updated_at: now,
        };
        self.store.insert_account(&account).await.unwrap();
        let app = self
            .store
            .insert_app(NewApp {
                id: AppId::generate(),
                name: AppName::parse("counter").unwrap(),
                platform_version: None,
                package: vec![1],
                package_sha256: "x".into(),
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
        self.store.insert_installation(&installation).await.unwrap();
        installation.id
    }

    async fn run(
        &self,
        installation: &InstallationId,
        handler: &str,
        payload: Value,
    ) -> weir_sandbox::Outcome {
        let context = CallContext {
            event: "onTicketCreate".into(),
            handles_external_events: false,
            target_url: "http://127.0.0.1/in/unused".into(),
        };
        self.run_in(installation, handler, payload, context).await
    }

    async fn run_in(
        &self,
        installation: &InstallationId,
        handler: &str,
        payload: Value,
        context: CallContext,
    ) -> weir_sandbox::Outcome {
        let host = Arc::new(PlatformHost::new(
            self.store.clone(),
            installation.clone(),
            context,
        ));
        self.sandbox
            .run(Invocation {
                code: self.code.clone(),
                handler: handler.into(),
                payload,
                host,
                limits: Limits::default(),
                env: "test",
            })
            .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn db_answers_as_the_platform_does() {
    let world = World::new().await;
    let installation = world.install("acme").await;
    let outcome = world.run(&installation, "steps", json!({})).await;
    assert_eq!(outcome.status, Status::Success, "{outcome:?}");
    let seen: Vec<(String, Value)> = serde_json::from_value(outcome.value.unwrap()).unwrap();
    let expected = [
        ("set", json!({"Created": true})),
        (
            "setIf not_exist",
            json!({"status": 400, "message": "The setIf conditional request failed"}),
        ),
        (
            "setIf exist",
            json!({"status": 400, "message": "The setIf conditional request failed"}),
        ),
        ("increment", json!({"Updated": true})),
        ("append", json!({"Updated": true})),
        ("set path", json!({"Updated": true})),
        (
            "get",
            json!({"count": 3, "tags": ["a", "b"], "logs": {"t1": {"time": 5}}}),
        ),
        (
            "get missing",
            json!({"status": 404, "message": "Record not found"}),
        ),
        (
            "blank key",
            json!({"status": 400, "message": "The key cannot be blank"}),
        ),
        (
            "not an object",
            json!({"status": 422, "message": "The value should be a non-empty JSON object"}),
        ),
        ("delete", json!({"Deleted": true})),
        (
            "delete again",
            json!({"status": 404, "message": "Record not found"}),
        ),
    ];
    let expected: Vec<(String, Value)> = expected
        .into_iter()
        .map(|(l, v)| (l.to_owned(), v))
        .collect();
    assert_eq!(seen, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_installation_has_its_own_db_that_outlives_invocations() {
    let world = World::new().await;
    let (acme, globex) = (world.install("acme").await, world.install("globex").await);
    assert_eq!(
        world
            .run(&acme, "remember", json!({"who": "acme"}))
            .await
            .status,
        Status::Success
    );
    assert_eq!(
        world.run(&acme, "recall", json!({})).await.value,
        Some(json!({"who": "acme"}))
    );
    let other = world.run(&globex, "recall", json!({})).await;
    assert_eq!(other.status, Status::Error, "{other:?}");
    assert_eq!(
        other.error.as_deref(),
        Some(r#"{"status":404,"message":"Record not found"}"#)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_target_url_resolves_where_allowed_and_rejects_elsewhere() {
    let world = World::new().await;
    let installation = world.install("acme").await;
    let context = |event: &str| CallContext {
        event: event.into(),
        handles_external_events: true,
        target_url: "https://events.example.com/in/TOKEN".into(),
    };
    let install = world
        .run_in(
            &installation,
            "register",
            json!({}),
            context("onAppInstall"),
        )
        .await;
    assert_eq!(
        install.value,
        Some(json!("https://events.example.com/in/TOKEN")),
        "{install:?}"
    );
    let stored = world
        .store
        .app_data(&installation, "hook", weir_core::now())
        .await
        .unwrap();
    assert_eq!(
        stored.unwrap().value,
        json!({"url": "https://events.example.com/in/TOKEN"})
    );
    let uninstall = world
        .run_in(
            &installation,
            "register",
            json!({}),
            context("onAppUninstall"),
        )
        .await;
    assert_eq!(
        uninstall.console[0].text,
        "Unsupported operation: The generateTargetUrl method cannot be used"
    );
}
