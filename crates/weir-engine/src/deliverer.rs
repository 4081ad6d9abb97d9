//! Sends deliveries to their subscriptions' URLs (REFERENCE §5 and §7, DESIGN.md
//! "Outbound HTTP"). Deliveries were stored with their event; workers claim due ones with
//! leases, so several nodes share the work and a node that dies leaves its deliveries to
//! be claimed again: every delivery is attempted until it succeeds or dies.
//!
//! Each attempt is a POST of Zoho's body (a JSON array of `{eventType, payload,
//! prevState?, eventTime, orgId}`), signed per Standard Webhooks (`webhook-id`, stable
//! across attempts; `webhook-timestamp`; `webhook-signature` with the current secret and,
//! during a rotation's grace period, the previous one), through the outbound client (SSRF
//! guard, no redirects), with the subscription's timeout. 2xx delivers; 410 disables the
//! subscription; anything else retries on the schedule of `weir_core::delivery`, or
//! after `Retry-After` when the receiver asks for longer, and dies after the last.
//!
//! A subscription has at most its `max_in_flight` attempts in flight (and, if it says,
//! `rate_per_second` attempts a second), so a slow receiver holds only that many of the
//! node's slots and never delays the others'. A FIFO subscription gets its deliveries in
//! event order (the store claims the next only once the one before has succeeded or
//! died). A subscription whose attempts have all failed for `disable_failing_after` is
//! disabled.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::Instrument;
use weir_core::delivery::{self, Verdict};
use weir_core::{
    Attempt, Delivery, EventId, ProductEvent, SubscriptionId, SubscriptionKind, WebhookSubscription,
};
use weir_store::{DeliveryOutcome, Lease, Notice, StoreError, WorkQueue};

use crate::extension_webhooks;
use crate::metrics::AttemptOutcome;
use crate::notices;
use crate::outbound::{OutboundRequest, SendError};
use crate::platform::Platform;
use crate::worker::Queue;

/// Calls in flight on this node.
const IN_FLIGHT: usize = 128;
/// How long a delivery waits for a place among its subscription's attempts in flight…
const SLOT_WAIT: Duration = Duration::from_millis(100);
/// …and, finding none, how long it is put back for.
const BUSY_WAIT: SignedDuration = SignedDuration::from_millis(250);
/// The events one batched call carries at most, in bytes of their stored bodies.
const MAX_BATCH_BYTES: usize = 256 * 1024;
/// The answer's body kept with an attempt.
const RESPONSE_EXCERPT: usize = 20 * 1024;
/// The answer's body read at most.
const MAX_RESPONSE: usize = 1024 * 1024;

/// Runs the deliverer until shutdown, restarted if it panics.
pub fn spawn(platform: Arc<Platform>) {
    let workers = platform.workers.clone();
    workers.supervise(Deliverer::NAME, move |shutdown| {
        let deliverer = Arc::new(Deliverer {
            platform: platform.clone(),
            per_subscription: Mutex::default(),
            rates: Mutex::default(),
        });
        crate::worker::work(deliverer, shutdown)
    });
}

/// The deliveries queue, as the deliverer works it: a piece of work is one call.
struct Deliverer {
    platform: Arc<Platform>,
    /// Each subscription's limit on attempts in flight, and the places under it.
    per_subscription: Mutex<HashMap<SubscriptionId, (u32, Arc<Semaphore>)>>,
    rates: Mutex<HashMap<SubscriptionId, TokenBucket>>,
}

/// What `410 Gone` does to a subscription, in its `disabled_reason`.
const GONE: &str = "the receiver answered 410 Gone";

/// How one delivery's claim ended: its attempt's record (if one was made), its outcome,
/// and the operational events that tell of it.
type Ended = (Option<Attempt>, DeliveryOutcome, Vec<Notice>);

/// One call: a delivery, or a batch of one subscription's, with what the round read for
/// them.
struct Call {
    deliveries: Vec<Delivery>,
    reads: Arc<RoundReads>,
}

/// At most `rate` attempts a second, in bursts of up to `rate`.
struct TokenBucket {
    tokens: f64,
    at: Instant,
}

impl TokenBucket {
    fn full(rate: u32) -> Self {
        TokenBucket {
            tokens: f64::from(rate),
            at: Instant::now(),
        }
    }

