//! One invocation cannot take what another runs with (issue 16): whatever one does with
//! memory, timers and platform calls fails that invocation alone, with a reason that says
//! which limit it passed, and the next invocation on the same thread, of any app, runs
//! as on a new one. Results too large to keep fail as such.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use weir_core::{InvocationStatus, Package};
use weir_sandbox::{AppCode, Invocation, Limits, NoHost, Outcome, Render, Sandbox};

/// Handlers that misbehave in each way this file is about, and one that does not.
const APP: &str = r#"exports = {
  fine: function (payload) { return 'fine ' + payload.n; },
  timerFlood: function () {
    for (var i = 0; i < 1000000; i++) setTimeout(function () {}, 3600000);
    return 'flooded';
  },
  asyncTimerFlood: async function () {
    await null;
    for (var i = 0; i < 1000000; i++) setTimeout(function () {}, 3600000);
    return 'flooded';
  },
  hold: function () { return new Promise(function (resolve) { setTimeout(resolve, 3600000); }); },
  hungryButCatches: function () {
    var kept = [];
    try { for (;;) kept.push({ next: kept, data: new Array(1000).fill(kept.length) }); }
    catch (e) { kept = null; return 'survived ' + e; }
  },
  hugeResult: function () { return new Array(30 * 1024 * 1024).join('z'); },
  hugeRender: function () {
    try { renderData(null, { blob: 'x'.repeat(2 * 1024 * 1024) }); }
    catch (e) { renderData(); return 'caught ' + e.message; }
  },
  cyclicResult: function () { var a = {}; a.self = a; return a; },
  bigIntResult: async function () { return { n: 10n }; },
  callFlood: function () {
    var calls = [];
    for (var i = 0; i < 5000; i++) calls.push($db.get('k' + i).catch(function () {}));
    return Promise.all(calls);
  },
  heavyCalls: function () {
    var calls = [];
    for (var i = 0; i < 40; i++) calls.push($db.set('k' + i, { v: 'x'.repeat(1024 * 1024) }).catch(function () {}));
    return Promise.all(calls);
  },
  throwsNull: function () { throw null; },
  foreverTimer: function () { clearTimeout(setTimeout(function () {}, Infinity)); return 'cleared'; }
};"#;

fn app() -> Arc<AppCode> {
    let files: BTreeMap<String, Vec<u8>> = [("server/server.js".to_owned(), APP.into())]
        .into_iter()
        .collect();
    Arc::new(AppCode::from_package(&Package::from_files(files)))
}

fn invocation(app: &Arc<AppCode>, handler: &str, limits: Limits) -> Invocation {
    Invocation {
        code: app.clone(),
        handler: handler.into(),
        payload: json!({"n": 1}),
        host: Arc::new(NoHost),
        limits,
        env: "test",
    }
}

/// Short enough that a handler left waiting does not hold a test up.
fn limits() -> Limits {
    Limits {
        time: Duration::from_secs(3),
        ..Limits::default()
    }
}

fn failure(outcome: &Outcome) -> (InvocationStatus, &str) {
    (outcome.status, outcome.error.as_deref().unwrap_or_default())
}

/// Runs `handler` then `fine` on a sandbox of one thread, so both use the same runtime
/// when it is reused; returns the first outcome once the second is checked.
async fn then_fine(handler: &str, limits: Limits) -> Outcome {
    let (sandbox, app) = (Sandbox::start(1).unwrap(), app());
    let outcome = sandbox.run(invocation(&app, handler, limits)).await;
    let next = sandbox
        .run(invocation(&app, "fine", Limits::default()))
        .await;
    assert_eq!(
        next.status,
        InvocationStatus::Success,
        "after {handler}: {next:?}"
    );
    assert_eq!(next.value, Some(json!("fine 1")));
    outcome
}

#[tokio::test]
async fn a_timer_flood_ends_at_the_timer_limit_and_the_next_invocation_runs() {
    for handler in ["timerFlood", "asyncTimerFlood"] {
        let outcome = then_fine(handler, limits()).await;
        assert_eq!(
            failure(&outcome),
            (
                InvocationStatus::Error,
                "too many timers: 10001, the limit is 10000"
            ),
            "{handler}"
        );
    }
    let few = Limits {
        timers: 5,
        ..limits()
    };
    let outcome = then_fine("timerFlood", few).await;
    assert_eq!(
        failure(&outcome),
        (
            InvocationStatus::Error,
            "too many timers: 6, the limit is 5"
        )
    );
}

/// The flood of issue 16 without the timer limit: the timers' memory runs out instead.
/// The runtime it leaves full is not reused, and QuickJS's `null` exception (it could not
/// allocate the error either) is reported as what it is.
#[tokio::test]
async fn running_out_of_memory_is_reported_as_such_and_leaves_nothing_to_the_next() {
    let unlimited_timers = Limits {
        timers: usize::MAX,
        memory_bytes: 16 * 1024 * 1024,
        ..limits()
    };
    for handler in ["timerFlood", "asyncTimerFlood", "hungryButCatches"] {
        let outcome = then_fine(handler, unlimited_timers).await;
        assert_eq!(
            failure(&outcome),
            (
                InvocationStatus::OutOfMemory,
                "out of memory: the handler needed more than its limit of 16 MiB"
            ),
            "{handler}"
        );
    }
}

