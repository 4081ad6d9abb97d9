//! `weir serve` settings: defaults, then `weir.toml`, then `WEIR_*` environment variables,
//! then flags, each overriding the one before.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;
use weir_engine::outbound::{Cidr, OutboundSettings};
use weir_engine::platform::MAX_ENTITY_PAGE_SIZE;

#[derive(clap::Args, Default)]
pub struct ServeArgs {
    #[command(flatten)]
    keys: crate::secret_key::KeyArgs,
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "WEIR_LISTEN")]
    listen: Option<SocketAddr>,
    /// Directory for the embedded SQLite database and the generated admin token
    /// [default: ./weir-data]
    #[arg(long, env = "WEIR_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// PostgreSQL URL (postgres://user@host/db); when given, data is kept there instead
    /// of in SQLite
    #[arg(long, env = "WEIR_DATABASE_URL")]
    database_url: Option<String>,
    /// Base of every URL Weir hands out, e.g. https://events.example.com
    /// [default: http://<listen address>]
    #[arg(long, env = "WEIR_PUBLIC_URL")]
    public_url: Option<String>,
    /// Configuration file [default: ./weir.toml, if it exists]
    #[arg(long, env = "WEIR_CONFIG")]
    config: Option<PathBuf>,
    /// Internal networks (CIDR, comma-separated) that outbound calls may reach anyway;
    /// loopback, private, link-local and metadata addresses are refused otherwise.
    /// For development and tests, e.g. 127.0.0.0/8
    #[arg(long, env = "WEIR_ALLOW_PRIVATE_DESTINATIONS", value_delimiter = ',')]
    allow_private_destinations: Vec<String>,
    /// Send calls to HOST to ADDRESS instead, over plain HTTP: HOST=IP:PORT, repeatable
    /// or comma-separated. Lets an app that calls https://api.github.com run against a
    /// local fake without editing it
    #[arg(
        long = "host-override",
        env = "WEIR_HOST_OVERRIDES",
        value_delimiter = ','
    )]
    host_overrides: Vec<String>,
    /// What this node does, comma-separated: `api` (serve HTTP and accept events) and
    /// `worker` (run handlers, schedules and deliveries). Nodes sharing one PostgreSQL
    /// database may split the roles [default: api,worker]
    #[arg(long, env = "WEIR_ROLE", value_delimiter = ',')]
    role: Vec<Role>,
    /// Requests a minute one installation's target URL takes, on this node, before
    /// answering 429 [default: 250]
    #[arg(long, env = "WEIR_EXTERNAL_EVENTS_PER_MINUTE")]
    external_events_per_minute: Option<u32>,
    /// The largest body a target URL or global webhook takes, in bytes [default: 131072]
    #[arg(long, env = "WEIR_WEBHOOK_MAX_BYTES")]
    webhook_max_bytes: Option<usize>,
    /// Records a page of entity storage's getAll holds (`$db.entity(…).getAll`), 1 to 100
    /// [default: 100]
    #[arg(long, env = "WEIR_ENTITY_PAGE_SIZE")]
    entity_page_size: Option<u32>,
    /// Install apps with extension webhooks without checking that their URLs answer
    /// (for development; Zoho Desk checks)
    #[arg(long, env = "WEIR_NO_EXTENSION_URL_CHECK")]
    no_extension_url_check: bool,
    /// Disable a subscription whose every attempt has failed for this many seconds
    /// [default: 432000, five days]
    #[arg(long, env = "WEIR_DISABLE_FAILING_AFTER")]
    disable_failing_after: Option<u64>,
    /// Tell operational webhooks at most once in this many seconds that a subscription,
    /// or an installation's handler, is failing [default: 3600]
    #[arg(long, env = "WEIR_OPERATIONAL_DEBOUNCE")]
    operational_debounce: Option<u64>,
    /// Keep the records of registered webhook calls this many days [default: 30]
    #[arg(long, env = "WEIR_WEBHOOK_RECORD_DAYS")]
    webhook_record_days: Option<u64>,
    /// Keep events, with their jobs, deliveries and attempts, this many days once none is
    /// pending [default: 30]
    #[arg(long, env = "WEIR_EVENT_RECORD_DAYS")]
    event_record_days: Option<u64>,
    /// Keep the records of handler runs (console output included) this many days
    /// [default: 30]
    #[arg(long, env = "WEIR_INVOCATION_RECORD_DAYS")]
    invocation_record_days: Option<u64>,
    /// Keep the attempts of finished deliveries this many days [default: 30]
    #[arg(long, env = "WEIR_ATTEMPT_RECORD_DAYS")]
    attempt_record_days: Option<u64>,
    /// Seconds an extension webhook's URL has to answer 200 before the delivery counts as
    /// failed, 1 to 60 (Zoho Desk: 5) [default: 5]
    #[arg(long, env = "WEIR_EXTENSION_WEBHOOK_TIMEOUT")]
    extension_webhook_timeout: Option<u64>,
    /// Seconds a client has to send a request's headers, on a new connection or between
    /// requests on a kept-alive one, before the connection is closed [default: 10]
    #[arg(long, env = "WEIR_HEADER_READ_TIMEOUT")]
    header_read_timeout: Option<u64>,
    /// Seconds a request body may stall between two pieces before the client gets 408
    /// [default: 10]
    #[arg(long, env = "WEIR_BODY_IDLE_TIMEOUT")]
    body_idle_timeout: Option<u64>,
    /// Seconds a whole request body may take before the client gets 408 [default: 60]
    #[arg(long, env = "WEIR_BODY_TIMEOUT")]
    body_timeout: Option<u64>,
    /// Who may frame the account portal (/portal): a CSP frame-ancestors value, e.g.
    /// "https://app.example.com" to embed it in your product [default: 'none']
    #[arg(long, env = "WEIR_PORTAL_FRAME_ANCESTORS")]
    portal_frame_ancestors: Option<String>,
}

