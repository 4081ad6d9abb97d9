//! Sending deliveries again: one delivered or dead delivery (replay), every delivery of a
//! subscription that died since a time (recover), each with its `webhook-id` and the whole
//! retry schedule ahead of it; or one pending delivery's next attempt, now (retry now).

use jiff::Timestamp;
use weir_core::{Delivery, DeliveryStatus, WebhookSubscription};
use weir_store::WorkQueue;

use crate::engine::Engine;
use crate::error::Error;

impl Engine {
    /// Makes a delivered or dead delivery due again now.
    pub async fn replay_delivery(&self, delivery: &Delivery) -> Result<(), Error> {
        let id = delivery.id();
        let Some(owner) = self
            .store()
            .webhook_subscription(&delivery.subscription_id)
            .await?
        else {
            return Err(Error::not_found(format!("delivery {id} not found")));
        };
        if !owner.enabled {
            return Err(disabled(&owner));
        }
        if delivery.status == DeliveryStatus::Pending {
            return Err(Error::conflict(format!(
                "delivery {id} is still pending: it will be attempted anyway"
            )));
        }
        let replayed = self
            .store()
            .replay_delivery(
                &delivery.event_id,
                &delivery.subscription_id,
                weir_core::now(),
            )
            .await?;
        if replayed {
            self.platform().wake(WorkQueue::Deliveries);
        }
        Ok(())
    }

    /// Makes a delivery's next attempt due now: a pending one keeps its place on the retry
    /// schedule (if this attempt fails, the next waits as the one it stands for would
    /// have); a dead or skipped one is replayed (the dead letters' "retry"); a delivered one is a
    /// conflict (replay sends it again). Never beside an attempt in flight: a claimed
    /// delivery is a conflict until its attempt is recorded.
    pub async fn retry_delivery_now(&self, delivery: &Delivery) -> Result<(), Error> {
        let id = delivery.id();
        match delivery.status {
            DeliveryStatus::Delivered => {
                return Err(Error::conflict(format!(
                    "delivery {id} was delivered; replay it to send it again"
                )));
            }
            DeliveryStatus::Dead | DeliveryStatus::Skipped => {
                return self.replay_delivery(delivery).await;
            }
            DeliveryStatus::Pending => {}
        }
        let moved = self
            .store()
            .retry_delivery_now(
                &delivery.event_id,
                &delivery.subscription_id,
                weir_core::now(),
            )
            .await?;
        if !moved {
            return Err(Error::conflict(format!(
                "an attempt of delivery {id} is in flight (or has just ended): its outcome \
                 decides what comes next; look again in a moment"
            )));
        }
        self.platform().wake(WorkQueue::Deliveries);
        Ok(())
    }

    /// Makes every delivery of the subscription that died since `since` (say, while its
    /// receiver was down) due again now; answers how many.
    pub async fn recover_deliveries(
        &self,
        subscription: &WebhookSubscription,
        since: Timestamp,
    ) -> Result<u64, Error> {
        if !subscription.enabled {
            return Err(disabled(subscription));
        }
        let recovered = self
            .store()
            .recover_deliveries(&subscription.id, since, weir_core::now())
            .await?;
        if recovered > 0 {
            self.platform().wake(WorkQueue::Deliveries);
        }
        Ok(recovered)
    }
}

/// Sending again to a disabled subscription would kill the deliveries at once.
fn disabled(subscription: &WebhookSubscription) -> Error {
    Error::conflict(format!(
        "subscription {} is disabled ({}); enable it first",
        subscription.id,
        subscription
            .disabled_reason
            .as_deref()
            .unwrap_or("no reason given")
    ))
}
