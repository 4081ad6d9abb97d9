//! Decoding stored rows into domain values, written once for both backends. A backend
//! only implements [`Columns`]: how to read one column of its row type.

use jiff::Timestamp;
use serde_json::{Map, Value};
use weir_core::{
    Account, AccountId, ApiKey, ApiKeyId, App, AppId, AppName, Domain, EventId, Installation,
    InstallationId, InstallationStatus, InvocationId, InvocationRecord, InvocationStatus, Iparams,
    Job, JobStatus, Product, ProductEvent, Repeat, Schedule, ScheduleSpec, TargetToken, TimeUnit,
    TokenHash,
};

use weir_core::Keyring;

use crate::schedule_change::{Kind, ScheduleCounts};
use crate::sealed::contexts;
use crate::{Result, StoreError};

pub trait Columns {
    fn text(&self, column: &str) -> Result<String>;
    fn optional_text(&self, column: &str) -> Result<Option<String>>;
    fn int(&self, column: &str) -> Result<i64>;
    fn optional_int(&self, column: &str) -> Result<Option<i64>>;
    fn bytes(&self, column: &str) -> Result<Vec<u8>>;
    /// The keys that open sealed columns: a backend's rows come with them ([`Opening`]).
    fn keyring(&self) -> Option<&Keyring> {
        None
    }
}

/// A backend's row, with the keys that open its sealed columns.
pub(crate) struct Opening<'r> {
    pub row: &'r dyn Columns,
    pub keyring: Option<&'r Keyring>,
}

impl Columns for Opening<'_> {
    fn text(&self, column: &str) -> Result<String> {
        self.row.text(column)
    }
    fn optional_text(&self, column: &str) -> Result<Option<String>> {
        self.row.optional_text(column)
    }
    fn int(&self, column: &str) -> Result<i64> {
        self.row.int(column)
    }
    fn optional_int(&self, column: &str) -> Result<Option<i64>> {
        self.row.optional_int(column)
    }
    fn bytes(&self, column: &str) -> Result<Vec<u8>> {
        self.row.bytes(column)
    }
    fn keyring(&self) -> Option<&Keyring> {
        self.keyring
    }
}

/// A sealed column's value, opened. A value in clear (written by an older version, and
/// sealed when the store is unlocked) is taken as it is.
pub(crate) fn secret(row: &dyn Columns, column: &str, context: &str) -> Result<String> {
    let stored = row.text(column)?;
    if weir_core::sealing::sealed_with(&stored).is_none() {
        return Ok(stored);
    }
    let keyring = row.keyring().ok_or_else(|| {
        StoreError::Secrets(format!("{column}: the store has no keyring to open it"))
    })?;
    let opened = keyring
        .open(&stored, context.as_bytes())
        .map_err(|e| StoreError::Secrets(format!("a value of {column} cannot be opened: {e}")))?;
    String::from_utf8(opened).map_err(|e| corrupt(column, e))
}

/// A sealed column holding JSON, opened and parsed.
fn secret_json<T: serde::de::DeserializeOwned>(
    row: &dyn Columns,
    column: &str,
    context: &str,
) -> Result<T> {
    serde_json::from_str(&secret(row, column, context)?).map_err(|e| corrupt(column, e))
}

pub(crate) fn millis(at: Timestamp) -> i64 {
    at.as_millisecond()
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data always serialises to JSON")
}

pub(crate) fn corrupt(column: &str, problem: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{column}: {problem}"))
}

pub(crate) fn timestamp(row: &dyn Columns, column: &str) -> Result<Timestamp> {
    Timestamp::from_millisecond(row.int(column)?).map_err(|e| corrupt(column, e))
}

pub(crate) fn optional_timestamp(row: &dyn Columns, column: &str) -> Result<Option<Timestamp>> {
    row.optional_int(column)?
        .map(|ms| Timestamp::from_millisecond(ms).map_err(|e| corrupt(column, e)))
        .transpose()
}

