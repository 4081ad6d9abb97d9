//! Webhook subscriptions an account makes through the API (Zoho's CUSTOMER_WEBHOOK): made,
//! changed, deleted, their secret rotated, turned back on. Their settings are checked by
//! `weir_core`'s subscription spec, as the extension webhooks an install makes are. An
//! app's extension webhook is the app's: only its lifecycle changes it.

use jiff::SignedDuration;
use serde::Deserialize;
use serde_json::{Map, Value};
use weir_core::{
    Account, EventSource, InstallationId, SignatureScheme, SpecProblem, SubscriptionChange,
    SubscriptionKind, SubscriptionRequest, SubscriptionSpec, WebhookSecret, WebhookSubscription,
};

use crate::engine::Engine;
use crate::error::Error;

/// How long the secret before a rotation still signs, unless the rotation says.
const DEFAULT_GRACE_SECS: i64 = 24 * 3600;
/// The longest a rotated-out secret may keep signing.
const MAX_GRACE_SECS: i64 = 30 * 24 * 3600;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSubscription {
    pub url: String,
    pub events: Vec<String>,
    #[serde(default)]
    pub filters: Map<String, Value>,
    /// The signing secret (`whsec_…`, or `whsk_…` for `v1a`); one is made when none is
    /// given.
    pub secret: Option<String>,
    /// `v1` (HMAC-SHA256, the default) or `v1a` (Ed25519: receivers verify with the
    /// public key shown).
    pub signature_scheme: Option<SignatureScheme>,
    pub timeout_ms: Option<u32>,
    pub max_in_flight: Option<u32>,
    pub rate_per_second: Option<u32>,
    #[serde(default)]
    pub fifo: bool,
    pub batch_size: Option<u32>,
    pub linger_ms: Option<u32>,
}

/// The settings to change; the others are kept.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionUpdate {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub filters: Option<Map<String, Value>>,
    pub timeout_ms: Option<u32>,
    pub enabled: Option<bool>,
    pub max_in_flight: Option<u32>,
    /// `null` removes the limit; absent keeps it.
    #[serde(default, with = "double_option")]
    pub rate_per_second: Option<Option<u32>>,
    pub fifo: Option<bool>,
    pub batch_size: Option<u32>,
    pub linger_ms: Option<u32>,
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
pub(crate) mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<u32>>, D::Error> {
        Option::<u32>::deserialize(d).map(Some)
    }
}

impl Engine {
    /// A new subscription of the account, enabled; it carries its secret, which the caller
    /// shows this once.
    pub async fn create_subscription(
        &self,
        account: &Account,
        new: NewSubscription,
    ) -> Result<WebhookSubscription, Error> {
        let secret = match new.secret {
            None => {
                WebhookSecret::generate_for(new.signature_scheme.unwrap_or(SignatureScheme::V1))
            }
            Some(given) => {
                WebhookSecret::parse(&given).map_err(|e| Error::invalid(format!("secret: {e}")))?
            }
        };
        if let Some(scheme) = new.signature_scheme
            && scheme != secret.scheme()
        {
            return Err(Error::invalid(
                "secret: a v1 secret is whsec_…, a v1a signing key whsk_…; this one is not of \
                 the signature_scheme given",
            ));
        }
        let request = SubscriptionRequest {
            url: new.url,
            events: new.events,
            filters: new.filters,
            timeout_ms: new.timeout_ms,
            max_in_flight: new.max_in_flight,
            rate_per_second: new.rate_per_second,
            fifo: new.fifo,
            batch_size: new.batch_size,
            linger_ms: new.linger_ms,
        };
        let spec = SubscriptionSpec::parse(&account.product, request).map_err(invalid)?;
        let subscription = spec.into_subscription(
            account.id.clone(),
            None,
            SubscriptionKind::CustomerWebhook,
            secret,
            weir_core::now(),
        );
        self.store()
            .insert_webhook_subscription(&subscription)
            .await?;
        Ok(subscription)
    }

    /// Applies the update; turning the subscription back on forgets how long it failed.
    pub async fn change_subscription(
        &self,
        subscription: WebhookSubscription,
        update: SubscriptionUpdate,
    ) -> Result<WebhookSubscription, Error> {
        changeable(&subscription)?;
        let source = self.source_of(&subscription).await?;
        let change = SubscriptionChange {
            url: update.url,
            events: update.events,
            filters: update.filters,
            timeout_ms: update.timeout_ms,
            max_in_flight: update.max_in_flight,
            rate_per_second: update.rate_per_second,
            fifo: update.fifo,
            batch_size: update.batch_size,
            linger_ms: update.linger_ms,
        };
        let changed = change.apply_for(&source, &subscription).map_err(invalid)?;
        if subscription.kind == SubscriptionKind::OperationalWebhook {
            operational_rules(&changed)?;
        }
        let enabled = update.enabled.unwrap_or(subscription.enabled);
        let disabled_reason = match enabled {
            true => None,
            false => Some(
                subscription
                    .disabled_reason
                    .clone()
                    .unwrap_or_else(|| "disabled through the API".into()),
            ),
        };
        let changed = WebhookSubscription {
            disabled_reason,
            enabled,
            updated_at: weir_core::now(),
            ..changed
        };
        self.store().update_webhook_subscription(&changed).await?;
        if changed.enabled && !subscription.enabled {
            self.store().set_failing_since(&changed.id, None).await?;
        }
        Ok(changed)
    }

