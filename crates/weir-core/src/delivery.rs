//! Delivering events to outside URLs, the parts with no I/O: Standard Webhooks signing
//! (REFERENCE §7), the retry schedule (DESIGN.md "Outbound HTTP"), and what a receiver's
//! answer means.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use sha2::Sha256;

use serde::Serialize;
use serde_json::Value;

use crate::{AccountId, EventId, InstallationId, InvalidValue, ProductEvent, SubscriptionId};

/// Where an account's events are delivered: Zoho's webhook object (REFERENCE §5). Made
/// from a checked [`crate::SubscriptionSpec`], changed through a checked
/// [`crate::SubscriptionChange`].
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookSubscription {
    pub id: SubscriptionId,
    pub account_id: AccountId,
    /// The installation an extension webhook belongs to (`None` for the operator's own).
    pub installation_id: Option<InstallationId>,
    pub kind: SubscriptionKind,
    pub url: String,
    /// Event names, e.g. `Ticket_Add` or `onContactCreate`.
    pub events: Vec<String>,
    /// Per event, Zoho's filter object (`departmentIds`, `fields`, …), as given.
    pub filters: serde_json::Map<String, Value>,
    /// The current secret: `whsec_…` signs `v1` (HMAC-SHA256), `whsk_…` signs `v1a`
    /// (Ed25519).
    pub secret: WebhookSecret,
    /// Secrets replaced by rotations, each still signed with until its own time; at most
    /// [`MAX_PREVIOUS_SECRETS`].
    pub previous_secrets: Vec<PreviousSecret>,
    pub enabled: bool,
    /// Why it was disabled (a 410, failing for too long, the operator).
    pub disabled_reason: Option<String>,
    /// Per attempt.
    pub timeout_ms: u32,
    /// Attempts in flight at most, per node.
    pub max_in_flight: u32,
    /// Attempts per second at most, per node; `None` for no limit.
    pub rate_per_second: Option<u32>,
    /// Deliveries in event order: the next waits until the one before has succeeded or
    /// died.
    pub fifo: bool,
    /// Events sent in one call at most (Zoho batches); 1 sends each alone.
    pub batch_size: u32,
    /// How long a new delivery waits for others to share its call.
    pub linger_ms: u32,
    /// Since when every attempt has failed; `None` after a success.
    pub failing_since: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Kept here too, where deliveries are, for the code that makes subscriptions by hand.
pub use crate::subscription::DEFAULT_MAX_IN_FLIGHT;

/// A secret replaced by a rotation, still signed with until `until`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PreviousSecret {
    pub secret: WebhookSecret,
    #[serde(with = "millis")]
    pub until: Timestamp,
}

/// A subscription keeps at most this many previous secrets: a rotation beyond them drops
/// the one whose grace ends soonest (it would have stopped signing first anyway).
pub const MAX_PREVIOUS_SECRETS: usize = 5;

impl WebhookSubscription {
    /// The secrets to sign with at `now`: the current one, and each previous one while
    /// its grace period lasts.
    pub fn signing_secrets(&self, now: Timestamp) -> Vec<&WebhookSecret> {
        std::iter::once(&self.secret)
            .chain(
                self.previous_secrets
                    .iter()
                    .filter(|previous| previous.until > now)
                    .map(|previous| &previous.secret),
            )
            .collect()
    }

    /// The subscription after a rotation at `now` to `new` (of the same scheme): the
    /// current secret joins the previous ones until `now + grace`, without cutting any
    /// other's grace short. Expired ones are forgotten, and beyond
    /// [`MAX_PREVIOUS_SECRETS`] the soonest to expire go.
    pub fn rotated(self, new: WebhookSecret, grace: SignedDuration, now: Timestamp) -> Self {
        let mut previous: Vec<PreviousSecret> = self
            .previous_secrets
            .into_iter()
            .filter(|p| p.until > now)
            .chain(std::iter::once(PreviousSecret {
                secret: self.secret,
                until: now + grace,
            }))
            .filter(|p| p.until > now)
            .collect();
        previous.sort_by_key(|p| std::cmp::Reverse(p.until));
        previous.truncate(MAX_PREVIOUS_SECRETS);
        WebhookSubscription {
            secret: new,
            previous_secrets: previous,
            updated_at: now,
            ..self
        }
    }
}