pub(crate) fn json<T: serde::de::DeserializeOwned>(row: &dyn Columns, column: &str) -> Result<T> {
    serde_json::from_str(&row.text(column)?).map_err(|e| corrupt(column, e))
}

fn optional_json(row: &dyn Columns, column: &str) -> Result<Option<Value>> {
    row.optional_text(column)?
        .map(|text| serde_json::from_str(&text).map_err(|e| corrupt(column, e)))
        .transpose()
}

/// A count or a duration, which is never negative.
fn count(row: &dyn Columns, column: &str) -> Result<u64> {
    u64::try_from(row.int(column)?).map_err(|e| corrupt(column, e))
}

pub(crate) fn parsed<T>(
    row: &dyn Columns,
    column: &str,
    parse: impl FnOnce(&str) -> Result<T, weir_core::InvalidValue>,
) -> Result<T> {
    parse(&row.text(column)?).map_err(|e| corrupt(column, e))
}

pub(crate) fn account(row: &dyn Columns) -> Result<Account> {
    Ok(Account {
        id: parsed(row, "id", AccountId::parse)?,
        domain: parsed(row, "domain", Domain::parse)?,
        region: parsed(row, "region", str::parse)?,
        product: parsed(row, "product", Product::parse)?,
        departments: json(row, "departments")?,
        created_at: timestamp(row, "created_at")?,
        updated_at: timestamp(row, "updated_at")?,
    })
}

pub(crate) fn app(row: &dyn Columns) -> Result<App> {
    let version = row.int("version")?;
    let size = row.int("package_size")?;
    Ok(App {
        id: parsed(row, "id", AppId::parse)?,
        name: parsed(row, "name", AppName::parse)?,
        version: u32::try_from(version).map_err(|e| corrupt("version", e))?,
        platform_version: row.optional_text("platform_version")?,
        package_sha256: row.text("package_sha256")?,
        package_size: u64::try_from(size).map_err(|e| corrupt("package_size", e))?,
        created_at: timestamp(row, "created_at")?,
    })
}

/// An app's connector parameters, public and secure.
pub(crate) fn app_parameters(row: &dyn Columns) -> Result<Iparams> {
    let context = contexts::app_parameters(&row.text("app_name")?);
    Ok(Iparams {
        public: json::<Map<String, Value>>(row, "public")?,
        secure: secret_json::<Map<String, Value>>(row, "secure", &context)?,
    })
}

pub(crate) fn installation(row: &dyn Columns) -> Result<Installation> {
    let status = row.text("status")?;
    let id = parsed(row, "id", InstallationId::parse)?;
    let secure_context = contexts::secure_iparams(id.as_str());
    Ok(Installation {
        id: id.clone(),
        account_id: parsed(row, "account_id", AccountId::parse)?,
        app_id: parsed(row, "app_id", AppId::parse)?,
        app_name: parsed(row, "app_name", AppName::parse)?,
        status: InstallationStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        iparams: Iparams {
            public: json::<Map<String, Value>>(row, "iparams")?,
            secure: secret_json::<Map<String, Value>>(row, "secure_iparams", &secure_context)?,
        },
        departments: json(row, "departments")?,
        scopes: json(row, "scopes")?,
        target_token: TargetToken::from_stored(secret(
            row,
            "target_token",
            &contexts::target_token(id.as_str()),
        )?),
        created_at: timestamp(row, "created_at")?,
        updated_at: timestamp(row, "updated_at")?,
    })
}

pub(crate) fn api_key(row: &dyn Columns) -> Result<ApiKey> {
    Ok(ApiKey {
        id: parsed(row, "id", ApiKeyId::parse)?,
        account_id: parsed(row, "account_id", AccountId::parse)?,
        name: row.optional_text("name")?,
        token_hash: TokenHash::from_stored(row.text("token_hash")?),
        created_at: timestamp(row, "created_at")?,
    })
}

