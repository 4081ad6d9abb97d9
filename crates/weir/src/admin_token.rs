//! The admin token: from `WEIR_ADMIN_TOKEN`, or generated once and kept.
//!
//! A generated token is written to `<data-dir>/admin-token` (readable by its owner only)
//! and its hash to the database, so every node sharing a PostgreSQL database accepts the
//! same token. Only the hash is held in memory.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use weir_core::{ApiToken, TokenHash};
use weir_store::Store;

const SETTING: &str = "admin_token_sha256";
const FILE_NAME: &str = "admin-token";

pub async fn resolve(store: &dyn Store, data_dir: &Path) -> anyhow::Result<TokenHash> {
    if let Ok(given) = std::env::var("WEIR_ADMIN_TOKEN") {
        if given.trim().len() < 16 {
            bail!("WEIR_ADMIN_TOKEN must be at least 16 characters");
        }
        return Ok(ApiToken::from_given(given.trim()).hash());
    }
    let path = data_dir.join(FILE_NAME);
    if let Some(stored) = store.setting(SETTING).await? {
        tell_where(&path, "the admin token is in");
        return Ok(TokenHash::from_stored(stored));
    }
    let token = ApiToken::generate("weir_admin_");
    write_private(&path, token.expose())?;
    let stored = store.init_setting(SETTING, token.hash().as_str()).await?;
    if stored != token.hash().as_str() {
        // Another node generated one first; its token stands.
        std::fs::remove_file(&path).ok();
        tell_where(&path, "another node generated the admin token; see its");
    } else {
        tell_where(&path, "generated an admin token; it is in");
    }
    Ok(TokenHash::from_stored(stored))
}

fn tell_where(path: &Path, what: &str) {
    let shown: PathBuf = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    eprintln!("weir: {what} {} (or set WEIR_ADMIN_TOKEN)", shown.display());
}

fn write_private(path: &Path, token: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    writeln!(file, "{token}").with_context(|| format!("cannot write {}", path.display()))?;
    file.sync_all()
        .with_context(|| format!("cannot write {}", path.display()))
}