/// Times as integer milliseconds, as the store keeps them.
mod millis {
    use jiff::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(at: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(at.as_millisecond())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        Timestamp::from_millisecond(i64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Zoho's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SubscriptionKind {
    /// Made through the API (Zoho's CUSTOMER_WEBHOOK).
    CustomerWebhook,
    /// Made from an app's `resources.json` at install (EXTENSION_WEBHOOK): only the app's
    /// lifecycle changes it.
    ExtensionWebhook,
    /// The operator's endpoint for Weir's own events (`crate::operational`), owned by
    /// the instance account.
    OperationalWebhook,
}

impl SubscriptionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionKind::CustomerWebhook => "CUSTOMER_WEBHOOK",
            SubscriptionKind::ExtensionWebhook => "EXTENSION_WEBHOOK",
            SubscriptionKind::OperationalWebhook => "OPERATIONAL_WEBHOOK",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            SubscriptionKind::CustomerWebhook,
            SubscriptionKind::ExtensionWebhook,
            SubscriptionKind::OperationalWebhook,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == value)
    }
}

/// One event owed to one subscription. Its id, the `webhook-id` receivers deduplicate
/// on, is made of the two (`msg_<event>_<subscription>`), so it is the same on every
/// attempt and replay.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    pub event_id: EventId,
    pub subscription_id: SubscriptionId,
    pub account_id: AccountId,
    /// The event's name.
    pub event: String,
    pub status: DeliveryStatus,
    /// Every attempt so far (they are numbered 1, 2, …).
    pub attempts: u32,
    /// Attempts since the last replay: where the retry schedule stands.
    pub tries: u32,
    /// Moves with every claim, replay, recovery and kill: a claim's outcome is recorded
    /// only while the generation is still the claim's.
    pub generation: u32,
    /// When the next attempt is due (pending), or was made.
    pub run_at: Timestamp,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Delivery {
    pub fn id(&self) -> String {
        delivery_id(&self.event_id, &self.subscription_id)
    }
}

/// The `webhook-id` of a call carrying several deliveries: made from all their ids, so a
/// receiver deduplicating on it never drops a call that carries a delivery it has not
/// seen (a retry may group deliveries differently).
pub fn batch_id(delivery_ids: &[String]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(delivery_ids.join(",").as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("msg_batch_{hex}")
}

/// `msg_<event ulid>_<subscription ulid>`.
pub fn delivery_id(event: &EventId, subscription: &SubscriptionId) -> String {
    let tail = |id: &str| id.split_once('_').map_or(id, |(_, rest)| rest).to_owned();
    format!(
        "msg_{}_{}",
        tail(event.as_str()),
        tail(subscription.as_str())
    )
}

/// The event and subscription a delivery id names.
pub fn parse_delivery_id(id: &str) -> Option<(EventId, SubscriptionId)> {
    let rest = id.strip_prefix("msg_")?;
    let (event, subscription) = rest.split_once('_')?;
    Some((
        EventId::parse(&format!("evt_{event}")).ok()?,
        SubscriptionId::parse(&format!("sub_{subscription}")).ok()?,
    ))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    /// Out of attempts, or its subscription was disabled: kept, and replayable.
    Dead,
    /// Stored while its subscription was disabled: never attempted; recovering the
    /// subscription after it is enabled again sends it.
    Skipped,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Dead => "dead",
            DeliveryStatus::Skipped => "skipped",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Delivered,
            DeliveryStatus::Dead,
            DeliveryStatus::Skipped,
        ]
        .into_iter()
        .find(|status| status.as_str() == value)
    }
}

/// One try of a delivery.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attempt {
    pub number: u32,
    pub at: Timestamp,
    /// The receiver's status; `None` when it never answered.
    pub status_code: Option<u16>,
    pub duration_ms: u64,
    /// Why there was no answer (a timeout, a refused connection, the SSRF guard).
    pub error: Option<String>,
    /// The start of the answer's body, up to 20 KB.
    pub response: Option<String>,
}

