//! integration.app connector methods run as ES modules: the default export gets the payload
//! plus `apiClient` and `credentials`, imports stay inside the package, and the limits of
//! handlers hold.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use weir_core::InvocationStatus;
use weir_core::Package;
use weir_sandbox::{
    ApiClientCall, AppCode, Entry, Host, HostCall, HostError, HostResult, HttpMethod, Invocation,
    Limits, Outcome, Sandbox, check_syntax,
};

const HANDLE: &str = "global-webhooks/all-events/handle.js";

/// The connected app's API as the platform would answer it, and a log of every call.
#[derive(Default)]
struct FakeApi {
    calls: Mutex<Vec<HostCall>>,
}

impl Host for FakeApi {
    fn call(&self, call: HostCall) -> Pin<Box<dyn Future<Output = HostResult> + Send>> {
        self.calls.lock().unwrap().push(call.clone());
        let no_such = |name: &str| Err(HostError::new(400, format!("no {name} here")));
        let result = match &call {
            HostCall::ApiClient(api) => match (api.method, api.path.as_str()) {
                (HttpMethod::Get, Some("users/me")) => Ok(json!({"id": 42, "name": "Ada"})),
                (HttpMethod::Post, Some("webhooks")) => Ok(json!({"id": "wh_1", "sent": api.data})),
                (_, Some(path)) => Err(HostError::with_data(
                    404,
                    format!("{path} not found"),
                    json!({"error": "not_found"}),
                )),
                (_, None) => no_such(call.name()),
            },
            other => no_such(other.name()),
        };
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(2)).await;
            result
        })
    }
}

/// An `apiClient` call as the host receives it.
fn api_call(method: HttpMethod, path: &str, query: Value, data: Value) -> HostCall {
    HostCall::ApiClient(ApiClientCall {
        method,
        path: json!(path),
        query,
        data,
    })
}

fn code(files: &[(&str, &str)]) -> Arc<AppCode> {
    let files: BTreeMap<String, Vec<u8>> = files
        .iter()
        .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
        .collect();
    Arc::new(AppCode::from_package(&Package::from_files(files)))
}

fn invocation(code: &Arc<AppCode>, path: &str, payload: Value, host: &Arc<FakeApi>) -> Invocation {
    Invocation {
        code: code.clone(),
        handler: Entry::Module(path.into()),
        payload,
        host: host.clone(),
        limits: Limits {
            time: Duration::from_secs(5),
            ..Limits::default()
        },
        env: "test",
    }
}

/// Runs `path` of a package made of `files`, on a sandbox of its own.
async fn run(files: &[(&str, &str)], path: &str, payload: Value) -> (Outcome, Arc<FakeApi>) {
    let sandbox = Sandbox::start(1).unwrap();
    let host = Arc::new(FakeApi::default());
    let outcome = sandbox
        .run(invocation(&code(files), path, payload, &host))
        .await;
    (outcome, host)
}

/// Runs a package whose only file is `HANDLE`.
async fn run_handle(source: &str, payload: Value) -> (Outcome, Arc<FakeApi>) {
    run(&[(HANDLE, source)], HANDLE, payload).await
}

#[tokio::test]
async fn the_default_export_gets_the_payload_with_api_client_and_credentials() {
    let source = r#"
        export default async function handle({ data, query, headers, rawBody, parameters, apiClient, credentials, ...rest }) {
          return {
            events: [{ payload: data, selector: `user_id:${data.from_user_id}` }],
            response: { status: 201, data: 'ok' },
            seen: { query, headers, rawBody, parameters, token: credentials.token, rest: Object.keys(rest) },
            client: Object.keys(apiClient).sort(),
          };
        }"#;
    let payload = json!({
        "data": {"from_user_id": 7},
        "query": {"a": "1"},
        "headers": {"content-type": "application/json"},
        "rawBody": "{\"from_user_id\":7}",
        "parameters": {"team": "x"},
        "credentials": {"token": "t0k"},
    });
    let (outcome, _) = run_handle(source, payload).await;
    assert_eq!(outcome.status, InvocationStatus::Success, "{outcome:?}");
    assert_eq!(
        outcome.value,
        Some(json!({
            "events": [{"payload": {"from_user_id": 7}, "selector": "user_id:7"}],
            "response": {"status": 201, "data": "ok"},
            "seen": {
                "query": {"a": "1"},
                "headers": {"content-type": "application/json"},
                "rawBody": "{\"from_user_id\":7}",
                "parameters": {"team": "x"},
                "token": "t0k",
                "rest": []
            },
            "client": ["delete", "get", "patch", "post", "put"]
        }))
    );
}