/// The same settings in `weir.toml`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    public_url: Option<String>,
    allow_private_destinations: Option<Vec<String>>,
    /// Host name → "IP:PORT".
    host_overrides: Option<BTreeMap<String, String>>,
    role: Option<Vec<Role>>,
    external_events_per_minute: Option<u32>,
    webhook_max_bytes: Option<usize>,
    entity_page_size: Option<u32>,
    check_extension_urls: Option<bool>,
    disable_failing_after: Option<u64>,
    operational_debounce: Option<u64>,
    webhook_record_days: Option<u64>,
    event_record_days: Option<u64>,
    invocation_record_days: Option<u64>,
    attempt_record_days: Option<u64>,
    extension_webhook_timeout: Option<u64>,
    header_read_timeout: Option<u64>,
    body_idle_timeout: Option<u64>,
    body_timeout: Option<u64>,
    portal_frame_ancestors: Option<String>,
}

#[derive(clap::ValueEnum, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Api,
    Worker,
}

/// Not `Debug`: `database_url` may hold a password.
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    /// `None` means "http:// and the address actually bound", known only after binding.
    pub public_url: Option<String>,
    pub outbound: OutboundSettings,
    pub external_events_per_minute: u32,
    pub webhook_max_bytes: usize,
    /// Records a page of entity storage's `getAll` holds.
    pub entity_page_size: u32,
    /// Whether extension webhook URLs must answer before an install succeeds.
    pub check_extension_urls: bool,
    pub disable_failing_after: std::time::Duration,
    pub operational_debounce: std::time::Duration,
    /// How long each kind of record is kept.
    pub retention: weir_engine::retention::Retention,
    /// How long an extension webhook's URL has to answer 200.
    pub extension_webhook_timeout: std::time::Duration,
    /// How long slow clients may take.
    pub timeouts: weir_http::Timeouts,
    /// The console's and portal's settings.
    pub console: weir_http::ConsoleSettings,
    /// Whether this node serves the API.
    pub api: bool,
    /// Whether this node runs handlers, schedules and deliveries.
    pub workers: bool,
    /// Where the keys that seal secrets at rest come from.
    pub keys: crate::secret_key::KeyArgs,
}

