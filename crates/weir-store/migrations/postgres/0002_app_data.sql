-- $db: each installation's key-value store. `version` counts writes, so an update can be
-- applied only to the value it was computed from (optimistic concurrency).
CREATE TABLE app_data (
    installation_id TEXT NOT NULL REFERENCES installations (id) ON DELETE CASCADE,
    key             TEXT NOT NULL,
    value           TEXT NOT NULL,
    version         BIGINT NOT NULL,
    expires_at      BIGINT,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (installation_id, key)
);
