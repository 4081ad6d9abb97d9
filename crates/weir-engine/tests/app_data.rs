//! `$db` and `generateTargetUrl` from a handler's point of view: real handlers in the
//! sandbox, a real SQLite store, the platform's answers and error texts, one namespace
//! per installation.

mod support;

use std::sync::Arc;

use serde_json::{Value, json};
use support::World;
use weir_core::{Installation, InvocationRecord, InvocationStatus};
use weir_engine::PlatformSettings;

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
  remember: function (args) { return $db.set('mine', { who: args.data.who }); },
  register: function () {
    return generateTargetUrl()
      .then(function (url) { return $db.set('hook', { url: url }).then(function () { return url; }); })
      .fail(function (error) { console.error(error.message); });
  },
  recall: function () { return $db.get('mine'); },
  flood: async function () {
    var answers = [];
    for (var i = 0; i < 6; i++) {
      answers.push(await $db.set('k' + i, { i: i }).then(function () { return 'ok'; }, function (e) { return e; }));
    }
    return answers;
  }
};"#;

const MANIFEST: &str = r#"{
  "platform-version": "2.3",
  "product": { "freshdesk": { "events": {
    "onTicketCreate": { "handler": "steps" },
    "onTicketUpdate": { "handler": "remember" },
    "onContactCreate": { "handler": "recall" },
    "onContactUpdate": { "handler": "flood" },
    "onAppInstall": { "handler": "register" },
    "onAppUninstall": { "handler": "register" },
    "onExternalEvent": { "handler": "recall" }
  } } }
}"#;

async fn world() -> World {
    World::new(&[], PlatformSettings::default()).await
}

async fn install(world: &World) -> Arc<Installation> {
    let files = [("manifest.json", MANIFEST), ("server/server.js", APP)];
    world.install(&files, json!({}), json!({})).await
}

async fn run(
    world: &World,
    installation: &Arc<Installation>,
    event: &str,
    data: Value,
) -> InvocationRecord {
    world
        .run_with(installation, event, json!({"data": data}))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn db_answers_as_the_platform_does() {
    let world = world().await;
    let installation = install(&world).await;
    let record = run(&world, &installation, "onTicketCreate", json!({})).await;
    assert_eq!(record.status, InvocationStatus::Success, "{record:?}");
    let seen: Vec<(String, Value)> = serde_json::from_value(record.result.unwrap()).unwrap();
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
    let world = world().await;
    let (acme, globex) = (install(&world).await, install(&world).await);
    let remembered = run(&world, &acme, "onTicketUpdate", json!({"who": "acme"})).await;
    assert_eq!(
        remembered.status,
        InvocationStatus::Success,
        "{remembered:?}"
    );
    let recalled = run(&world, &acme, "onContactCreate", json!({})).await;
    assert_eq!(recalled.result, Some(json!({"who": "acme"})));
    let other = run(&world, &globex, "onContactCreate", json!({})).await;
    assert_eq!(other.status, InvocationStatus::Error, "{other:?}");
    assert_eq!(
        other.error.as_deref(),
        Some(r#"{"status":404,"message":"Record not found"}"#)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn db_calls_are_limited_per_installation() {
    let settings = PlatformSettings {
        db_calls_per_minute: 5,
        ..PlatformSettings::default()
    };
    let world = World::new(&[], settings).await;
    let (acme, globex) = (install(&world).await, install(&world).await);
    let flood = run(&world, &acme, "onContactUpdate", json!({})).await;
    let answers = flood.result.unwrap();
    assert_eq!(answers[4], json!("ok"));
    assert_eq!(answers[5]["status"], 429, "{answers}");
    assert!(
        answers[5]["message"]
            .as_str()
            .unwrap()
            .starts_with("Too many $db requests: at most 5 a minute"),
        "{answers}"
    );
    // Another installation has its own allowance.
    let other = run(&world, &globex, "onContactUpdate", json!({})).await;
    assert_eq!(other.result.unwrap()[0], json!("ok"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_target_url_resolves_where_allowed_and_rejects_elsewhere() {
    let world = world().await;
    let installation = install(&world).await;
    let target = format!(
        "https://weir.example.com/in/{}",
        installation.target_token.as_str()
    );
    let installed = run(&world, &installation, "onAppInstall", json!({})).await;
    assert_eq!(installed.result, Some(json!(target)), "{installed:?}");
    let stored = world
        .store
        .app_data(&installation.id, "hook", weir_core::now())
        .await
        .unwrap();
    assert_eq!(stored.unwrap().value, json!({"url": target}));
    let uninstalled = run(&world, &installation, "onAppUninstall", json!({})).await;
    assert_eq!(
        uninstalled.console[0].text,
        "Unsupported operation: The generateTargetUrl method cannot be used"
    );
}
