//! What third parties post: external events to an installation's target URL, connector
//! `webhook` events to an installation, and calls of a connector's global webhooks. The
//! work itself is in `crate::inbound` and `crate::connector_webhooks`; here are the
//! commands, the lookups of what a URL names, and how their failures are told.

use std::sync::Arc;

use weir_core::{AppId, EventId, Installation, InstallationStatus, TargetToken};
use weir_store::EventSelector;

use crate::connector_webhooks::{self, ConnectorError};
use crate::engine::Engine;
use crate::error::Error;
use crate::inbound::{
    self, ExternalRequest, GlobalError, GlobalRequest, GlobalResponse, InboundError, SelectorError,
};

impl Engine {
    /// The installation a target token names: not found for no such token, gone once
    /// uninstalled. While `onAppInstall` runs, the third party it registers with may
    /// already call: those events wait for the install to be agreed (or go with it).
    pub async fn target(&self, token: &str) -> Result<Installation, Error> {
        let stored = TargetToken::from_stored(token);
        let read = self.store().installation_by_target_token(&stored);
        let installation = self
            .targets()
            .get_or_read(token, read)
            .await?
            .ok_or_else(|| Error::not_found("no target URL here"))?;
        match installation.status {
            InstallationStatus::Uninstalled => Err(gone()),
            InstallationStatus::Active | InstallationStatus::Installing => Ok(installation),
        }
    }

    /// Stores a request to the target URL as the installation's `onExternalEvent`,
    /// durably; its handler runs through the dispatcher.
    pub async fn accept_external(
        &self,
        installation: &Installation,
        request: ExternalRequest,
    ) -> Result<EventId, Error> {
        inbound::accept_external(self.runner(), installation, request)
            .await
            .map_err(|error| match error {
                InboundError::RateLimited { per_minute, retry_after } => {
                    let seconds = retry_after.as_secs_f64().ceil().max(1.0) as u64;
                    Error::rate_limited(
                        format!("more than {per_minute} requests a minute for this target URL; retry in {seconds} s"),
                        retry_after,
                    )
                }
                InboundError::Gone(_) => gone(),
                error @ InboundError::NoHandler(_) => Error::not_found(error.to_string()),
                InboundError::Store(error) => error.into(),
                InboundError::Load(error) => error.into(),
            })
    }

    /// Runs the `handle` of the installation's connector `webhook` event at once; answers
    /// with its `response`.
    pub async fn connector_event(
        &self,
        installation: Installation,
        event_key: &str,
        request: GlobalRequest,
    ) -> Result<GlobalResponse, Error> {
        connector_webhooks::handle(self.runner(), Arc::new(installation), event_key, request)
            .await
            .map_err(|error| match error {
                error @ ConnectorError::Unknown { .. } => Error::not_found(error.to_string()),
                error @ ConnectorError::Failed { .. } => {
                    tracing::warn!(%error, "a connector webhook failed");
                    Error::upstream(error.to_string())
                }
                ConnectorError::Store(error) => error.into(),
                ConnectorError::Run(error) => error.into(),
            })
    }

    /// Runs global webhook `key` of app version `app_id` (see `global_webhook_app`),
    /// routes the events it returns, and answers with its `response`.
    pub async fn global_webhook(
        &self,
        app_id: &AppId,
        key: &str,
        request: GlobalRequest,
    ) -> Result<GlobalResponse, Error> {
        inbound::global_webhook(self.runner(), app_id, key, request)
            .await
            .map_err(|error| match error {
                GlobalError::Unknown { .. } => no_global_webhook(app_id.as_str(), key),
                // The sender did nothing wrong: the connector's code did.
                error @ (GlobalError::HandleFailed(_) | GlobalError::BadResult(_)) => {
                    tracing::warn!(app = %app_id, key, %error, "a global webhook failed");
                    Error::upstream(error.to_string())
                }
                GlobalError::Store(error) => error.into(),
                GlobalError::Load(error) => error.into(),
                GlobalError::Run(error) => error.into(),
            })
    }

    /// Whether global webhook `key` of the app `app` names exists (for the CRC handshake
    /// senders make before they post).
    pub async fn global_webhook_exists(&self, app: &str, key: &str) -> Result<(), Error> {
        let missing = || no_global_webhook(app, key);
        let id = self.global_webhook_app(app, key).await?;
        let loaded = self.runner().app(&id).await.map_err(|_| missing())?;
        match loaded
            .definition
            .global_webhooks
            .iter()
            .any(|w| w.key == key)
        {
            true => Ok(()),
            false => Err(missing()),
        }
    }

    /// Runs the app's `getEventSelector`s for the installation again (say, after the
    /// third-party account changed); answers the selectors now kept.
    pub async fn refresh_selectors(
        &self,
        installation: Installation,
    ) -> Result<Vec<EventSelector>, Error> {
        if installation.status == InstallationStatus::Uninstalled {
            return Err(Error::conflict(format!(
                "installation {} is uninstalled",
                installation.id
            )));
        }
        inbound::refresh_selectors(self.runner(), Arc::new(installation))
            .await
            .map_err(|error| match error {
                error @ SelectorError::Failed { .. } => Error::invalid(error.to_string()),
                SelectorError::Store(error) => error.into(),
                SelectorError::Load(error) => error.into(),
                SelectorError::Run(error) => error.into(),
            })
    }

    /// The app version a global webhook URL names: `app` is the app's name (the URL that
    /// stays put across versions, for the newest) or one version's id.
    pub async fn global_webhook_app(&self, app: &str, key: &str) -> Result<AppId, Error> {
        inbound::global_webhook_app(self.runner(), app)
            .await?
            .ok_or_else(|| no_global_webhook(app, key))
    }
}

fn gone() -> Error {
    Error::gone("this target URL belonged to an app that has been uninstalled")
}

fn no_global_webhook(app: &str, key: &str) -> Error {
    Error::not_found(format!("app {app} has no global webhook {key:?}"))
}