impl ServeArgs {
    pub fn resolve(self) -> anyhow::Result<ServeConfig> {
        let file = match &self.config {
            Some(path) => read_file_config(path)?,
            None if Path::new("weir.toml").exists() => read_file_config(Path::new("weir.toml"))?,
            None => FileConfig::default(),
        };
        let roles = match (self.role, file.role) {
            (flag, _) if !flag.is_empty() => flag,
            (_, Some(file)) if !file.is_empty() => file,
            _ => vec![Role::Api, Role::Worker],
        };
        let public_url = self
            .public_url
            .or(file.public_url)
            .map(|url| checked_public_url(&url))
            .transpose()?;
        Ok(ServeConfig {
            keys: self.keys,
            listen: self
                .listen
                .or(file.listen)
                .unwrap_or(([127, 0, 0, 1], 8080).into()),
            data_dir: self
                .data_dir
                .or(file.data_dir)
                .unwrap_or_else(|| "weir-data".into()),
            database_url: self.database_url.or(file.database_url),
            public_url,
            external_events_per_minute: self
                .external_events_per_minute
                .or(file.external_events_per_minute)
                .unwrap_or(250),
            webhook_max_bytes: self
                .webhook_max_bytes
                .or(file.webhook_max_bytes)
                .unwrap_or(128 * 1024),
            entity_page_size: entity_page_size(
                self.entity_page_size
                    .or(file.entity_page_size)
                    .unwrap_or(MAX_ENTITY_PAGE_SIZE),
            )?,
            disable_failing_after: std::time::Duration::from_secs(
                self.disable_failing_after
                    .or(file.disable_failing_after)
                    .unwrap_or(5 * 24 * 3600),
            ),
            operational_debounce: std::time::Duration::from_secs(
                self.operational_debounce
                    .or(file.operational_debounce)
                    .unwrap_or(3600),
            ),
            retention: weir_engine::retention::Retention {
                webhook_calls: record_retention(
                    "--webhook-record-days",
                    self.webhook_record_days.or(file.webhook_record_days),
                )?,
                events: record_retention(
                    "--event-record-days",
                    self.event_record_days.or(file.event_record_days),
                )?,
                invocations: record_retention(
                    "--invocation-record-days",
                    self.invocation_record_days.or(file.invocation_record_days),
                )?,
                attempts: record_retention(
                    "--attempt-record-days",
                    self.attempt_record_days.or(file.attempt_record_days),
                )?,
            },
            extension_webhook_timeout: extension_webhook_timeout(
                self.extension_webhook_timeout
                    .or(file.extension_webhook_timeout)
                    .unwrap_or(5),
            )?,
            timeouts: timeouts([
                self.header_read_timeout.or(file.header_read_timeout),
                self.body_idle_timeout.or(file.body_idle_timeout),
                self.body_timeout.or(file.body_timeout),
            ])?,
            console: weir_http::ConsoleSettings {
                portal_frame_ancestors: frame_ancestors(
                    self.portal_frame_ancestors.or(file.portal_frame_ancestors),
                )?,
            },
            check_extension_urls: !self.no_extension_url_check
                && file.check_extension_urls.unwrap_or(true),
            api: roles.contains(&Role::Api),
            workers: roles.contains(&Role::Worker),
            outbound: OutboundSettings {
                allow_private: allowed_networks(or_file(
                    self.allow_private_destinations,
                    file.allow_private_destinations,
                ))?,
                host_overrides: host_overrides(or_file(
                    self.host_overrides,
                    file.host_overrides.map(|map| {
                        map.into_iter()
                            .map(|(host, to)| format!("{host}={to}"))
                            .collect()
                    }),
                ))?,
            },
        })
    }
}

/// `--webhook-record-days`: 1 to 3650 days.
/// Days a kind of record is kept: 30 unless set, 1 to 3650.
fn record_retention(flag: &str, days: Option<u64>) -> anyhow::Result<std::time::Duration> {
    let days = days.unwrap_or(30);
    if !(1..=3650).contains(&days) {
        bail!("{flag}: must be 1 to 3650, not {days}");
    }
    Ok(std::time::Duration::from_secs(days * 24 * 3600))
}

/// `--entity-page-size`: 1 to `MAX_ENTITY_PAGE_SIZE` records.
fn entity_page_size(records: u32) -> anyhow::Result<u32> {
    if !(1..=MAX_ENTITY_PAGE_SIZE).contains(&records) {
        bail!("--entity-page-size: must be 1 to {MAX_ENTITY_PAGE_SIZE}, not {records}");
    }
    Ok(records)
}

/// A list flag given replaces the file's list.
fn or_file(flag: Vec<String>, file: Option<Vec<String>>) -> Vec<String> {
    if flag.is_empty() {
        file.unwrap_or_default()
    } else {
        flag
    }
}

fn allowed_networks(given: Vec<String>) -> anyhow::Result<Vec<Cidr>> {
    given
        .iter()
        .map(|text| {
            text.parse::<Cidr>()
                .map_err(|e| anyhow::anyhow!("--allow-private-destinations: {e}"))
        })
        .collect()
}

