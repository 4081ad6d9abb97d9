//! Handlers run as Freshworks runs them, with the platform globals, inside their limits.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use weir_core::{InvocationStatus, Package};
use weir_sandbox::{
    AppCode, DbCall, DbOperation, EntityCall, EntityOperation, Host, HostCall, HostError,
    HostResult, HttpMethod, Invocation, Limits, Outcome, Render, RequestCall, Sandbox,
};

/// A platform with an in-memory `$db`, and a log of every call.
#[derive(Default)]
struct FakePlatform {
    db: Mutex<BTreeMap<String, Value>>,
    calls: Mutex<Vec<HostCall>>,
}

impl Host for FakePlatform {
    fn call(&self, call: HostCall) -> Pin<Box<dyn Future<Output = HostResult> + Send>> {
        self.calls.lock().unwrap().push(call.clone());
        let result = match &call {
            HostCall::Db(DbCall {
                key,
                operation: DbOperation::Set { value, .. },
            }) => {
                self.db
                    .lock()
                    .unwrap()
                    .insert(key.as_str().unwrap().into(), value.clone());
                Ok(json!({"Created": true}))
            }
            HostCall::Db(DbCall {
                key,
                operation: DbOperation::Get,
            }) => self
                .db
                .lock()
                .unwrap()
                .get(key.as_str().unwrap())
                .cloned()
                .ok_or(HostError::new(404, "Record not found")),
            other => Err(HostError::new(400, format!("no {} here", other.name()))),
        };
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(2)).await;
            result
        })
    }
}

fn code(files: &[(&str, &str)]) -> Arc<AppCode> {
    let files: BTreeMap<String, Vec<u8>> = files
        .iter()
        .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
        .collect();
    Arc::new(AppCode::from_package(&Package::from_files(files)))
}

fn invocation(
    code: &Arc<AppCode>,
    handler: &str,
    payload: Value,
    host: &Arc<FakePlatform>,
) -> Invocation {
    Invocation {
        code: code.clone(),
        handler: handler.into(),
        payload,
        host: host.clone(),
        limits: Limits {
            time: Duration::from_secs(5),
            ..Limits::default()
        },
        env: "test",
    }
}

async fn run(
    files: &[(&str, &str)],
    handler: &str,
    payload: Value,
) -> (Outcome, Arc<FakePlatform>) {
    let sandbox = Sandbox::start(1).unwrap();
    let host = Arc::new(FakePlatform::default());
    let outcome = sandbox
        .run(invocation(&code(files), handler, payload, &host))
        .await;
    (outcome, host)
}

fn server(source: &str) -> Vec<(&'static str, String)> {
    vec![("server/server.js", source.to_owned())]
}

async fn run_server(source: &str, handler: &str, payload: Value) -> (Outcome, Arc<FakePlatform>) {
    let files = server(source);
    let files: Vec<(&str, &str)> = files.iter().map(|(p, c)| (*p, c.as_str())).collect();
    run(&files, handler, payload).await
}

#[tokio::test]
async fn exports_this_and_a_deep_copy_of_the_payload() {
    let source = r#"
        exports = {
          onTicketCreateHandler: function (args) {
            helper = this.describe(args);          // an implicit global, as samples do
            args.data.ticket.id = 0;                // the handler's copy only
            return helper;
          },
          describe: function (args) { return 'ticket ' + args.data.ticket.id + ' in ' + args.region; }
        };"#;
    let (outcome, _) = run_server(
        source,
        "onTicketCreateHandler",
        json!({"data": {"ticket": {"id": 7}}, "region": "US"}),
    )
    .await;
    assert_eq!(outcome.status, InvocationStatus::Success, "{outcome:?}");
    assert_eq!(outcome.value, Some(json!("ticket 7 in US")));
}