/// Whether an event passes a subscription's filter for it (Zoho's, REFERENCE §5):
/// - `ignoreSourceId`: an event posted with this `source_id` is not delivered (no echo
///   loops);
/// - `departmentIds`: the event's `department_id` must be among them (an event without
///   one passes);
/// - `fields` (Ticket_Update): one of these fields must have changed: the keys of the
///   posted `changes` (or of its `model_changes`), else the fields whose value differs
///   between the posted `prev_state` and the record; an event that says nothing of what
///   changed passes;
/// - `direction` (Ticket_Thread_Add): the record's `direction` must be it.
///
/// `includePrevState` does not filter: it adds `prevState` to the body.
pub fn passes(filter: &Value, event: &ProductEvent) -> bool {
    let body = &event.body;
    let text = |value: &Value| match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if let Some(ignored) = filter.get("ignoreSourceId").and_then(Value::as_str)
        && body.get("source_id").map(text).as_deref() == Some(ignored)
    {
        return false;
    }
    if let Some(Value::Array(departments)) = filter.get("departmentIds")
        && !departments.is_empty()
        && let Some(department) = body.get("department_id").filter(|d| !d.is_null())
        && !departments.iter().any(|d| text(d) == text(department))
    {
        return false;
    }
    if let Some(Value::Array(fields)) = filter.get("fields")
        && !fields.is_empty()
        && let Some(changed) = changed_fields(body)
        && !fields
            .iter()
            .any(|f| f.as_str().is_some_and(|f| changed.contains(&f.to_owned())))
    {
        return false;
    }
    if let Some(direction) = filter.get("direction").and_then(Value::as_str)
        && body["data"].get("direction").and_then(Value::as_str) != Some(direction)
    {
        return false;
    }
    true
}

/// What an update changed, if the event says.
fn changed_fields(body: &Value) -> Option<Vec<String>> {
    if let Some(Value::Object(changes)) = body.get("changes") {
        let changes = match changes.get("model_changes") {
            Some(Value::Object(model)) => model,
            _ => changes,
        };
        return Some(changes.keys().cloned().collect());
    }
    let (Some(Value::Object(before)), Some(Value::Object(after))) =
        (body.get("prev_state"), body.get("data"))
    else {
        return None;
    };
    let keys = before.keys().chain(after.keys());
    let mut changed: Vec<String> = keys
        .filter(|key| before.get(*key) != after.get(*key))
        .cloned()
        .collect();
    changed.dedup();
    Some(changed)
}

/// A subscription's signing secret. Its `Debug` never prints it. Either
/// - `whsec_` and the base64 of 24 to 64 random bytes: signs `v1` (HMAC-SHA256), or
/// - `whsk_` and the base64 of an Ed25519 private key's 32-byte seed and its 32-byte
///   public key (as Svix keeps them): signs `v1a`, verified with the `whpk_` public key.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

const SECRET_PREFIX: &str = "whsec_";
const SIGNING_KEY_PREFIX: &str = "whsk_";
const PUBLIC_KEY_PREFIX: &str = "whpk_";

/// How deliveries are signed (Standard Webhooks' signature versions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum SignatureScheme {
    /// HMAC-SHA256 with a shared secret.
    #[serde(rename = "v1")]
    V1,
    /// Ed25519: the receiver verifies with the public key alone.
    #[serde(rename = "v1a")]
    V1a,
}

impl WebhookSecret {
    /// A new `v1` secret of 32 random bytes.
    pub fn generate() -> Self {
        Self::generate_for(SignatureScheme::V1)
    }

