//! App versions in memory: an app's declarations and its code, read from the stored
//! package once per process and shared by every invocation of that version (versions
//! are immutable, so nothing here ever goes stale).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use weir_core::{AppDefinition, AppId, Package, PackageLimits};
use weir_sandbox::{AppCode, TopLevelError};
use weir_store::Store;

/// How many app versions are kept; past it, the cache starts over (a rare, cheap event:
/// the next invocation of each reads its package again).
const CAPACITY: usize = 1_000;

pub struct LoadedApp {
    pub definition: Arc<AppDefinition>,
    pub code: Arc<AppCode>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("app {0} does not exist")]
    Missing(AppId),
    #[error("the stored package of app {app} cannot be read: {why}")]
    Unreadable { app: AppId, why: String },
    #[error(transparent)]
    Store(#[from] weir_store::StoreError),
}

#[derive(Default)]
pub struct AppCache {
    loaded: Mutex<HashMap<AppId, Arc<LoadedApp>>>,
}

impl AppCache {
    pub async fn get(&self, store: &dyn Store, id: &AppId) -> Result<Arc<LoadedApp>, LoadError> {
        if let Some(app) = self.lock().get(id) {
            return Ok(app.clone());
        }
        let archive = store
            .app_package(id)
            .await?
            .ok_or_else(|| LoadError::Missing(id.clone()))?;
        let app_id = id.clone();
        let loaded = tokio::task::spawn_blocking(move || read(&app_id, &archive))
            .await
            .map_err(|e| LoadError::Unreadable {
                app: id.clone(),
                why: e.to_string(),
            })??;
        let loaded = Arc::new(loaded);
        let mut cache = self.lock();
        if cache.len() >= CAPACITY {
            cache.clear();
        }
        cache.insert(id.clone(), loaded.clone());
        Ok(loaded)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<AppId, Arc<LoadedApp>>> {
        self.loaded.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The package was checked when it was uploaded; reading it back uses no limits of its
/// own, so that an operator lowering the upload limits does not break installed apps.
fn read(id: &AppId, archive: &[u8]) -> Result<LoadedApp, LoadError> {
    let unreadable = |why: String| LoadError::Unreadable {
        app: id.clone(),
        why,
    };
    let limits = PackageLimits {
        max_files: usize::MAX,
        max_unpacked_bytes: u64::MAX,
    };
    let package = Package::from_zip(archive, limits).map_err(|e| unreadable(e.to_string()))?;
    let mut definition = AppDefinition::parse(&package).map_err(|problems| {
        let first = problems
            .first()
            .map(ToString::to_string)
            .unwrap_or_default();
        unreadable(format!("{} problems, the first: {first}", problems.len()))
    })?;
    let code = Arc::new(AppCode::from_package(&package));
    // A platform 2.0 app's `exports.events`, which only its code shows.
    weir_sandbox::learn_script_events(&code, &mut definition).map_err(|error| {
        let why = match error {
            TopLevelError::Threw(problem) => format!("its top level threw: {problem}"),
            TopLevelError::OutOfTime { file } => format!("the top level of {file} ran too long"),
        };
        unreadable(why)
    })?;
    Ok(LoadedApp {
        definition: Arc::new(definition),
        code,
    })
}
