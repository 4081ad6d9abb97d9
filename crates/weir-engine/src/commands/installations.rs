//! Installing an app in an account, updating it to a newer version, uninstalling it, and
//! the client token its browser app triggers registered webhooks with. The app has its say
//! in each change through its lifecycle handlers (`crate::lifecycle`).

use serde::Deserialize;
use serde_json::{Map, Value};
use weir_core::{
    Account, AccountId, ApiToken, App, AppDefinition, AppId, AppName, Departments, Installation,
    InstallationId, InstallationStatus, InvocationId, Iparams,
};
use weir_store::PageRequest;

use crate::engine::Engine;
use crate::error::Error;
use crate::lifecycle::{self, LifecycleError};
use crate::notices;

/// Client tokens start so (`wct_…`), and are told from other tokens by it.
pub const CLIENT_TOKEN_PREFIX: &str = "wct_";

/// An install as asked: the app version, and what the installer gives it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewInstallation {
    pub app_id: AppId,
    #[serde(default)]
    pub iparams: Map<String, Value>,
    #[serde(default)]
    pub departments: Departments,
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// What an install did: made a new installation, or updated the account's installation
/// of the app to this newer version.
pub enum Installed {
    New(Installation),
    Updated(Installation),
}

impl Engine {
    /// Installs the app version in the account, after its `onAppInstall` agrees. When the
    /// account has the app already, installing a newer version updates that installation.
    pub async fn install(
        &self,
        account: &Account,
        new: NewInstallation,
    ) -> Result<Installed, Error> {
        // Cheap checks first: the package is read only for a request that could succeed.
        if let Some(unknown) = new
            .departments
            .iter()
            .find(|d| !account.departments.contains(d))
        {
            return Err(Error::invalid(format!(
                "departments: {unknown:?} is not a department of account {}",
                account.id
            )));
        }
        let no_app = || Error::invalid(format!("app_id: no app {} has been uploaded", new.app_id));
        let app = self.store().app(&new.app_id).await?.ok_or_else(no_app)?;
        let definition = self.app(&app.id).await?.definition.clone();
        if let Some(installed) = self.active_installation_of(&account.id, &app.name).await? {
            let updated = self.update(installed, &app, &definition, new).await?;
            return Ok(Installed::Updated(updated));
        }
        let iparams =
            Iparams::for_app(&definition, new.iparams).map_err(|e| Error::invalid(e.0))?;
        let scopes = granted_scopes(&definition.authorisation_scopes, new.scopes)?;
        let now = weir_core::now();
        let installation = Installation {
            id: InstallationId::generate(),
            account_id: account.id.clone(),
            app_id: app.id.clone(),
            app_name: app.name.clone(),
            status: InstallationStatus::Installing,
            iparams,
            departments: new.departments,
            scopes,
            target_token: weir_core::TargetToken::generate(),
            created_at: now,
            updated_at: now,
        };
        let (runner, platform) = (self.runner().clone(), self.platform().clone());
        let installed = to_the_end(async move {
            let attempted = installation.clone();
            let installed = lifecycle::install(&runner, installation).await;
            let installed = installed.map_err(lifecycle_error);
            // Told from here, so that a caller gone meanwhile does not keep it untold.
            if let Err(error) = &installed {
                notices::installation_failed(&platform, &attempted, "install", error.message())
                    .await;
            }
            installed
        })
        .await??;
        Ok(Installed::New(installed))
    }

    /// Uninstalls, after the app's `onAppUninstall` agrees (or with `force`). The record
    /// stays, marked `uninstalled`, for the audit trail.
    pub async fn uninstall(&self, installation: Installation, force: bool) -> Result<(), Error> {
        let not_now = match installation.status {
            InstallationStatus::Active => None,
            InstallationStatus::Uninstalled => Some("is already uninstalled"),
            InstallationStatus::Installing => Some("is still being installed"),
        };
        if let Some(why) = not_now {
            return Err(Error::conflict(format!(
                "installation {} {why}",
                installation.id
            )));
        }
        self.targets().forget(installation.target_token.as_str());
        let runner = self.runner().clone();
        let uninstalling = installation.clone();
        to_the_end(async move { lifecycle::uninstall(&runner, uninstalling, force).await })
            .await?
            .map_err(lifecycle_error)?;
        // A request that came meanwhile may have cached it as it was.
        self.targets().forget(installation.target_token.as_str());
        Ok(())
    }

    /// A new client token for the installation (replacing any): shown this once.
    pub async fn issue_client_token(&self, installation: &Installation) -> Result<ApiToken, Error> {
        let token = ApiToken::generate(CLIENT_TOKEN_PREFIX);
        match self
            .store()
            .set_client_token(&installation.id, &token.hash())
            .await
        {
            Ok(()) => Ok(token),
            Err(weir_store::StoreError::NotFound) => Err(Error::conflict(format!(
                "installation {} is not active",
                installation.id
            ))),
            Err(other) => Err(other.into()),
        }
    }

