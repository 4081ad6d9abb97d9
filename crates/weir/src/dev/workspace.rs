//! The app folder `weir dev` runs: the version of it that is installed, kept in step with
//! the files (an edit takes effect on the next event, no restart), and the one account
//! and installation it runs in. Everything lives in the folder's `.weir/`, so `$db`,
//! schedules and the target URL survive a restart.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use serde_json::{Map, Value};
use tokio::sync::Mutex;
use weir_core::{
    Account, AccountId, AppDefinition, AppId, Departments, Domain, Installation, InstallationId,
    InstallationStatus, Iparams, PackageProblem, Product, Region,
};
use weir_engine::Engine;
use weir_engine::commands::accounts::NewAccount;

use super::urls::Urls;
use crate::app_dir::{self, Packed};

/// The store setting that remembers the dev installation across restarts.
const INSTALLATION_SETTING: &str = "dev_installation";
const ACCOUNT_ID: &str = "dev";
/// Where the iparams form saves its values, in `.weir/`.
const IPARAMS_FILE: &str = "iparams.json";
/// Installed npm packages: edits there are not looked for (a restart takes them), as
/// walking them before every request would cost more than an edit there is worth.
const NODE_MODULES: &str = "node_modules";
const TEST_DATA: &str = "server/test_data";

pub struct Workspace {
    pub dir: PathBuf,
    /// The app's name: the manifest's, else the folder's. Global webhook URLs use it.
    pub app_name: String,
    pub urls: Urls,
    pub engine: Arc<Engine>,
    pub account: Account,
    pub installation_id: InstallationId,
    current: Mutex<Current>,
}

/// The installed version, and what the files looked like when it was taken.
#[derive(Clone)]
pub struct Current {
    fingerprint: u64,
    pub app_id: AppId,
    pub definition: Arc<AppDefinition>,
    /// What is wrong with the files since the last edit; the last good version runs meanwhile.
    pub problems: Vec<PackageProblem>,
}

impl Workspace {
    /// Installs the folder's app (or finds it installed by an earlier run): the app must be
    /// valid, as `snapshot` (taken by `weir validate`'s rules) says.
    pub async fn open(
        dir: &Path,
        engine: Arc<Engine>,
        snapshot: Snapshot,
        port: u16,
        public_url: &str,
    ) -> anyhow::Result<Self> {
        let store = engine.store().clone();
        let Some(definition) = snapshot.packed.definition.clone() else {
            bail!("the app is not valid");
        };
        let definition = Arc::new(definition);
        let account = dev_account(&engine, &definition).await?;
        let remembered = match store.setting(INSTALLATION_SETTING).await? {
            Some(id) => Some(store.installation(&InstallationId::parse(&id)?).await?),
            None => None,
        };
        let installation = match remembered {
            Some(Some(installation)) if installation.status == InstallationStatus::Active => {
                installation
            }
            Some(_) => bail!(
                "the installation kept in {} was uninstalled (through the API?); remove that \
                 folder to start afresh",
                state_dir(dir).display()
            ),
            None => {
                let packed = &snapshot.packed;
                let app_id = insert_version(&engine, dir, packed, &definition).await?;
                let iparams = saved_iparams(dir, &definition)?;
                let installed = engine
                    .install_for_development(&account, &app_id, iparams)
                    .await?;
                store
                    .init_setting(INSTALLATION_SETTING, installed.id.as_str())
                    .await?;
                installed
            }
        };
        let app_name = crate::validate::app_name(dir, &definition);
        let target = engine.target_url(&installation);
        let workspace = Workspace {
            dir: dir.to_owned(),
            urls: Urls::new(port, public_url, &app_name, target),
            app_name,
            engine,
            account,
            installation_id: installation.id.clone(),
            current: Mutex::new(Current {
                fingerprint: 0,
                app_id: installation.app_id.clone(),
                definition: definition.clone(),
                problems: Vec::new(),
            }),
        };
        // An earlier run may have installed other files: take these.
        let mut current = workspace.current.lock().await;
        *current = workspace.switch(&current, snapshot).await?;
        drop(current);
        workspace.select_events().await;
        Ok(workspace)
    }

    /// The installed version, after taking any edit made since the last look. The
    /// installation's selectors are renewed after an edit, once the new version is in.
    pub async fn current(&self) -> anyhow::Result<Current> {
        // Looked at before the lock, so that requests look at once; one taken before an
        // edit and stored after it only makes the next request take the edit again.
        let dir = self.dir.clone();
        let now = tokio::task::spawn_blocking(move || fingerprint(&dir)).await?;
        let mut current = self.current.lock().await;
        if now == current.fingerprint {
            return Ok(current.clone());
        }
        let dir = self.dir.clone();
        let snapshot = tokio::task::spawn_blocking(move || Snapshot::read(&dir, now)).await?;
        let before = current.app_id.clone();
        *current = self.switch(&current, snapshot).await?;
        let taken = current.clone();
        drop(current); // the app's getEventSelector may take its time, or call us
        if taken.app_id != before && !taken.definition.connector_events.is_empty() {
            self.select_events().await;
        }
        Ok(taken)
    }

