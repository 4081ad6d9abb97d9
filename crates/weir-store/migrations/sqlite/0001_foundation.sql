-- Times are milliseconds since the Unix epoch; JSON values are text.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE accounts (
    id          TEXT PRIMARY KEY,
    domain      TEXT NOT NULL,
    region      TEXT NOT NULL,
    product     TEXT NOT NULL,
    departments TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name       TEXT,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
CREATE INDEX api_keys_by_account ON api_keys (account_id, id);

CREATE TABLE apps (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    version          INTEGER NOT NULL,
    platform_version TEXT,
    package          BLOB NOT NULL,
    package_sha256   TEXT NOT NULL,
    package_size     INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    UNIQUE (name, version)
);

CREATE TABLE installations (
    id             TEXT PRIMARY KEY,
    account_id     TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    app_id         TEXT NOT NULL REFERENCES apps (id),
    app_name       TEXT NOT NULL,
    status         TEXT NOT NULL,
    iparams        TEXT NOT NULL,
    secure_iparams TEXT NOT NULL,
    departments    TEXT NOT NULL,
    scopes         TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX installations_by_account ON installations (account_id, id);
CREATE UNIQUE INDEX one_active_installation_per_app
    ON installations (account_id, app_name) WHERE status = 'active';
