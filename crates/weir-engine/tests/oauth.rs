//! OAuth through the engine's commands and real handlers: a 3.1 app with two named
//! integrations, tokens that expire, refreshes that fail, refusals that race, and the
//! rules of starting and completing an authorization. The authorization server and the
//! API are fakes on loopback, reached through host overrides.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use support::World;
use weir_core::{Installation, InvocationStatus, PackageLimits};
use weir_engine::commands::oauth::{AuthorizeRequest, GivenToken, OAuthCallback};
use weir_engine::{Engine, ErrorKind, PlatformSettings};
use weir_testkit::{FakeThirdParty, Received, json_reply};

const MANIFEST: &str = r#"{
  "platform-version": "2.3",
  "product": { "freshdesk": {
    "events": { "onTicketCreate": { "handler": "call" } },
    "requests": { "crmMe": {}, "defaultMe": {} }
  } },
  "whitelisted-domains": ["https://api.crm.example"]
}"#;

/// Two integrations, as 3.1 names them; `crm` reads its token URL's host from an
/// oauth_iparam.
const OAUTH_CONFIG: &str = r#"{ "integrations": {
  "crm": {
    "display_name": "CRM",
    "client_id": "crm-client", "client_secret": "crm-secret",
    "authorize_url": "https://auth.crm.example/authorize",
    "token_url": "https://<%= oauth_iparams.auth_host %>/token",
    "options": { "scope": "contacts" },
    "oauth_iparams": { "auth_host": { "display_name": "Auth host", "required": true } }
  },
  "mail": {
    "client_id": "mail-client", "client_secret": "mail-secret",
    "authorize_url": "https://auth.mail.example/authorize",
    "token_url": "https://auth.mail.example/token",
    "token_type": "agent"
  }
} }"#;

/// `crmMe` names its integration (3.1); `defaultMe` says `isOAuth` (2.3), which an app
/// with two integrations cannot resolve.
const REQUESTS: &str = r#"{
  "crmMe": { "schema": { "method": "GET", "host": "api.crm.example", "path": "/me" },
             "options": { "oauth": "crm" } },
  "defaultMe": { "schema": { "method": "GET", "host": "api.crm.example", "path": "/me" },
                 "options": { "isOAuth": true } }
}"#;

const SERVER_JS: &str = r#"
exports = {
  call: async function (args) {
    try {
      var answer = await $request.invokeTemplate(args.data.template, {});
      return { status: answer.status, response: answer.response };
    } catch (e) {
      return { status: e.status, response: e.response };
    }
  }
};
"#;

fn files() -> Vec<(&'static str, &'static str)> {
    vec![
        ("manifest.json", MANIFEST),
        ("config/oauth_config.json", OAUTH_CONFIG),
        ("config/requests.json", REQUESTS),
        ("server/server.js", SERVER_JS),
    ]
}

