//! What Weir tells the operator's operational webhooks (`weir_core::operational`), made
//! where it happens: the deliverer (a subscription disabled or failing, a delivery dead),
//! installs and updates (refused or failed), and the runner (a handler failing again and
//! again). Each is handed to the store with the change it tells of, so that both are
//! written in one transaction where the store allows.
//!
//! An operational webhook's own troubles tell nothing: its deliveries going wrong would
//! otherwise make more deliveries to it, without end.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
    platform: &Platform,
    subscription: &WebhookSubscription,
    delivery: &Delivery,
    attempt: &Attempt,
) -> Option<Notice> {
    if delivery.tries < FAILING_AFTER_TRIES {
        return None;
    }
    let kind = OperationalEventType::SubscriptionFailing;
    let subject = format!("{kind}:{}", subscription.id);
    if !platform
        .told_lately
        .take(&subject, platform.settings.operational_debounce)
    {
        return None;
    }
    let mut data = about_delivery(subscription, delivery, attempt);
    data["failing_since"] = json!(subscription.failing_since.unwrap_or(attempt.at));
    let event = OperationalEvent::new(kind, data);
    Some(Notice::debounced(event, subject, window(platform)))
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
) -> Result<(), StoreError> {
    let kind = OperationalEventType::AppHandlerFailing;
    let subject = format!("{kind}:{}", record.installation_id);
    let debounce = platform.settings.operational_debounce;
    if platform.told_lately.told_within(&subject, debounce) {
        return Ok(());
    }
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
    if !platform.told_lately.take(&subject, debounce) {
        return Ok(());
    }
    let event = OperationalEvent::new(kind, data);
    tell(
        platform,
        &Notice::debounced(event, subject, window(platform)),
    )
    .await;
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

/// The subjects of debounced events this node told (or tried to) lately, and when: a
/// shortcut that spares the store a read and a write per failure while a window lasts.
/// The store decides what is told (several nodes share its record); this only skips
/// asking it.
#[derive(Default)]
pub(crate) struct ToldLately(Mutex<HashMap<String, Instant>>);

/// Subjects remembered at most; past this, those whose window has passed are forgotten.
const REMEMBERED: usize = 10_000;

impl ToldLately {
    fn told_within(&self, subject: &str, window: Duration) -> bool {
        let told = self.0.lock().unwrap_or_else(|e| e.into_inner());
        told.get(subject).is_some_and(|at| at.elapsed() < window)
    }

    /// Whether the subject may be told now; if so, it is noted as told.
    fn take(&self, subject: &str, window: Duration) -> bool {
        let mut told = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if told.get(subject).is_some_and(|at| at.elapsed() < window) {
            return false;
        }
        if told.len() >= REMEMBERED {
            told.retain(|_, at| at.elapsed() < window);
        }
        told.insert(subject.to_owned(), Instant::now());
        true
    }
}

/// The debounce window as the store takes it.
fn window(platform: &Platform) -> SignedDuration {
    SignedDuration::try_from(platform.settings.operational_debounce)
        .unwrap_or(SignedDuration::from_hours(1))
}

/// What every subscription event says of it.
fn about(subscription: &WebhookSubscription) -> Value {
    json!({
        "subscription_id": subscription.id,
        "account_id": subscription.account_id,
        "subscription_type": subscription.kind.as_str(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subject_is_taken_once_per_window() {
        let told = ToldLately::default();
        let hour = Duration::from_secs(3600);
        assert!(!told.told_within("app.handler_failing:ins_1", hour));
        assert!(told.take("app.handler_failing:ins_1", hour));
        assert!(told.told_within("app.handler_failing:ins_1", hour));
        assert!(
            !told.take("app.handler_failing:ins_1", hour),
            "within the hour"
        );
        assert!(
            told.take("app.handler_failing:ins_2", hour),
            "another subject"
        );
        assert!(
            told.take("app.handler_failing:ins_1", Duration::ZERO),
            "window passed"
        );
    }
}
