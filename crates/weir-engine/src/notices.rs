//! What Weir tells the operator's operational webhooks (`weir_core::operational`), made
//! where it happens: the deliverer (a subscription disabled or failing, a delivery dead),
//! installs and updates (refused or failed), and the runner (a handler failing again and
//! again). Each is handed to the store with the change it tells of, so that both are
//! written in one transaction where the store allows.
//!
//! An operational webhook's own troubles tell nothing: its deliveries going wrong would
//! otherwise make more deliveries to it, without end.

use jiff::SignedDuration;
use serde_json::{Value, json};
use weir_core::operational::{FAILING_AFTER_TRIES, HANDLER_FAILURES_IN_A_ROW};
use weir_core::{
    Attempt, Delivery, Installation, InvocationRecord, InvocationStatus, OperationalEvent,
    OperationalEventType, SubscriptionKind, WebhookSubscription,
};
use weir_store::{Notice, StoreError, WorkQueue};

use crate::platform::Platform;

/// Whether the subscription's troubles are told: not an operational webhook's.
pub(crate) fn told_of(subscription: &WebhookSubscription) -> bool {
    subscription.kind != SubscriptionKind::OperationalWebhook
}

/// `subscription.disabled`, with why.
pub(crate) fn subscription_disabled(subscription: &WebhookSubscription, reason: &str) -> Notice {
    let mut data = about(subscription);
    data["reason"] = json!(reason);
    Notice::each_time(OperationalEvent::new(
        OperationalEventType::SubscriptionDisabled,
        data,
    ))
}

/// `delivery.dead`: the delivery's last attempt failed, and `reason` says why it will
/// not be tried again.
pub(crate) fn delivery_dead(
    subscription: &WebhookSubscription,
    delivery: &Delivery,
    attempt: &Attempt,
    reason: &str,
) -> Notice {
    let mut data = about_delivery(subscription, delivery, attempt);
    data["reason"] = json!(reason);
    Notice::each_time(OperationalEvent::new(
        OperationalEventType::DeliveryDead,
        data,
    ))
}

/// `subscription.failing`, if this failed attempt is the delivery's
/// [`FAILING_AFTER_TRIES`]th or later in a row: at most once per subscription per
/// `window`.
pub(crate) fn subscription_failing(
    subscription: &WebhookSubscription,
    delivery: &Delivery,
    attempt: &Attempt,
    window: SignedDuration,
) -> Option<Notice> {
    if delivery.tries < FAILING_AFTER_TRIES {
        return None;
    }
    let mut data = about_delivery(subscription, delivery, attempt);
    data["failing_since"] = json!(subscription.failing_since.unwrap_or(attempt.at));
    let event = OperationalEvent::new(OperationalEventType::SubscriptionFailing, data);
    let subject = format!("{}:{}", event.kind, subscription.id);
    Some(Notice::debounced(event, subject, window))
}

/// `installation.failed`: an install or update (`stage`) of the app that did not go
/// through, and why.
pub(crate) async fn installation_failed(
    platform: &Platform,
    installation: &Installation,
    stage: &str,
    reason: &str,
) {
    let data = json!({
        "installation_id": installation.id,
        "account_id": installation.account_id,
        "app_id": installation.app_id,
        "app_name": installation.app_name,
        "stage": stage,
        "reason": reason,
    });
    let event = OperationalEvent::new(OperationalEventType::InstallationFailed, data);
    tell(platform, &Notice::each_time(event)).await;
}

/// `app.handler_failing`, after a failed run, if the installation's last
/// [`HANDLER_FAILURES_IN_A_ROW`] runs all failed: at most once per installation per
/// `window`.
pub(crate) async fn after_handler_failed(
    platform: &Platform,
    record: &InvocationRecord,
    window: SignedDuration,
) -> Result<(), StoreError> {
    let latest = platform
        .store
        .latest_invocation_statuses(&record.installation_id, HANDLER_FAILURES_IN_A_ROW)
        .await?;
    let in_a_row = latest
        .iter()
        .take_while(|status| **status != InvocationStatus::Success)
        .count() as u32;
    if in_a_row < HANDLER_FAILURES_IN_A_ROW {
        return Ok(());
    }
    let data = json!({
        "installation_id": record.installation_id,
        "account_id": record.account_id,
        "app_id": record.app_id,
        "failures_in_a_row": in_a_row,
        "last_invocation_id": record.id,
        "event": record.event,
        "handler": record.handler,
        "status": record.status.as_str(),
        "error": record.error,
    });
    let event = OperationalEvent::new(OperationalEventType::AppHandlerFailing, data);
    let subject = format!("{}:{}", event.kind, record.installation_id);
    tell(platform, &Notice::debounced(event, subject, window)).await;
    Ok(())
}

/// Stores a notice on its own, and wakes the deliverer; a failure is logged (the change
/// it tells of has happened, and stands).
async fn tell(platform: &Platform, notice: &Notice) {
    match platform.store.tell(notice).await {
        Ok(true) => platform.wake(WorkQueue::Deliveries),
        Ok(false) => {}
        Err(error) => tracing::error!(
            %error,
            kind = %notice.event.kind,
            "an operational event could not be stored"
        ),
    }
}

/// The debounce window as the store takes it.
pub(crate) fn window(platform: &Platform) -> SignedDuration {
    SignedDuration::try_from(platform.settings.operational_debounce)
        .unwrap_or(SignedDuration::from_hours(1))
}

/// What every subscription event says of it.
fn about(subscription: &WebhookSubscription) -> Value {
    json!({
        "subscription_id": subscription.id,
        "account_id": subscription.account_id,
        "type": subscription.kind.as_str(),
        "installation_id": subscription.installation_id,
        "url": subscription.url,
    })
}

/// What a delivery event says: the subscription, the delivery and its last attempt.
fn about_delivery(
    subscription: &WebhookSubscription,
    delivery: &Delivery,
    attempt: &Attempt,
) -> Value {
    let mut data = about(subscription);
    data["delivery_id"] = json!(delivery.id());
    data["event_id"] = json!(delivery.event_id);
    data["event"] = json!(delivery.event);
    data["attempts"] = json!(delivery.attempts);
    data["last_attempt"] = json!({
        "at": attempt.at,
        "status_code": attempt.status_code,
        "error": attempt.error,
    });
    data
}
