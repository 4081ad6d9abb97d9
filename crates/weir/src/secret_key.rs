//! The keys that seal secrets at rest (`weir_core::sealing`, sealed by the store), where
//! they come from, and `weir secrets`.
//!
//! The current key, which seals, comes from the first of:
//! 1. a key file (`--secret-key-file` / `WEIR_SECRET_KEY_FILE`): its first key line is the
//!    current key, the lines after it previous keys (`#` starts a comment);
//! 2. `WEIR_SECRET_KEY` (base64 of 32 bytes, e.g. `openssl rand -base64 32`);
//! 3. a key generated once and kept in the database's settings.
//!
//! Previous keys, which only open, come from the key file's further lines and from
//! `WEIR_PREVIOUS_SECRET_KEYS` (comma-separated); the key kept in the database is one too,
//! once another is configured, so moving from it to a configured key is a rotation like
//! any other.
//!
//! What each protects against: a key kept in the database sits beside what it seals, so it
//! keeps secrets out of anything that shows rows (the API, logs, a dump of some tables) but
//! not out of a copy of the whole database. A configured key kept apart from the database
//! (a secrets manager, a file only Weir reads) also protects a stolen backup or disk; it
//! does not protect against someone who can read Weir's memory or its environment.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use weir_core::{Keyring, SealingKey};
use weir_store::{SecretsCensus, Store, StoreConfig};

/// Where the generated key is kept (the name from when only OAuth tokens were sealed).
const SETTING: &str = "oauth_sealing_key";
const ENV: &str = "WEIR_SECRET_KEY";
const PREVIOUS_ENV: &str = "WEIR_PREVIOUS_SECRET_KEYS";

/// How `weir serve`, `weir dev` and `weir secrets` find the keys.
#[derive(clap::Args, Default, Clone)]
pub struct KeyArgs {
    /// File holding the key that seals secrets at rest (base64 of 32 bytes): the first
    /// line is the current key, the next lines previous keys that still open what they
    /// sealed. Without it, WEIR_SECRET_KEY (and WEIR_PREVIOUS_SECRET_KEYS,
    /// comma-separated) are used, or else a key generated and kept in the database
    #[arg(long, env = "WEIR_SECRET_KEY_FILE")]
    pub secret_key_file: Option<PathBuf>,
}

/// The configured keys, and what the operator should be told they came from.
struct Configured {
    keyring: Keyring,
    origin: String,
}

/// A store given its keys: what they seal, and the current key's id.
pub struct Unlocked {
    pub census: SecretsCensus,
    pub current: String,
}

/// Gives the store its keys, sealing what older versions stored in clear; one clear error
/// when a key that sealed data is missing or wrong.
pub async fn unlock(store: &dyn Store, args: &KeyArgs) -> anyhow::Result<Unlocked> {
    let Configured { keyring, origin } = keyring(store, args).await?;
    let current = keyring.current().id().to_owned();
    let census = store
        .unlock(keyring)
        .await
        .map_err(|e| anyhow::anyhow!("{e} ({origin})"))?;
    tracing::info!(key = %current, census = %census.describe(), "secrets at rest are sealed");
    Ok(Unlocked { census, current })
}

async fn keyring(store: &dyn Store, args: &KeyArgs) -> anyhow::Result<Configured> {
    let mut previous = match set_var(PREVIOUS_ENV) {
        Some(list) => parse_keys(list.split(','), PREVIOUS_ENV)?,
        None => Vec::new(),
    };
    let (configured, origin) = match (&args.secret_key_file, set_var(ENV).ok_or(())) {
        (Some(path), _) => {
            let mut keys = read_key_file(path)?;
            let current = keys.remove(0);
            previous.splice(0..0, keys);
            (
                Some(current),
                format!("keys from the key file {}", path.display()),
            )
        }
        (None, Ok(given)) => {
            let key =
                SealingKey::from_base64(&given).with_context(|| format!("{ENV} is not usable"))?;
            (Some(key), format!("keys from {ENV} and {PREVIOUS_ENV}"))
        }
        (None, Err(_)) => (None, String::new()),
    };
    let stored = store
        .setting(SETTING)
        .await
        .context("cannot read the stored sealing key")?
        .map(|kept| SealingKey::from_base64(&kept).context("the stored sealing key is broken"))
        .transpose()?;
    if let Some(current) = configured {
        previous.extend(stored);
        return Ok(Configured {
            keyring: Keyring::new(current, previous),
            origin,
        });
    }
    let origin = format!(
        "the key generated and kept in the database, as neither {ENV} nor a key file is set"
    );
    let current = match stored {
        Some(key) => key,
        None => {
            let census = store.secrets_census().await?;
            if !census.key_ids().is_empty() {
                bail!(
                    "secrets in this database are sealed ({}), and no key is configured: set \
                     {ENV} or --secret-key-file to the key they were sealed with",
                    census.describe()
                );
            }
            let fresh = SealingKey::generate()?;
            let kept = store
                .init_setting(SETTING, &fresh.to_base64())
                .await
                .context("cannot keep the sealing key")?;
            SealingKey::from_base64(&kept).context("the stored sealing key is broken")?
        }
    };
    Ok(Configured {
        keyring: Keyring::new(current, previous),
        origin,
    })
}

