//! The schema's history. Migrations are forward-only and run at start-up, each in the same
//! transaction as its record in `weir_migrations`. The history is written once; each
//! backend has its own SQL file of the same name under `migrations/<backend>/`.

pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// The history for one backend's folder of SQL files.
macro_rules! history {
    ($backend:literal) => {
        &[
            Migration {
                version: 1,
                name: "foundation",
                sql: include_str!(concat!("../migrations/", $backend, "/0001_foundation.sql")),
            },
            Migration {
                version: 2,
                name: "app data",
                sql: include_str!(concat!("../migrations/", $backend, "/0002_app_data.sql")),
            },
            Migration {
                version: 3,
                name: "target tokens",
                sql: include_str!(concat!(
                    "../migrations/",
                    $backend,
                    "/0003_target_tokens.sql"
                )),
            },
            Migration {
                version: 4,
                name: "invocations and schedules",
                sql: include_str!(concat!(
                    "../migrations/",
                    $backend,
                    "/0004_invocations_and_schedules.sql"
                )),
            },
            Migration {
                version: 5,
                name: "events",
                sql: include_str!(concat!("../migrations/", $backend, "/0005_events.sql")),
            },
            Migration {
                version: 6,
                name: "inbound",
                sql: include_str!(concat!("../migrations/", $backend, "/0006_inbound.sql")),
            },
            Migration {
                version: 7,
                name: "connector subscriptions",
                sql: include_str!(concat!(
                    "../migrations/",
                    $backend,
                    "/0007_connector_subscriptions.sql"
                )),
            },
            Migration {
                version: 8,
                name: "deliveries",
                sql: include_str!(concat!("../migrations/", $backend, "/0008_deliveries.sql")),
            },
            Migration {
                version: 9,
                name: "webhook invocations",
                sql: include_str!(concat!(
                    "../migrations/",
                    $backend,
                    "/0009_webhook_invocations.sql"
                )),
            },
            Migration {
                version: 10,
                name: "app parameters",
                sql: include_str!(concat!(
                    "../migrations/",
                    $backend,
                    "/0010_app_parameters.sql"
                )),
            },
            Migration {
                version: 11,
                name: "entity records",
                sql: include_str!(concat!(
                    "../migrations/",
                    $backend,
                    "/0011_entity_records.sql"
                )),
            },
            Migration {
                version: 12,
                name: "oauth",
                sql: include_str!(concat!("../migrations/", $backend, "/0012_oauth.sql")),
            },
            Migration {
                version: 13,
                name: "invocations outlive refused installs",
                sql: include_str!(concat!(
                    "../migrations/",
                    $backend,
                    "/0013_invocations_outlive_refused_installs.sql"
                )),
            },
            Migration {
                version: 14,
                name: "retention",
                sql: include_str!(concat!("../migrations/", $backend, "/0014_retention.sql")),
            },
            Migration {
                version: 15,
                name: "unfinished deliveries",
                sql: include_str!(concat!(
                    "../migrations/",
                    $backend,
                    "/0015_unfinished_deliveries.sql"
                )),
            },
            Migration {
                version: 16,
                name: "operational webhooks",
                sql: include_str!(concat!(
                    "../migrations/",
                    $backend,
                    "/0016_operational_webhooks.sql"
                )),
            },
            Migration {
                version: 17,
                name: "secrets at rest",
                sql: include_str!(concat!(
                    "../migrations/",
                    $backend,
                    "/0017_secrets_at_rest.sql"
                )),
            },
        ]
    };
}

pub(crate) const SQLITE: &[Migration] = history!("sqlite");
pub(crate) const POSTGRES: &[Migration] = history!("postgres");
