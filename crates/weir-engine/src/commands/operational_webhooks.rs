//! Operational webhooks: the operator's endpoints for Weir's own events
//! (`weir_core::operational`). Each is a webhook subscription of kind
//! OPERATIONAL_WEBHOOK owned by the instance account, so its deliveries are made,
//! retried, signed, listed, replayed and recovered as any subscription's are; only the
//! admin reaches them.

use serde::Deserialize;
use weir_core::operational::instance_account;
use weir_core::{
    EventSource, SubscriptionId, SubscriptionKind, SubscriptionRequest, SubscriptionSpec,
    WebhookSecret, WebhookSubscription,
};
use weir_store::{Page, PageRequest};

use super::subscriptions::{SubscriptionUpdate, double_option, invalid, operational_rules};
use crate::engine::Engine;
use crate::error::Error;

/// A new operational webhook: where to, which of Weir's event types, and how to deliver.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOperationalWebhook {
    pub url: String,
    /// `subscription.disabled`, `subscription.failing`, `delivery.dead`,
    /// `installation.failed`, `app.handler_failing`.
    pub events: Vec<String>,
    /// The signing secret; one is made when none is given.
    pub secret: Option<String>,
    pub timeout_ms: Option<u32>,
    pub max_in_flight: Option<u32>,
    pub rate_per_second: Option<u32>,
    #[serde(default)]
    pub fifo: bool,
}

/// The settings to change; the others are kept.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationalWebhookUpdate {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub timeout_ms: Option<u32>,
    pub enabled: Option<bool>,
    pub max_in_flight: Option<u32>,
    /// `null` removes the limit; absent keeps it.
    #[serde(default, with = "double_option")]
    pub rate_per_second: Option<Option<u32>>,
    pub fifo: Option<bool>,
}

impl Engine {
    /// A new operational webhook, enabled; it carries its secret, which the caller shows
    /// this once.
    pub async fn create_operational_webhook(
        &self,
        new: NewOperationalWebhook,
    ) -> Result<WebhookSubscription, Error> {
        let secret = match new.secret {
            None => WebhookSecret::generate(),
            Some(given) => {
                WebhookSecret::parse(&given).map_err(|e| Error::invalid(format!("secret: {e}")))?
            }
        };
        let request = SubscriptionRequest {
            url: new.url,
            events: new.events,
            timeout_ms: new.timeout_ms,
            max_in_flight: new.max_in_flight,
            rate_per_second: new.rate_per_second,
            fifo: new.fifo,
            ..SubscriptionRequest::default()
        };
        let spec =
            SubscriptionSpec::parse_for(&EventSource::Operational, request).map_err(invalid)?;
        let webhook = spec.into_subscription(
            instance_account(),
            None,
            SubscriptionKind::OperationalWebhook,
            secret,
            weir_core::now(),
        );
        operational_rules(&webhook)?;
        self.store().insert_webhook_subscription(&webhook).await?;
        Ok(webhook)
    }

    /// The operational webhooks, paged by id.
    pub async fn operational_webhooks(
        &self,
        page: &PageRequest,
    ) -> Result<Page<WebhookSubscription>, Error> {
        Ok(self
            .store()
            .webhook_subscriptions(&instance_account(), page)
            .await?)
    }

    /// One operational webhook; any other id is "not found".
    pub async fn operational_webhook(&self, id: &str) -> Result<WebhookSubscription, Error> {
        let not_found = || Error::not_found(format!("operational webhook {id} not found"));
        let id = SubscriptionId::parse(id).map_err(|_| not_found())?;
        self.store()
            .webhook_subscription(&id)
            .await?
            .filter(|s| s.kind == SubscriptionKind::OperationalWebhook)
            .ok_or_else(not_found)
    }

    /// Applies the update, as to any subscription; turning it back on forgets how long it
    /// failed.
    pub async fn change_operational_webhook(
        &self,
        webhook: WebhookSubscription,
        update: OperationalWebhookUpdate,
    ) -> Result<WebhookSubscription, Error> {
        let update = SubscriptionUpdate {
            url: update.url,
            events: update.events,
            filters: None,
            timeout_ms: update.timeout_ms,
            enabled: update.enabled,
            max_in_flight: update.max_in_flight,
            rate_per_second: update.rate_per_second,
            fifo: update.fifo,
            batch_size: None,
            linger_ms: None,
        };
        self.change_subscription(webhook, update).await
    }
}