#[tokio::test]
async fn deferred_promises_chain_done_fail_always_and_await() {
    let source = r#"
        exports = {
          run: async function () {
            var seen = [];
            await $db.set('k', { n: 1 }).done(function (r) { seen.push('set ' + r.Created); });
            await $db.get('missing').fail(function (e) { seen.push('fail ' + e.status + ' ' + e.message); })
                                    .always(function () { seen.push('always'); })
                                    .catch(function () {});
            var value = await $db.get('k').then(function (v) { return v.n + 1; });
            seen.push('then ' + value);
            return seen;
          }
        };"#;
    let (outcome, host) = run_server(source, "run", json!({})).await;
    assert_eq!(outcome.status, InvocationStatus::Success, "{outcome:?}");
    assert_eq!(
        outcome.value,
        Some(json!([
            "set true",
            "fail 404 Record not found",
            "always",
            "then 2"
        ]))
    );
    assert_eq!(host.db.lock().unwrap().get("k"), Some(&json!({"n": 1})));
}

#[tokio::test]
async fn callback_style_handlers_run_until_their_calls_are_answered() {
    let source = r#"
        exports = {
          onAppInstallHandler: function (payload) {
            $db.set('installed', { at: payload.timestamp })
              .done(function () { console.log('stored'); renderData(); })
              .fail(function (e) { renderData({ message: e.message }); });
          }
        };"#;
    let (outcome, host) = run_server(source, "onAppInstallHandler", json!({"timestamp": 42})).await;
    assert_eq!(outcome.status, InvocationStatus::Success, "{outcome:?}");
    assert_eq!(outcome.render, Some(Render::Ok { data: None }));
    assert_eq!(outcome.console[0].text, "stored");
    assert_eq!(
        host.db.lock().unwrap().get("installed"),
        Some(&json!({"at": 42}))
    );
}

#[tokio::test]
async fn every_platform_global_reaches_the_host_as_its_call_and_errors_keep_their_shape() {
    let source = r#"
        exports = {
          onTicketCreateHandler: async function () {
            const settled = await Promise.allSettled([
              $db.update('k', 'increment', { n: 1 }),
              $db.delete('k'),
              $schedule.create({ name: 'daily' }),
              $schedule.update({ name: 'daily' }),
              $schedule.delete({ name: 'daily' }),
              $schedule.fetch({ name: 'daily' }),
              $request.get('https://a.example.com/x'),
              $request.post('https://a.example.com/x', { json: { a: 1 } }),
              $request.put('https://a.example.com/x'),
              $request.patch('https://a.example.com/x'),
              $request.delete('https://a.example.com/x'),
              $request.invokeTemplate('getTicket', { context: { id: 1 } }),
              generateTargetUrl(),
              $webhooks.trigger('orders', { id: 1 }),
            ]);
            return settled.map((s) => s.reason);
          }
        };"#;
    let (outcome, host) = run_server(source, "onTicketCreateHandler", json!({})).await;
    assert_eq!(outcome.status, InvocationStatus::Success, "{outcome:?}");
    let mut names: Vec<&str> = host
        .calls
        .lock()
        .unwrap()
        .iter()
        .map(HostCall::name)
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "db.delete",
            "db.update",
            "generateTargetUrl",
            "request.invokeTemplate",
            "request.url",
            "request.url",
            "request.url",
            "request.url",
            "request.url",
            "schedule.create",
            "schedule.delete",
            "schedule.fetch",
            "schedule.update",
            "webhooks.trigger",
        ]
    );
    // The host's error, as the app's promise rejects with it.
    let reasons = outcome.value.unwrap();
    assert_eq!(
        reasons[0],
        json!({"status": 400, "message": "no db.update here"})
    );
    let methods: Vec<HttpMethod> = host
        .calls
        .lock()
        .unwrap()
        .iter()
        .filter_map(|call| match call {
            HostCall::Request(RequestCall::Url(request)) => Some(request.method),
            _ => None,
        })
        .collect();
    for method in [
        HttpMethod::Get,
        HttpMethod::Post,
        HttpMethod::Put,
        HttpMethod::Patch,
        HttpMethod::Delete,
    ] {
        assert!(methods.contains(&method), "{method:?} in {methods:?}");
    }
}