    fn take(&mut self, rate: u32, now: Instant) -> Result<(), Duration> {
        let rate = f64::from(rate.max(1));
        let refill = now.saturating_duration_since(self.at).as_secs_f64() * rate;
        self.tokens = (self.tokens + refill).min(rate);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        Err(Duration::from_secs_f64((1.0 - self.tokens) / rate))
    }
}

impl Queue for Deliverer {
    type Work = Call;
    const NAME: &'static str = "deliverer";
    const QUEUE: WorkQueue = WorkQueue::Deliveries;
    const ROUND_FAIL_POINT: &'static str = "deliverer.round";
    const MAX_SLEEP: Duration = Duration::from_secs(2);

    fn platform(&self) -> &Platform {
        &self.platform
    }

    fn capacity(&self) -> usize {
        IN_FLIGHT
    }

    async fn claim(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> Result<(Vec<Call>, bool), StoreError> {
        let store = self.store();
        let claimed = store
            .claim_deliveries(now, lease_until, limit as u32)
            .await?;
        let full = claimed.len() >= limit;
        let reads = Arc::new(RoundReads::read(store.as_ref(), &claimed).await?);
        let calls = calls(claimed, &reads)
            .into_iter()
            .map(|deliveries| Call {
                deliveries,
                reads: reads.clone(),
            })
            .collect();
        Ok((calls, full))
    }

    fn keys(&self, call: &Call) -> Vec<(String, String)> {
        call.deliveries
            .iter()
            .map(|d| (d.event_id.to_string(), d.subscription_id.to_string()))
            .collect()
    }

    async fn run(&self, call: &Call) -> bool {
        let deliveries = &call.deliveries;
        let span = tracing::info_span!(
            "delivery",
            id = deliveries[0].id(),
            batched = deliveries.len()
        );
        self.call(deliveries, &call.reads).instrument(span).await
    }

    async fn after_panic(&self, call: &Call, panic: &str) {
        self.release_after_panic(&call.deliveries, panic).await;
    }

    async fn give_back(&self, call: &Call, _leases: &[Lease]) {
        self.put_back(&call.deliveries).await;
    }

    async fn next_due(&self) -> Result<Option<Timestamp>, StoreError> {
        self.store().next_delivery_due().await
    }
}

impl Deliverer {
    /// A place among the subscription's attempts in flight, if one frees up soon. A fast
    /// receiver frees places within milliseconds; waiting longer for a slow one would hold
    /// this node's slots, so the delivery is postponed instead.
    async fn subscription_slot(
        &self,
        subscription: &WebhookSubscription,
    ) -> Option<OwnedSemaphorePermit> {
        let semaphore = {
            let mut slots = self
                .per_subscription
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let capacity = subscription.max_in_flight.max(1);
            let entry = slots
                .entry(subscription.id.clone())
                .or_insert_with(|| (capacity, Arc::new(Semaphore::new(capacity as usize))));
            if entry.0 != capacity {
                // Changed through the API: attempts under the old limit finish as they are.
                *entry = (capacity, Arc::new(Semaphore::new(capacity as usize)));
            }
            entry.1.clone()
        };
        let waited = tokio::time::timeout(SLOT_WAIT, semaphore.acquire_owned()).await;
        waited.ok()?.ok()
    }

    /// `Err` with how long to wait when the subscription is at its rate.
    fn within_rate(&self, subscription: &WebhookSubscription) -> Result<(), Duration> {
        let Some(rate) = subscription.rate_per_second else {
            return Ok(());
        };
        let mut buckets = self.rates.lock().unwrap_or_else(|e| e.into_inner());
        buckets
            .entry(subscription.id.clone())
            .or_insert_with(|| TokenBucket::full(rate))
            .take(rate, Instant::now())
    }