fn form(body: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

/// A token endpoint that rotates refresh tokens: `rt-<n>` buys `at-<n+1>` and `rt-<n+1>`
/// once; any other grant is refused. It counts the refreshes it granted.
struct Authority {
    server: FakeThirdParty,
    refreshes: Arc<AtomicUsize>,
}

impl Authority {
    async fn start(delay: Duration) -> Self {
        let refreshes = Arc::new(AtomicUsize::new(0));
        let granted = refreshes.clone();
        let used = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let server = FakeThirdParty::start(move |request: &Received| {
            let asked = form(&request.body);
            let refresh = asked.get("refresh_token").cloned().unwrap_or_default();
            let next = refresh
                .strip_prefix("rt-")
                .and_then(|n| n.parse::<u32>().ok())
                .map(|n| n + 1);
            let first_use = {
                let mut used = used.lock().unwrap();
                let first = !used.contains(&refresh);
                used.push(refresh.clone());
                first
            };
            match (asked.get("grant_type").map(String::as_str), next) {
                (Some("refresh_token"), Some(n)) if first_use => {
                    granted.fetch_add(1, Ordering::SeqCst);
                    let body = json!({"access_token": format!("at-{n}"),
                        "refresh_token": format!("rt-{n}"), "expires_in": 3600});
                    (200, "application/json", body.to_string(), delay)
                }
                _ => (
                    400,
                    "application/json",
                    json!({"error": "invalid_grant", "error_description": "refresh token used"})
                        .to_string(),
                    delay,
                ),
            }
        })
        .await;
        Authority { server, refreshes }
    }
}

/// An API that takes `Bearer at-<n>` for `n` at least `fresh_from`, and answers 401 else.
struct Api {
    server: FakeThirdParty,
    fresh_from: Arc<AtomicU32>,
}

impl Api {
    fn received(&self) -> Vec<Received> {
        self.server.received()
    }
}

async fn api(fresh_from: u32) -> Api {
    let fresh_from = Arc::new(AtomicU32::new(fresh_from));
    let wanted = fresh_from.clone();
    let server = FakeThirdParty::start(move |request| {
        let token = request
            .headers
            .get("authorization")
            .and_then(|a| a.strip_prefix("Bearer at-"))
            .and_then(|n| n.parse::<u32>().ok());
        match token {
            Some(n) if n >= wanted.load(Ordering::SeqCst) => json_reply(200, json!({"token": n})),
            _ => json_reply(401, json!({"error": "invalid_token"})),
        }
    })
    .await;
    Api { server, fresh_from }
}

struct Setup {
    world: World,
    engine: Engine,
    installation: Arc<Installation>,
}

async fn setup(authority: &Authority, api: &Api) -> Setup {
    let world = World::new(
        &[
            ("auth.crm.example", authority.server.address),
            ("api.crm.example", api.server.address),
        ],
        PlatformSettings::default(),
    )
    .await;
    let installation = world.install(&files(), json!({}), json!({})).await;
    let engine = Engine::with_runner(world.runner.clone(), PackageLimits::default());
    Setup {
        world,
        engine,
        installation,
    }
}

fn given(access: &str, refresh: Option<&str>, expires_at: Option<&str>) -> GivenToken {
    GivenToken {
        integration: Some("crm".into()),
        access_token: access.into(),
        refresh_token: refresh.map(Into::into),
        expires_at: expires_at.map(|at| at.parse().unwrap()),
        oauth_iparams: Some(
            json!({"auth_host": "auth.crm.example"})
                .as_object()
                .unwrap()
                .clone(),
        ),
    }
}

/// Runs the handler on `template`; answers `{status, response}`.
async fn invoke(setup: &Setup, template: &str) -> Value {
    let payload = json!({"data": {"template": template}, "iparams": {}});
    let record = setup
        .world
        .run_with(&setup.installation, "onTicketCreate", payload)
        .await;
    assert_eq!(record.status, InvocationStatus::Success, "{record:?}");
    record.result.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_refreshed_before_the_call_and_the_new_tokens_are_kept() {
    let authority = Authority::start(Duration::ZERO).await;
    let api = api(2).await;
    let setup = setup(&authority, &api).await;
    let expired = given("at-1", Some("rt-1"), Some("2020-01-01T00:00:00Z"));
    setup
        .engine
        .set_oauth_token(&setup.installation, expired)
        .await
        .unwrap();

    let answer = invoke(&setup, "crmMe").await;
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(authority.refreshes.load(Ordering::SeqCst), 1);
    assert_eq!(api.received().len(), 1, "the expired token was never sent");
    let refresh = form(&authority.server.received()[0].body);
    assert_eq!(refresh["client_id"], "crm-client");
    assert_eq!(refresh["client_secret"], "crm-secret");
    let status = setup
        .engine
        .oauth_status(&setup.installation)
        .await
        .unwrap();
    let crm = &status[0];
    assert_eq!(
        (crm.integration.as_str(), crm.authorized, crm.refreshable),
        ("crm", true, true)
    );
    assert!(crm.expires_at.unwrap() > weir_core::now());
    assert!(!status[1].authorized, "mail has no token: {status:?}");

    // The rotated refresh token was stored: once the API wants newer tokens, the refresh
    // after its refusal uses rt-2 (rt-1 would be refused).
    api.fresh_from.store(3, Ordering::SeqCst);
    let answer = invoke(&setup, "crmMe").await;
    assert_eq!(answer, json!({"status": 200, "response": "{\"token\":3}"}));
    assert_eq!(authority.refreshes.load(Ordering::SeqCst), 2);
    let refused_then_sent = api.server.received();
    assert_eq!(refused_then_sent.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_without_a_usable_token_hears_why() {
    let authority = Authority::start(Duration::ZERO).await;
    let api = api(1).await;
    let setup = setup(&authority, &api).await;
    let none = invoke(&setup, "crmMe").await;
    assert_eq!(none["status"], 401);
    assert!(
        none["response"]
            .as_str()
            .unwrap()
            .starts_with("this installation has no OAuth access token yet"),
        "{none}"
    );
    let ambiguous = invoke(&setup, "defaultMe").await;
    assert_eq!(
        ambiguous,
        json!({"status": 400, "response":
            "config/oauth_config.json has several integrations (crm, mail): name one"})
    );

    // Expired, with nothing to refresh it with.
    let expired = given("at-0", None, Some("2020-01-01T00:00:00Z"));
    setup
        .engine
        .set_oauth_token(&setup.installation, expired)
        .await
        .unwrap();
    assert_eq!(
        invoke(&setup, "crmMe").await,
        json!({"status": 401, "response": "the OAuth access token expired and could not be \
            refreshed (there is no refresh token): the installation must be authorized again"})
    );

    // Refused by the API, and the authorization server refuses the refresh.
    let refused = given("at-0", Some("revoked"), None);
    setup
        .engine
        .set_oauth_token(&setup.installation, refused)
        .await
        .unwrap();
    assert_eq!(
        invoke(&setup, "crmMe").await,
        json!({"status": 401, "response": "the OAuth access token was refused and could not be \
            refreshed (the token endpoint refused: invalid_grant: refresh token used): the \
            installation must be authorized again"})
    );
    assert_eq!(
        api.received().len(),
        1,
        "sent once, not again after the failed refresh"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_refused_together_refresh_once() {
    // The token endpoint is slow, so the calls' refusals overlap the first refresh.
    let authority = Authority::start(Duration::from_millis(300)).await;
    let api = api(2).await;
    let setup = Arc::new(setup(&authority, &api).await);
    let stale = given("at-1", Some("rt-1"), None);
    setup
        .engine
        .set_oauth_token(&setup.installation, stale)
        .await
        .unwrap();
    let calls = (0..4).map(|_| {
        let setup = setup.clone();
        tokio::spawn(async move { invoke(&setup, "crmMe").await })
    });
    for call in calls.collect::<Vec<_>>() {
        let answer = call.await.unwrap();
        assert_eq!(answer["status"], 200, "{answer}");
    }
    assert_eq!(
        authority.refreshes.load(Ordering::SeqCst),
        1,
        "rt-1 is used once: {:?}",
        authority.server.received()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorizations_check_what_they_are_given_and_their_state() {
    let authority = Authority::start(Duration::ZERO).await;
    let api = api(1).await;
    let setup = setup(&authority, &api).await;
    let (engine, installation) = (&setup.engine, &setup.installation);
    let ask = |integration: Option<&str>, iparams: Value| AuthorizeRequest {
        integration: integration.map(Into::into),
        oauth_iparams: iparams.as_object().cloned().unwrap_or_default(),
    };
    assert_eq!(
        refusal(
            engine
                .authorize_oauth(installation, ask(None, json!({})))
                .await
        ),
        (
            ErrorKind::Invalid,
            "integration: config/oauth_config.json has several integrations (crm, mail): \
             name one"
                .into()
        )
    );
    assert_eq!(
        refusal(
            engine
                .authorize_oauth(installation, ask(Some("mail"), json!({"x": 1})))
                .await
        ),
        (
            ErrorKind::Invalid,
            "oauth_iparams: \"x\" is not declared in config/oauth_config.json (declared: none)"
                .into()
        )
    );
    let started = engine
        .authorize_oauth(
            installation,
            ask(Some("crm"), json!({"auth_host": "auth.crm.example"})),
        )
        .await
        .unwrap();
    assert_eq!(
        started.redirect_uri,
        "https://weir.example.com/oauth/callback"
    );
    let url = url::Url::parse(&started.authorize_url).unwrap();
    let state = url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();

    // The installer declined at the authorization server: the state is used up.
    let declined = OAuthCallback {
        state: Some(state.clone()),
        error: Some("access_denied".into()),
        error_description: Some("the user said no".into()),
        ..OAuthCallback::default()
    };
    let (kind, message) = refusal(engine.complete_oauth(declined).await);
    assert_eq!(kind, ErrorKind::Invalid);
    assert!(
        message.ends_with("(access_denied: the user said no)"),
        "{message}"
    );
    let again = OAuthCallback {
        state: Some(state),
        code: Some("any".into()),
        ..OAuthCallback::default()
    };
    assert_eq!(
        refusal(engine.complete_oauth(again).await),
        (
            ErrorKind::Invalid,
            "state: unknown, or used already; start the authorization again".into()
        )
    );

    // A code the token endpoint refuses is the third party's failure.
    let started = engine
        .authorize_oauth(
            installation,
            ask(Some("crm"), json!({"auth_host": "auth.crm.example"})),
        )
        .await
        .unwrap();
    let url = url::Url::parse(&started.authorize_url).unwrap();
    let state = url.query_pairs().find(|(k, _)| k == "state").unwrap().1;
    let bad_code = OAuthCallback {
        state: Some(state.into_owned()),
        code: Some("not-a-code".into()),
        ..OAuthCallback::default()
    };
    let (kind, message) = refusal(engine.complete_oauth(bad_code).await);
    assert_eq!(kind, ErrorKind::Upstream, "{message}");
    let status = engine.oauth_status(installation).await.unwrap();
    assert!(status.iter().all(|s| !s.authorized), "{status:?}");
}

/// The kind and message of a command's refusal.
fn refusal<T>(result: Result<T, weir_engine::Error>) -> (ErrorKind, String) {
    let error = result.err().expect("refused");
    (error.kind(), error.message().to_owned())
}