    /// The installation as stored now (its iparams may have changed).
    pub async fn installation(&self) -> anyhow::Result<Arc<Installation>> {
        let store = self.engine.store();
        let installation = store
            .installation(&self.installation_id)
            .await?
            .context("the dev installation is gone from .weir/")?;
        Ok(Arc::new(installation))
    }

    /// The iparams form's values: the saved ones, else the app's defaults.
    pub async fn iparam_values(&self) -> anyhow::Result<Map<String, Value>> {
        let installation = self.installation().await?;
        let mut values = installation.iparams.public.clone();
        values.extend(installation.iparams.secure.clone());
        Ok(values)
    }

    /// Checks the values against the app's iparams, then saves them in `.weir/` and in
    /// the installation. `Err(message)` names the field at fault.
    pub async fn save_iparams(
        &self,
        current: &Current,
        values: Map<String, Value>,
    ) -> anyhow::Result<Result<(), String>> {
        let iparams = match Iparams::for_app(&current.definition, values.clone()) {
            Ok(iparams) => iparams,
            Err(invalid) => return Ok(Err(invalid.0)),
        };
        let file = state_dir(&self.dir).join(IPARAMS_FILE);
        std::fs::write(&file, serde_json::to_vec_pretty(&values)?)
            .with_context(|| format!("cannot write {}", file.display()))?;
        self.engine
            .set_iparams(&self.installation_id, &iparams)
            .await?;
        self.select_events().await; // selectors are often made of iparams
        Ok(Ok(()))
    }

    /// Gives the installation its selectors for the app's global-webhook events
    /// (`getEventSelector`), as an install does. A failure is logged, and its record shows
    /// among the recent runs: the developer fixes the code or the iparams and goes on.
    async fn select_events(&self) {
        let installation = match self.installation().await {
            Ok(installation) => installation,
            Err(error) => {
                tracing::warn!(error = format!("{error:#}"), "cannot read the installation");
                return;
            }
        };
        if let Err(error) = self.engine.refresh_selectors((*installation).clone()).await {
            tracing::warn!(%error, "getEventSelector failed: global webhooks will not reach the app");
        }
    }

    /// Moves the installation to the version `snapshot` holds, unless it has problems
    /// (then they are kept to be shown) or is the version installed.
    async fn switch(&self, from: &Current, snapshot: Snapshot) -> anyhow::Result<Current> {
        let Snapshot {
            fingerprint,
            packed,
        } = snapshot;
        let store = self.engine.store().clone();
        let definition = match (&packed.definition, packed.problems.is_empty()) {
            (Some(definition), true) => Arc::new(definition.clone()),
            _ => {
                tracing::warn!(
                    problems = packed.problems.len(),
                    "the app has problems; the last good version keeps running (see the simulator page)"
                );
                return Ok(Current {
                    fingerprint,
                    problems: packed.problems,
                    ..from.clone()
                });
            }
        };
        let sha = weir_core::sha256_hex(&packed.zip);
        let installed = store.app(&from.app_id).await?;
        let app_id = match installed {
            Some(app) if app.package_sha256 == sha => from.app_id.clone(),
            _ => {
                let to = insert_version(&self.engine, &self.dir, &packed, &definition).await?;
                self.engine
                    .switch_version(&self.installation_id, &from.app_id, &to)
                    .await
                    .context("cannot move the dev installation to the edited app")?;
                tracing::info!(app = %to, "the app changed; the next event runs the new code");
                to
            }
        };
        Ok(Current {
            fingerprint,
            app_id,
            definition,
            problems: Vec::new(),
        })
    }
}

/// The app folder at one moment: its fingerprint, then its package. In that order, so an
/// edit made while packing changes the fingerprint again and is taken at the next look.
pub struct Snapshot {
    fingerprint: u64,
    pub packed: Packed,
}

impl Snapshot {
    pub fn take(dir: &Path) -> anyhow::Result<Snapshot> {
        let fingerprint = fingerprint(dir);
        Ok(Snapshot {
            fingerprint,
            packed: app_dir::pack(dir)?,
        })
    }

    /// As `take`, with a folder that cannot be read (mid-edit, or its manifest moved
    /// away) as a problem to show rather than an error: the last good version runs on.
    fn read(dir: &Path, fingerprint: u64) -> Snapshot {
        let packed = app_dir::pack(dir).unwrap_or_else(|error| Packed {
            zip: Vec::new(),
            definition: None,
            problems: vec![PackageProblem::new("", "", format!("{error:#}"))],
        });
        Snapshot {
            fingerprint,
            packed,
        }
    }
}

/// `.weir/` in the app folder: the SQLite database, the admin token, the iparams.
pub fn state_dir(dir: &Path) -> PathBuf {
    dir.join(".weir")
}