    pub async fn delete_subscription(
        &self,
        subscription: &WebhookSubscription,
    ) -> Result<(), Error> {
        changeable(subscription)?;
        let deleted = self
            .store()
            .delete_webhook_subscription(&subscription.id)
            .await?;
        match deleted {
            true => Ok(()),
            false => Err(Error::not_found(format!(
                "subscription {} not found",
                subscription.id
            ))),
        }
    }

    /// A new secret of the same scheme; the old one keeps signing (beside the new) for
    /// `grace_seconds` (a day unless given), so receivers can switch without losing a
    /// delivery. Earlier rotated-out secrets keep their own grace (up to
    /// `MAX_PREVIOUS_SECRETS`, the soonest to expire going first).
    pub async fn rotate_secret(
        &self,
        subscription: WebhookSubscription,
        grace_seconds: Option<i64>,
    ) -> Result<WebhookSubscription, Error> {
        changeable(&subscription)?;
        let grace = grace_seconds.unwrap_or(DEFAULT_GRACE_SECS);
        if !(0..=MAX_GRACE_SECS).contains(&grace) {
            return Err(Error::invalid(
                "grace_seconds: must be 0 to 2592000 (30 days)",
            ));
        }
        let new = WebhookSecret::generate_for(subscription.secret.scheme());
        let rotated = subscription.rotated(new, SignedDuration::from_secs(grace), weir_core::now());
        self.store().update_webhook_subscription(&rotated).await?;
        Ok(rotated)
    }

    /// Turns a disabled subscription (by a 410, or the operator) back on. Deliveries that
    /// died meanwhile stay dead; `recover_deliveries` sends them again.
    pub async fn enable_subscription(
        &self,
        subscription: WebhookSubscription,
    ) -> Result<WebhookSubscription, Error> {
        changeable(&subscription)?;
        let enabled = WebhookSubscription {
            enabled: true,
            disabled_reason: None,
            failing_since: None,
            updated_at: weir_core::now(),
            ..subscription
        };
        self.store().update_webhook_subscription(&enabled).await?;
        self.store().set_failing_since(&enabled.id, None).await?;
        Ok(enabled)
    }

    /// Where the subscription's events come from: its account's product, or Weir itself
    /// for an operational webhook.
    async fn source_of(&self, subscription: &WebhookSubscription) -> Result<EventSource, Error> {
        if subscription.kind == SubscriptionKind::OperationalWebhook {
            return Ok(EventSource::Operational);
        }
        let id = &subscription.account_id;
        let account = self
            .store()
            .account(id)
            .await?
            .ok_or_else(|| Error::not_found(format!("account {id} not found")))?;
        Ok(EventSource::Product(account.product))
    }
}

/// An operational event is sent alone, as it is (`{"type", "timestamp", "data"}`), and
/// every one of a type goes: no filters, no batches, no lingering.
pub(crate) fn operational_rules(subscription: &WebhookSubscription) -> Result<(), Error> {
    let refused = |field: &str, what: &str| {
        Err(Error::invalid(format!(
            "{field}: an operational webhook takes {what}"
        )))
    };
    if !subscription.filters.is_empty() {
        return refused("filters", "no filters");
    }
    if subscription.batch_size != 1 {
        return refused("batch_size", "one event per call (batch_size 1)");
    }
    if subscription.linger_ms != 0 {
        return refused("linger_ms", "no lingering (linger_ms 0)");
    }
    Ok(())
}

/// Only the app's lifecycle changes an extension webhook (made from its resources.json).
fn changeable(subscription: &WebhookSubscription) -> Result<(), Error> {
    match subscription.kind {
        SubscriptionKind::ExtensionWebhook => Err(Error::refused(format!(
            "subscription {} is an EXTENSION_WEBHOOK: installation {} made it from its app's \
             resources.json, and only uninstalling the app removes or changes it",
            subscription.id,
            subscription
                .installation_id
                .as_ref()
                .map_or("?", InstallationId::as_str)
        ))),
        SubscriptionKind::CustomerWebhook | SubscriptionKind::OperationalWebhook => Ok(()),
    }
}

/// A setting the core parse refused: its `field: message`.
pub(crate) fn invalid(problem: SpecProblem) -> Error {
    Error::invalid(problem.to_string())
}