/// `$db.entity`: the docs' `$db.entity({version: "v1"}).get(name)` and the shorthand
/// `$db.entity(name)` make the same calls, each naming its entity first; anything else is
/// a mistake the handler hears at once.
#[tokio::test]
async fn db_entity_calls_reach_the_host_naming_their_entity() {
    let source = r#"
        exports = {
          onTicketCreateHandler: async function () {
            const rooms = (await $db.entity({ version: 'v1' })).get('rooms');
            await Promise.allSettled([
              rooms.schema(),
              rooms.create({ number: 7 }),
              rooms.get('abcde-1'),
              rooms.update('abcde-1', { number: 8 }),
              rooms.delete('abcde-1'),
              rooms.getAll({ query: { number: 8 } }),
              $db.entity('guests').getAll(),
            ]);
            try {
              $db.entity({ version: 'v2' });
            } catch (e) {
              return e instanceof TypeError ? e.message : 'not a TypeError';
            }
          }
        };"#;
    let (outcome, host) = run_server(source, "onTicketCreateHandler", json!({})).await;
    assert_eq!(outcome.status, InvocationStatus::Success, "{outcome:?}");
    assert_eq!(
        outcome.value,
        Some(json!(
            "$db.entity takes {version: \"v1\"}, or the name of an entity"
        ))
    );
    let calls = host.calls.lock().unwrap();
    let named: Vec<(&str, &Value)> = calls
        .iter()
        .map(|call| match call {
            HostCall::Entity(entity) => (call.name(), &entity.entity),
            other => panic!("not an entity call: {other:?}"),
        })
        .collect();
    let rooms = json!("rooms");
    assert_eq!(
        named,
        [
            ("entity.schema", &rooms),
            ("entity.create", &rooms),
            ("entity.get", &rooms),
            ("entity.update", &rooms),
            ("entity.delete", &rooms),
            ("entity.getAll", &rooms),
            ("entity.getAll", &json!("guests")),
        ]
    );
    assert_eq!(
        calls[3],
        HostCall::Entity(EntityCall {
            entity: rooms.clone(),
            operation: EntityOperation::Update {
                id: json!("abcde-1"),
                data: json!({"number": 8}),
            },
        })
    );
    assert_eq!(
        calls[6],
        HostCall::Entity(EntityCall {
            entity: json!("guests"),
            operation: EntityOperation::GetAll {
                options: Value::Null
            },
        })
    );
}

#[tokio::test]
async fn render_data_shapes() {
    let cases = [
        (
            "renderData(null, { ok: 1 })",
            Render::Ok {
                data: Some(json!({"ok": 1})),
            },
        ),
        (
            "renderData({ message: 'bad key' })",
            Render::Error {
                status: 500,
                message: json!("bad key"),
            },
        ),
        (
            "renderData({ status: 403, message: 'no' })",
            Render::Error {
                status: 403,
                message: json!("no"),
            },
        ),
        ("renderData(['a'])", Render::Invalid),
        ("renderData({ detail: 1 })", Render::Invalid),
    ];
    for (call, expected) in cases {
        let (outcome, _) = run_server(
            &format!("exports = {{ h: function () {{ {call}; }} }};"),
            "h",
            json!({}),
        )
        .await;
        assert_eq!(outcome.render, Some(expected), "{call}");
    }
}

