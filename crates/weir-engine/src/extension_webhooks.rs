//! Zoho Desk extension webhooks (seed 004, REFERENCE §5): the `webhook` entries of an
//! app's `resources.json` become subscriptions of type EXTENSION_WEBHOOK when the app is
//! installed, and go when it is uninstalled.
//!
//! - The installation must have been granted `Desk.events.ALL`, else the install fails
//!   naming the scope.
//! - Each URL must answer a GET with 200, or else a POST with 200, as Zoho Desk checks;
//!   else the install fails naming the URL (`PlatformSettings::validate_extension_urls`
//!   turns this off for development).
//! - Each subscribed event's filter holds Zoho's options (`includePrevState`, `fields`,
//!   `direction`), the installation's departments as `departmentIds`, and the webhook's
//!   `ignoreSourceId` (see `weir_core::delivery::passes`).
//! - Deliveries carry `orgId` and a `securityContext` naming the installation in the
//!   query of the callback URL (see the deliverer).
//! - As Desk does, events are batched (several in one JSON array, after a short linger)
//!   and a delivery succeeds only on a 200 within `PlatformSettings::extension_webhook_timeout`
//!   (Zoho: 5 s).
//! - Each subscription is parsed as one the API makes is (`weir_core::SubscriptionSpec`):
//!   a setting out of its range refuses the install rather than making a subscription the
//!   API would have refused.

use std::time::Duration;

use serde_json::{Map, json};
use weir_core::app::ExtensionWebhook;
use weir_core::{
    Installation, Product, SpecProblem, SubscriptionKind, SubscriptionRequest, SubscriptionSpec,
    WebhookSecret, WebhookSubscription,
};
use weir_store::StoreError;

use crate::outbound::OutboundRequest;
use crate::runner::{RunError, Runner};

/// The scope Zoho Desk requires of an extension with webhooks.
pub const EVENTS_SCOPE: &str = "Desk.events.ALL";
/// How long the URL check waits for each answer.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);
/// Events in one call at most…
const BATCH_SIZE: u32 = 20;
/// …gathered for this long, so that events close together share a call.
const LINGER_MS: u32 = 500;

#[derive(Debug, thiserror::Error)]
pub enum ExtensionError {
    #[error(
        "the app's resources.json has extension webhooks, which need the scope {EVENTS_SCOPE}; \
         grant it with the install (\"scopes\")"
    )]
    MissingScope,
    #[error("the extension webhook URL {url} did not answer 200 to a GET nor to a POST ({why})")]
    UrlRejected { url: String, why: String },
    #[error("the extension webhook {resource_name:?} makes a subscription Weir refuses: {problem}")]
    Invalid {
        resource_name: String,
        problem: SpecProblem,
    },
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Makes the installation's extension webhooks.
pub async fn create_all(
    runner: &Runner,
    installation: &Installation,
) -> Result<(), ExtensionError> {
    let app = runner
        .app(&installation.app_id)
        .await
        .map_err(RunError::from)?;
    let webhooks = &app.definition.extension_webhooks;
    if webhooks.is_empty() {
        return Ok(());
    }
    if !installation
        .scopes
        .iter()
        .any(|scope| scope == EVENTS_SCOPE)
    {
        return Err(ExtensionError::MissingScope);
    }
    let platform = runner.platform();
    for webhook in webhooks {
        let timeout = platform.settings.extension_webhook_timeout;
        let subscription = subscription_for(installation, webhook, timeout)?;
        if platform.settings.validate_extension_urls {
            check_url(runner, webhook.url.as_str()).await?;
        }
        platform
            .store
            .insert_webhook_subscription(&subscription)
            .await?;
    }
    Ok(())
}

/// Removes the installation's extension webhooks, with their deliveries.
pub async fn delete_all(runner: &Runner, installation: &Installation) -> Result<(), StoreError> {
    let store = &runner.platform().store;
    store
        .delete_extension_webhooks(&installation.id)
        .await
        .map(drop)
}

/// The subscription an install makes of `webhook` (pure: nothing is stored), parsed as
/// the API parses one. Public so that `weir dev` filters and shapes a simulated event as
/// the deliverer would.
pub fn subscription_for(
    installation: &Installation,
    webhook: &ExtensionWebhook,
    timeout: Duration,
) -> Result<WebhookSubscription, ExtensionError> {
    let departments: Vec<&str> = installation.departments.iter().collect();
    let mut filters = Map::new();
    for subscribed in &webhook.subscriptions {
        let mut filter = json!({"ignoreSourceId": webhook.ignore_source_id});
        if subscribed.include_prev_state {
            filter["includePrevState"] = json!(true);
        }
        if !subscribed.fields.is_empty() {
            filter["fields"] = json!(subscribed.fields);
        }
        if let Some(direction) = &subscribed.direction {
            filter["direction"] = json!(direction);
        }
        if !departments.is_empty() {
            filter["departmentIds"] = json!(departments);
        }
        filters.insert(subscribed.event.clone(), filter);
    }
    let request = SubscriptionRequest {
        url: webhook.url.to_string(),
        events: webhook
            .subscriptions
            .iter()
            .map(|s| s.event.clone())
            .collect(),
        filters,
        timeout_ms: Some(u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX)),
        max_in_flight: None,
        rate_per_second: None,
        fifo: false,
        batch_size: Some(BATCH_SIZE),
        linger_ms: Some(LINGER_MS),
    };
    // Its events are Zoho Desk's, whatever the account's product.
    let spec = SubscriptionSpec::parse(&Product::zoho_desk(), request).map_err(|problem| {
        ExtensionError::Invalid {
            resource_name: webhook.resource_name.clone(),
            problem,
        }
    })?;
    Ok(spec.into_subscription(
        installation.account_id.clone(),
        Some(installation.id.clone()),
        SubscriptionKind::ExtensionWebhook,
        WebhookSecret::generate(),
        weir_core::now(),
    ))
}

