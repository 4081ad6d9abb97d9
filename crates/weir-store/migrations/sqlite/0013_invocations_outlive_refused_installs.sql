-- A refused install removes its installation and all it made, but the records of its
-- handler runs stay: they say why it was refused (the refusal names its record). So an
-- invocation record no longer goes with its installation by a foreign key; an account's
-- records go with the account instead (`delete_account` deletes them).
-- SQLite cannot drop a constraint: the table is made again without it. Nothing refers to
-- `invocations`, so dropping it checks no foreign key.
CREATE TABLE invocations_without_cascade (
    id              TEXT PRIMARY KEY,
    installation_id TEXT NOT NULL,
    account_id      TEXT NOT NULL,
    app_id          TEXT NOT NULL,
    event           TEXT NOT NULL,
    handler         TEXT NOT NULL,
    status          TEXT NOT NULL,
    started_at      INTEGER NOT NULL,
    duration_ms     INTEGER NOT NULL,
    console         TEXT NOT NULL,
    console_dropped INTEGER NOT NULL,
    error           TEXT,
    stack           TEXT,
    render          TEXT,
    result          TEXT
);
INSERT INTO invocations_without_cascade
    (id, installation_id, account_id, app_id, event, handler, status, started_at, duration_ms,
     console, console_dropped, error, stack, render, result)
SELECT id, installation_id, account_id, app_id, event, handler, status, started_at, duration_ms,
       console, console_dropped, error, stack, render, result
FROM invocations;
DROP TABLE invocations;
ALTER TABLE invocations_without_cascade RENAME TO invocations;
-- An installation's records in id order, which is start order: one range scan per page.
CREATE INDEX invocations_by_installation ON invocations (installation_id, id);
