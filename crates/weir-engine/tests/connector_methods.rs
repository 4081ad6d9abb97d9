//! Connector methods (integration.app, REFERENCE §4) run by the engine: the example
//! connector's `getEventSelector`, and `apiClient` calls reaching a fake API with the
//! installation's credentials.

mod support;

use serde_json::json;
use support::World;
use weir_core::InvocationStatus;
use weir_engine::PlatformSettings;
use weir_testkit::{FakeThirdParty, json_reply};

const WHOAMI: &str = r#"
export default async function whoami({ apiClient, credentials, parameters }) {
  const me = await apiClient.get('users/me', { fields: 'id' })
  let failure
  try {
    await apiClient.post('/messages', { text: 'hi' })
  } catch (e) {
    failure = { message: e.message, status: e.status }
  }
  return { id: me.id, team: parameters.team_id, secret: credentials.signing_secret, failure }
}"#;

fn files() -> Vec<(String, String)> {
    let root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/chat-connector");
    let mut files = vec![(
        "global-webhooks/chat-events/whoami.js".to_owned(),
        WHOAMI.to_owned(),
    )];
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let name = path
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                files.push((name, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connector_methods_get_parameters_credentials_and_an_api_client() {
    let api = FakeThirdParty::start(|request| match request.path.as_str() {
        "/api/users/me" => json_reply(200, json!({"id": "U1", "query": request.query, "auth": request.headers.get("authorization")})),
        _ => json_reply(403, json!({"error": "not allowed"})),
    })
    .await;
    let world = World::new(
        &[("chat.example.com", api.address)],
        PlatformSettings::default(),
    )
    .await;
    let files = files();
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    let installation = world
        .install(
            &files,
            json!({"team_id": "T42", "base_url": "https://chat.example.com/api/"}),
            json!({"signing_secret": "shh", "access_token": "tok"}),
        )
        .await;

    let selector = world
        .runner
        .run_connector_method(
            installation.clone(),
            "install",
            "events/message-posted/getEventSelector.js",
            json!({}),
        )
        .await
        .unwrap();
    assert_eq!(selector.status, InvocationStatus::Success, "{selector:?}");
    assert_eq!(
        selector.result,
        Some(json!({"globalWebhookKey": "chat-events", "globalWebhookEventSelector": "team:T42"}))
    );

    let whoami = world
        .runner
        .run_connector_method(
            installation.clone(),
            "test",
            "global-webhooks/chat-events/whoami.js",
            json!({}),
        )
        .await
        .unwrap();
    assert_eq!(
        whoami.result,
        Some(json!({
            "id": "U1", "team": "T42", "secret": "shh",
            "failure": {"message": "POST /messages answered 403", "status": 403}
        })),
        "{whoami:?}"
    );
    let received = api.received();
    assert_eq!(received[0].path, "/api/users/me");
    assert_eq!(received[0].query.as_deref(), Some("fields=id"));
    assert_eq!(received[0].headers["authorization"], "Bearer tok");
    assert_eq!(received[1].path, "/api/messages");
    assert_eq!(received[1].body, r#"{"text":"hi"}"#);

    // Records are kept for connector methods too.
    let kept = world.store.invocation(&whoami.id).await.unwrap().unwrap();
    assert_eq!(kept.handler, "global-webhooks/chat-events/whoami.js");
}