pub(crate) fn stored_data(row: &dyn Columns) -> Result<crate::StoredData> {
    Ok(crate::StoredData {
        value: json(row, "value")?,
        version: row.int("version")?,
        expires_at: optional_timestamp(row, "expires_at")?,
    })
}

/// One column `status` of an invocation.
pub(crate) fn invocation_status(row: &dyn Columns) -> Result<InvocationStatus> {
    parsed(row, "status", InvocationStatus::parse)
}

pub(crate) fn invocation(row: &dyn Columns) -> Result<InvocationRecord> {
    Ok(InvocationRecord {
        id: parsed(row, "id", InvocationId::parse)?,
        installation_id: parsed(row, "installation_id", InstallationId::parse)?,
        account_id: parsed(row, "account_id", AccountId::parse)?,
        app_id: parsed(row, "app_id", AppId::parse)?,
        event: row.text("event")?,
        handler: row.text("handler")?,
        status: parsed(row, "status", InvocationStatus::parse)?,
        started_at: timestamp(row, "started_at")?,
        duration_ms: count(row, "duration_ms")?,
        console: json(row, "console")?,
        console_dropped: count(row, "console_dropped")?,
        error: row.optional_text("error")?,
        stack: row.optional_text("stack")?,
        render: optional_json(row, "render")?,
        result: optional_json(row, "result")?,
    })
}

pub(crate) fn schedule(row: &dyn Columns) -> Result<Schedule> {
    Ok(Schedule {
        installation_id: parsed(row, "installation_id", InstallationId::parse)?,
        spec: ScheduleSpec {
            name: row.text("name")?,
            data: json(row, "data")?,
            schedule_at: row.text("schedule_at")?,
            first_run: timestamp(row, "first_run")?,
            repeat: repeat(row)?,
        },
        next_run_at: timestamp(row, "next_run_at")?,
        version: row.int("version")?,
        created_at: timestamp(row, "created_at")?,
        updated_at: timestamp(row, "updated_at")?,
    })
}

/// A recurring schedule's `repeat_*` columns; a one-time schedule has no unit.
fn repeat(row: &dyn Columns) -> Result<Option<Repeat>> {
    let Some(unit) = row.optional_text("repeat_unit")? else {
        return Ok(None);
    };
    let time_unit = [TimeUnit::Minutes, TimeUnit::Hours, TimeUnit::Days]
        .into_iter()
        .find(|known| known.as_str() == unit)
        .ok_or_else(|| corrupt("repeat_unit", &unit))?;
    let frequency = row
        .optional_int("repeat_frequency")?
        .ok_or_else(|| corrupt("repeat_frequency", "missing for a recurring schedule"))?;
    Ok(Some(Repeat {
        time_unit,
        frequency: u32::try_from(frequency).map_err(|e| corrupt("repeat_frequency", e))?,
        timezone: row.optional_text("repeat_timezone")?,
    }))
}

pub(crate) fn schedule_counts(row: &dyn Columns) -> Result<ScheduleCounts> {
    let named = row
        .optional_text("named")?
        .map(|kind| Kind::parse(&kind).ok_or_else(|| corrupt("named", kind)))
        .transpose()?;
    Ok(ScheduleCounts {
        one_time: row.int("one_time")?,
        recurring: row.int("recurring")?,
        named,
    })
}

pub(crate) fn product_event(row: &dyn Columns) -> Result<ProductEvent> {
    Ok(ProductEvent {
        id: parsed(row, "id", EventId::parse)?,
        account_id: parsed(row, "account_id", AccountId::parse)?,
        source: parsed(row, "product", weir_core::EventSource::parse)?,
        name: row.text("name")?,
        body: json(row, "body")?,
        idempotency_key: row.optional_text("idempotency_key")?,
        received_at: timestamp(row, "received_at")?,
    })
}

