//! Entity storage (`$db.entity`) over real HTTP, on both storage backends: an app declares
//! an entity in `config/entities.json`, its handlers keep records across events, and the
//! invocation records show what each call answered. A broken `entities.json` is refused
//! at upload, naming the file and the place in it.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Server, Storage};

on_both_backends!(
    handlers_keep_filter_and_page_entity_records,
    a_broken_entities_json_is_refused_with_its_place,
);

const MANIFEST: &str = r#"{
  "name": "guest-book",
  "platform-version": "2.3",
  "product": {"freshsales": {"events": {
    "onContactCreate": {"handler": "remember"},
    "onDealCreate": {"handler": "tour"}
  }}}
}"#;

const ENTITIES: &str = r#"{
  "guests": {"fields": [
    {"name": "contact_id", "label": "Contact", "type": "integer", "required": true,
     "filterable": true},
    {"name": "city", "label": "City", "type": "text", "filterable": true},
    {"name": "visits", "label": "Visits", "type": "integer"}
  ]}
}"#;

const SERVER_JS: &str = r#"
function guests() {
  return $db.entity({ version: 'v1' }).get('guests');
}

// Every page of the guests of `query`, following links.next.
async function everyPage(query) {
  var pages = [];
  var page = await guests().getAll({ query: query });
  pages.push(page);
  while (page.links.next) {
    page = await guests().getAll({ query: query, next: page.links.next });
    pages.push(page);
  }
  return pages;
}

exports = {
  remember: function (payload) {
    var contact = payload.data.contact;
    return guests().create({ contact_id: contact.id, city: contact.city, visits: 1 });
  },
  tour: async function () {
    var paris = await everyPage({ city: 'Paris' });
    var first = paris[0].records[0];
    var got = await guests().get(first.display_id);
    var updated = await guests().update(first.display_id, { city: 'Lyon', visits: 2 });
    var deleted = await guests().delete(paris[0].records[1].display_id);
    var gone = await guests().get(paris[0].records[1].display_id).then(null, function (e) { return e; });
    var stillParis = await everyPage({ city: 'Paris' });
    var lyonOrPune = await everyPage({ $or: [{ city: 'Lyon' }, { city: 'Pune' }] });
    var bad = await guests().getAll({ query: { visits: 2 } }).then(null, function (e) { return e; });
    return { paris: paris, got: got, updated: updated, deleted: deleted, gone: gone,
             stillParis: stillParis, lyonOrPune: lyonOrPune, bad: bad };
  }
};
"#;

async fn post_event(server: &Server, event: Value) -> String {
    let posted = server.post("/api/v1/accounts/acme/events", event).await;
    assert_eq!(posted.status, StatusCode::ACCEPTED, "{}", posted.body);
    posted.body["id"].as_str().unwrap().to_owned()
}

