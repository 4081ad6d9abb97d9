//! `$schedule` as apps use it: the platform's answers and texts, schedules kept in the
//! store, and the scheduler firing `onScheduledEvent` on time, once or recurring.

mod support;

use std::sync::Arc;
use std::time::Duration;

use jiff::SignedDuration;
use serde_json::{Value, json};
use support::World;
use weir_core::{InvocationFilter, InvocationStatus, ScheduleLimits};
use weir_engine::PlatformSettings;
use weir_store::PageRequest;

const MANIFEST: &str = r#"{
  "platform-version": "2.3",
  "product": { "freshdesk": { "events": {
    "onTicketCreate": { "handler": "call" },
    "onScheduledEvent": { "handler": "scheduled" }
  } } }
}"#;

const SERVER_JS: &str = r#"
exports = {
  call: function (args) {
    var c = args.data;
    return $schedule[c.op](c.arg).then(function (ok) { return { ok: ok }; }, function (err) { return { err: err }; });
  },
  scheduled: function (args) {
    console.log('fired ' + args.data.ticket + ' for ' + args.account_id);
    return $db.update('runs', 'increment', { count: 1 });
  }
};"#;

const NO_HANDLER_MANIFEST: &str = r#"{
  "platform-version": "2.3",
  "product": { "freshdesk": { "events": { "onTicketCreate": { "handler": "call" } } } }
}"#;

fn settings(min_lead: Duration) -> PlatformSettings {
    PlatformSettings {
        schedules: ScheduleLimits {
            min_lead,
            max_one_time: 2,
            ..ScheduleLimits::default()
        },
        ..PlatformSettings::default()
    }
}

async fn call(
    world: &World,
    installation: &Arc<weir_core::Installation>,
    op: &str,
    arg: Value,
) -> Value {
    let payload = json!({"data": {"op": op, "arg": arg}, "iparams": {}});
    let record = world
        .run_with(installation, "onTicketCreate", payload)
        .await;
    assert_eq!(record.status, InvocationStatus::Success, "{record:?}");
    record.result.unwrap()
}

fn iso_in(seconds: i64) -> String {
    (weir_core::now() + SignedDuration::from_secs(seconds)).to_string()
}

