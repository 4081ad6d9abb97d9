//! Installing, uninstalling and updating an app in an account, with the app's say in each
//! (REFERENCE §1 `renderData`): `onAppInstall` may refuse an install, `onAppUninstall` an
//! uninstall, and `afterAppUpdate` an update, which is then reverted.
//!
//! A setup handler must answer with `renderData`: one that ends without it refuses, as on
//! Freshworks, where the platform would wait for the answer until it timed out.

use std::sync::Arc;

use serde_json::Value;
use weir_core::{
    AppEvent, AppId, Installation, InstallationStatus, InvocationId, InvocationRecord,
    InvocationStatus,
};

use crate::connector_webhooks::{self, ConnectorError};
use crate::envelope;
use crate::extension_webhooks::{self, ExtensionError};
use crate::inbound::{self, SelectorError};
use crate::runner::{RunError, Runner};

pub const INSTALL_EVENT: &str = AppEvent::Install.name();
pub const UNINSTALL_EVENT: &str = AppEvent::Uninstall.name();
pub const UPDATE_EVENT: &str = AppEvent::AfterUpdate.name();
/// Not an event: the connector method that gives an installation its selectors.
pub const SELECTOR_STEP: &str = "getEventSelector";
/// Not an event: the connector methods that subscribe and unsubscribe `webhook` events.
pub const SUBSCRIBE_STEP: &str = "subscribe";
pub const UNSUBSCRIBE_STEP: &str = "unsubscribe";
/// Not an event: the extension webhooks of `resources.json`.
pub const RESOURCES_STEP: &str = "resources.json";

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    /// The app's handler refused (or failed, or never answered).
    #[error("{event} refused: {message}")]
    Refused {
        event: &'static str,
        message: String,
        /// The record of the handler's run that said it, when a handler said it (the
        /// connector steps and `resources.json` have none). A refused install's record
        /// outlives its installation.
        invocation: Option<InvocationId>,
    },
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Store(#[from] weir_store::StoreError),
}

/// Stores the installation as `installing`, runs its `onAppInstall`, gives it its
/// selectors for the app's global-webhook events (`getEventSelector`), and makes it
/// active. Until then no event fans out to it and none of its schedules fires. A refusal
/// removes the installation and all it made meanwhile (`$db` data, schedules, jobs), as
/// if the install had never been tried, but for the records of its handler runs: the
/// refusal names the one that refused, for the operator to read why. Returns the active
/// installation.
pub async fn install(
    runner: &Runner,
    installation: Installation,
) -> Result<Installation, LifecycleError> {
    let store = runner.platform().store.clone();
    let installation = Installation {
        status: InstallationStatus::Installing,
        ..installation
    };
    store.insert_installation(&installation).await?;
    let agreed = match agree_to_install(runner, Arc::new(installation.clone())).await {
        Ok(()) => {
            let at = weir_core::now();
            let activated = store.activate_installation(&installation, at).await;
            activated.map(|()| at).map_err(LifecycleError::from)
        }
        Err(refused) => Err(refused),
    };
    let activated_at = match agreed {
        Ok(at) => at,
        Err(error) => {
            store.delete_installation(&installation.id).await?;
            return Err(error);
        }
    };
    // The handler may have made schedules, which may fire now.
    runner.platform().wake(weir_store::WorkQueue::Schedules);
    Ok(Installation {
        status: InstallationStatus::Active,
        updated_at: activated_at,
        ..installation
    })
}

async fn agree_to_install(
    runner: &Runner,
    installation: Arc<Installation>,
) -> Result<(), LifecycleError> {
    if let Some(refusal) = setup(runner, installation.clone(), INSTALL_EVENT).await? {
        return Err(LifecycleError::Refused {
            event: INSTALL_EVENT,
            message: refusal.message,
            invocation: Some(refusal.invocation),
        });
    }
    select_events(runner, installation.clone()).await?;
    connector_webhooks::subscribe_all(runner, installation.clone())
        .await
        .map_err(|error| connector_refusal(SUBSCRIBE_STEP, error))?;
    match extension_webhooks::create_all(runner, &installation).await {
        Ok(()) => Ok(()),
        Err(ExtensionError::Run(error)) => Err(error.into()),
        Err(ExtensionError::Store(error)) => Err(error.into()),
        Err(refusal) => Err(LifecycleError::Refused {
            event: RESOURCES_STEP,
            message: refusal.to_string(),
            invocation: None,
        }),
    }
}

/// A connector method's failure refuses; the engine's own failures stay what they are.
fn connector_refusal(step: &'static str, error: ConnectorError) -> LifecycleError {
    match error {
        ConnectorError::Failed { .. } | ConnectorError::Unknown { .. } => LifecycleError::Refused {
            event: step,
            message: error.to_string(),
            invocation: None,
        },
        ConnectorError::Run(error) => error.into(),
        ConnectorError::Store(error) => error.into(),
    }
}

/// Refreshes the installation's selectors; a selector method that fails refuses.
async fn select_events(
    runner: &Runner,
    installation: Arc<Installation>,
) -> Result<(), LifecycleError> {
    match inbound::refresh_selectors(runner, installation).await {
        Ok(_) => Ok(()),
        Err(SelectorError::Failed { event, message }) => Err(LifecycleError::Refused {
            event: SELECTOR_STEP,
            message: format!("{event}: {message}"),
            invocation: None,
        }),
        Err(SelectorError::Load(error)) => Err(RunError::from(error).into()),
        Err(SelectorError::Run(error)) => Err(error.into()),
        Err(SelectorError::Store(error)) => Err(error.into()),
    }
}

