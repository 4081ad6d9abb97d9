//! The key that seals OAuth tokens at rest (`weir_engine::oauth::sealing`): from
//! `WEIR_SECRET_KEY` (base64 of 32 bytes, e.g. `openssl rand -base64 32`), or generated
//! once and kept in the store's settings, as the `securityContext` key is, so that every
//! node and every restart opens what any node sealed.
//!
//! A key kept in the store sits in the same database as the tokens it seals: that keeps
//! tokens out of anything that shows rows (logs, the API, a dump of one table) but not out
//! of a copy of the whole database. Operators who need that set `WEIR_SECRET_KEY`, kept
//! apart from the database. Changing it makes the tokens sealed before unreadable (Weir
//! says so, naming both key ids); installations are then authorized again.

use anyhow::Context;
use weir_engine::oauth::SealingKey;
use weir_store::Store;

const SETTING: &str = "oauth_sealing_key";
const ENV: &str = "WEIR_SECRET_KEY";

pub async fn resolve(store: &dyn Store) -> anyhow::Result<SealingKey> {
    if let Ok(given) = std::env::var(ENV) {
        return SealingKey::from_base64(&given).with_context(|| format!("{ENV} is not usable"));
    }
    let fresh = SealingKey::generate()?;
    let kept = store
        .init_setting(SETTING, &fresh.to_base64())
        .await
        .context("cannot keep the sealing key")?;
    SealingKey::from_base64(&kept).context("the stored sealing key is broken")
}
