-- Outbound delivery: where each account's events go (Zoho's webhook objects), and the
-- deliveries each event owes them, stored with the event (the transactional outbox).

CREATE TABLE webhook_subscriptions (
    id                     TEXT PRIMARY KEY,
    account_id             TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    installation_id        TEXT REFERENCES installations (id) ON DELETE CASCADE,
    kind                   TEXT NOT NULL,
    url                    TEXT NOT NULL,
    events                 TEXT NOT NULL,
    filters                TEXT NOT NULL,
    secret                 TEXT NOT NULL,
    previous_secret        TEXT,
    previous_secret_until  INTEGER,
    enabled                INTEGER NOT NULL,
    disabled_reason        TEXT,
    timeout_ms             INTEGER NOT NULL,
    max_in_flight          INTEGER NOT NULL,
    rate_per_second        INTEGER,
    fifo                   INTEGER NOT NULL,
    batch_size             INTEGER NOT NULL,
    linger_ms              INTEGER NOT NULL,
    failing_since          INTEGER,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL
);
CREATE INDEX webhook_subscriptions_by_account ON webhook_subscriptions (account_id, id);

-- One row per (subscription, event name): what an ingest joins on, by primary key. An
-- event with a filter (Zoho's departmentIds, fields, direction, ignoreSourceId) is
-- decided in code, in the ingest's transaction; the others in the join alone.
CREATE TABLE webhook_subscription_events (
    subscription_id TEXT NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    account_id      TEXT NOT NULL,
    event           TEXT NOT NULL,
    filter          TEXT,
    PRIMARY KEY (account_id, event, subscription_id)
);
CREATE INDEX webhook_subscription_events_by_subscription
    ON webhook_subscription_events (subscription_id);

-- A claim moves `run_at` to the end of its lease, as for jobs. `attempts` counts every
-- attempt (and numbers them); `tries` those since the last replay, which the retry
-- schedule follows. `generation` moves with every claim, replay, recovery and kill, so
-- that only the latest claim's attempt can record its outcome.
CREATE TABLE deliveries (
    event_id        TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    subscription_id TEXT NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    account_id      TEXT NOT NULL,
    event           TEXT NOT NULL,
    status          TEXT NOT NULL,
    -- A FIFO subscription's deliveries are numbered 1, 2, … in the order they were
    -- stored (committed); 0 for the others.
    seq             INTEGER NOT NULL,
    attempts        INTEGER NOT NULL,
    tries           INTEGER NOT NULL,
    generation      INTEGER NOT NULL,
    run_at          INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (event_id, subscription_id)
);
CREATE INDEX pending_deliveries ON deliveries (run_at) WHERE status = 'pending';
CREATE INDEX deliveries_by_subscription ON deliveries (subscription_id, created_at);
-- A FIFO subscription's next delivery waits while an earlier one is pending.
CREATE INDEX pending_by_subscription ON deliveries (subscription_id, seq)
    WHERE status = 'pending';
CREATE INDEX deliveries_by_account ON deliveries (account_id, created_at);

CREATE TABLE delivery_attempts (
    event_id        TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    number          INTEGER NOT NULL,
    at              INTEGER NOT NULL,
    status_code     INTEGER,
    duration_ms     INTEGER NOT NULL,
    error           TEXT,
    response        TEXT,
    PRIMARY KEY (event_id, subscription_id, number),
    FOREIGN KEY (event_id, subscription_id)
        REFERENCES deliveries (event_id, subscription_id) ON DELETE CASCADE
);
