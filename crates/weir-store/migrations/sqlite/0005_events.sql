-- Product events and the handler runs they owe (the transactional outbox).

-- What each app version listens to: one row per (product, event). Written with the app;
-- an event's jobs are found by joining the account's active installations to these rows
-- through the primary key, in the event's own transaction.
CREATE TABLE app_subscriptions (
    app_id       TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    product      TEXT NOT NULL,
    event        TEXT NOT NULL,
    handler      TEXT NOT NULL,
    max_attempts INTEGER NOT NULL,
    PRIMARY KEY (app_id, product, event)
);

-- Posted events as kept. `body` is what was posted besides the routing fields.
CREATE TABLE events (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    product         TEXT NOT NULL,
    name            TEXT NOT NULL,
    body            TEXT NOT NULL,
    idempotency_key TEXT,
    received_at     INTEGER NOT NULL
);
-- One live holder of a key per account; a key older than its window is released (set to
-- NULL) by the ingest that reuses it.
CREATE UNIQUE INDEX events_by_idempotency_key ON events (account_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- One handler run an event owes one installation. A claim moves `run_at` to the end of
-- its lease: a job whose node died becomes due again when the lease runs out, and due
-- jobs are one range of the partial index.
CREATE TABLE jobs (
    event_id        TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    installation_id TEXT NOT NULL REFERENCES installations (id) ON DELETE CASCADE,
    event           TEXT NOT NULL,
    handler         TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    max_attempts    INTEGER NOT NULL,
    run_at          INTEGER NOT NULL,
    last_invocation TEXT,
    PRIMARY KEY (event_id, installation_id)
);
CREATE INDEX pending_jobs ON jobs (run_at) WHERE status = 'pending';
CREATE INDEX jobs_by_installation ON jobs (installation_id);

-- An uninstalled installation's jobs will not run: they are cancelled with the uninstall.
CREATE TRIGGER jobs_end_with_installation
AFTER UPDATE OF status ON installations
WHEN NEW.status = 'uninstalled'
BEGIN
    UPDATE jobs SET status = 'cancelled'
    WHERE installation_id = NEW.id AND status = 'pending';
END;
