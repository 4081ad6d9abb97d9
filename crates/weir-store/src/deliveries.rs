//! Outbound delivery in the store, for both backends: webhook subscriptions (each with its
//! events in `webhook_subscription_events`, which ingests join on) and the deliveries and
//! attempts they are owed.

use jiff::Timestamp;
use serde_json::Value;
use weir_core::delivery::parse_delivery_id;
use weir_core::{
    AccountId, Attempt, Delivery, DeliveryStatus, EventId, SubscriptionId, WebhookSubscription,
};

use crate::notices::{self, Guard, Notice};
use crate::params::{self, Param};
use crate::rows;
use crate::sql_store::{Backend, SqlStore};
use crate::{Page, PageRequest, Result, StoreError, sql};

/// Which deliveries to list; `None` lets all through.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub subscription: Option<SubscriptionId>,
    pub status: Option<DeliveryStatus>,
    pub event: Option<String>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

/// How a claimed attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered,
    /// Failed; the next attempt is due then.
    RetryAt(Timestamp),
    /// Failed with no attempts left, or its subscription is gone or disabled.
    Dead,
    /// Not attempted (its subscription has as many in flight as it may): due again then,
    /// and this claim does not count as an attempt.
    Postponed(Timestamp),
}

impl<B: Backend> SqlStore<B> {
    pub(crate) async fn put_subscription(
        &self,
        subscription: &WebhookSubscription,
        statement: &'static str,
    ) -> Result<bool> {
        let id = subscription.id.as_str();
        let sealed = params::SealedSecrets {
            secret: self.seal(
                subscription.secret.as_str(),
                &crate::sealed::contexts::subscription_secret(id),
            )?,
            previous: self.seal(
                &crate::rows::to_json(&subscription.previous_secrets),
                &crate::sealed::contexts::previous_secrets(id),
            )?,
        };
        let mut statements = vec![(
            statement,
            params::webhook_subscription(subscription, sealed),
        )];
        if statement == sql::UPDATE_WEBHOOK_SUBSCRIPTION {
            statements.push((sql::DELETE_SUBSCRIPTION_EVENTS, vec![id.into()]));
        }
        for event in &subscription.events {
            let filter = subscription
                .filters
                .get(event)
                .filter(|f| f.as_object().is_some_and(|f| !f.is_empty()));
            let row = vec![
                id.into(),
                subscription.account_id.as_str().into(),
                event.as_str().into(),
                Param::MaybeText(filter.map(Value::to_string)),
            ];
            statements.push((sql::INSERT_SUBSCRIPTION_EVENT, row));
        }
        if !subscription.enabled {
            let at = rows::millis(subscription.updated_at);
            statements.push((sql::KILL_PENDING_DELIVERIES, vec![id.into(), at.into()]));
        }
        let changed = self.backend.transaction(statements).await?;
        Ok(changed.first().copied().unwrap_or(0) > 0)
    }

    /// One account's deliveries, or (`None`) every account's, the admin's view.
    pub(crate) async fn page_of_deliveries(
        &self,
        account: Option<&AccountId>,
        filter: &DeliveryFilter,
        page: &PageRequest,
    ) -> Result<Page<Delivery>> {
        let (after_event, after_subscription) = match page.after.as_deref() {
            None => (String::new(), String::new()),
            Some(cursor) => parse_delivery_id(cursor)
                .map(|(e, s)| (e.as_str().to_owned(), s.as_str().to_owned()))
                .ok_or(StoreError::NotFound)?,
        };
        let statement = match (account, filter.status) {
            (Some(_), _) => sql::DELIVERIES,
            (None, Some(DeliveryStatus::Delivered) | None) => sql::DELIVERIES_EVERYWHERE,
            (None, Some(_)) => sql::UNFINISHED_DELIVERIES_EVERYWHERE,
        };
        let mut params: Vec<Param> = account.map(|a| a.as_str().into()).into_iter().collect();
        params.extend([
            Param::MaybeText(filter.subscription.as_ref().map(|s| s.as_str().to_owned())),
            Param::MaybeText(filter.status.map(|s| s.as_str().to_owned())),
            Param::MaybeText(filter.event.clone()),
            Param::MaybeInt(filter.since.map(rows::millis)),
            Param::MaybeInt(filter.until.map(rows::millis)),
            after_event.into(),
            after_subscription.into(),
            (i64::from(page.limit) + 1).into(),
        ]);
        let mut items = self
            .backend
            .fetch(statement, params, rows::delivery)
            .await?;
        let next_after = if items.len() > page.limit as usize {
            items.truncate(page.limit as usize);
            items.last().map(Delivery::id)
        } else {
            None
        };
        Ok(Page { items, next_after })
    }

    pub(crate) async fn end_attempt(
        &self,
        delivery: &Delivery,
        attempt: Option<&Attempt>,
        outcome: DeliveryOutcome,
        notices: &[Notice],
    ) -> Result<bool> {
        let key = || -> Vec<Param> {
            vec![
                delivery.event_id.as_str().into(),
                delivery.subscription_id.as_str().into(),
            ]
        };
        let now = weir_core::now();
        let (status, run_at, given_back) = match outcome {
            DeliveryOutcome::Delivered => (DeliveryStatus::Delivered, now, 0),
            DeliveryOutcome::RetryAt(at) => (DeliveryStatus::Pending, at, 0),
            DeliveryOutcome::Dead => (DeliveryStatus::Dead, now, 0),
            DeliveryOutcome::Postponed(at) => (DeliveryStatus::Pending, at, 1),
        };
        let mut statements = Vec::new();
        if let Some(attempt) = attempt {
            let mut row = key();
            row.extend(params::attempt(attempt));
            statements.push((sql::INSERT_ATTEMPT, row));
        }
        let mut finish = key();
        finish.extend([
            status.as_str().into(),
            rows::millis(run_at).into(),
            i64::from(delivery.generation).into(),
            rows::millis(now).into(),
            Param::Int(given_back),
        ]);
        statements.push((sql::FINISH_DELIVERY, finish));
        let finished = statements.len() - 1;
        for notice in notices {
            let guard = Guard::Recorded(delivery, status);
            statements.extend(notices::statements(notice, guard, B::LOCK_FIFO));
        }
        let changed = self.backend.transaction(statements).await?;
        Ok(changed.get(finished).copied().unwrap_or(0) > 0)
    }

    pub(crate) async fn attempts_of(
        &self,
        event: &EventId,
        subscription: &SubscriptionId,
    ) -> Result<Vec<Attempt>> {
        let params = vec![event.as_str().into(), subscription.as_str().into()];
        self.backend
            .fetch(sql::ATTEMPTS, params, rows::attempt)
            .await
    }
}
