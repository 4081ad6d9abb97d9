//! Entity storage (`$db.entity`) from a handler's point of view: real handlers in the
//! sandbox, a real SQLite store, the shapes and errors the app sees, records per
//! installation, and the `$db` allowance shared with the key-value store.

mod support;

use std::sync::Arc;

use serde_json::{Value, json};
use support::World;
use weir_core::{Installation, InvocationRecord, InvocationStatus};
use weir_engine::PlatformSettings;

const ENTITIES: &str = r#"{
  "rooms": {"fields": [
    {"name": "number", "label": "Number", "type": "integer", "required": true, "filterable": true},
    {"name": "floor", "label": "Floor", "type": "integer", "filterable": true},
    {"name": "kind", "label": "Kind", "type": "enum", "filterable": true,
     "choices": [{"id": 1, "value": "single"}, {"id": 2, "value": "double"}]},
    {"name": "notes", "label": "Notes", "type": "paragraph"}
  ]}
}"#;

const APP: &str = r#"
exports = {
  steps: async function () {
    var seen = [];
    function note(label) {
      return function (answer) { seen.push([label, answer]); return answer; };
    }
    var rooms = $db.entity({ version: 'v1' }).get('rooms');
    var made = await rooms.create({ number: 101, floor: 1, kind: 'single' }).then(note('create'));
    var id = made.record.display_id;
    await rooms.create({ number: 102, floor: 1, kind: 'double' });
    await rooms.create({ number: 201, floor: 2, kind: 'double' });
    await rooms.get(id).then(note('get'));
    await rooms.update(id, { notes: 'sea view', kind: 'double' }).then(note('update'));
    var first = await rooms.getAll({ query: { floor: 1 } }).then(note('floor 1, page 1'));
    await rooms.getAll({ query: { floor: 1 }, next: first.links.next }).then(note('floor 1, page 2'));
    await rooms.getAll({ query: { $or: [{ number: 102 }, { number: 201 }] } }).then(note('$or'));
    await rooms.getAll({ query: { $and: [{ floor: 1 }, { kind: 'double' }] } }).then(note('$and'));
    await rooms.delete(id).then(note('delete'));
    await rooms.get(id).then(note('no'), note('get deleted'));
    await rooms.create({ floor: 3 }).then(note('no'), note('missing required'));
    await rooms.create({ number: 1, kind: 'suite' }).then(note('no'), note('not a choice'));
    await rooms.getAll({ query: { notes: 'x' } }).then(note('no'), note('not filterable'));
    await $db.entity('guests').create({ name: 'x' }).then(note('no'), note('unknown entity'));
    await rooms.schema().then(note('schema'));
    return seen;
  },
  count: async function () {
    var page = await $db.entity('rooms').getAll();
    return page.records.map(function (r) { return r.data.number; });
  },
  add: function (args) { return $db.entity('rooms').create({ number: args.data.number }); },
  flood: async function () {
    var answers = [];
    for (var i = 0; i < 3; i++) {
      answers.push(await $db.set('k' + i, { i: i }).then(function () { return 'ok'; }, function (e) { return e; }));
      answers.push(await $db.entity('rooms').create({ number: i }).then(function () { return 'ok'; }, function (e) { return e; }));
    }
    return answers;
  }
};"#;

const MANIFEST: &str = r#"{
  "platform-version": "2.3",
  "product": { "freshdesk": { "events": {
    "onTicketCreate": { "handler": "steps" },
    "onTicketUpdate": { "handler": "count" },
    "onContactCreate": { "handler": "add" },
    "onContactUpdate": { "handler": "flood" }
  } } }
}"#;

async fn install(world: &World) -> Arc<Installation> {
    let files = [
        ("manifest.json", MANIFEST),
        ("server/server.js", APP),
        ("config/entities.json", ENTITIES),
    ];
    world.install(&files, json!({}), json!({})).await
}

async fn run(
    world: &World,
    installation: &Arc<Installation>,
    event: &str,
    data: Value,
) -> InvocationRecord {
    let record = world
        .run_with(installation, event, json!({"data": data}))
        .await;
    assert_eq!(record.status, InvocationStatus::Success, "{record:?}");
    record
}

/// The answer noted as `label`.
fn noted<'a>(seen: &'a [(String, Value)], label: &str) -> &'a Value {
    &seen
        .iter()
        .find(|(l, _)| l == label)
        .unwrap_or_else(|| panic!("{label} not noted in {seen:?}"))
        .1
}