    /// Makes one call for the deliveries (one, or a batch of one subscription's) and
    /// records each one's outcome.
    /// Returns whether the call let other deliveries go: it ended one of a FIFO
    /// subscription, or put some back for later.
    async fn call(&self, call: &[Delivery], reads: &RoundReads) -> bool {
        crate::fail_points::check("delivery.call");
        let store = self.platform.store.clone();
        let ended = match self.attempt(call, reads).await {
            Ok(ended) => ended,
            Err(error) => {
                // The claims run out and the deliveries are tried again.
                tracing::error!(%error, "a delivery could not be attempted");
                return false;
            }
        };
        let fifo = reads
            .subscriptions
            .get(&call[0].subscription_id)
            .and_then(Option::as_ref)
            .is_some_and(|s| s.fifo);
        let mut unblocks = fifo;
        let mut told = false;
        for (delivery, (attempt, outcome, notices)) in call.iter().zip(ended) {
            unblocks |= matches!(outcome, DeliveryOutcome::Postponed(_));
            told |= !notices.is_empty();
            let finished = store.finish_delivery(delivery, attempt.as_ref(), outcome, &notices);
            if let Err(error) = finished.await {
                tracing::error!(%error, "a delivery was attempted but its outcome not recorded");
            }
        }
        if told {
            // The operational events' own deliveries are due now.
            self.platform.wake(WorkQueue::Deliveries);
        }
        unblocks
    }

    /// Gives claimed deliveries back as they were, due now, without counting an attempt.
    async fn put_back(&self, call: &[Delivery]) {
        let now = weir_core::now();
        for delivery in call {
            let finished = self.platform.store.finish_delivery(
                delivery,
                None,
                DeliveryOutcome::Postponed(now),
                &[],
            );
            if let Err(error) = finished.await {
                tracing::error!(%error, id = delivery.id(), "a claimed delivery could not be put back; its lease will run out");
            }
        }
    }

    /// After a panic while making a call: each delivery's attempt is recorded as failed
    /// with the panic, and the delivery retried on its schedule (so a delivery that always
    /// makes Weir fail ends dead, kept and replayable, rather than failing for ever). An
    /// outcome recorded before the panic stands: finishing an ended claim changes nothing.
    async fn release_after_panic(&self, call: &[Delivery], panic: &str) {
        let now = weir_core::now();
        for delivery in call {
            let attempt = Attempt {
                number: delivery.attempts,
                at: now,
                status_code: None,
                duration_ms: 0,
                error: Some(format!("Weir failed while making this attempt: {panic}")),
                response: None,
            };
            let outcome = match delivery::next_attempt(delivery.tries, now, None) {
                Some(at) => DeliveryOutcome::RetryAt(at),
                None => DeliveryOutcome::Dead,
            };
            let finished =
                self.platform
                    .store
                    .finish_delivery(delivery, Some(&attempt), outcome, &[]);
            if let Err(error) = finished.await {
                tracing::error!(%error, id = delivery.id(), "a delivery could not be released; its lease will run out");
            }
        }
    }

    /// Makes the call, if the deliveries are still wanted; returns, for each delivery in
    /// order, its attempt's record, what becomes of it, and what the operator is told of
    /// it (operational webhooks).
    async fn attempt(
        &self,
        call: &[Delivery],
        reads: &RoundReads,
    ) -> Result<Vec<Ended>, StoreError> {
        let unattempted = |outcome: DeliveryOutcome| {
            (0..call.len())
                .map(|_| (None, outcome, Vec::new()))
                .collect::<Vec<Ended>>()
        };
        let subscription = reads.subscriptions.get(&call[0].subscription_id);
        let Some(subscription) = subscription.cloned().flatten().filter(|s| s.enabled) else {
            return Ok(unattempted(DeliveryOutcome::Dead));
        };
        if let Err(wait) = self.within_rate(&subscription) {
            let wait = SignedDuration::try_from(wait).unwrap_or(BUSY_WAIT);
            return Ok(unattempted(DeliveryOutcome::Postponed(
                weir_core::now() + wait,
            )));
        }
        let Some(_in_flight) = self.subscription_slot(&subscription).await else {
            let later = weir_core::now() + BUSY_WAIT;
            return Ok(unattempted(DeliveryOutcome::Postponed(later)));
        };
        // An event gone meanwhile (its account deleted) kills its delivery alone.
        let events: Vec<Option<&ProductEvent>> = call
            .iter()
            .map(|d| reads.events.get(&d.event_id).and_then(Option::as_ref))
            .collect();
        let sent: Vec<&ProductEvent> = events.iter().flatten().copied().collect();
        if sent.is_empty() {
            return Ok(unattempted(DeliveryOutcome::Dead));
        }
        let body = match subscription.kind {
            // An operational event is sent alone, as the object it was stored as.
            SubscriptionKind::OperationalWebhook => sent[0].body.to_string().into_bytes(),
            _ => body(&sent, &subscription).to_string().into_bytes(),
        };
        let id = match call.len() {
            1 => call[0].id(),
            _ => delivery::batch_id(&call.iter().map(Delivery::id).collect::<Vec<_>>()),
        };
        let (attempt, retry_after) = self.send(&id, &call[0], &subscription, body).await;
        let verdict = Verdict::of(subscription.kind, attempt.status_code);
        let disable_for = match verdict {
            Verdict::Gone => Some(GONE.to_owned()),
            _ => self.note_health(&subscription, verdict, attempt.at).await?,
        };
        let now = weir_core::now();
        let ended: Vec<Ended> = call
            .iter()
            .zip(&events)
            .map(|(delivery, event)| {
                let Some(event) = event else {
                    return (None, DeliveryOutcome::Dead, Vec::new());
                };
                let record = Attempt {
                    number: delivery.attempts,
                    ..attempt.clone()
                };
                if disable_for.is_some() {
                    // The disable below kills it, and tells of it.
                    return (Some(record), DeliveryOutcome::Dead, Vec::new());
                }
                let outcome = self.outcome(delivery, event, verdict, retry_after, now);
                let told = self.notices(&subscription, delivery, &record, outcome);
                (Some(record), outcome, told)
            })
            .collect();
        if let Some(why) = disable_for {
            self.disable_after(subscription, &why, verdict, call, &ended)
                .await?;
        }
        Ok(ended)
    }