/// A GET must answer 200; failing that, a POST of an empty batch must.
async fn check_url(runner: &Runner, url: &str) -> Result<(), ExtensionError> {
    let rejected = |why: String| ExtensionError::UrlRejected {
        url: url.to_owned(),
        why,
    };
    let parsed = url::Url::parse(url).map_err(|e| rejected(format!("not a URL: {e}")))?;
    let outbound = &runner.platform().outbound;
    let mut answers = Vec::new();
    for (method, body) in [
        (reqwest::Method::GET, None),
        (reqwest::Method::POST, Some(b"[]".to_vec())),
    ] {
        let sent = outbound
            .send(OutboundRequest {
                method: method.clone(),
                url: parsed.clone(),
                headers: vec![("content-type".into(), "application/json".into())],
                body,
                timeout: CHECK_TIMEOUT,
                max_response_bytes: 64 * 1024,
            })
            .await;
        match sent {
            Ok(response) if response.status == 200 => return Ok(()),
            Ok(response) => answers.push(format!("{method}: {}", response.status)),
            Err(error) => answers.push(format!("{method}: {error}")),
        }
    }
    Err(rejected(answers.join("; ")))
}

/// The callback URL of a delivery to an extension webhook: `orgId` and `securityContext`
/// added to its query.
pub fn callback_url(url: &url::Url, org_id: &str, security_context: &str) -> url::Url {
    let mut url = url.clone();
    url.query_pairs_mut()
        .append_pair("orgId", org_id)
        .append_pair("securityContext", security_context);
    url
}

#[cfg(test)]
mod tests {
    use weir_core::app::ZohoSubscription;
    use weir_core::{
        AccountId, AppId, AppName, Departments, InstallationId, InstallationStatus, Iparams,
        SubscriptionUrl, TargetToken,
    };

    use super::*;

    fn installation() -> Installation {
        let now = weir_core::now();
        Installation {
            id: InstallationId::generate(),
            account_id: AccountId::parse("600").unwrap(),
            app_id: AppId::generate(),
            app_name: AppName::parse("desk-extension").unwrap(),
            status: InstallationStatus::Installing,
            iparams: Iparams::default(),
            departments: Departments::parse(vec!["d1".into()]).unwrap(),
            scopes: vec![EVENTS_SCOPE.into()],
            target_token: TargetToken::generate(),
            created_at: now,
            updated_at: now,
        }
    }

    fn webhook() -> ExtensionWebhook {
        ExtensionWebhook {
            resource_name: "tickets".into(),
            url: SubscriptionUrl::parse("https://hooks.example.com/zoho").unwrap(),
            name: "Ticket events".into(),
            description: None,
            subscriptions: vec![ZohoSubscription {
                event: "Ticket_Update".into(),
                include_prev_state: true,
                fields: vec!["status".into()],
                direction: None,
            }],
            ignore_source_id: "2df92c1a-973a-48f5-95b7-5792c68b9c36".into(),
        }
    }

    #[test]
    fn an_install_makes_the_subscription_the_webhook_asks_for() {
        let installation = installation();
        let made = subscription_for(&installation, &webhook(), Duration::from_secs(5)).unwrap();
        assert_eq!(made.kind, SubscriptionKind::ExtensionWebhook);
        assert_eq!(made.installation_id, Some(installation.id));
        assert_eq!(made.url, "https://hooks.example.com/zoho");
        assert_eq!(made.events, ["Ticket_Update"]);
        assert_eq!(
            made.filters["Ticket_Update"],
            json!({"ignoreSourceId": "2df92c1a-973a-48f5-95b7-5792c68b9c36",
                   "includePrevState": true, "fields": ["status"], "departmentIds": ["d1"]})
        );
        let settings = (made.timeout_ms, made.max_in_flight, made.batch_size);
        assert_eq!(settings, (5_000, 8, BATCH_SIZE));
        assert_eq!((made.linger_ms, made.rate_per_second), (LINGER_MS, None));
    }

    #[test]
    fn a_subscription_the_api_would_refuse_refuses_the_install() {
        let refused = subscription_for(&installation(), &webhook(), Duration::from_secs(61));
        let Err(refused) = refused else {
            panic!("a 61 s timeout was taken");
        };
        assert_eq!(
            refused.to_string(),
            "the extension webhook \"tickets\" makes a subscription Weir refuses: \
             timeout_ms: must be 100 to 60000"
        );
    }
}