pub(crate) fn host_overrides(given: Vec<String>) -> anyhow::Result<HashMap<String, SocketAddr>> {
    given
        .iter()
        .map(|entry| {
            let parsed = entry.split_once('=').and_then(|(host, address)| {
                let address: SocketAddr = address.trim().parse().ok()?;
                let host = host.trim().to_ascii_lowercase();
                (!host.is_empty()).then_some((host, address))
            });
            parsed.ok_or_else(|| {
                anyhow::anyhow!(
                    "--host-override must be HOST=IP:PORT such as api.github.com=127.0.0.1:8081, got {entry:?}"
                )
            })
        })
        .collect()
}

fn extension_webhook_timeout(seconds: u64) -> anyhow::Result<std::time::Duration> {
    if !(1..=60).contains(&seconds) {
        bail!("extension_webhook_timeout must be 1 to 60 seconds, got {seconds}");
    }
    Ok(std::time::Duration::from_secs(seconds))
}

/// The HTTP timeouts, in seconds where given: header read, body idle, body total.
fn timeouts(seconds: [Option<u64>; 3]) -> anyhow::Result<weir_http::Timeouts> {
    let defaults = weir_http::Timeouts::default();
    let names = ["header_read_timeout", "body_idle_timeout", "body_timeout"];
    let given = |i: usize, default: std::time::Duration| match seconds[i] {
        None => Ok(default),
        Some(0) => bail!("{} must be at least 1 second", names[i]),
        Some(s) => Ok(std::time::Duration::from_secs(s)),
    };
    Ok(weir_http::Timeouts {
        header_read: given(0, defaults.header_read)?,
        body_idle: given(1, defaults.body_idle)?,
        body_total: given(2, defaults.body_total)?,
    })
}

fn read_file_config(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("{}: invalid configuration", path.display()))
}

/// A CSP `frame-ancestors` source list: sources separated by spaces, with nothing that
/// would end the directive or the header.
fn frame_ancestors(given: Option<String>) -> anyhow::Result<String> {
    let Some(given) = given else {
        return Ok(weir_http::ConsoleSettings::default().portal_frame_ancestors);
    };
    let sources: Vec<&str> = given.split_whitespace().collect();
    let fine = |source: &&str| {
        source
            .chars()
            .all(|c| c.is_ascii_graphic() && c != ';' && c != ',')
    };
    if sources.is_empty() || !sources.iter().all(fine) {
        anyhow::bail!(
            "--portal-frame-ancestors must be CSP sources separated by spaces, such as \
             'none', 'self' or https://app.example.com; got {given:?}"
        );
    }
    Ok(sources.join(" "))
}