/// A variable's value, unless it is unset or empty (as `compose.yaml` passes an unset one).
fn set_var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

fn parse_keys<'a>(
    texts: impl Iterator<Item = &'a str>,
    source: &str,
) -> anyhow::Result<Vec<SealingKey>> {
    texts
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .enumerate()
        .map(|(n, text)| {
            SealingKey::from_base64(text)
                .with_context(|| format!("{source}: key {} is not usable", n + 1))
        })
        .collect()
}

/// The keys of a key file: one a line, the current one first; blank lines and `#`
/// comments are skipped.
fn read_key_file(path: &Path) -> anyhow::Result<Vec<SealingKey>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the key file {}", path.display()))?;
    let lines = text
        .lines()
        .map(|line| line.split('#').next().unwrap_or(""));
    let keys = parse_keys(lines, &format!("the key file {}", path.display()))?;
    if keys.is_empty() {
        bail!("the key file {} holds no key", path.display());
    }
    Ok(keys)
}

/// `weir secrets`: what the keys seal, and re-sealing under the current key.
#[derive(clap::Args)]
pub struct SecretsArgs {
    #[command(subcommand)]
    command: SecretsCommand,
    /// Directory of the embedded SQLite database [default: ./weir-data]
    #[arg(long, env = "WEIR_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// PostgreSQL URL (postgres://user@host/db), instead of SQLite
    #[arg(long, env = "WEIR_DATABASE_URL", global = true)]
    database_url: Option<String>,
    #[command(flatten)]
    keys: KeyArgs,
}

#[derive(clap::Subcommand)]
enum SecretsCommand {
    /// Seal every secret again under the current key, in small batches; afterwards the
    /// previous keys seal nothing and can be dropped. Safe to run while Weir serves.
    Rotate,
    /// Show how many secrets each key seals.
    Status,
}

pub async fn run(args: SecretsArgs) -> anyhow::Result<()> {
    let config = match args.database_url {
        Some(url) => StoreConfig::Postgres { url },
        None => StoreConfig::Sqlite {
            data_dir: args.data_dir.unwrap_or_else(|| "weir-data".into()),
        },
    };
    let store = weir_store::open(&config)
        .await
        .context("cannot open the store")?;
    let Configured { keyring, origin } = keyring(store.as_ref(), &args.keys).await?;
    let current = keyring.current().id().to_owned();
    let previous: Vec<String> = keyring
        .previous()
        .iter()
        .map(|k| k.id().to_owned())
        .collect();
    store
        .unlock(keyring)
        .await
        .map_err(|e| anyhow::anyhow!("{e} ({origin})"))?;
    if let SecretsCommand::Rotate = args.command {
        let mut resealed = 0;
        loop {
            let done = store.reseal(weir_store::RESEAL_BATCH).await?;
            if done == 0 {
                break;
            }
            resealed += done;
        }
        println!("re-sealed {resealed} values under {current}");
    }
    let census = store.secrets_census().await?;
    println!("current key: {current}");
    println!("sealed: {}", census.describe());
    for id in &previous {
        match census.under(id) {
            0 => println!("previous key {id} seals nothing: it can be dropped"),
            n => println!("previous key {id} still seals {n} values: run `weir secrets rotate`"),
        }
    }
    Ok(())
}

/// Re-seals, in the background of `weir serve`, what previous keys still seal, a batch
/// at a time with a pause between, and says when they seal nothing any more.
pub fn spawn_background_rotation(store: std::sync::Arc<dyn Store>, unlocked: Unlocked) {
    let Unlocked { census, current } = unlocked;
    let old: Vec<String> = census
        .key_ids()
        .into_iter()
        .filter(|id| *id != current)
        .map(str::to_owned)
        .collect();
    if old.is_empty() {
        return;
    }
    tokio::spawn(async move {
        let mut resealed = 0u64;
        loop {
            match store.reseal(weir_store::RESEAL_BATCH).await {
                Ok(0) => break,
                Ok(done) => resealed += done,
                Err(error) => {
                    tracing::warn!(%error, "re-sealing secrets under the current key stopped");
                    return;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        tracing::info!(
            resealed,
            key = %current,
            dropped = %old.join(", "),
            "secrets are all sealed under the current key: the previous keys can be dropped"
        );
    });
}