#[tokio::test]
async fn require_local_modules_and_pure_js_packages() {
    let files = [
        (
            "server/server.js",
            "var util = require('./lib/util'); var pad = require('left-pad');\nexports = { h: function () { return pad(util.shout('hi'), 5); } };",
        ),
        (
            "server/lib/util.js",
            "exports = { shout: function (s) { return require('./case').upper(s); } };",
        ),
        (
            "server/lib/case.js",
            "exports.upper = function (s) { return s.toUpperCase(); };",
        ),
        (
            "server/node_modules/left-pad/package.json",
            r#"{"main": "./lib/index"}"#,
        ),
        (
            "server/node_modules/left-pad/lib/index.js",
            "module.exports = function (s, n) { while (s.length < n) s = '.' + s; return s; };",
        ),
    ];
    let (outcome, _) = run(&files, "h", json!({})).await;
    assert_eq!(outcome.status, InvocationStatus::Success, "{outcome:?}");
    assert_eq!(outcome.value, Some(json!("...HI")));
}

/// Built-ins that would reach the host load (packages require them at their top for
/// features they may never use), and fail when used, naming themselves and why.
#[tokio::test]
async fn a_node_built_in_that_reaches_the_host_fails_clearly_when_used() {
    let source = "var fs = require('fs'); exports = { h: function () { return fs.readFileSync('/etc/passwd', 'utf8'); } };";
    let (outcome, _) = run_server(source, "h", json!({})).await;
    assert_eq!(outcome.status, InvocationStatus::Error);
    assert_eq!(
        outcome.error.as_deref(),
        Some(
            "Error: fs.readFileSync() is not available in the Weir sandbox: handlers cannot reach the host's files"
        )
    );
}

