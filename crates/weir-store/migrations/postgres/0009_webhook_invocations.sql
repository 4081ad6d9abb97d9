-- Calls of registered webhooks (Coviu style, seed 003): the audit trail. The URL and the
-- headers are never kept: only the target's host, sizes, and what came of the call.
CREATE TABLE webhook_invocations (
    reference_id    TEXT PRIMARY KEY,
    installation_id TEXT NOT NULL REFERENCES installations (id) ON DELETE CASCADE,
    account_id      TEXT NOT NULL,
    webhook_id      TEXT NOT NULL,
    -- The first call of a chain (its own id for a first call).
    chain_id        TEXT NOT NULL,
    method          TEXT NOT NULL,
    target_host     TEXT NOT NULL,
    request_bytes   BIGINT NOT NULL,
    response_bytes  BIGINT NOT NULL,
    status          BIGINT,
    error           BIGINT NOT NULL,
    error_message   TEXT,
    duration_ms     BIGINT NOT NULL,
    started_at      BIGINT NOT NULL
);
CREATE INDEX webhook_invocations_by_installation
    ON webhook_invocations (installation_id, reference_id);
-- The retention purge deletes the oldest.
CREATE INDEX webhook_invocations_by_time ON webhook_invocations (started_at);

-- The client token of an installation's browser app: it may trigger the installation's
-- registered webhooks and nothing else. Only its hash is kept.
ALTER TABLE installations ADD COLUMN client_token_hash TEXT;
CREATE UNIQUE INDEX installations_by_client_token ON installations (client_token_hash);