/// Runs `onAppUninstall`, then uninstalls, unless the handler refuses and `force` is
/// not set. A forced uninstall still runs the handler, so the app can clean up.
pub async fn uninstall(
    runner: &Runner,
    installation: Installation,
    force: bool,
) -> Result<(), LifecycleError> {
    let id = installation.id.clone();
    let installation = Arc::new(installation);
    let refusal = match setup(runner, installation.clone(), UNINSTALL_EVENT).await {
        Ok(refusal) => refusal,
        // A forced uninstall goes on even when the handler cannot run at all.
        Err(error) if force => {
            tracing::warn!(installation = %id, %error, "onAppUninstall could not run; uninstalling anyway");
            None
        }
        Err(error) => return Err(error),
    };
    if let Some(refusal) = refusal.filter(|_| !force) {
        return Err(LifecycleError::Refused {
            event: UNINSTALL_EVENT,
            message: refusal.message,
            invocation: Some(refusal.invocation),
        });
    }
    let unsubscribed = connector_webhooks::unsubscribe_all(runner, installation.clone()).await;
    match unsubscribed.map_err(|error| connector_refusal(UNSUBSCRIBE_STEP, error)) {
        Err(error) if force => {
            tracing::warn!(installation = %id, %error, "unsubscribing failed; uninstalling anyway");
        }
        other => other?,
    }
    extension_webhooks::delete_all(runner, &installation).await?;
    runner
        .platform()
        .store
        .uninstall(&id, weir_core::now())
        .await?;
    Ok(())
}

/// Moves the installation to the app version `to` and runs its `afterAppUpdate`; a
/// refusal moves it back. Returns the installation as it is now.
pub async fn update(
    runner: &Runner,
    installation: Installation,
    to: &AppId,
) -> Result<Installation, LifecycleError> {
    let store = runner.platform().store.clone();
    let from = installation.app_id.clone();
    store
        .switch_app(&installation.id, &from, to, weir_core::now())
        .await?;
    let updated = Installation {
        app_id: to.clone(),
        ..installation
    };
    let agreed = agree_to_update(runner, Arc::new(updated.clone())).await;
    if agreed.is_err() {
        store
            .switch_app(&updated.id, to, &from, weir_core::now())
            .await
            .map_err(|error| reverting_failed(&updated, error))?;
        // The old version's selectors hold again.
        select_events(
            runner,
            Arc::new(Installation {
                app_id: from,
                ..updated.clone()
            }),
        )
        .await?;
    }
    agreed.map(|()| updated)
}

/// The revert of a refused update found the installation changed (uninstalled or moved
/// by another request meanwhile): say so rather than a bare "not found".
fn reverting_failed(installation: &Installation, error: weir_store::StoreError) -> LifecycleError {
    match error {
        weir_store::StoreError::NotFound => weir_store::StoreError::Conflict(format!(
            "the update of installation {} was refused, and it changed meanwhile (uninstalled \
             or updated by another request), so it was not moved back",
            installation.id
        ))
        .into(),
        other => other.into(),
    }
}

async fn agree_to_update(
    runner: &Runner,
    installation: Arc<Installation>,
) -> Result<(), LifecycleError> {
    if let Some(refusal) = setup(runner, installation.clone(), UPDATE_EVENT).await? {
        return Err(LifecycleError::Refused {
            event: UPDATE_EVENT,
            message: refusal.message,
            invocation: Some(refusal.invocation),
        });
    }
    select_events(runner, installation).await
}

/// A setup handler's "no", and the record of the run that said it.
struct Refusal {
    message: String,
    invocation: InvocationId,
}

/// Runs a setup handler, if the app has one; returns its refusal, if any.
async fn setup(
    runner: &Runner,
    installation: Arc<Installation>,
    event: &'static str,
) -> Result<Option<Refusal>, LifecycleError> {
    if !runner
        .handles(&installation, event)
        .await
        .map_err(RunError::from)?
    {
        return Ok(None);
    }
    let store = runner.platform().store.clone();
    let account = store
        .account(&installation.account_id)
        .await?
        .ok_or(weir_store::StoreError::NotFound)?;
    let payload = envelope::base(&account, &installation, event);
    let record = runner.run(installation, event, payload).await?;
    Ok(refusal(&record).map(|message| Refusal {
        message,
        invocation: record.id,
    }))
}

/// Why a setup handler's run counts as a refusal, or `None` if it agreed. Public so that
/// `weir dev`'s simulator judges a simulated run as an install would.
pub fn refusal(record: &InvocationRecord) -> Option<String> {
    if record.status != InvocationStatus::Success {
        if lists_no_such_handler(record) {
            return None;
        }
        let error = record.error.as_deref().unwrap_or("the handler failed");
        return Some(match record.status {
            InvocationStatus::Error => {
                format!("Error while executing App server script! - {error}")
            }
            _ => error.to_owned(),
        });
    }
    let Some(render) = &record.render else {
        return Some(format!(
            "{} finished without calling renderData()",
            record.event
        ));
    };
    match render["status"].as_u64() {
        Some(200) => None,
        _ => Some(match &render["message"] {
            Value::String(message) => message.clone(),
            Value::Null => format!("the app answered with status {}", render["status"]),
            other => other.to_string(),
        }),
    }
}

/// A platform 2.0 app lists its handlers in `exports.events`, which only running the code
/// reveals; one that lists no setup handler has none, and so has nothing to refuse.
fn lists_no_such_handler(record: &InvocationRecord) -> bool {
    record.handler == record.event
        && record.error.as_deref().is_some_and(|error| {
            error.contains(&format!("{} is not a function exported by", record.event))
        })
}