/// The account the dev installation lives in, made on the first run. Its product is the
/// app's first product, so its events look like that product's.
async fn dev_account(engine: &Engine, definition: &AppDefinition) -> anyhow::Result<Account> {
    let id = AccountId::parse(ACCOUNT_ID)?;
    if let Some(account) = engine.store().account(&id).await? {
        return Ok(account);
    }
    let product = definition
        .scopes
        .iter()
        .find_map(|scope| product_of_scope(&scope.name))
        .unwrap_or("freshdesk");
    let account = engine
        .create_account(NewAccount {
            id: Some(id),
            domain: Domain::parse(&dev_domain(product))?,
            region: Region::US,
            product: Product::parse(product)?,
            departments: Departments::default(),
        })
        .await?;
    Ok(account)
}

/// The dev account's domain, shaped as the product's own (`<name>.freshdesk.com`,
/// `<name>.myfreshworks.com`) but under `.test`, which RFC 6761 keeps out of the DNS for
/// good: it passes the request rules' FQDN check (letters, digits and hyphens: a product
/// name's `_` would not), and a call to it reaches nothing on the internet unless the
/// developer maps it to a fake with `--host-override`.
pub fn dev_domain(product: &str) -> String {
    let label = match product {
        "freshworks_crm" => "myfreshworks",
        other => other,
    };
    format!("{ACCOUNT_ID}.{}.test", label.replace('_', ""))
}

/// The product whose events a scope holds: a 2.x scope is a product; a 3.x module's
/// events come from a product (`deal` from Freshsales); `common` has none.
pub fn product_of_scope(scope: &str) -> Option<&str> {
    use weir_core::catalogue::{module_products, products};
    match products().contains(&scope) {
        true => Some(scope),
        false => module_products(scope).first().copied(),
    }
}

async fn insert_version(
    engine: &Engine,
    dir: &Path,
    packed: &Packed,
    definition: &AppDefinition,
) -> anyhow::Result<AppId> {
    let name = match &definition.name {
        Some(name) => name.clone(),
        None => weir_core::AppName::parse(&crate::validate::app_name(dir, definition))?,
    };
    let app = engine
        .add_checked_version(name, packed.zip.clone(), definition)
        .await?;
    Ok(app.id)
}

/// The values saved by the iparams form, checked when they can be: a required iparam
/// not filled in yet leaves the values as saved (the form says what is missing).
fn saved_iparams(dir: &Path, definition: &AppDefinition) -> anyhow::Result<Iparams> {
    let file = state_dir(dir).join(IPARAMS_FILE);
    let saved: Map<String, Value> = match std::fs::read(&file) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a JSON object", file.display()))?,
        Err(_) => Map::new(),
    };
    if let Ok(iparams) = Iparams::for_app(definition, saved.clone()) {
        return Ok(iparams);
    }
    let is_secure = |name: &str| {
        definition
            .iparams
            .iter()
            .any(|s| s.secure && s.name == name)
    };
    let (secure, public) = saved.into_iter().partition(|(name, _)| is_secure(name));
    Ok(Iparams { public, secure })
}

/// A hash of every app file's path, size and modification time: cheap enough to take
/// before every event, so an edit is never missed.
fn fingerprint(dir: &Path) -> u64 {
    let mut hasher = DefaultHasher::new();
    walk(dir, dir, &mut hasher);
    hasher.finish()
}

fn walk(root: &Path, dir: &Path, hasher: &mut DefaultHasher) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let name = entry.file_name();
        let Ok(metadata) = entry.metadata() else {
            continue;
        };
        if metadata.is_dir() {
            // As `weir pack` leaves folders out: build output and state at the root only.
            // Saved payloads are the simulator's, not code: saving one needs no new version.
            let left_out = (dir == root && app_dir::LEFT_OUT_AT_ROOT.iter().any(|l| name == *l))
                || name == NODE_MODULES
                || entry.path() == root.join(TEST_DATA);
            if !left_out {
                walk(root, &entry.path(), hasher);
            }
            continue;
        }
        entry.path().strip_prefix(root).ok().hash(hasher);
        metadata.len().hash(hasher);
        metadata.modified().ok().hash(hasher);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the `$request` rules take for a fully qualified host: two labels or more, of
    /// letters, digits and inner hyphens, the last not all digits.
    fn is_fqdn(host: &str) -> bool {
        let labels: Vec<&str> = host.split('.').collect();
        labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
            && !labels[labels.len() - 1].chars().all(|c| c.is_ascii_digit())
    }

    #[test]
    fn every_products_dev_domain_is_a_test_domain_requests_accept() {
        let products = weir_core::catalogue::products();
        for product in products.iter().chain([&weir_core::catalogue::ZOHO_DESK]) {
            let domain = dev_domain(product);
            assert!(Domain::parse(&domain).is_ok(), "{domain}");
            assert!(is_fqdn(&domain), "{domain}");
            assert!(domain.ends_with(".test"), "{domain}");
        }
        assert_eq!(dev_domain("freshdesk"), "dev.freshdesk.test");
        assert_eq!(dev_domain("freshworks_crm"), "dev.myfreshworks.test");
        assert_eq!(dev_domain("zoho_desk"), "dev.zohodesk.test");
    }
}