    /// Disables the subscription after an attempt that failed for good (`why`): the
    /// call's deliveries die with the rest of its waiting ones, and the operator is told
    /// of the disable and of each of their deaths.
    async fn disable_after(
        &self,
        subscription: WebhookSubscription,
        why: &str,
        verdict: Verdict,
        call: &[Delivery],
        ended: &[Ended],
    ) -> Result<(), StoreError> {
        let counted = match verdict {
            Verdict::Gone => AttemptOutcome::Gone,
            _ => AttemptOutcome::Dead,
        };
        self.platform.metrics.count_attempt(counted);
        let reason = format!("its subscription is disabled: {why}");
        let died = ended
            .iter()
            .zip(call)
            .filter_map(|((record, _, _), delivery)| {
                let record = record.as_ref()?;
                Some(notices::delivery_dead(
                    &subscription,
                    delivery,
                    record,
                    &reason,
                ))
            })
            .collect();
        self.disable(subscription, why, died).await
    }

    /// What the operator is told of a delivery's attempt that did not disable its
    /// subscription: `delivery.dead` when it was the last, `subscription.failing` when
    /// it has failed again and again (debounced).
    fn notices(
        &self,
        subscription: &WebhookSubscription,
        delivery: &Delivery,
        attempt: &Attempt,
        outcome: DeliveryOutcome,
    ) -> Vec<Notice> {
        if !notices::told_of(subscription) {
            return Vec::new();
        }
        match outcome {
            DeliveryOutcome::Dead => {
                let reason = format!("out of attempts: its last {} failed", delivery.tries);
                vec![notices::delivery_dead(
                    subscription,
                    delivery,
                    attempt,
                    &reason,
                )]
            }
            DeliveryOutcome::RetryAt(_) => {
                notices::subscription_failing(&self.platform, subscription, delivery, attempt)
                    .into_iter()
                    .collect()
            }
            DeliveryOutcome::Delivered | DeliveryOutcome::Postponed(_) => Vec::new(),
        }
    }

    /// What one delivery's attempt came to, counted for `/metrics`.
    fn outcome(
        &self,
        delivery: &Delivery,
        event: &ProductEvent,
        verdict: Verdict,
        retry_after: Option<SignedDuration>,
        now: jiff::Timestamp,
    ) -> DeliveryOutcome {
        let metrics = &self.platform.metrics;
        match verdict {
            Verdict::Delivered => {
                metrics.count_attempt(AttemptOutcome::Delivered);
                let waited = now.duration_since(event.received_at);
                metrics.observe_delivery(Duration::try_from(waited).unwrap_or_default());
                DeliveryOutcome::Delivered
            }
            Verdict::Gone => DeliveryOutcome::Dead,
            Verdict::Retry => match delivery::next_attempt(delivery.tries, now, retry_after) {
                Some(at) => {
                    metrics.count_attempt(AttemptOutcome::Failed);
                    DeliveryOutcome::RetryAt(at)
                }
                None => {
                    metrics.count_attempt(AttemptOutcome::Dead);
                    DeliveryOutcome::Dead
                }
            },
        }
    }

