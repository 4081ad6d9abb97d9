//! Encoding domain values into statement parameters, written once for both backends, in
//! the order of the placeholders in `sql.rs`.

use weir_core::{
    Account, AccountId, ApiKey, EventId, Installation, InstallationId, InvocationFilter,
    InvocationRecord, JobStatus, ProductEvent, Schedule, Subscription,
};

use crate::rows::{millis, to_json};
use crate::{AccountChanges, DataWrite, Expect, JobOutcome, NewApp};

/// One bound value. Each backend says how to bind it.
#[derive(Debug, Clone)]
pub enum Param {
    Text(String),
    MaybeText(Option<String>),
    Int(i64),
    MaybeInt(Option<i64>),
    Bytes(Vec<u8>),
}

impl From<&str> for Param {
    fn from(value: &str) -> Self {
        Param::Text(value.to_owned())
    }
}

impl From<String> for Param {
    fn from(value: String) -> Self {
        Param::Text(value)
    }
}

impl From<i64> for Param {
    fn from(value: i64) -> Self {
        Param::Int(value)
    }
}

/// For `INSERT_ACCOUNT`.
pub(crate) fn account(account: &Account) -> Vec<Param> {
    vec![
        account.id.as_str().into(),
        account.domain.as_str().into(),
        account.region.as_str().into(),
        account.product.as_str().into(),
        to_json(&account.departments).into(),
        millis(account.created_at).into(),
        millis(account.updated_at).into(),
    ]
}

pub(crate) fn account_changes(id: &AccountId, changes: &AccountChanges) -> Vec<Param> {
    vec![
        id.as_str().into(),
        Param::MaybeText(changes.domain.as_ref().map(|d| d.as_str().to_owned())),
        Param::MaybeText(changes.region.map(|r| r.as_str().to_owned())),
        Param::MaybeText(changes.product.as_ref().map(|p| p.as_str().to_owned())),
        Param::MaybeText(changes.departments.as_ref().map(to_json)),
        millis(changes.updated_at).into(),
    ]
}

pub(crate) fn app(app: NewApp, version: i64) -> Vec<Param> {
    let size = app.package.len() as i64;
    vec![
        app.id.as_str().into(),
        app.name.as_str().into(),
        version.into(),
        Param::MaybeText(app.platform_version),
        Param::Bytes(app.package),
        app.package_sha256.into(),
        size.into(),
        millis(app.created_at).into(),
    ]
}

/// A subscription's secrets, sealed: `secret` and the JSON of `previous_secrets`.
pub(crate) struct SealedSecrets {
    pub secret: String,
    pub previous: String,
}

/// An installation's secrets, sealed: its secure iparams and its target token.
pub(crate) struct SealedInstallation {
    pub secure_iparams: String,
    pub target_token: String,
}

/// For `INSERT_INSTALLATION`.
pub(crate) fn installation(installation: &Installation, sealed: SealedInstallation) -> Vec<Param> {
    vec![
        installation.id.as_str().into(),
        installation.account_id.as_str().into(),
        installation.app_id.as_str().into(),
        installation.app_name.as_str().into(),
        installation.status.as_str().into(),
        to_json(&installation.iparams.public).into(),
        sealed.secure_iparams.into(),
        to_json(&installation.departments).into(),
        to_json(&installation.scopes).into(),
        millis(installation.created_at).into(),
        millis(installation.updated_at).into(),
        sealed.target_token.into(),
        installation.target_token.hash().into(),
    ]
}

pub(crate) fn api_key(key: &ApiKey) -> Vec<Param> {
    vec![
        key.id.as_str().into(),
        key.account_id.as_str().into(),
        Param::MaybeText(key.name.clone()),
        key.token_hash.as_str().into(),
        millis(key.created_at).into(),
    ]
}

/// For the `PUT_*_APP_DATA` statements; `PUT_VERSION_APP_DATA` takes the version too.
pub(crate) fn app_data(write: &DataWrite<'_>) -> Vec<Param> {
    let mut params = vec![
        write.installation.as_str().into(),
        write.key.into(),
        write.value.to_string().into(),
        Param::MaybeInt(write.expires_at.map(millis)),
        millis(write.now).into(),
    ];
    if let Expect::Version(version) = write.expect {
        params.push(version.into());
    }
    params
}

pub(crate) fn invocation(record: &InvocationRecord) -> Vec<Param> {
    vec![
        record.id.as_str().into(),
        record.installation_id.as_str().into(),
        record.account_id.as_str().into(),
        record.app_id.as_str().into(),
        record.event.as_str().into(),
        record.handler.as_str().into(),
        record.status.as_str().into(),
        millis(record.started_at).into(),
        count(record.duration_ms).into(),
        to_json(&record.console).into(),
        count(record.console_dropped).into(),
        Param::MaybeText(record.error.clone()),
        Param::MaybeText(record.stack.clone()),
        Param::MaybeText(record.render.as_ref().map(to_json)),
        Param::MaybeText(record.result.as_ref().map(to_json)),
    ]
}