    /// A new secret of the scheme.
    pub fn generate_for(scheme: SignatureScheme) -> Self {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).expect("the operating system's random source failed");
        match scheme {
            SignatureScheme::V1 => {
                WebhookSecret(format!("{SECRET_PREFIX}{}", STANDARD.encode(seed)))
            }
            SignatureScheme::V1a => {
                let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(&seed)
                    .expect("any 32 bytes are an Ed25519 seed");
                let mut key = seed.to_vec();
                key.extend_from_slice(ring::signature::KeyPair::public_key(&pair).as_ref());
                WebhookSecret(format!("{SIGNING_KEY_PREFIX}{}", STANDARD.encode(key)))
            }
        }
    }

    /// A secret the operator chose: `whsec_` and base64 of 24 to 64 bytes, or `whsk_` and
    /// base64 of an Ed25519 seed and its public key.
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        if let Some(key) = value.strip_prefix(SIGNING_KEY_PREFIX) {
            let key = STANDARD
                .decode(key)
                .map_err(|_| InvalidValue("a signing key is whsk_ followed by base64".into()))?;
            if key.len() != 64 || ed25519_pair(&key).is_none() {
                return Err(InvalidValue(
                    "a whsk_ signing key holds an Ed25519 seed and its public key (64 bytes)"
                        .into(),
                ));
            }
            return Ok(WebhookSecret(value.to_owned()));
        }
        let key = value
            .strip_prefix(SECRET_PREFIX)
            .and_then(|key| STANDARD.decode(key).ok())
            .ok_or_else(|| InvalidValue("a secret is whsec_ followed by base64".into()))?;
        if !(24..=64).contains(&key.len()) {
            return Err(InvalidValue(format!(
                "a secret holds 24 to 64 bytes; this one holds {}",
                key.len()
            )));
        }
        Ok(WebhookSecret(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn scheme(&self) -> SignatureScheme {
        match self.0.starts_with(SIGNING_KEY_PREFIX) {
            true => SignatureScheme::V1a,
            false => SignatureScheme::V1,
        }
    }

    /// For a `v1a` secret, the public key receivers verify with: `whpk_` and base64.
    pub fn public_key(&self) -> Option<String> {
        let key = self.key();
        let pair = ed25519_pair(&key)?;
        let public = ring::signature::KeyPair::public_key(&pair);
        Some(format!(
            "{PUBLIC_KEY_PREFIX}{}",
            STANDARD.encode(public.as_ref())
        ))
    }

    fn key(&self) -> Vec<u8> {
        let encoded = self
            .0
            .strip_prefix(SECRET_PREFIX)
            .or_else(|| self.0.strip_prefix(SIGNING_KEY_PREFIX))
            .unwrap_or(&self.0);
        STANDARD.decode(encoded).unwrap_or_default()
    }

    /// `v1,<base64 HMAC-SHA256>` or `v1a,<base64 Ed25519 signature>` of
    /// `"{id}.{timestamp}.{body}"`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut content = format!("{id}.{timestamp}.").into_bytes();
        content.extend_from_slice(body);
        match self.scheme() {
            SignatureScheme::V1 => {
                let mut mac = Hmac::<Sha256>::new_from_slice(&self.key())
                    .expect("HMAC takes a key of any length");
                mac.update(&content);
                format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
            }
            SignatureScheme::V1a => {
                let pair = ed25519_pair(&self.key()).expect("a parsed whsk_ key is a key pair");
                format!("v1a,{}", STANDARD.encode(pair.sign(&content).as_ref()))
            }
        }
    }
}

/// The key pair of a `whsk_` key's bytes (seed, then public key), if they agree.
fn ed25519_pair(key: &[u8]) -> Option<ring::signature::Ed25519KeyPair> {
    let (seed, public) = key.split_at_checked(32)?;
    ring::signature::Ed25519KeyPair::from_seed_and_public_key(seed, public).ok()
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

impl Serialize for WebhookSecret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for WebhookSecret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = String::deserialize(d)?;
        WebhookSecret::parse(&value).map_err(serde::de::Error::custom)
    }
}