fn err(status: u16, message: &str) -> Value {
    json!({"err": {"status": status, "message": message}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_answer_with_the_platform_texts() {
    let world = World::new(&[], settings(Duration::from_secs(300))).await;
    let files = [("manifest.json", MANIFEST), ("server/server.js", SERVER_JS)];
    let installation = world.install(&files, json!({}), json!({})).await;
    let later = iso_in(3600);
    let spec = json!({"name": "remind", "data": {"ticket": 7}, "schedule_at": later});

    assert_eq!(
        call(&world, &installation, "create", spec.clone()).await,
        json!({"ok": {"status": 200, "message": "Schedule created"}})
    );
    assert_eq!(
        call(&world, &installation, "fetch", json!({"name": "remind"})).await,
        json!({"ok": spec})
    );
    assert_eq!(
        call(&world, &installation, "create", spec.clone()).await,
        err(400, "This Schedule name already exists")
    );
    let moved = json!({"name": "remind", "data": {"ticket": 8}, "schedule_at": iso_in(7200)});
    assert_eq!(
        call(&world, &installation, "update", moved.clone()).await,
        json!({"ok": {"status": 200, "message": "Schedule updated"}})
    );
    assert_eq!(
        call(&world, &installation, "fetch", json!({"name": "remind"})).await,
        json!({"ok": moved})
    );

    let soon = json!({"name": "soon", "data": {}, "schedule_at": iso_in(60)});
    assert_eq!(
        call(&world, &installation, "create", soon).await,
        err(
            400,
            "schedule_at must be at least 5 minutes in the future for a one-time schedule"
        )
    );
    let second = json!({"name": "second", "data": {}, "schedule_at": later});
    call(&world, &installation, "create", second).await;
    let third = json!({"name": "third", "data": {}, "schedule_at": later});
    assert_eq!(
        call(&world, &installation, "create", third).await,
        err(400, "The maximum number of one-time schedules is 2")
    );
    let recurring = |name: &str| {
        json!({"name": name, "data": {}, "schedule_at": later,
                                        "repeat": {"time_unit": "hours", "frequency": 1}})
    };
    call(&world, &installation, "create", recurring("hourly")).await;
    assert_eq!(
        call(&world, &installation, "create", recurring("again")).await,
        err(400, "The maximum number of recurring schedules is 1")
    );

    assert_eq!(
        call(&world, &installation, "delete", json!({"name": "remind"})).await,
        json!({"ok": {"status": 200, "message": "Schedule deleted"}})
    );
    assert_eq!(
        call(&world, &installation, "delete", json!({"name": "remind"})).await,
        err(404, "Schedule does not exist")
    );
    assert_eq!(
        call(&world, &installation, "fetch", json!({"name": "remind"})).await,
        err(404, "Schedule does not exist")
    );
    assert_eq!(
        call(&world, &installation, "update", moved).await,
        err(404, "Schedule does not exist")
    );
    assert_eq!(
        call(
            &world,
            &installation,
            "fetch",
            json!({"name": "x".repeat(31)})
        )
        .await,
        err(400, "name must be at most 30 characters, got 31")
    );

    // An app with no onScheduledEvent handler cannot schedule anything.
    let files = [
        ("manifest.json", NO_HANDLER_MANIFEST),
        ("server/server.js", SERVER_JS),
    ];
    let other = world.install(&files, json!({}), json!({})).await;
    let spec = json!({"name": "remind", "data": {}, "schedule_at": later});
    assert_eq!(
        call(&world, &other, "create", spec).await,
        err(400, "The app has not registered an onScheduledEvent")
    );
    // Each installation has its own names.
    assert_eq!(
        call(&world, &other, "fetch", json!({"name": "hourly"})).await,
        err(404, "Schedule does not exist")
    );
}

/// Waits until the installation has `count` onScheduledEvent records, or gives up.
async fn scheduled_runs(
    world: &World,
    installation: &weir_core::Installation,
    count: usize,
) -> Vec<weir_core::InvocationRecord> {
    let filter = InvocationFilter {
        event: Some("onScheduledEvent".into()),
        ..InvocationFilter::default()
    };
    for _ in 0..100 {
        let page = world
            .store
            .invocations(&installation.id, &filter, &PageRequest::first(50))
            .await
            .unwrap();
        if page.items.len() >= count {
            return page.items;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("fewer than {count} scheduled runs after 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_fires_one_time_and_recurring_schedules() {
    let world = World::new(&[], settings(Duration::ZERO)).await;
    weir_engine::scheduler::spawn(world.runner.clone());
    let files = [("manifest.json", MANIFEST), ("server/server.js", SERVER_JS)];
    let installation = world.install(&files, json!({}), json!({})).await;

    let once = json!({"name": "once", "data": {"ticket": 7}, "schedule_at": iso_in(1)});
    call(&world, &installation, "create", once).await;
    let runs = scheduled_runs(&world, &installation, 1).await;
    assert_eq!(runs[0].status, InvocationStatus::Success, "{:?}", runs[0]);
    let account = installation.account_id.as_str();
    assert_eq!(runs[0].console[0].text, format!("fired 7 for {account}"));
    // A one-time schedule is gone once it has run.
    assert_eq!(
        call(&world, &installation, "fetch", json!({"name": "once"})).await,
        err(404, "Schedule does not exist")
    );

    // Started 59 s ago, every minute: due in about a second, and again a minute later.
    let minutely = json!({"name": "tick", "data": {"ticket": 8}, "schedule_at": iso_in(-59),
                          "repeat": {"time_unit": "minutes", "frequency": 1}});
    call(&world, &installation, "create", minutely.clone()).await;
    let runs = scheduled_runs(&world, &installation, 2).await;
    assert_eq!(runs[1].console[0].text, format!("fired 8 for {account}"));
    // A recurring schedule stays, moved to its next run.
    assert_eq!(
        call(&world, &installation, "fetch", json!({"name": "tick"})).await,
        json!({"ok": minutely})
    );
    let stored = world
        .store
        .schedule(&installation.id, "tick")
        .await
        .unwrap()
        .unwrap();
    let ahead = stored.next_run_at.duration_since(weir_core::now());
    assert!(
        ahead > SignedDuration::from_secs(50),
        "next run in {ahead:?}"
    );
    let count = world
        .store
        .app_data(&installation.id, "runs", weir_core::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(count.value, json!({"count": 2}));
}