pub(crate) fn checked_public_url(url: &str) -> anyhow::Result<String> {
    let url = url.trim_end_matches('/');
    let host = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match host {
        Some(host) if !host.is_empty() && !host.contains(['?', '#', ' ']) => Ok(url.to_owned()),
        _ => bail!(
            "--public-url must be an http:// or https:// URL such as https://events.example.com, got {url:?}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_and_defaults_fill_the_rest() {
        let dir = std::env::temp_dir().join(format!("weir-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("weir.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\ndata_dir = \"/var/lib/weir\"\n",
        )
        .unwrap();
        let args = ServeArgs {
            listen: Some("0.0.0.0:7000".parse().unwrap()),
            config: Some(file),
            ..ServeArgs::default()
        };
        let config = args.resolve().unwrap();
        assert_eq!(config.listen, "0.0.0.0:7000".parse().unwrap());
        assert_eq!(config.data_dir, PathBuf::from("/var/lib/weir"));
        assert_eq!(config.database_url, None);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn portal_frame_ancestors_are_a_csp_source_list() {
        assert_eq!(frame_ancestors(None).unwrap(), "'none'");
        assert_eq!(
            frame_ancestors(Some("  https://a.example.com   'self' ".into())).unwrap(),
            "https://a.example.com 'self'"
        );
        for bad in [
            "",
            "https://a.example.com; script-src *",
            "a,b",
            "https://a.example.com\u{7f}",
        ] {
            assert!(frame_ancestors(Some(bad.into())).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn rejects_unknown_settings_and_bad_public_urls() {
        let dir = std::env::temp_dir().join(format!("weir-config-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("weir.toml");
        std::fs::write(&file, "lisen = \"127.0.0.1:9000\"\n").unwrap();
        let Err(err) = ServeArgs {
            config: Some(file),
            ..ServeArgs::default()
        }
        .resolve() else {
            panic!("a misspelt setting must be refused");
        };
        assert!(
            format!("{err:#}").contains("unknown field `lisen`"),
            "{err:#}"
        );
        std::fs::remove_dir_all(dir).unwrap();

        assert_eq!(
            checked_public_url("https://ev.example.com/").unwrap(),
            "https://ev.example.com"
        );
        assert!(checked_public_url("ev.example.com").is_err());
    }

    #[test]
    fn roles_come_from_flags_or_the_file_and_default_to_both() {
        let dir = std::env::temp_dir().join(format!("weir-config-role-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("weir.toml");
        std::fs::write(&file, "role = [\"worker\"]\n").unwrap();
        let roles = |args: ServeArgs| {
            let config = args.resolve().unwrap();
            (config.api, config.workers)
        };
        assert_eq!(roles(ServeArgs::default()), (true, true));
        let from_file = ServeArgs {
            config: Some(file.clone()),
            ..ServeArgs::default()
        };
        assert_eq!(roles(from_file), (false, true));
        let flag = ServeArgs {
            config: Some(file),
            role: vec![Role::Api],
            ..ServeArgs::default()
        };
        assert_eq!(roles(flag), (true, false));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn entity_pages_hold_one_to_a_hundred_records() {
        let size = |n| ServeArgs {
            entity_page_size: Some(n),
            ..ServeArgs::default()
        };
        assert_eq!(
            ServeArgs::default().resolve().unwrap().entity_page_size,
            100
        );
        assert_eq!(size(2).resolve().unwrap().entity_page_size, 2);
        for bad in [0, 101] {
            let Err(error) = size(bad).resolve() else {
                panic!("{bad} records a page must be refused");
            };
            assert_eq!(
                format!("{error:#}"),
                format!("--entity-page-size: must be 1 to 100, not {bad}")
            );
        }
    }

    #[test]
    fn record_retention_is_one_day_to_ten_years() {
        let days = |n| ServeArgs {
            webhook_record_days: Some(n),
            ..ServeArgs::default()
        };
        let Err(error) = days(0).resolve() else {
            panic!("0 days must be refused");
        };
        assert_eq!(
            format!("{error:#}"),
            "--webhook-record-days: must be 1 to 3650, not 0"
        );
        assert!(days(u64::MAX).resolve().is_err(), "no overflow");
        let kept = days(7).resolve().unwrap().retention.webhook_calls;
        assert_eq!(kept, std::time::Duration::from_secs(7 * 24 * 3600));
        let events = ServeArgs {
            event_record_days: Some(90),
            ..ServeArgs::default()
        };
        let retention = events.resolve().unwrap().retention;
        assert_eq!(
            retention.events,
            std::time::Duration::from_secs(90 * 24 * 3600)
        );
        assert_eq!(
            retention.invocations,
            std::time::Duration::from_secs(30 * 24 * 3600)
        );
        let never = ServeArgs {
            attempt_record_days: Some(0),
            ..ServeArgs::default()
        };
        let Err(error) = never.resolve() else {
            panic!("0 days must be refused");
        };
        assert_eq!(
            format!("{error:#}"),
            "--attempt-record-days: must be 1 to 3650, not 0"
        );
    }

    #[test]
    fn outbound_settings_come_from_flags_or_the_file() {
        let dir = std::env::temp_dir().join(format!("weir-config-out-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("weir.toml");
        std::fs::write(
            &file,
            "allow_private_destinations = [\"10.0.0.0/8\"]\n[host_overrides]\n\"API.github.com\" = \"127.0.0.1:8081\"\n",
        )
        .unwrap();
        let from_file = ServeArgs {
            config: Some(file.clone()),
            ..ServeArgs::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(
            from_file.outbound.allow_private,
            vec!["10.0.0.0/8".parse::<Cidr>().unwrap()]
        );
        assert_eq!(
            from_file.outbound.host_overrides["api.github.com"],
            "127.0.0.1:8081".parse().unwrap()
        );
        let flags = ServeArgs {
            config: Some(file),
            allow_private_destinations: vec!["127.0.0.0/8".into()],
            ..ServeArgs::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(
            flags.outbound.allow_private,
            vec!["127.0.0.0/8".parse::<Cidr>().unwrap()]
        );
        for bad in [
            ServeArgs {
                allow_private_destinations: vec!["10.0.0.0/40".into()],
                ..ServeArgs::default()
            },
            ServeArgs {
                host_overrides: vec!["api.github.com".into()],
                ..ServeArgs::default()
            },
            ServeArgs {
                host_overrides: vec!["api.github.com=localhost:80".into()],
                ..ServeArgs::default()
            },
        ] {
            assert!(bad.resolve().is_err());
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