    /// POSTs the body, signed; returns the attempt's record and the `Retry-After` asked.
    async fn send(
        &self,
        id: &str,
        delivery: &Delivery,
        subscription: &WebhookSubscription,
        body: Vec<u8>,
    ) -> (Attempt, Option<SignedDuration>) {
        let at = weir_core::now();
        let timestamp = at.as_second();
        let secrets = subscription.signing_secrets(at);
        let signature = delivery::signature_header(&secrets, id, timestamp, &body);
        let started = Instant::now();
        let sent = match self.url_of(subscription, at) {
            Err(error) => Err(SendError::Invalid(format!("the URL is not valid: {error}"))),
            Ok(url) => {
                self.platform
                    .outbound
                    .send(OutboundRequest {
                        method: reqwest::Method::POST,
                        url,
                        headers: vec![
                            ("content-type".into(), "application/json".into()),
                            ("webhook-id".into(), id.to_owned()),
                            ("webhook-timestamp".into(), timestamp.to_string()),
                            ("webhook-signature".into(), signature),
                        ],
                        body: Some(body),
                        timeout: Duration::from_millis(u64::from(subscription.timeout_ms)),
                        max_response_bytes: MAX_RESPONSE,
                    })
                    .await
            }
        };
        let duration_ms = started.elapsed().as_millis() as u64;
        let number = delivery.attempts;
        match sent {
            Ok(response) => {
                let retry_after = response.header("retry-after").and_then(retry_after_of);
                let excerpt = &response.body[..response.body.len().min(RESPONSE_EXCERPT)];
                let attempt = Attempt {
                    number,
                    at,
                    status_code: Some(response.status),
                    duration_ms,
                    error: None,
                    response: Some(String::from_utf8_lossy(excerpt).into_owned()),
                };
                (attempt, retry_after)
            }
            Err(error) => {
                let attempt = Attempt {
                    number,
                    at,
                    status_code: None,
                    duration_ms,
                    error: Some(error.to_string()),
                    response: None,
                };
                (attempt, None)
            }
        }
    }

    fn url_of(
        &self,
        subscription: &WebhookSubscription,
        at: jiff::Timestamp,
    ) -> Result<url::Url, url::ParseError> {
        delivery_url(&self.platform.settings.security_key, subscription, at)
    }

    /// Keeps track of how long the subscription has failed; once that lasts
    /// `disable_failing_after`, answers why it is to be disabled.
    async fn note_health(
        &self,
        subscription: &WebhookSubscription,
        verdict: Verdict,
        at: jiff::Timestamp,
    ) -> Result<Option<String>, StoreError> {
        let store = &self.platform.store;
        match (verdict, subscription.failing_since) {
            (Verdict::Delivered, Some(_)) => {
                store.set_failing_since(&subscription.id, None).await?
            }
            (Verdict::Retry, None) => store.set_failing_since(&subscription.id, Some(at)).await?,
            (Verdict::Retry, Some(since)) => {
                let limit = self.platform.settings.disable_failing_after;
                let failing = Duration::try_from(at.duration_since(since)).unwrap_or_default();
                if failing >= limit {
                    return Ok(Some(format!("every attempt has failed since {since}")));
                }
            }
            _ => {}
        }
        Ok(None)
    }

