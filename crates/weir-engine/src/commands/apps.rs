//! App versions (uploaded packages) and the connector parameters the operator sets per app.

use serde::Deserialize;
use serde_json::{Map, Value};
use weir_core::{App, AppName, Iparams, Package, PackageError};

use crate::engine::Engine;
use crate::error::{Error, ErrorKind};

/// Connector parameters, all of them: what is left out is removed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppParameters {
    #[serde(default)]
    pub public: Map<String, Value>,
    /// Signing secrets, API keys: kept and passed on, never shown.
    #[serde(default)]
    pub secure: Map<String, Value>,
}

impl Engine {
    /// Checks the package whole (its declarations, its code's syntax and exports) and
    /// keeps it as the app's next version. `name` names the app when its manifest does not.
    pub async fn upload_app(&self, archive: Vec<u8>, name: Option<String>) -> Result<App, Error> {
        let package = Package::from_zip(&archive, self.package_limits()).map_err(package_error)?;
        // Compiling the app's JavaScript is CPU work: off the async threads.
        let checked = tokio::task::spawn_blocking(move || weir_sandbox::validate_package(&package))
            .await
            .map_err(|e| Error::internal("the package check failed", &e))?;
        let definition = checked.map_err(|problems| {
            let summary = problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            Error::invalid(format!("the package is not valid: {summary}")).with_problems(problems)
        })?;
        let name = match name {
            Some(name) => {
                AppName::parse(&name).map_err(|e| Error::invalid(format!("name: {e}")))?
            }
            None => definition.name.clone().ok_or_else(|| {
                Error::invalid(
                    "the app has no name: add \"name\" to manifest.json or upload with ?name=<name>",
                )
            })?,
        };
        self.add_checked_version(name, archive, &definition).await
    }

    /// Sets the connector parameters of the app whose version `app` is: they belong to the
    /// app's name, so every version gets them.
    pub async fn put_app_parameters(
        &self,
        app: &AppName,
        given: AppParameters,
    ) -> Result<Iparams, Error> {
        if let Some(both) = given.public.keys().find(|k| given.secure.contains_key(*k)) {
            return Err(Error::invalid(format!(
                "{both}: a parameter is public or secure, not both"
            )));
        }
        let parameters = Iparams {
            public: given.public,
            secure: given.secure,
        };
        self.store().put_app_parameters(app, &parameters).await?;
        Ok(parameters)
    }
}

fn package_error(error: PackageError) -> Error {
    let kind = match error {
        PackageError::NotZip(_) => ErrorKind::Malformed,
        PackageError::TooLarge { .. } => ErrorKind::TooLarge,
        _ => ErrorKind::Invalid,
    };
    Error::new(kind, error.to_string())
}