/// The `webhook-signature` header: one `v1,…` entry per secret, space-separated, so that
/// a receiver that still has the old secret during a rotation verifies too.
pub fn signature_header(
    secrets: &[&WebhookSecret],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .iter()
        .map(|secret| secret.sign(id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Waits before each attempt after the first: immediately, 5 s, 5 min, 30 min, 2 h, 5 h,
/// 10 h, 10 h (DESIGN.md); eight attempts over about a day.
pub const RETRY_SCHEDULE_SECS: &[i64] = &[5, 300, 1800, 7200, 18_000, 36_000, 36_000];

/// What an answer (or its absence) means for a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx; for an extension webhook, 200 alone (Zoho Desk's rule, REFERENCE §2.3).
    Delivered,
    /// 410 Gone: the receiver wants no more; the subscription is disabled.
    Gone,
    /// Anything else, a timeout or no connection: try again later (honouring
    /// `Retry-After` when given).
    Retry,
}

impl Verdict {
    /// What `status` means for a subscription of `kind`; `None` for no answer at all (a
    /// timeout, a refused connection).
    pub fn of(kind: SubscriptionKind, status: Option<u16>) -> Self {
        match (kind, status) {
            (_, Some(410)) => Verdict::Gone,
            (SubscriptionKind::ExtensionWebhook, Some(200)) => Verdict::Delivered,
            (
                SubscriptionKind::CustomerWebhook | SubscriptionKind::OperationalWebhook,
                Some(200..=299),
            ) => Verdict::Delivered,
            _ => Verdict::Retry,
        }
    }
}

/// An event's time as deliveries carry it (`eventTime`): RFC 3339 in UTC with
/// milliseconds, `2026-11-30T10:00:00.000Z`, the form of Zoho Desk's own examples,
/// whether the product posted the time or Weir took it on receipt.
pub fn event_time(at: Timestamp) -> String {
    let millis = at.as_millisecond();
    let whole = Timestamp::from_millisecond(millis - millis.rem_euclid(1000)).unwrap_or(at);
    let seconds = whole.strftime("%Y-%m-%dT%H:%M:%S");
    format!("{seconds}.{:03}Z", millis.rem_euclid(1000))
}

/// When the attempt after `attempts` failed ones is due, or `None` when none is left: the
/// schedule's wait give or take a fifth (so that retries of many deliveries spread), or
/// the receiver's `Retry-After` when it asked for longer.
pub fn next_attempt(
    attempts: u32,
    now: Timestamp,
    retry_after: Option<SignedDuration>,
) -> Option<Timestamp> {
    let wait = *RETRY_SCHEDULE_SECS.get((attempts as usize).checked_sub(1)?)?;
    let base_ms = wait * 1000;
    let spread = base_ms / 5;
    let jitter = i64::from(now.subsec_nanosecond()) % (2 * spread + 1) - spread;
    let scheduled = SignedDuration::from_millis(base_ms + jitter);
    let wait = match retry_after {
        Some(asked) if asked > scheduled => asked,
        _ => scheduled,
    };
    Some(now + wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// REFERENCE §7's test vector, from the Standard Webhooks reference library.
    #[test]
    fn signs_the_standard_webhooks_test_vector() {
        let secret = WebhookSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        let body = br#"{"email":"test@example.com","username":"test_user"}"#;
        assert_eq!(
            secret.sign("msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1649367553, body),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
        let other = WebhookSecret::generate();
        let header = signature_header(
            &[&secret, &other],
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1649367553,
            body,
        );
        assert!(
            header.starts_with("v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw= v1,"),
            "{header}"
        );
        assert_eq!(format!("{secret:?}"), "WebhookSecret(***)");
    }

    #[test]
    fn a_batch_id_stands_for_exactly_its_deliveries() {
        let ids = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let ab = batch_id(&ids(&["msg_a", "msg_b"]));
        assert_eq!(ab, batch_id(&ids(&["msg_a", "msg_b"])), "stable");
        assert_ne!(ab, batch_id(&ids(&["msg_a", "msg_c"])));
        assert!(ab.starts_with("msg_batch_") && !ab.contains('.'), "{ab}");
    }

    #[test]
    fn delivery_ids_are_made_of_event_and_subscription() {
        let (event, subscription) = (EventId::generate(), SubscriptionId::generate());
        let id = delivery_id(&event, &subscription);
        assert!(id.starts_with("msg_") && !id.contains('.'), "{id}");
        assert_eq!(parse_delivery_id(&id), Some((event, subscription)));
        assert_eq!(parse_delivery_id("msg_nope"), None);
    }

    fn zoho_event(name: &str, body: serde_json::Value) -> ProductEvent {
        ProductEvent {
            id: EventId::generate(),
            account_id: AccountId::parse("600").unwrap(),
            source: crate::EventSource::Product(crate::Product::zoho_desk()),
            name: name.into(),
            body,
            idempotency_key: None,
            received_at: crate::now(),
        }
    }

    #[test]
    fn filters_follow_zohos_rules() {
        use serde_json::json;
        let update = zoho_event(
            "Ticket_Update",
            json!({"data": {"status": "Closed", "priority": "High"},
                   "prev_state": {"status": "Open", "priority": "High"},
                   "department_id": "d1", "source_id": "me"}),
        );
        assert!(passes(&json!({}), &update));
        assert!(passes(&json!({"fields": ["status"]}), &update));
        assert!(
            !passes(&json!({"fields": ["priority", "subject"]}), &update),
            "unchanged"
        );
        assert!(passes(&json!({"departmentIds": ["d1", "d2"]}), &update));
        assert!(!passes(&json!({"departmentIds": ["d2"]}), &update));
        assert!(
            !passes(&json!({"ignoreSourceId": "me"}), &update),
            "its own echo"
        );
        assert!(passes(&json!({"ignoreSourceId": "someone-else"}), &update));
        let said = zoho_event(
            "Ticket_Update",
            json!({"data": {}, "changes": {"subject": ["a", "b"]}}),
        );
        assert!(passes(&json!({"fields": ["subject"]}), &said));
        assert!(!passes(&json!({"fields": ["status"]}), &said));
        let thread = zoho_event("Ticket_Thread_Add", json!({"data": {"direction": "in"}}));
        assert!(passes(&json!({"direction": "in"}), &thread));
        assert!(!passes(&json!({"direction": "out"}), &thread));
    }

    #[test]
    fn v1a_secrets_sign_with_ed25519_and_show_their_public_key() {
        use ring::signature::{ED25519, UnparsedPublicKey};
        let secret = WebhookSecret::generate_for(SignatureScheme::V1a);
        assert!(secret.as_str().starts_with("whsk_"));
        assert_eq!(secret.scheme(), SignatureScheme::V1a);
        assert_eq!(WebhookSecret::parse(secret.as_str()), Ok(secret.clone()));
        let public = secret.public_key().unwrap();
        let public = STANDARD
            .decode(public.strip_prefix("whpk_").unwrap())
            .unwrap();
        let signed = secret.sign("msg_1", 1649367553, b"{}");
        let signature = STANDARD
            .decode(signed.strip_prefix("v1a,").unwrap())
            .unwrap();
        let key = UnparsedPublicKey::new(&ED25519, &public);
        assert!(key.verify(b"msg_1.1649367553.{}", &signature).is_ok());
        assert!(key.verify(b"msg_1.1649367553.{ }", &signature).is_err());
        assert_eq!(WebhookSecret::generate().public_key(), None);
        let mut mismatched = STANDARD.decode(&secret.as_str()[5..]).unwrap();
        mismatched[40] ^= 1;
        let mismatched = format!("whsk_{}", STANDARD.encode(mismatched));
        assert!(
            WebhookSecret::parse(&mismatched).is_err(),
            "public key not the seed's"
        );
    }

    #[test]
    fn rotations_keep_each_previous_secret_until_its_own_time() {
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let hours = |h: i64| SignedDuration::from_hours(h);
        let first = WebhookSecret::generate();
        let request = crate::SubscriptionRequest {
            url: "https://hooks.example.com/weir".into(),
            events: vec!["onContactCreate".into()],
            ..Default::default()
        };
        let product = crate::Product::parse("freshsales").unwrap();
        let mut subscription = crate::SubscriptionSpec::parse(&product, request)
            .unwrap()
            .into_subscription(
                AccountId::parse("acme").unwrap(),
                None,
                SubscriptionKind::CustomerWebhook,
                first.clone(),
                now,
            );
        subscription = subscription.rotated(WebhookSecret::generate(), hours(24), now);
        let second = subscription.secret.clone();
        subscription = subscription.rotated(WebhookSecret::generate(), hours(2), now + hours(1));
        assert_eq!(subscription.previous_secrets.len(), 2);
        let at = |h: i64| subscription.signing_secrets(now + hours(h)).len();
        assert_eq!(
            at(2),
            3,
            "the second rotation did not cut the first's grace short"
        );
        assert_eq!(
            at(4),
            2,
            "the second's grace (2 h) is over, the first's is not"
        );
        assert_eq!(at(25), 1);
        assert!(
            subscription
                .signing_secrets(now + hours(2))
                .contains(&&first)
        );
        assert!(
            subscription
                .signing_secrets(now + hours(2))
                .contains(&&second)
        );
        for n in 0..10 {
            subscription = subscription.rotated(WebhookSecret::generate(), hours(100 + n), now);
        }
        assert_eq!(subscription.previous_secrets.len(), MAX_PREVIOUS_SECRETS);
        assert!(
            subscription
                .previous_secrets
                .iter()
                .all(|p| p.until >= now + hours(105)),
            "the soonest to expire went first"
        );
        let expired = subscription.rotated(WebhookSecret::generate(), hours(1), now + hours(200));
        assert_eq!(
            expired.previous_secrets.len(),
            1,
            "expired ones are forgotten"
        );
    }

    #[test]
    fn secrets_are_whsec_and_24_to_64_bytes() {
        assert!(WebhookSecret::parse(WebhookSecret::generate().as_str()).is_ok());
        assert!(WebhookSecret::parse("whsec_c2hvcnQ=").is_err(), "too short");
        assert!(WebhookSecret::parse("C2FVsBQIhrscChlQIMV+b5sSYspob7oD").is_err());
        assert!(WebhookSecret::parse("whsec_not base64!").is_err());
    }

    #[test]
    fn event_times_have_one_form() {
        for (at, shown) in [
            ("2026-11-30T10:00:00Z", "2026-11-30T10:00:00.000Z"),
            ("2026-11-30T10:00:00.5Z", "2026-11-30T10:00:00.500Z"),
            (
                "2026-11-30T12:00:00.123456789+02:00",
                "2026-11-30T10:00:00.123Z",
            ),
            ("1969-12-31T23:59:59.999Z", "1969-12-31T23:59:59.999Z"),
        ] {
            assert_eq!(event_time(at.parse().unwrap()), shown, "{at}");
        }
    }

    #[test]
    fn answers_decide_and_retries_follow_the_schedule() {
        let customer = SubscriptionKind::CustomerWebhook;
        let extension = SubscriptionKind::ExtensionWebhook;
        assert_eq!(Verdict::of(customer, Some(204)), Verdict::Delivered);
        assert_eq!(Verdict::of(extension, Some(200)), Verdict::Delivered);
        assert_eq!(
            Verdict::of(extension, Some(202)),
            Verdict::Retry,
            "Zoho: 200 only"
        );
        for kind in [customer, extension] {
            assert_eq!(Verdict::of(kind, Some(410)), Verdict::Gone);
            for status in [Some(301), Some(429), Some(500), Some(503), None] {
                assert_eq!(Verdict::of(kind, status), Verdict::Retry);
            }
        }
        let now: Timestamp = "2026-01-01T00:00:00.5Z".parse().unwrap();
        for (attempts, secs) in [(1, 5), (2, 300), (7, 36_000)] {
            let wait = next_attempt(attempts, now, None)
                .unwrap()
                .duration_since(now);
            let wait = wait.as_millis() as i64;
            let base = secs * 1000;
            assert!(
                (base - base / 5..=base + base / 5).contains(&wait),
                "{attempts}: {wait}"
            );
        }
        assert_eq!(next_attempt(8, now, None), None, "eight attempts in all");
        let asked = SignedDuration::from_secs(120);
        assert_eq!(
            next_attempt(1, now, Some(asked)),
            Some(now + asked),
            "Retry-After is longer"
        );
        let short = SignedDuration::from_secs(1);
        assert!(next_attempt(2, now, Some(short)).unwrap() > now + SignedDuration::from_secs(200));
    }
}
