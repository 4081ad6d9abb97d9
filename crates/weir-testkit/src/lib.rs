//! Helpers for Weir's own tests (a dev-dependency only): a fresh PostgreSQL database per
//! test, temporary directories, app packages zipped in memory, a fake third party on
//! loopback, and a webhook receiver that tallies what it got.

pub mod browser;
mod fake_third_party;
mod webhook_tally;

pub use fake_third_party::{FakeThirdParty, Received, Reply, json_reply};
pub use webhook_tally::WebhookTally;

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::{Connection, Executor, PgConnection};

/// The server the PostgreSQL tests use. CI sets it; the default is the local server of
/// this machine kind. These tests never skip: without PostgreSQL they fail and say why.
pub fn postgres_admin_url() -> String {
    std::env::var("WEIR_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Creates a new, empty database and returns its URL. Databases that earlier runs left
/// behind (named `weir_test_<unix seconds>_…`) are dropped once they are an hour old.
pub async fn fresh_postgres_database() -> String {
    let admin_url = postgres_admin_url();
    let mut admin = PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL tests need a server: cannot connect to {admin_url} ({e}); \
             set WEIR_TEST_DATABASE_URL to a database this user may create databases from"
        )
    });
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    drop_stale_databases(&mut admin, now).await;
    let name = format!("weir_test_{now}_{}", random_suffix());
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("CREATE DATABASE");
    with_database(&admin_url, &name)
}

/// Makes the database at `url` (one `fresh_postgres_database` made) read-only, or writable
/// again, as a failed-over or full server would be: new sessions get the setting, and the
/// sessions open now are ended so that their pools reconnect with it.
pub async fn set_postgres_read_only(url: &str, read_only: bool) {
    let name = database_name(url);
    let mut admin = PgConnection::connect(&postgres_admin_url()).await.unwrap();
    let setting = if read_only { "on" } else { "off" };
    admin
        .execute(
            format!("ALTER DATABASE {name} SET default_transaction_read_only = {setting}").as_str(),
        )
        .await
        .unwrap();
    end_postgres_sessions(url).await;
}

/// The database's name in `url`.
fn database_name(url: &str) -> String {
    url.rsplit('/')
        .next()
        .and_then(|tail| tail.split('?').next())
        .unwrap_or_default()
        .to_owned()
}

/// Ends every session open on the database at `url`, as a server restart would: a pool
/// finds its connections dead on their next use.
pub async fn end_postgres_sessions(url: &str) {
    let name = database_name(url);
    let mut admin = PgConnection::connect(&postgres_admin_url()).await.unwrap();
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(&name)
        .execute(&mut admin)
        .await
        .unwrap();
}

async fn drop_stale_databases(admin: &mut PgConnection, now: u64) {
    let names: Vec<(String,)> =
        sqlx::query_as("SELECT datname FROM pg_database WHERE datname LIKE 'weir_test_%'")
            .fetch_all(&mut *admin)
            .await
            .unwrap_or_default();
    for (name,) in names {
        let created = name.split('_').nth(2).and_then(|s| s.parse::<u64>().ok());
        if created.is_some_and(|secs| secs + 3600 < now) {
            let _ = admin
                .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                .await;
        }
    }
}

/// The same server URL with another database name.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

fn random_suffix() -> String {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).unwrap();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> Self {
        let path = std::env::temp_dir().join(format!("weir-test-{}", random_suffix()));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Default for TempDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A zip archive holding the given files.
pub fn zip(files: &[(&str, &str)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, content) in files {
        writer
            .start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(content.as_bytes()).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// A zip archive holding the given files, then `path` a second time with `again` in it.
/// Zip writers refuse a name twice, so the second entry is written under a stand-in name
/// of the same length and renamed in the archive's bytes (its local header and its
/// central directory record), as a hand-made hostile archive would have it.
pub fn zip_with_a_path_twice(files: &[(&str, &str)], path: &str, again: &str) -> Vec<u8> {
    assert!(
        files.iter().any(|(name, _)| *name == path),
        "{path} must be one of the files"
    );
    let stand_in = format!("{}#", &path[..path.len() - 1]);
    let mut entries = files.to_vec();
    entries.push((&stand_in, again));
    let mut bytes = zip(&entries);
    let mut renamed = 0;
    let mut at = 0;
    while let Some(found) = bytes[at..]
        .windows(stand_in.len())
        .position(|window| window == stand_in.as_bytes())
    {
        bytes[at + found..at + found + path.len()].copy_from_slice(path.as_bytes());
        at += found + path.len();
        renamed += 1;
    }
    assert_eq!(renamed, 2, "the stand-in is named in two places only");
    bytes
}

/// Starts `weir serve` (the binary at `bin`) on a random loopback port, with its data in
/// `data_dir`, `args` after it and `admin_token`, logging errors only; returns the process
/// (killed when dropped) and its base URL once it listens. For benchmarks: the black-box
/// tests keep their own start, which can also keep the log.
pub async fn serve_weir(
    bin: &str,
    data_dir: &Path,
    args: &[&str],
    admin_token: &str,
) -> (tokio::process::Child, String) {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(args)
        .env("WEIR_ADMIN_TOKEN", admin_token)
        .env("WEIR_LOG", "error")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    while let Some(line) = lines.next_line().await.unwrap() {
        if let Some(base) = line.strip_prefix("weir listening on ") {
            return (child, base.to_owned());
        }
    }
    panic!("weir exited before listening");
}

/// The processor's model name, for benchmarks to say what they ran on.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|model| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_the_database_name() {
        assert_eq!(
            with_database("postgres://u@h:5432/test", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h/test?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