/// For `INVOCATIONS`, before the page's cursor and limit.
pub(crate) fn invocation_filter(
    installation: &InstallationId,
    filter: &InvocationFilter,
) -> Vec<Param> {
    vec![
        installation.as_str().into(),
        Param::MaybeText(filter.event.clone()),
        Param::MaybeText(filter.status.map(|s| s.as_str().to_owned())),
        Param::MaybeInt(filter.since.map(millis)),
        Param::MaybeInt(filter.until.map(millis)),
    ]
}

/// Durations and byte counts are far below `i64::MAX`; a larger one is kept as the maximum.
fn count(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// For `INSERT_SCHEDULE`.
pub(crate) fn new_schedule(schedule: &Schedule) -> Vec<Param> {
    let mut params = schedule_spec(schedule);
    params.extend([
        schedule.version.into(),
        millis(schedule.created_at).into(),
        millis(schedule.updated_at).into(),
    ]);
    params
}

/// For `UPDATE_SCHEDULE`.
pub(crate) fn schedule_update(schedule: &Schedule) -> Vec<Param> {
    let mut params = schedule_spec(schedule);
    params.push(millis(schedule.updated_at).into());
    params
}

/// The key, what the app asked for and the next run: `$1` to `$9` of both writes.
fn schedule_spec(schedule: &Schedule) -> Vec<Param> {
    let spec = &schedule.spec;
    let repeat = spec.repeat.as_ref();
    vec![
        schedule.installation_id.as_str().into(),
        spec.name.as_str().into(),
        to_json(&spec.data).into(),
        spec.schedule_at.as_str().into(),
        millis(spec.first_run).into(),
        Param::MaybeText(repeat.map(|r| r.time_unit.as_str().to_owned())),
        Param::MaybeInt(repeat.map(|r| i64::from(r.frequency))),
        Param::MaybeText(repeat.and_then(|r| r.timezone.clone())),
        millis(schedule.next_run_at).into(),
    ]
}

/// The installation and name that identify a schedule.
pub(crate) fn schedule_key(installation: &InstallationId, name: &str) -> Vec<Param> {
    vec![installation.as_str().into(), name.into()]
}

/// For `INSERT_SUBSCRIPTION`: one statement's parameters per subscription of the app.
pub(crate) fn subscriptions(app: &NewApp) -> Vec<Vec<Param>> {
    app.subscriptions
        .iter()
        .map(|subscription: &Subscription| {
            vec![
                app.id.as_str().into(),
                subscription.product.as_str().into(),
                subscription.event.as_str().into(),
                subscription.handler.as_str().into(),
                i64::from(subscription.max_attempts).into(),
            ]
        })
        .collect()
}

/// For `INSERT_EVENT`.
pub(crate) fn product_event(event: &ProductEvent) -> Vec<Param> {
    vec![
        event.id.as_str().into(),
        event.account_id.as_str().into(),
        event.source.as_str().into(),
        event.name.as_str().into(),
        event.body.to_string().into(),
        Param::MaybeText(event.idempotency_key.clone()),
        millis(event.received_at).into(),
    ]
}

/// For `INSERT_EVENT_JOBS`: the jobs are due as soon as the event is stored.
pub(crate) fn event_jobs(event: &ProductEvent) -> Vec<Param> {
    vec![
        event.id.as_str().into(),
        event.account_id.as_str().into(),
        event.source.as_str().into(),
        event.name.as_str().into(),
        millis(event.received_at).into(),
    ]
}

/// For `INSERT_EVENT_DELIVERIES`: due as soon as the event is stored.
pub(crate) fn event_deliveries(event: &ProductEvent) -> Vec<Param> {
    vec![
        event.id.as_str().into(),
        event.account_id.as_str().into(),
        event.name.as_str().into(),
        millis(event.received_at).into(),
    ]
}

/// For `FINISH_JOB`.
pub(crate) fn finish_job(
    event: &EventId,
    installation: &InstallationId,
    attempt: u32,
    outcome: &JobOutcome,
) -> Vec<Param> {
    let (status, run_at, invocation) = match outcome {
        JobOutcome::Done { invocation } => (JobStatus::Done, None, Some(invocation)),
        JobOutcome::Failed { invocation } => (JobStatus::Failed, None, invocation.as_ref()),
        JobOutcome::Cancelled => (JobStatus::Cancelled, None, None),
        JobOutcome::Postponed { at } => (JobStatus::Pending, Some(millis(*at)), None),
        JobOutcome::RetryAt { at, invocation } => {
            (JobStatus::Pending, Some(millis(*at)), invocation.as_ref())
        }
    };
    vec![
        event.as_str().into(),
        installation.as_str().into(),
        status.as_str().into(),
        Param::MaybeInt(run_at),
        Param::MaybeText(invocation.map(|id| id.as_str().to_owned())),
        i64::from(attempt).into(),
    ]
}

/// For `INSERT_JOB`.
pub(crate) fn directed_job(event: &ProductEvent, job: &crate::NewJob) -> Vec<Param> {
    vec![
        event.id.as_str().into(),
        job.installation_id.as_str().into(),
        event.name.as_str().into(),
        job.handler.as_str().into(),
        i64::from(job.max_attempts).into(),
        millis(event.received_at).into(),
    ]
}

/// For `PUT_SELECTOR`.
pub(crate) fn selector(selector: &crate::EventSelector) -> Vec<Param> {
    vec![
        selector.installation_id.as_str().into(),
        selector.event_key.as_str().into(),
        selector.app_name.as_str().into(),
        selector.webhook_key.as_str().into(),
        selector.selector.as_str().into(),
        millis(selector.updated_at).into(),
    ]
}

/// For `COUNT_GLOBAL_WEBHOOK`.
pub(crate) fn global_webhook_count(count: &crate::GlobalWebhookCount<'_>) -> Vec<Param> {
    vec![
        count.app.as_str().into(),
        count.webhook_key.into(),
        self::count(count.events_routed).into(),
        self::count(count.events_unmatched).into(),
        Param::MaybeText(count.last_unmatched.map(String::from)),
        millis(count.at).into(),
    ]
}

/// For `PUT_CONNECTOR_SUBSCRIPTION`.
pub(crate) fn connector_subscription(subscription: &crate::ConnectorSubscription) -> Vec<Param> {
    vec![
        subscription.installation_id.as_str().into(),
        subscription.event_key.as_str().into(),
        subscription.state.to_string().into(),
        Param::MaybeInt(subscription.refresh_at.map(millis)),
        millis(subscription.updated_at).into(),
    ]
}

/// For `INSERT_WEBHOOK_SUBSCRIPTION` and `UPDATE_WEBHOOK_SUBSCRIPTION`, with its current
/// and previous secrets as sealed.
pub(crate) fn webhook_subscription(
    subscription: &weir_core::WebhookSubscription,
    sealed: SealedSecrets,
) -> Vec<Param> {
    vec![
        subscription.id.as_str().into(),
        subscription.account_id.as_str().into(),
        Param::MaybeText(
            subscription
                .installation_id
                .as_ref()
                .map(|i| i.as_str().to_owned()),
        ),
        subscription.kind.as_str().into(),
        subscription.url.as_str().into(),
        to_json(&subscription.events).into(),
        to_json(&subscription.filters).into(),
        sealed.secret.into(),
        sealed.previous.into(),
        i64::from(subscription.enabled).into(),
        Param::MaybeText(subscription.disabled_reason.clone()),
        i64::from(subscription.timeout_ms).into(),
        millis(subscription.created_at).into(),
        millis(subscription.updated_at).into(),
        i64::from(subscription.max_in_flight).into(),
        Param::MaybeInt(subscription.rate_per_second.map(i64::from)),
        i64::from(subscription.fifo).into(),
        Param::MaybeInt(subscription.failing_since.map(millis)),
        i64::from(subscription.batch_size).into(),
        i64::from(subscription.linger_ms).into(),
    ]
}

/// For `INSERT_ATTEMPT`, after the delivery's key.
pub(crate) fn attempt(attempt: &weir_core::Attempt) -> Vec<Param> {
    vec![
        i64::from(attempt.number).into(),
        millis(attempt.at).into(),
        Param::MaybeInt(attempt.status_code.map(i64::from)),
        count(attempt.duration_ms).into(),
        Param::MaybeText(attempt.error.clone()),
        Param::MaybeText(attempt.response.clone()),
    ]
}

/// For `INSERT_WEBHOOK_INVOCATION`.
pub(crate) fn webhook_invocation(invocation: &weir_core::WebhookInvocation) -> Vec<Param> {
    vec![
        invocation.reference_id.as_str().into(),
        invocation.installation_id.as_str().into(),
        invocation.account_id.as_str().into(),
        invocation.webhook_id.as_str().into(),
        invocation.chain_id.as_str().into(),
        invocation.method.as_str().into(),
        invocation.target_host.as_str().into(),
        count(invocation.request_bytes).into(),
        count(invocation.response_bytes).into(),
        Param::MaybeInt(invocation.status.map(i64::from)),
        i64::from(invocation.error).into(),
        Param::MaybeText(invocation.error_message.clone()),
        count(invocation.duration_ms).into(),
        millis(invocation.started_at).into(),
    ]
}

/// What the readiness probe writes (`sql::PROBE_WRITE`): the time, so that each probe
/// changes the row.
pub(crate) fn probe_value() -> Param {
    jiff::Timestamp::now().to_string().into()
}