    /// Disables the subscription (its waiting deliveries die, the claimed ones too) and
    /// tells the operator, with the deaths of `died`, in one transaction.
    async fn disable(
        &self,
        subscription: WebhookSubscription,
        why: &str,
        died: Vec<Notice>,
    ) -> Result<(), StoreError> {
        tracing::warn!(subscription = %subscription.id, why, "a subscription is disabled");
        let mut told = Vec::new();
        if notices::told_of(&subscription) {
            told.push(notices::subscription_disabled(&subscription, why));
            told.extend(died);
        }
        let store = &self.platform.store;
        let disabled = store
            .disable_webhook_subscription(&subscription.id, why, weir_core::now(), &told)
            .await?;
        if disabled && !told.is_empty() {
            self.platform.wake(WorkQueue::Deliveries);
        }
        Ok(())
    }
}

/// What a round's claimed deliveries need, read once for them all: with a fan-out of ten,
/// one event and its subscriptions serve ten deliveries.
struct RoundReads {
    subscriptions: HashMap<SubscriptionId, Option<WebhookSubscription>>,
    events: HashMap<EventId, Option<ProductEvent>>,
}

impl RoundReads {
    /// Two reads for the whole round, whatever it claimed, made at once: its
    /// subscriptions and its events (a read each, one after the other, was most of a
    /// round on PostgreSQL, and a round's time is the wait of what is stored during it).
    async fn read(store: &dyn weir_store::Store, claimed: &[Delivery]) -> Result<Self, StoreError> {
        // Each id once; what was claimed but is no longer there reads as `None`.
        let mut subscriptions: HashMap<SubscriptionId, Option<WebhookSubscription>> = claimed
            .iter()
            .map(|d| (d.subscription_id.clone(), None))
            .collect();
        let mut events: HashMap<EventId, Option<ProductEvent>> =
            claimed.iter().map(|d| (d.event_id.clone(), None)).collect();
        if !claimed.is_empty() {
            let subscription_ids: Vec<SubscriptionId> = subscriptions.keys().cloned().collect();
            let event_ids: Vec<EventId> = events.keys().cloned().collect();
            let (read_subscriptions, read_events) = tokio::try_join!(
                store.webhook_subscriptions_by_id(&subscription_ids),
                store.product_events(&event_ids)
            )?;
            for subscription in read_subscriptions {
                subscriptions.insert(subscription.id.clone(), Some(subscription));
            }
            for event in read_events {
                events.insert(event.id.clone(), Some(event));
            }
        }
        Ok(RoundReads {
            subscriptions,
            events,
        })
    }
}

/// Zoho's body: a JSON array of events, each `{eventType, payload, prevState?,
/// eventTime, orgId}`. `prevState` goes along when the subscription asked for it.
/// Public so that `weir dev` shows the very body a URL would receive.
pub fn body(events: &[&ProductEvent], subscription: &WebhookSubscription) -> Value {
    let elements = events
        .iter()
        .map(|event| element(event, subscription))
        .collect();
    Value::Array(elements)
}

fn element(event: &ProductEvent, subscription: &WebhookSubscription) -> Value {
    let occurred_at = event
        .body
        .get("occurred_at")
        .and_then(Value::as_str)
        .and_then(|at| at.parse().ok());
    let event_time = delivery::event_time(occurred_at.unwrap_or(event.received_at));
    let mut element = json!({
        "eventType": event.name,
        "payload": event.body.get("data").cloned().unwrap_or(Value::Null),
        "eventTime": event_time,
        "orgId": event.account_id.as_str(),
    });
    let wants_previous = subscription
        .filters
        .get(&event.name)
        .and_then(|filter| filter.get("includePrevState"))
        .and_then(Value::as_bool)
        == Some(true);
    if wants_previous && let Some(previous) = event.body.get("prev_state") {
        element["prevState"] = previous.clone();
    }
    element
}

/// A round's claimed deliveries as calls: each alone, except that a subscription with a
/// `batch_size` over one gets its deliveries in calls of up to that many, in event order,
/// and of at most `MAX_BATCH_BYTES` of events (one larger event goes alone). A batch's
/// `webhook-id` is made from all its deliveries' ids (`delivery::batch_id`).
fn calls(claimed: Vec<Delivery>, reads: &RoundReads) -> Vec<Vec<Delivery>> {
    let mut calls: Vec<Vec<Delivery>> = Vec::new();
    // Per batching subscription: its open call and the bytes in it so far.
    let mut open: HashMap<SubscriptionId, (usize, usize)> = HashMap::new();
    for delivery in claimed {
        let size = reads
            .subscriptions
            .get(&delivery.subscription_id)
            .and_then(Option::as_ref)
            .map_or(1, |s| s.batch_size.max(1)) as usize;
        if size == 1 {
            calls.push(vec![delivery]);
            continue;
        }
        let bytes = reads
            .events
            .get(&delivery.event_id)
            .and_then(Option::as_ref)
            .map_or(0, |event| event.body.to_string().len());
        match open.get_mut(&delivery.subscription_id) {
            Some((index, filled))
                if calls[*index].len() < size && *filled + bytes <= MAX_BATCH_BYTES =>
            {
                *filled += bytes;
                calls[*index].push(delivery);
            }
            _ => {
                open.insert(delivery.subscription_id.clone(), (calls.len(), bytes));
                calls.push(vec![delivery]);
            }
        }
    }
    calls
}

/// `Retry-After` in seconds (the HTTP-date form is not used by webhook receivers in
/// practice, and is ignored).
fn retry_after_of(value: &str) -> Option<SignedDuration> {
    let seconds: i64 = value.trim().parse().ok()?;
    (0..=86_400)
        .contains(&seconds)
        .then(|| SignedDuration::from_secs(seconds))
}

/// Where an attempt made at `at` goes: the subscription's URL, with `orgId` and a fresh
/// `securityContext` for an extension webhook (valid for an hour).
pub(crate) fn delivery_url(
    key: &crate::platform::SecurityKey,
    subscription: &WebhookSubscription,
    at: jiff::Timestamp,
) -> Result<url::Url, url::ParseError> {
    let url = url::Url::parse(&subscription.url)?;
    let Some(installation) = &subscription.installation_id else {
        return Ok(url);
    };
    let expires = at + SignedDuration::from_hours(1);
    let context = weir_core::security_context::issue(&key.0, installation, expires);
    let org = subscription.account_id.as_str();
    Ok(extension_webhooks::callback_url(&url, org, &context))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_read_in_seconds() {
        assert_eq!(retry_after_of("120"), Some(SignedDuration::from_secs(120)));
        assert_eq!(retry_after_of(" 5 "), Some(SignedDuration::from_secs(5)));
        assert_eq!(retry_after_of("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(retry_after_of("-1"), None);
    }

    fn stored(account: &weir_core::AccountId, bytes: usize) -> ProductEvent {
        ProductEvent {
            id: EventId::generate(),
            account_id: account.clone(),
            source: weir_core::EventSource::Product(weir_core::Product::zoho_desk()),
            name: "Ticket_Add".into(),
            body: json!({"data": {"note": "x".repeat(bytes)}}),
            idempotency_key: None,
            received_at: weir_core::now(),
        }
    }

    fn owed(event: &ProductEvent, subscription: &SubscriptionId) -> Delivery {
        let now = weir_core::now();
        Delivery {
            event_id: event.id.clone(),
            subscription_id: subscription.clone(),
            account_id: event.account_id.clone(),
            event: event.name.clone(),
            status: weir_core::DeliveryStatus::Pending,
            attempts: 1,
            tries: 1,
            generation: 1,
            run_at: now,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn batches_hold_their_size_in_events_and_in_bytes() {
        let account = weir_core::AccountId::parse("600").unwrap();
        let batching = SubscriptionId::generate();
        let single = SubscriptionId::generate();
        let mut reads = RoundReads {
            subscriptions: HashMap::new(),
            events: HashMap::new(),
        };
        for (id, batch_size) in [(&batching, 20), (&single, 1)] {
            let subscription = WebhookSubscription {
                id: id.clone(),
                account_id: account.clone(),
                installation_id: None,
                kind: weir_core::SubscriptionKind::CustomerWebhook,
                url: "https://hooks.example.com/".into(),
                events: vec!["Ticket_Add".into()],
                filters: serde_json::Map::new(),
                secret: weir_core::WebhookSecret::generate(),
                previous_secrets: Vec::new(),
                enabled: true,
                disabled_reason: None,
                timeout_ms: 5_000,
                max_in_flight: 8,
                rate_per_second: None,
                fifo: false,
                batch_size,
                linger_ms: 0,
                failing_since: None,
                created_at: weir_core::now(),
                updated_at: weir_core::now(),
            };
            reads.subscriptions.insert(id.clone(), Some(subscription));
        }
        // 25 small events, 3 of 100 KB, and 2 to the subscription that does not batch.
        let mut claimed = Vec::new();
        for bytes in [[10; 25].as_slice(), &[100 * 1024; 3]].concat() {
            let event = stored(&account, bytes);
            claimed.push(owed(&event, &batching));
            reads.events.insert(event.id.clone(), Some(event));
        }
        for _ in 0..2 {
            let event = stored(&account, 10);
            claimed.push(owed(&event, &single));
            reads.events.insert(event.id.clone(), Some(event));
        }
        let sizes: Vec<usize> = calls(claimed, &reads).iter().map(Vec::len).collect();
        // 20 small; 5 small and two large (under 256 KB); the third large; each alone.
        assert_eq!(sizes, [20, 7, 1, 1, 1]);
    }
}