pub(crate) fn job(row: &dyn Columns) -> Result<Job> {
    let small = |column: &str| -> Result<u32> {
        u32::try_from(row.int(column)?).map_err(|e| corrupt(column, e))
    };
    Ok(Job {
        event_id: parsed(row, "event_id", EventId::parse)?,
        installation_id: parsed(row, "installation_id", InstallationId::parse)?,
        event: row.text("event")?,
        handler: row.text("handler")?,
        status: {
            let status = row.text("status")?;
            JobStatus::parse(&status).ok_or_else(|| corrupt("status", status))?
        },
        attempts: small("attempts")?,
        max_attempts: small("max_attempts")?,
        run_at: timestamp(row, "run_at")?,
        last_invocation: row
            .optional_text("last_invocation")?
            .map(|id| InvocationId::parse(&id).map_err(|e| corrupt("last_invocation", e)))
            .transpose()?,
    })
}

pub(crate) fn selector(row: &dyn Columns) -> Result<crate::EventSelector> {
    Ok(crate::EventSelector {
        installation_id: parsed(row, "installation_id", InstallationId::parse)?,
        event_key: row.text("event_key")?,
        app_name: parsed(row, "app_name", AppName::parse)?,
        webhook_key: row.text("webhook_key")?,
        selector: row.text("selector")?,
        updated_at: timestamp(row, "updated_at")?,
    })
}

pub(crate) fn global_webhook_stats(row: &dyn Columns) -> Result<crate::GlobalWebhookStats> {
    Ok(crate::GlobalWebhookStats {
        webhook_key: row.text("webhook_key")?,
        requests: count(row, "requests")?,
        events_routed: count(row, "events_routed")?,
        events_unmatched: count(row, "events_unmatched")?,
        last_unmatched: row.optional_text("last_unmatched")?,
        last_request_at: timestamp(row, "last_request_at")?,
    })
}

pub(crate) fn connector_subscription(row: &dyn Columns) -> Result<crate::ConnectorSubscription> {
    Ok(crate::ConnectorSubscription {
        installation_id: parsed(row, "installation_id", InstallationId::parse)?,
        event_key: row.text("event_key")?,
        state: json(row, "state")?,
        refresh_at: optional_timestamp(row, "refresh_at")?,
        updated_at: timestamp(row, "updated_at")?,
    })
}

pub(crate) fn webhook_subscription(row: &dyn Columns) -> Result<weir_core::WebhookSubscription> {
    let id = parsed(row, "id", weir_core::SubscriptionId::parse)?;
    let current = secret(row, "secret", &contexts::subscription_secret(id.as_str()))?;
    let current = weir_core::WebhookSecret::parse(&current).map_err(|e| corrupt("secret", e))?;
    let previous_secrets = secret_json(
        row,
        "previous_secrets",
        &contexts::previous_secrets(id.as_str()),
    )?;
    let kind = row.text("kind")?;
    Ok(weir_core::WebhookSubscription {
        id,
        account_id: parsed(row, "account_id", AccountId::parse)?,
        installation_id: row
            .optional_text("installation_id")?
            .map(|id| InstallationId::parse(&id).map_err(|e| corrupt("installation_id", e)))
            .transpose()?,
        kind: weir_core::SubscriptionKind::parse(&kind).ok_or_else(|| corrupt("kind", kind))?,
        url: row.text("url")?,
        events: json(row, "events")?,
        filters: json(row, "filters")?,
        secret: current,
        previous_secrets,
        enabled: row.int("enabled")? != 0,
        disabled_reason: row.optional_text("disabled_reason")?,
        timeout_ms: u32::try_from(row.int("timeout_ms")?).map_err(|e| corrupt("timeout_ms", e))?,
        max_in_flight: u32::try_from(row.int("max_in_flight")?)
            .map_err(|e| corrupt("max_in_flight", e))?,
        rate_per_second: row
            .optional_int("rate_per_second")?
            .map(|rate| u32::try_from(rate).map_err(|e| corrupt("rate_per_second", e)))
            .transpose()?,
        fifo: row.int("fifo")? != 0,
        batch_size: u32::try_from(row.int("batch_size")?).map_err(|e| corrupt("batch_size", e))?,
        linger_ms: u32::try_from(row.int("linger_ms")?).map_err(|e| corrupt("linger_ms", e))?,
        failing_since: optional_timestamp(row, "failing_since")?,
        created_at: timestamp(row, "created_at")?,
        updated_at: timestamp(row, "updated_at")?,
    })
}