fn numbers(page: &Value) -> Vec<i64> {
    page["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["data"]["number"].as_i64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entity_storage_answers_in_the_docs_shapes() {
    let settings = PlatformSettings {
        entity_page_size: 1,
        ..PlatformSettings::default()
    };
    let world = World::new(&[], settings).await;
    let installation = install(&world).await;
    let record = run(&world, &installation, "onTicketCreate", json!({})).await;
    let seen: Vec<(String, Value)> = serde_json::from_value(record.result.unwrap()).unwrap();

    let created = &noted(&seen, "create")["record"];
    let id = created["display_id"].as_str().unwrap();
    let (prefix, number) = id.split_once('-').unwrap();
    assert_eq!((prefix.len(), number), (5, "1"), "{id}");
    assert_eq!(
        created["data"],
        json!({"number": 101, "floor": 1, "kind": "single"})
    );
    let created_time = created["created_time"].as_str().unwrap();
    assert!(
        created_time.ends_with('Z') && created_time.len() == 24,
        "{created_time}"
    );
    assert_eq!(created["updated_time"], created["created_time"]);
    assert_eq!(noted(&seen, "get")["record"], *created);

    let updated = &noted(&seen, "update")["record"];
    assert_eq!(updated["display_id"], id);
    assert_eq!(
        updated["data"],
        json!({"number": 101, "floor": 1, "kind": "double", "notes": "sea view"})
    );
    assert_eq!(updated["created_time"], created["created_time"]);

    let page_one = noted(&seen, "floor 1, page 1");
    assert_eq!(numbers(page_one), [101]);
    assert!(
        page_one["links"]["next"]["marker"].is_string(),
        "{page_one}"
    );
    let page_two = noted(&seen, "floor 1, page 2");
    assert_eq!(numbers(page_two), [102]);
    assert_eq!(page_two["links"], json!({}), "the last page");
    assert_eq!(numbers(noted(&seen, "$or")), [102], "a page of one");
    assert_eq!(numbers(noted(&seen, "$and")), [101]);

    assert_eq!(*noted(&seen, "delete"), json!({}));
    assert_eq!(
        *noted(&seen, "get deleted"),
        json!({"status": 404, "message": "Record not found"})
    );
    assert_eq!(
        *noted(&seen, "missing required"),
        json!({"status": 400, "message": "The required field \"number\" has no value"})
    );
    assert_eq!(
        *noted(&seen, "not a choice"),
        json!({"status": 400, "message": "Invalid value for \"kind\": must be one of \"single\", \"double\""})
    );
    assert_eq!(
        *noted(&seen, "not filterable"),
        json!({"status": 400,
               "message": "\"notes\" is not a filterable field of rooms (filterable: number, floor, kind)"})
    );
    assert_eq!(
        *noted(&seen, "unknown entity"),
        json!({"status": 404, "message": "Entity \"guests\" is not declared in config/entities.json"})
    );
    let schema = noted(&seen, "schema");
    assert_eq!(schema["name"], "rooms");
    assert_eq!(schema["prefix"], prefix);
    assert_eq!(schema["fields"].as_array().unwrap().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_installation_has_its_own_records() {
    let world = World::new(&[], PlatformSettings::default()).await;
    let (acme, globex) = (install(&world).await, install(&world).await);
    for number in [1, 2] {
        run(&world, &acme, "onContactCreate", json!({"number": number})).await;
    }
    let theirs = run(&world, &globex, "onContactCreate", json!({"number": 9})).await;
    let theirs = theirs.result.unwrap();
    assert!(
        theirs["record"]["display_id"]
            .as_str()
            .unwrap()
            .ends_with("-1"),
        "numbered per installation: {theirs}"
    );
    let listed = run(&world, &acme, "onTicketUpdate", json!({})).await;
    assert_eq!(listed.result, Some(json!([1, 2])));
    let listed = run(&world, &globex, "onTicketUpdate", json!({})).await;
    assert_eq!(listed.result, Some(json!([9])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entity_calls_share_the_db_allowance() {
    let settings = PlatformSettings {
        db_calls_per_minute: 5,
        ..PlatformSettings::default()
    };
    let world = World::new(&[], settings).await;
    let installation = install(&world).await;
    let flood = run(&world, &installation, "onContactUpdate", json!({})).await;
    let answers = flood.result.unwrap();
    assert_eq!(answers[4], json!("ok"), "{answers}");
    assert_eq!(answers[5]["status"], 429, "{answers}");
    assert!(
        answers[5]["message"]
            .as_str()
            .unwrap()
            .starts_with("Too many $db requests: at most 5 a minute"),
        "{answers}"
    );
}
