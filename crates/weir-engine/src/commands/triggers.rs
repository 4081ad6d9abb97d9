//! Registered webhooks triggered from outside the sandbox (the installation's browser app,
//! or the operator): the rules and the answer are `$webhooks.trigger`'s
//! (`crate::registered_webhooks`), with the chain of `then` handlers run to its end.

use std::sync::Arc;

use serde_json::Value;
use weir_core::{Installation, InstallationStatus};

use crate::engine::Engine;
use crate::error::Error;
use crate::registered_webhooks::{self, ChainError, Trigger, TriggerError};

impl Engine {
    /// Calls the installation's registered webhook; answers the chain's final result.
    pub async fn trigger_webhook(
        &self,
        installation: Installation,
        trigger: Trigger,
    ) -> Result<Value, Error> {
        if installation.status != InstallationStatus::Active {
            return Err(Error::conflict(format!(
                "installation {} is not active",
                installation.id
            )));
        }
        registered_webhooks::trigger_with_chain(self.runner(), Arc::new(installation), trigger)
            .await
            .map_err(|error| match error {
                ChainError::Trigger(error) => trigger_error(error),
                error @ ChainError::Handler { .. } => Error::upstream(error.to_string()),
                ChainError::Run(error) => error.into(),
            })
    }
}

/// The trigger API answers as a rejected `$webhooks.trigger` promise would.
fn trigger_error(error: TriggerError) -> Error {
    let message = error.to_string();
    match error {
        TriggerError::NotRegistered(_) => Error::not_found(message),
        TriggerError::Invalid(_) => Error::malformed(message),
        TriggerError::RateLimited {
            retry_after_secs, ..
        } => Error::rate_limited(message, std::time::Duration::from_secs(retry_after_secs)),
        TriggerError::Internal => Error::internal("a trigger failed", &message),
    }
}