pub(crate) fn delivery(row: &dyn Columns) -> Result<weir_core::Delivery> {
    let small = |column: &str| -> Result<u32> {
        u32::try_from(row.int(column)?).map_err(|e| corrupt(column, e))
    };
    let status = row.text("status")?;
    Ok(weir_core::Delivery {
        event_id: parsed(row, "event_id", EventId::parse)?,
        subscription_id: parsed(row, "subscription_id", weir_core::SubscriptionId::parse)?,
        account_id: parsed(row, "account_id", AccountId::parse)?,
        event: row.text("event")?,
        status: weir_core::DeliveryStatus::parse(&status)
            .ok_or_else(|| corrupt("status", status))?,
        attempts: small("attempts")?,
        tries: small("tries")?,
        generation: small("generation")?,
        run_at: timestamp(row, "run_at")?,
        created_at: timestamp(row, "created_at")?,
        updated_at: timestamp(row, "updated_at")?,
    })
}

pub(crate) fn attempt(row: &dyn Columns) -> Result<weir_core::Attempt> {
    Ok(weir_core::Attempt {
        number: u32::try_from(row.int("number")?).map_err(|e| corrupt("number", e))?,
        at: timestamp(row, "at")?,
        status_code: row
            .optional_int("status_code")?
            .map(|code| u16::try_from(code).map_err(|e| corrupt("status_code", e)))
            .transpose()?,
        duration_ms: count(row, "duration_ms")?,
        error: row.optional_text("error")?,
        response: row.optional_text("response")?,
    })
}

pub(crate) fn webhook_invocation(row: &dyn Columns) -> Result<weir_core::WebhookInvocation> {
    Ok(weir_core::WebhookInvocation {
        reference_id: parsed(row, "reference_id", weir_core::ReferenceId::parse)?,
        installation_id: parsed(row, "installation_id", InstallationId::parse)?,
        account_id: parsed(row, "account_id", AccountId::parse)?,
        webhook_id: row.text("webhook_id")?,
        chain_id: parsed(row, "chain_id", weir_core::ReferenceId::parse)?,
        method: {
            let method = row.text("method")?;
            weir_core::HttpMethod::parse(&method).ok_or_else(|| corrupt("method", method))?
        },
        target_host: row.text("target_host")?,
        request_bytes: count(row, "request_bytes")?,
        response_bytes: count(row, "response_bytes")?,
        status: row
            .optional_int("status")?
            .map(|s| u16::try_from(s).map_err(|e| corrupt("status", e)))
            .transpose()?,
        error: row.int("error")? != 0,
        error_message: row.optional_text("error_message")?,
        duration_ms: count(row, "duration_ms")?,
        started_at: timestamp(row, "started_at")?,
    })
}

/// For statements that select an event's `id`.
pub(crate) fn event_id(row: &dyn Columns) -> Result<EventId> {
    parsed(row, "id", EventId::parse)
}

/// For statements that select one time as `at`.
pub(crate) fn at(row: &dyn Columns) -> Result<Timestamp> {
    timestamp(row, "at")
}

pub(crate) fn queue_depth(row: &dyn Columns) -> Result<crate::QueueDepth> {
    let name = row.text("queue")?;
    let queue = crate::WorkQueue::parse(&name).ok_or_else(|| corrupt("queue", &name))?;
    let count = |column: &str| -> Result<u64> {
        u64::try_from(row.int(column)?).map_err(|e| corrupt(column, e))
    };
    Ok(crate::QueueDepth {
        queue,
        waiting: count("waiting")?,
        due: count("due")?,
        earliest: optional_timestamp(row, "earliest")?,
    })
}
