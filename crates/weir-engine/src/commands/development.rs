//! What the local runner (`weir dev`) changes besides what the API does: each edit of the
//! app folder is a new version that the one dev installation moves to at once, that
//! installation is active from the start (the developer runs `onAppInstall` from the
//! simulator, as with `fdk run`), and its iparams are saved from a form.

use weir_core::{
    Account, App, AppDefinition, AppId, AppName, Departments, Installation, InstallationId,
    InstallationStatus, Iparams,
};

use crate::engine::Engine;
use crate::error::Error;

impl Engine {
    /// Installs app version `app_id` in the account, active at once, without running
    /// `onAppInstall`; grants every scope the app asks for.
    pub async fn install_for_development(
        &self,
        account: &Account,
        app_id: &AppId,
        iparams: Iparams,
    ) -> Result<Installation, Error> {
        let no_app = || Error::not_found(format!("app {app_id} not found"));
        let app = self.store().app(app_id).await?.ok_or_else(no_app)?;
        let definition = self.app(app_id).await?.definition.clone();
        let now = weir_core::now();
        let installation = Installation {
            id: InstallationId::generate(),
            account_id: account.id.clone(),
            app_id: app.id,
            app_name: app.name,
            status: InstallationStatus::Active,
            iparams,
            departments: Departments::default(),
            scopes: definition.authorisation_scopes.clone(),
            target_token: weir_core::TargetToken::generate(),
            created_at: now,
            updated_at: now,
        };
        self.store().insert_installation(&installation).await?;
        Ok(installation)
    }

    /// Keeps a package that `weir validate`'s rules passed as the app's next version.
    pub async fn add_checked_version(
        &self,
        name: AppName,
        archive: Vec<u8>,
        definition: &AppDefinition,
    ) -> Result<App, Error> {
        let app = self
            .store()
            .insert_app(weir_store::NewApp {
                id: AppId::generate(),
                name,
                platform_version: definition.platform_version.map(|v| v.as_str().to_owned()),
                package_sha256: weir_core::sha256_hex(&archive),
                package: archive,
                subscriptions: definition.product_subscriptions(),
                created_at: weir_core::now(),
            })
            .await?;
        Ok(app)
    }

    /// Moves the active installation from app version `from` to `to` at once, without
    /// `afterAppUpdate`.
    pub async fn switch_version(
        &self,
        installation: &InstallationId,
        from: &AppId,
        to: &AppId,
    ) -> Result<(), Error> {
        let at = weir_core::now();
        Ok(self.store().switch_app(installation, from, to, at).await?)
    }

    /// Replaces the installation's iparams, checked already against its app's.
    pub async fn set_iparams(
        &self,
        installation: &InstallationId,
        iparams: &Iparams,
    ) -> Result<(), Error> {
        let at = weir_core::now();
        Ok(self.store().set_iparams(installation, iparams, at).await?)
    }
}