/// Issue 16 on a sandbox of two threads: a tenant holding one thread with a long timer
/// and flooding the other with timers, while another tenant's handlers run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holding_and_a_flooding_invocation_leave_the_others_alone() {
    let sandbox = Arc::new(Sandbox::start(2).unwrap());
    let app = app();
    let mut runs = tokio::task::JoinSet::new();
    let mut handlers = vec!["hold", "timerFlood", "timerFlood"];
    handlers.extend(["fine"; 20]);
    for (n, handler) in handlers.into_iter().enumerate() {
        let mut job = invocation(&app, handler, limits());
        job.payload = json!({"n": n});
        let sandbox = sandbox.clone();
        runs.spawn(async move { (n, handler, sandbox.run(job).await) });
    }
    let mut outcomes = runs.join_all().await;
    // The others first: that they all succeed is the point.
    outcomes.sort_by_key(|(_, handler, _)| *handler != "fine");
    for (n, handler, outcome) in outcomes {
        match handler {
            "fine" => assert_eq!(
                outcome.value,
                Some(json!(format!("fine {n}"))),
                "{outcome:?}"
            ),
            "hold" => assert_eq!(outcome.status, InvocationStatus::Timeout, "{outcome:?}"),
            _ => assert_eq!(
                failure(&outcome),
                (
                    InvocationStatus::Error,
                    "too many timers: 10001, the limit is 10000"
                )
            ),
        }
    }
}

#[tokio::test]
async fn a_huge_result_is_too_large_not_a_timeout() {
    let outcome = then_fine("hugeResult", limits()).await;
    assert_eq!(
        failure(&outcome),
        (
            InvocationStatus::Error,
            "the handler's result is too large: at least 31457294 characters of JSON, \
             the limit is 1048576"
        )
    );
    let small = Limits {
        result_bytes: 25,
        ..limits()
    };
    let outcome = then_fine("fine", small).await;
    assert_eq!(
        failure(&outcome),
        (
            InvocationStatus::Error,
            "the handler's result is too large: 28 characters of JSON, the limit is 25"
        ),
        "the JSON kept would be {{\"ok\":true,\"value\":\"fine 1\"}}"
    );
}

/// A `renderData` answer too large to keep fails the invocation, even when the handler
/// catches the error and answers something else.
#[tokio::test]
async fn a_huge_render_data_answer_is_too_large() {
    let outcome = then_fine("hugeRender", limits()).await;
    assert_eq!(
        failure(&outcome),
        (
            InvocationStatus::Error,
            "renderData's answer is too large: at least 2097176 characters of JSON, \
             the limit is 1048576"
        )
    );
    assert_eq!(outcome.render, Some(Render::Ok { data: None }));
}

#[tokio::test]
async fn a_result_that_is_not_json_fails_with_the_reason() {
    let outcome = then_fine("cyclicResult", limits()).await;
    let (status, error) = failure(&outcome);
    assert_eq!(status, InvocationStatus::Error);
    assert!(
        error.starts_with("TypeError: the handler's result cannot be stored as JSON: "),
        "{error}"
    );
    let outcome = then_fine("bigIntResult", limits()).await;
    let (status, error) = failure(&outcome);
    assert_eq!(status, InvocationStatus::Error);
    assert!(
        error.starts_with("TypeError: the handler's result cannot be stored as JSON: "),
        "{error}"
    );
}

#[tokio::test]
async fn platform_calls_waiting_at_once_are_limited_in_number_and_size() {
    let outcome = then_fine("callFlood", limits()).await;
    assert_eq!(
        failure(&outcome),
        (
            InvocationStatus::Error,
            "too many platform calls waiting for an answer: 1001, the limit is 1000"
        )
    );
    let small = Limits {
        memory_bytes: 16 * 1024 * 1024,
        ..limits()
    };
    let outcome = then_fine("heavyCalls", small).await;
    let (status, error) = failure(&outcome);
    assert_eq!(status, InvocationStatus::Error);
    assert!(
        error.starts_with("the platform calls waiting for an answer carry too much: ")
            && error.ends_with(" bytes of arguments, the limit is 16777216"),
        "{error}"
    );
}

/// QuickJS throws `null` when it cannot allocate an error; an app can throw it too.
#[tokio::test]
async fn a_thrown_null_is_named() {
    let outcome = then_fine("throwsNull", limits()).await;
    assert_eq!(
        failure(&outcome),
        (InvocationStatus::Error, "the handler threw null")
    );
}

/// A delay too long for the clock (`Infinity`) once panicked the JavaScript thread.
#[tokio::test]
async fn a_timer_set_for_ever_is_only_far_away() {
    let outcome = then_fine("foreverTimer", limits()).await;
    assert_eq!(outcome.value, Some(Value::from("cleared")), "{outcome:?}");
}
