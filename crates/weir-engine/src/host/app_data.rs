//! `$db`, backed by the store: the rules are `weir_core::app_data`'s; here they meet the
//! database, one installation's namespace at a time.

use jiff::SignedDuration;
use serde_json::{Value, json};
use weir_core::InstallationId;
use weir_core::app_data::{self, DataError, SetIf};
use weir_sandbox::{DbCall, DbOperation, HostError, HostResult};
use weir_store::{DataWrite, Expect, Store};

/// An update reads, computes and writes at the version it read; on a race it starts over.
const UPDATE_ATTEMPTS: usize = 5;

pub(super) async fn call(
    store: &dyn Store,
    installation: &InstallationId,
    call: &DbCall,
) -> HostResult {
    let key = &call.key;
    let result = match &call.operation {
        DbOperation::Set { value, options } => set(store, installation, key, value, options).await,
        DbOperation::Get => get(store, installation, key).await,
        DbOperation::Update { action, attributes } => {
            update(store, installation, key, action, attributes).await
        }
        DbOperation::Delete => delete(store, installation, key).await,
    };
    match result {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(HostError::new(error.status, error.message)),
        Err(error) => Err(super::internal(error)),
    }
}

type Answer = Result<Result<Value, DataError>, weir_store::StoreError>;

async fn set(
    store: &dyn Store,
    installation: &InstallationId,
    key: &Value,
    value: &Value,
    options: &Value,
) -> Answer {
    let request = match app_data::set_request(key, value, options) {
        Ok(request) => request,
        Err(error) => return Ok(Err(error)),
    };
    let now = weir_core::now();
    let expires_at = request
        .ttl
        .map(|seconds| now + SignedDuration::from_secs(seconds as i64));
    let expect = match request.set_if {
        None => Expect::Anything,
        Some(SetIf::Absent) => Expect::Absent,
        Some(SetIf::Exists) => Expect::Present,
    };
    let write = DataWrite {
        installation,
        key: &request.key,
        value: &request.value,
        expires_at,
        expect,
        now,
    };
    Ok(match store.put_app_data(write).await? {
        true => Ok(json!({"Created": true})),
        false => Err(DataError::condition_failed()),
    })
}

async fn get(store: &dyn Store, installation: &InstallationId, key: &Value) -> Answer {
    let key = match app_data::key(Some(key)) {
        Ok(key) => key,
        Err(error) => return Ok(Err(error)),
    };
    let stored = store.app_data(installation, &key, weir_core::now()).await?;
    Ok(stored.map(|s| s.value).ok_or_else(DataError::not_found))
}

async fn update(
    store: &dyn Store,
    installation: &InstallationId,
    key: &Value,
    action: &Value,
    attributes: &Value,
) -> Answer {
    let key = match app_data::key(Some(key)) {
        Ok(key) => key,
        Err(error) => return Ok(Err(error)),
    };
    for _ in 0..UPDATE_ATTEMPTS {
        let now = weir_core::now();
        let current = store.app_data(installation, &key, now).await?;
        let updated = app_data::update(current.as_ref().map(|c| &c.value), action, attributes)
            .and_then(|value| app_data::check_size(&key, &value).map(|()| value));
        let value = match updated {
            Ok(value) => value,
            Err(error) => return Ok(Err(error)),
        };
        let (expect, expires_at) = match &current {
            Some(current) => (Expect::Version(current.version), current.expires_at),
            None => (Expect::Absent, None),
        };
        let write = DataWrite {
            installation,
            key: &key,
            value: &value,
            expires_at,
            expect,
            now,
        };
        if store.put_app_data(write).await? {
            return Ok(Ok(json!({"Updated": true})));
        }
    }
    Ok(Err(DataError {
        status: 409,
        message: "The record changed while it was being updated; try again".into(),
    }))
}

async fn delete(store: &dyn Store, installation: &InstallationId, key: &Value) -> Answer {
    let key = match app_data::key(Some(key)) {
        Ok(key) => key,
        Err(error) => return Ok(Err(error)),
    };
    Ok(
        match store
            .delete_app_data(installation, &key, weir_core::now())
            .await?
        {
            true => Ok(json!({"Deleted": true})),
            false => Err(DataError::not_found()),
        },
    )
}