    /// The account's active installation of the app (any version), if there is one.
    async fn active_installation_of(
        &self,
        account: &AccountId,
        app: &AppName,
    ) -> Result<Option<Installation>, Error> {
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let found = self.store().installations(account, &page).await?;
            if let Some(same) = found.items.into_iter().find(|i| i.app_name == *app) {
                return Ok(Some(same));
            }
            match found.next_after {
                Some(after) => page.after = Some(after),
                None => return Ok(None),
            }
        }
    }

    /// Installing a newer version of an installed app updates the installation to it (and
    /// runs its `afterAppUpdate`). The installation keeps its iparams, scopes and
    /// departments, which must suit the new version.
    async fn update(
        &self,
        installed: Installation,
        newer: &App,
        definition: &AppDefinition,
        asked: NewInstallation,
    ) -> Result<Installation, Error> {
        let current = self.store().app(&installed.app_id).await?.ok_or_else(|| {
            Error::from(weir_store::StoreError::Corrupt(format!(
                "installation {} names a missing app",
                installed.id
            )))
        })?;
        if newer.version <= current.version {
            return Err(Error::conflict(format!(
                "app {:?} version {} is already installed in account {} (installation {}); \
                 install a newer version to update it, or uninstall it first",
                current.name.as_str(),
                current.version,
                installed.account_id,
                installed.id
            )));
        }
        if !asked.iparams.is_empty()
            || !asked.scopes.is_empty()
            || asked.departments.iter().next().is_some()
        {
            return Err(Error::invalid(format!(
                "this installs version {} over installation {}, which keeps its iparams, scopes \
                 and departments: leave them out",
                newer.version, installed.id
            )));
        }
        let mut kept = installed.iparams.public.clone();
        kept.extend(installed.iparams.secure.clone());
        Iparams::for_app(definition, kept).map_err(|e| {
            Error::invalid(format!(
                "the iparams of installation {} do not suit version {}: {}",
                installed.id, newer.version, e.0
            ))
        })?;
        granted_scopes(&definition.authorisation_scopes, installed.scopes.clone())?;
        let (runner, to) = (self.runner().clone(), newer.id.clone());
        let platform = self.platform().clone();
        let kept = current.version;
        let token = installed.target_token.as_str().to_owned();
        let updated = to_the_end(async move {
            let attempted = installed.clone();
            let updated = lifecycle::update(&runner, installed, &to).await;
            let updated = updated.map_err(|error| match error {
                LifecycleError::Refused { event, message, .. } => Error::invalid(format!(
                    "the app refused the update ({event}): {message}; \
                     the installation stays on version {kept}"
                )),
                other => lifecycle_error(other),
            });
            // Told from here, so that a caller gone meanwhile does not keep it untold.
            if let Err(error) = &updated {
                notices::installation_failed(&platform, &attempted, "update", error.message())
                    .await;
            }
            updated
        })
        .await?;
        // Its target URL now runs the new version's handler.
        self.targets().forget(&token);
        updated
    }
}

/// Runs a lifecycle change to its end even if the caller goes away meanwhile: dropped
/// half-way, an install would be left `installing` and an update unreverted.
async fn to_the_end<T: Send + 'static>(
    change: impl Future<Output = T> + Send + 'static,
) -> Result<T, Error> {
    tokio::spawn(change)
        .await
        .map_err(|error| Error::internal("a lifecycle change panicked", &error))
}

/// How the app's refusals and the engine's failures are answered: a refused install is
/// the installer's to fix (422); a refused uninstall contradicts the app's state (409).
/// Either names the record of the handler's run that refused (`GET /invocations/{id}`),
/// which a refused install keeps for this.
fn lifecycle_error(error: LifecycleError) -> Error {
    let record = |invocation: Option<InvocationId>| {
        invocation.map_or(String::new(), |id| format!(" (invocation {id})"))
    };
    match error {
        LifecycleError::Refused {
            event:
                event @ (lifecycle::INSTALL_EVENT
                | lifecycle::SELECTOR_STEP
                | lifecycle::SUBSCRIBE_STEP
                | lifecycle::RESOURCES_STEP),
            message,
            invocation,
        } => Error::invalid(format!(
            "the app refused the install ({event}): {message}{}",
            record(invocation)
        )),
        LifecycleError::Refused {
            event,
            message,
            invocation,
        } => Error::conflict(format!(
            "the app refused ({event}): {message}{}",
            record(invocation)
        )),
        LifecycleError::Store(error) => error.into(),
        LifecycleError::Run(error) => error.into(),
    }
}

/// The scopes granted must be among those the app asks for (Zoho's
/// `zohoAuthorisation.scope`); each is kept once.
fn granted_scopes(requested: &[String], given: Vec<String>) -> Result<Vec<String>, Error> {
    let mut granted: Vec<String> = Vec::new();
    for scope in given {
        if !requested.contains(&scope) {
            let asked = match requested.is_empty() {
                true => "none".to_owned(),
                false => requested.join(", "),
            };
            return Err(Error::invalid(format!(
                "scopes: the app does not ask for {scope:?} (it asks for: {asked})"
            )));
        }
        if !granted.contains(&scope) {
            granted.push(scope);
        }
    }
    Ok(granted)
}
