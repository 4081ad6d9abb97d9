//! Weir's outbound client against real servers on loopback: the SSRF guard (addresses
//! written in the URL and addresses DNS returns), allow-listed networks, host overrides,
//! no redirects, the response cap and the User-Agent.

mod support;

use std::time::Duration;

use reqwest::{Method, Url};
use serde_json::json;
use weir_engine::outbound::{Outbound, OutboundRequest, OutboundSettings, SendError};
use weir_testkit::{FakeThirdParty, json_reply};

fn get(url: &str) -> OutboundRequest {
    OutboundRequest {
        method: Method::GET,
        url: Url::parse(url).unwrap(),
        headers: vec![],
        body: None,
        timeout: Duration::from_secs(5),
        max_response_bytes: 1024,
    }
}

async fn receiver() -> FakeThirdParty {
    FakeThirdParty::start(|request| match request.path.as_str() {
        "/redirect" => (302, "text/plain", String::new(), Duration::ZERO),
        "/big" => (200, "text/plain", "x".repeat(5000), Duration::ZERO),
        _ => json_reply(
            200,
            json!({"ua": request.headers["user-agent"], "host": request.headers["host"]}),
        ),
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_addresses_are_refused_before_and_after_dns() {
    let fake = receiver().await;
    let port = fake.address.port();
    let guarded = Outbound::new(OutboundSettings::default());
    for url in [
        format!("http://127.0.0.1:{port}/"),
        format!("http://[::ffff:127.0.0.1]:{port}/"),
        format!("http://localhost:{port}/"),
    ] {
        let refused = guarded.send(get(&url)).await;
        assert!(
            matches!(refused, Err(SendError::Refused(_))),
            "{url}: {refused:?}"
        );
    }
    assert!(fake.received().is_empty(), "nothing may reach the receiver");

    let allowed = Outbound::new(OutboundSettings {
        allow_private: vec!["127.0.0.0/8".parse().unwrap()],
        ..OutboundSettings::default()
    });
    let response = allowed
        .send(get(&format!("http://localhost:{port}/")))
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert!(body["ua"].as_str().unwrap().starts_with("Weir/"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overrides_send_a_host_to_a_local_address_over_plain_http() {
    let fake = receiver().await;
    let mut settings = OutboundSettings::default();
    settings
        .host_overrides
        .insert("api.github.com".into(), fake.address);
    let outbound = Outbound::new(settings);
    assert!(outbound.is_overridden("API.github.com"));
    let response = outbound
        .send(get("https://api.github.com/repos?x=1"))
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(body["host"], "api.github.com");
    assert_eq!(fake.received()[0].path, "/repos");
    assert_eq!(fake.received()[0].query.as_deref(), Some("x=1"));

    // Redirects are answers, not followed; long bodies fail rather than fill memory.
    let redirect = outbound
        .send(get("https://api.github.com/redirect"))
        .await
        .unwrap();
    assert_eq!(redirect.status, 302);
    let big = outbound.send(get("https://api.github.com/big")).await;
    assert_eq!(big, Err(SendError::TooLarge { limit: 1024 }));
}