#[tokio::test]
async fn a_missing_handler_and_a_throwing_one_are_errors_with_their_reason() {
    let (outcome, _) = run_server("exports = { a: function () {} };", "b", json!({})).await;
    assert_eq!(
        outcome.error.as_deref(),
        Some("TypeError: b is not a function exported by server/server.js")
    );
    let (outcome, _) =
        run_server("exports = { a: function () { null.x; } };", "a", json!({})).await;
    assert_eq!(outcome.status, InvocationStatus::Error);
    assert!(
        outcome.error.as_deref().unwrap().starts_with("TypeError"),
        "{outcome:?}"
    );
    assert!(
        outcome
            .stack
            .as_deref()
            .unwrap()
            .contains("server/server.js:1"),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn timers_and_console_are_offered() {
    let source = r#"
        exports = { h: function () {
          return new Promise(function (resolve) {
            var cancelled = setTimeout(function () { resolve('too late'); }, 5);
            clearTimeout(cancelled);
            setTimeout(function (a, b) { console.warn('fired', a, { b: b }); resolve(a + b); }, 10, 2, 3);
          });
        } };"#;
    let (outcome, _) = run_server(source, "h", json!({})).await;
    assert_eq!(outcome.value, Some(json!(5)), "{outcome:?}");
    assert_eq!(
        (
            outcome.console[0].level.as_str(),
            outcome.console[0].text.as_str()
        ),
        ("warn", r#"fired 2 {"b":3}"#)
    );
}

#[tokio::test]
async fn module_state_does_not_survive_between_invocations() {
    let sandbox = Sandbox::start(1).unwrap();
    let host = Arc::new(FakePlatform::default());
    let app = code(&[(
        "server/server.js",
        "var count = (global.count || 0) + 1; global.count = count;\nexports = { h: function () { return count; } };",
    )]);
    for _ in 0..2 {
        let outcome = sandbox.run(invocation(&app, "h", json!({}), &host)).await;
        assert_eq!(outcome.value, Some(json!(1)), "{outcome:?}");
    }
}

/// Runaway handlers end as failed invocations with their reason, while a well-behaved one
/// on another thread at the same time succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runaway_handlers_fail_alone_with_their_reason() {
    let sandbox = Arc::new(Sandbox::start(5).unwrap());
    let host = Arc::new(FakePlatform::default());
    let app = code(&[(
        "server/server.js",
        r#"exports = {
          loop: function () { for (;;) {} },
          hang: function () { return new Promise(function () {}); },
          waitForever: function () { return new Promise(function (r) { setTimeout(r, 60000); }); },
          bomb: function () { var a = []; for (;;) { a.push(new Array(100000).fill('x')); } },
          recurse: function f() { return f() + 1; },
          fine: async function () { await $db.set('k', { v: 1 }); return 'ok'; }
        };"#,
    )]);
    let limits = Limits {
        time: Duration::from_millis(800),
        memory_bytes: 32 * 1024 * 1024,
        ..Limits::default()
    };
    let mut runs = tokio::task::JoinSet::new();
    for handler in ["loop", "hang", "waitForever", "bomb", "recurse", "fine"] {
        let mut job = invocation(&app, handler, json!({}), &host);
        job.limits = limits;
        let sandbox = sandbox.clone();
        runs.spawn(async move { (handler, sandbox.run(job).await) });
    }
    let mut outcomes: BTreeMap<&str, Outcome> = runs.join_all().await.into_iter().collect();
    let mut status = |h: &str| {
        outcomes
            .remove(h)
            .map(|o| (o.status, o.error.unwrap_or_default()))
            .unwrap()
    };
    let (loop_status, loop_error) = status("loop");
    assert_eq!(loop_status, InvocationStatus::Timeout, "{loop_error}");
    assert_eq!(
        status("hang"),
        (
            InvocationStatus::Timeout,
            "the handler's promise never settles: nothing it waits for is pending".into()
        )
    );
    assert_eq!(status("waitForever").0, InvocationStatus::Timeout);
    let (bomb_status, bomb_error) = status("bomb");
    assert_eq!(bomb_status, InvocationStatus::OutOfMemory, "{bomb_error}");
    let (recurse_status, recurse_error) = status("recurse");
    assert_eq!(recurse_status, InvocationStatus::Error);
    assert_eq!(
        recurse_error,
        "RangeError: Maximum call stack size exceeded"
    );
    assert_eq!(status("fine").0, InvocationStatus::Success);
}

/// A thread whose invocation timed out runs the next one in a new runtime: nothing the
/// runaway left queued can run there.
#[tokio::test]
async fn after_a_timeout_the_thread_starts_clean() {
    let sandbox = Sandbox::start(1).unwrap();
    let host = Arc::new(FakePlatform::default());
    let app = code(&[(
        "server/server.js",
        r#"exports = {
          late: function () {
            Promise.resolve().then(function () { global.leaked = true; for (;;) {} });
            return new Promise(function () {}).then(function () {});
          },
          check: function () { return typeof leaked; }
        };"#,
    )]);
    let mut late = invocation(&app, "late", json!({}), &host);
    late.limits.time = Duration::from_millis(300);
    assert_eq!(sandbox.run(late).await.status, InvocationStatus::Timeout);
    let check = sandbox
        .run(invocation(&app, "check", json!({}), &host))
        .await;
    assert_eq!(check.value, Some(json!("undefined")), "{check:?}");
}

#[tokio::test]
async fn platform_2_0_apps_name_their_handlers_in_exports_events() {
    // The 2.2 external_events_app style: the manifest declares no events, server.js does.
    let source = r#"
        exports = {
          events: [
            { event: 'onExternalEvent', callback: 'onExternalEventHandler' },
            { event: 'onAppInstall', callback: function () { return 'inline'; } }
          ],
          onExternalEventHandler: function (payload) { return 'external ' + payload.data.n; }
        };"#;
    let (outcome, _) = run_server(source, "onExternalEvent", json!({"data": {"n": 3}})).await;
    assert_eq!(outcome.value, Some(json!("external 3")), "{outcome:?}");
    let (outcome, _) = run_server(source, "onAppInstall", json!({})).await;
    assert_eq!(outcome.value, Some(json!("inline")), "{outcome:?}");
    let (outcome, _) = run_server(source, "onTicketCreate", json!({})).await;
    assert_eq!(outcome.status, InvocationStatus::Error);
    assert!(
        outcome
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("onTicketCreate is not a function"),
        "{outcome:?}"
    );
}
