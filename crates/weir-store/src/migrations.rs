//! The schema's history, one list per backend. Migrations are forward-only and run at
//! start-up, each in the same transaction as its record in `weir_migrations`.

pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

pub(crate) const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sql: include_str!("../migrations/sqlite/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        name: "app data",
        sql: include_str!("../migrations/sqlite/0002_app_data.sql"),
    },
    Migration {
        version: 3,
        name: "target tokens",
        sql: include_str!("../migrations/sqlite/0003_target_tokens.sql"),
    },
];

pub(crate) const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sql: include_str!("../migrations/postgres/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        name: "app data",
        sql: include_str!("../migrations/postgres/0002_app_data.sql"),
    },
    Migration {
        version: 3,
        name: "target tokens",
        sql: include_str!("../migrations/postgres/0003_target_tokens.sql"),
    },
];