#[tokio::test]
async fn credentials_are_undefined_before_a_connection_and_this_is_undefined() {
    // Modules are strict: the function is called as a plain function.
    let source = "export default function ({ credentials, parameters }) { return [typeof credentials, parameters, typeof this]; }";
    let (outcome, _) = run_handle(source, json!({"parameters": {"p": 1}})).await;
    assert_eq!(
        outcome.value,
        Some(json!(["undefined", {"p": 1}, "undefined"])),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn api_client_calls_reach_the_host_and_their_answers_come_back() {
    let source = r#"
        export default async function getEventSelector({ apiClient }) {
          const me = await apiClient.get('users/me');
          const hook = await apiClient.post('webhooks', { url: 'https://weir.example/in/1' });
          return { globalWebhookKey: 'all-events', globalWebhookEventSelector: `user_id:${me.id}`, hook };
        }"#;
    let path = "events/user-created/getEventSelector.js";
    let (outcome, host) = run(&[(path, source)], path, json!({})).await;
    assert_eq!(outcome.status, InvocationStatus::Success, "{outcome:?}");
    assert_eq!(
        outcome.value,
        Some(json!({
            "globalWebhookKey": "all-events",
            "globalWebhookEventSelector": "user_id:42",
            "hook": {"id": "wh_1", "sent": {"url": "https://weir.example/in/1"}}
        }))
    );
    assert_eq!(
        *host.calls.lock().unwrap(),
        [
            api_call(HttpMethod::Get, "users/me", Value::Null, Value::Null),
            api_call(
                HttpMethod::Post,
                "webhooks",
                Value::Null,
                json!({"url": "https://weir.example/in/1"})
            ),
        ]
    );
}

#[tokio::test]
async fn every_method_names_its_call_and_passes_query_or_data() {
    let source = r#"
        export default async function ({ apiClient }) {
          const settled = await Promise.allSettled([
            apiClient.get('items', { page: 2 }),
            apiClient.delete('webhooks/wh_1', { force: true }),
            apiClient.put('items/1', { n: 1 }),
            apiClient.patch('items/1', { n: 2 }),
          ]);
          return settled.map((s) => s.status);
        }"#;
    let (outcome, host) = run_handle(source, json!({})).await;
    assert_eq!(
        outcome.value,
        Some(json!(["rejected", "rejected", "rejected", "rejected"])),
        "{outcome:?}"
    );
    let mut calls = host.calls.lock().unwrap().clone();
    calls.sort_by_key(|call| call.name());
    assert_eq!(
        calls,
        [
            api_call(
                HttpMethod::Delete,
                "webhooks/wh_1",
                json!({"force": true}),
                Value::Null
            ),
            api_call(HttpMethod::Get, "items", json!({"page": 2}), Value::Null),
            api_call(HttpMethod::Patch, "items/1", Value::Null, json!({"n": 2})),
            api_call(HttpMethod::Put, "items/1", Value::Null, json!({"n": 1})),
        ]
    );
}

#[tokio::test]
async fn a_failed_api_call_is_an_error_with_the_host_s_message_and_fields() {
    let source = r#"
        export default async function subscribe({ apiClient }) {
          try {
            await apiClient.get('projects/9');
            return 'unreachable';
          } catch (e) {
            return { isError: e instanceof Error, message: e.message, status: e.status, data: e.data };
          }
        }"#;
    let (outcome, _) = run_handle(source, json!({})).await;
    assert_eq!(outcome.status, InvocationStatus::Success, "{outcome:?}");
    assert_eq!(
        outcome.value,
        Some(json!({
            "isError": true,
            "message": "projects/9 not found",
            "status": 404,
            "data": {"error": "not_found"}
        }))
    );
    // Not caught, it fails the invocation with the host's message.
    let uncaught =
        "export default async function ({ apiClient }) { await apiClient.get('projects/9'); }";
    let (outcome, _) = run_handle(uncaught, json!({})).await;
    assert_eq!(outcome.status, InvocationStatus::Error);
    assert_eq!(
        outcome.error.as_deref(),
        Some("Error: projects/9 not found")
    );
}

#[tokio::test]
async fn relative_imports_resolve_inside_the_package() {
    let files = [
        (
            HANDLE,
            "import { selector } from './selector.js';\nimport format, { count } from '../../shared/format';\nexport default async function handle({ data }) { return [selector(data), format(data), count()]; }",
        ),
        (
            "global-webhooks/all-events/selector.js",
            "import { count } from '../../shared/format.js';\nexport const selector = (data) => { count(); return `user_id:${data.from_user_id}`; };",
        ),
        (
            "shared/format.js",
            "let calls = 0;\nexport const count = () => ++calls;\nexport default function format(data) { return JSON.stringify(data); }",
        ),
    ];
    let app = code(&files);
    let sandbox = Sandbox::start(1).unwrap();
    let host = Arc::new(FakeApi::default());
    // The second run loads the modules' bytecode; both evaluate them afresh, so the
    // counter shared by the two importers starts again.
    for _ in 0..2 {
        let job = invocation(&app, HANDLE, json!({"data": {"from_user_id": 3}}), &host);
        let outcome = sandbox.run(job).await;
        assert_eq!(outcome.status, InvocationStatus::Success, "{outcome:?}");
        assert_eq!(
            outcome.value,
            Some(json!(["user_id:3", r#"{"from_user_id":3}"#, 2]))
        );
    }
}

#[tokio::test]
async fn imports_from_outside_the_package_fail_naming_the_module() {
    let cases = [
        (
            "fs",
            "Error: Cannot use Node's built-in module 'fs' (imported by global-webhooks/all-events/handle.js): the Weir sandbox does not offer it",
        ),
        (
            "node:crypto",
            "Error: Cannot use Node's built-in module 'crypto' (imported by global-webhooks/all-events/handle.js): the Weir sandbox does not offer it",
        ),
        (
            "lodash",
            "Error: Cannot import 'lodash' from global-webhooks/all-events/handle.js: connector modules can import only the package's own files, with './' or '../'",
        ),
        (
            "/etc/passwd",
            "Error: Cannot import '/etc/passwd' from global-webhooks/all-events/handle.js: absolute paths are not offered; import the package's own files with './' or '../'",
        ),
        (
            "../../../outside.js",
            "Error: Cannot find module '../../../outside.js' imported by global-webhooks/all-events/handle.js: it leaves the app package",
        ),
        (
            "../../outside",
            "Error: Cannot find module '../../outside' imported by global-webhooks/all-events/handle.js (looked for outside.js)",
        ),
    ];
    for (name, expected) in cases {
        let source = format!("import x from '{name}';\nexport default function () {{ return x; }}");
        let (outcome, _) = run_handle(&source, json!({})).await;
        assert_eq!(
            outcome.status,
            InvocationStatus::Error,
            "{name}: {outcome:?}"
        );
        assert_eq!(outcome.error.as_deref(), Some(expected), "{name}");
    }
}

#[tokio::test]
async fn a_bad_import_deep_in_a_helper_is_named_with_its_importer() {
    let files = [
        (
            HANDLE,
            "import { sign } from './sign.js';\nexport default function () { return sign(); }",
        ),
        (
            "global-webhooks/all-events/sign.js",
            "import crypto from 'crypto';\nexport const sign = () => crypto;",
        ),
    ];
    let (outcome, _) = run(&files, HANDLE, json!({})).await;
    assert_eq!(
        outcome.error.as_deref(),
        Some(
            "Error: Cannot use Node's built-in module 'crypto' (imported by global-webhooks/all-events/sign.js): the Weir sandbox does not offer it"
        ),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_module_without_a_default_export_function_fails_clearly() {
    for source in [
        "export async function handle() { return 1; }",
        "export default { handle() {} };",
    ] {
        let (outcome, _) = run_handle(source, json!({})).await;
        assert_eq!(outcome.status, InvocationStatus::Error, "{source}");
        assert_eq!(
            outcome.error.as_deref(),
            Some("TypeError: global-webhooks/all-events/handle.js has no default export function"),
            "{source}"
        );
    }
}

#[tokio::test]
async fn an_entry_outside_the_package_s_modules_is_not_found() {
    let files = [
        (HANDLE, "export default () => 1;"),
        ("server/server.js", "exports = {};"),
    ];
    for path in ["events/missing/handle.js", "server/server.js"] {
        let (outcome, _) = run(&files, path, json!({})).await;
        assert_eq!(
            outcome.error.as_deref(),
            Some(format!("Error: Cannot find module '{path}' in the app package").as_str()),
        );
    }
}

#[tokio::test]
async fn a_payload_that_is_not_an_object_is_refused() {
    let (outcome, _) = run_handle("export default () => 1;", json!([1, 2])).await;
    assert_eq!(
        outcome.error.as_deref(),
        Some("TypeError: global-webhooks/all-events/handle.js is called with an object, not [1,2]")
    );
}

#[tokio::test]
async fn errors_thrown_by_a_module_carry_its_file_and_line() {
    let source = "export default function handle({ data }) {\n  return data.missing.field;\n}";
    let (outcome, _) = run_handle(source, json!({"data": {}})).await;
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
            .contains(&format!("{HANDLE}:2")),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn console_and_timers_work_in_modules() {
    let source = r#"
        const later = (ms, v) => new Promise((resolve) => setTimeout(resolve, ms, v));
        export default async function () {
          console.info('waiting');
          const v = await later(10, 'done');
          console.log(v, { at: 'end' });
          return v;
        }"#;
    let (outcome, _) = run_handle(source, json!({})).await;
    assert_eq!(outcome.value, Some(json!("done")), "{outcome:?}");
    let console: Vec<(&str, &str)> = outcome
        .console
        .iter()
        .map(|line| (line.level.as_str(), line.text.as_str()))
        .collect();
    assert_eq!(
        console,
        [("info", "waiting"), ("log", r#"done {"at":"end"}"#)]
    );
}

#[tokio::test]
async fn check_syntax_reports_a_broken_module_with_its_file_and_line() {
    let files: BTreeMap<String, Vec<u8>> = [
        (
            HANDLE,
            "import { f } from './helper.js';\nexport default async function handle({ data }) { return f(data); }",
        ),
        (
            "global-webhooks/all-events/helper.js",
            "export function f(data) {\n  return {\n    events: [ data,, }\n  };\n}",
        ),
        (
            "events/user-created/getEventSelector.js",
            "export default async function getEventSelector({ apiClient }) {\n  const me = await apiClient.get('users/me')\n  return { globalWebhookKey: 'all-events' globalWebhookEventSelector: me.id }\n}",
        ),
    ]
    .into_iter()
    .map(|(p, c)| (p.to_owned(), c.as_bytes().to_vec()))
    .collect();
    let problems: Vec<String> = check_syntax(&Package::from_files(files))
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        problems,
        [
            "events/user-created/getEventSelector.js 3:43: syntax error: Unexpected identifier 'globalWebhookEventSelector'",
            "global-webhooks/all-events/helper.js 3:22: syntax error: unexpected token in expression: '}'",
        ]
    );
}

#[tokio::test]
async fn runaway_modules_time_out_and_the_thread_runs_the_next_one_clean() {
    let files = [
        (
            "events/a/handle.js",
            "export default async function handle({ apiClient }) { await apiClient.get('users/me'); for (;;) {} }",
        ),
        (
            "events/b/handle.js",
            "globalThis.leaked = true;\nfor (;;) {}\nexport default () => 1;",
        ),
        ("events/c/handle.js", "export default () => typeof leaked;"),
    ];
    let app = code(&files);
    let sandbox = Sandbox::start(1).unwrap();
    let host = Arc::new(FakeApi::default());
    for path in ["events/a/handle.js", "events/b/handle.js"] {
        let mut job = invocation(&app, path, json!({}), &host);
        job.limits.time = Duration::from_millis(300);
        let outcome = sandbox.run(job).await;
        assert_eq!(
            outcome.status,
            InvocationStatus::Timeout,
            "{path}: {outcome:?}"
        );
    }
    let outcome = sandbox
        .run(invocation(&app, "events/c/handle.js", json!({}), &host))
        .await;
    assert_eq!(outcome.value, Some(json!("undefined")), "{outcome:?}");
}

#[tokio::test]
async fn a_freshworks_handler_and_a_connector_module_share_a_thread() {
    let files = [
        (
            "server/server.js",
            "exports = { onExternalEventHandler: function (args) { return 'server ' + args.n; } };",
        ),
        (HANDLE, "export default ({ n }) => `module ${n}`;"),
    ];
    let app = code(&files);
    let sandbox = Sandbox::start(1).unwrap();
    let host = Arc::new(FakeApi::default());
    let mut handler = invocation(&app, HANDLE, json!({"n": 1}), &host);
    handler.handler = "onExternalEventHandler".into();
    assert_eq!(
        handler.handler,
        Entry::Handler("onExternalEventHandler".into())
    );
    assert_eq!(sandbox.run(handler).await.value, Some(json!("server 1")));
    let module = invocation(&app, HANDLE, json!({"n": 2}), &host);
    assert_eq!(sandbox.run(module).await.value, Some(json!("module 2")));
}

/// A thread's runtime is reused across apps: an import always reads the current
/// invocation's package, never the one the thread ran before.
#[tokio::test]
async fn imports_read_only_the_current_invocation_s_app() {
    let sandbox = Sandbox::start(1).unwrap();
    let host = Arc::new(FakeApi::default());
    let connector = code(&[(HANDLE, "export default () => 'connector secret';")]);
    let first = sandbox
        .run(invocation(&connector, HANDLE, json!({}), &host))
        .await;
    assert_eq!(first.value, Some(json!("connector secret")), "{first:?}");
    let other = code(&[(
        "server/server.js",
        "exports = { h: function () { return import('../global-webhooks/all-events/handle.js').then(function (m) { return m.default(); }); } };",
    )]);
    let mut job = invocation(&other, HANDLE, json!({}), &host);
    job.handler = "h".into();
    let outcome = sandbox.run(job).await;
    assert_eq!(
        outcome.error.as_deref(),
        Some(
            "Error: Cannot find module '../global-webhooks/all-events/handle.js' imported by server/server.js (looked for global-webhooks/all-events/handle.js)"
        ),
        "{outcome:?}"
    );
}