/// The contact ids of every page, page by page.
fn contact_ids(pages: &Value) -> Vec<Vec<i64>> {
    pages
        .as_array()
        .unwrap()
        .iter()
        .map(|page| {
            page["records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["data"]["contact_id"].as_i64().unwrap())
                .collect()
        })
        .collect()
}

async fn handlers_keep_filter_and_page_entity_records(storage: Storage) {
    let server = Server::start_configured(
        &storage,
        Some(support::ADMIN_TOKEN),
        &["--entity-page-size", "2"],
    )
    .await;
    let account = json!({"id": "acme", "domain": "acme.myfreshworks.com", "region": "US",
                         "product": "freshsales"});
    assert_eq!(
        server.post("/api/v1/accounts", account).await.status,
        StatusCode::CREATED
    );
    let zip = weir_testkit::zip(&[
        ("manifest.json", MANIFEST),
        ("config/entities.json", ENTITIES),
        ("server/server.js", SERVER_JS),
    ]);
    let app = server.upload_app("/api/v1/apps", zip).await;
    assert_eq!(app.status, StatusCode::CREATED, "{}", app.body);
    let installed = server
        .post(
            "/api/v1/accounts/acme/installations",
            json!({"app_id": app.body["id"]}),
        )
        .await;
    assert_eq!(installed.status, StatusCode::CREATED, "{}", installed.body);

    let mut created = Vec::new();
    for (id, city) in [(1, "Paris"), (2, "Pune"), (3, "Paris"), (4, "Paris")] {
        let contact = json!({"event": "onContactCreate",
                             "data": {"contact": {"id": id, "city": city}}});
        let event = post_event(&server, contact).await;
        let record = server.only_run(&event).await;
        assert_eq!(record["status"], "success", "{record}");
        created.push(record["result"]["record"].clone());
    }
    let display_id = |i: usize| created[i]["display_id"].as_str().unwrap().to_owned();
    let prefix = display_id(0).split_once('-').unwrap().0.to_owned();
    for (i, record) in created.iter().enumerate() {
        assert_eq!(
            record["display_id"],
            format!("{prefix}-{}", i + 1),
            "{record}"
        );
        assert_eq!(record["created_time"], record["updated_time"]);
    }
    assert_eq!(
        created[1]["data"],
        json!({"contact_id": 2, "city": "Pune", "visits": 1})
    );

    let deal = json!({"event": "onDealCreate", "data": {"deal": {"id": 9}}});
    let event = post_event(&server, deal).await;
    let record = server.only_run(&event).await;
    assert_eq!(record["status"], "success", "{record}");
    let tour = &record["result"];
    // Pages of two (--entity-page-size 2): the marker leads to the rest, and the last
    // page has no next link.
    assert_eq!(contact_ids(&tour["paris"]), [vec![1, 3], vec![4]]);
    assert!(
        tour["paris"][0]["links"]["next"]["marker"].is_string(),
        "{tour}"
    );
    assert_eq!(tour["paris"][1]["links"], json!({}));
    assert_eq!(tour["got"]["record"], created[0]);
    let updated = &tour["updated"]["record"];
    assert_eq!(updated["display_id"], display_id(0));
    assert_eq!(
        updated["data"],
        json!({"contact_id": 1, "city": "Lyon", "visits": 2})
    );
    assert_eq!(updated["created_time"], created[0]["created_time"]);
    assert_eq!(tour["deleted"], json!({}));
    assert_eq!(
        tour["gone"],
        json!({"status": 404, "message": "Record not found"})
    );
    assert_eq!(contact_ids(&tour["stillParis"]), [vec![4]]);
    assert_eq!(contact_ids(&tour["lyonOrPune"]), [vec![1, 2]]);
    assert_eq!(
        tour["bad"],
        json!({"status": 400,
               "message": "\"visits\" is not a filterable field of guests (filterable: contact_id, city)"})
    );
    server.stop().await;
}

async fn a_broken_entities_json_is_refused_with_its_place(storage: Storage) {
    let server = Server::start(&storage).await;
    let broken = r#"{"guests": {"fields": [
        {"name": "city", "label": "City", "type": "string"},
        {"name": "status", "label": "Status", "type": "enum", "choices": []}
    ]}}"#;
    let zip = weir_testkit::zip(&[
        ("manifest.json", MANIFEST),
        ("config/entities.json", broken),
        ("server/server.js", SERVER_JS),
    ]);
    let refused = server.upload_app("/api/v1/apps", zip).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert_eq!(
        refused.body["error"]["details"],
        json!([
            {"file": "config/entities.json", "location": "/guests/fields/0/type",
             "message": "unknown type \"string\" (one of: text, paragraph, integer, float, \
                         datetime, boolean, enum, date, section)"},
            {"file": "config/entities.json", "location": "/guests/fields/1/choices",
             "message": "an enum field needs at least one choice"},
        ])
    );
    assert!(
        refused
            .message()
            .contains("config/entities.json /guests/fields/0/type: unknown type \"string\""),
        "{}",
        refused.message()
    );
    server.stop().await;
}
