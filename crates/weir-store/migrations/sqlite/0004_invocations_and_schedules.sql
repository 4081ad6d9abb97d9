-- Invocation records: one run of one handler for one event. `console` is a JSON array of
-- {level, text}; `render` and `result` are JSON, NULL when the handler gave none.
CREATE TABLE invocations (
    id              TEXT PRIMARY KEY,
    installation_id TEXT NOT NULL REFERENCES installations (id) ON DELETE CASCADE,
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
-- An installation's records in id order, which is start order: one range scan per page.
CREATE INDEX invocations_by_installation ON invocations (installation_id, id);

-- $schedule: each installation's named schedules. The `repeat_*` columns are all NULL for a
-- one-time schedule. `version` counts changes, so a run finishing late cannot undo an
-- update; `claimed_until` is set while a scheduler runs it.
CREATE TABLE schedules (
    installation_id  TEXT NOT NULL REFERENCES installations (id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    data             TEXT NOT NULL,
    schedule_at      TEXT NOT NULL,
    first_run        INTEGER NOT NULL,
    repeat_unit      TEXT,
    repeat_frequency INTEGER,
    repeat_timezone  TEXT,
    next_run_at      INTEGER NOT NULL,
    claimed_until    INTEGER,
    version          INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (installation_id, name)
);
-- The scheduler looks for the earliest runs, and for the earliest claim to run out.
CREATE INDEX schedules_by_next_run ON schedules (next_run_at);
CREATE INDEX schedules_by_claim ON schedules (claimed_until) WHERE claimed_until IS NOT NULL;

-- An uninstalled installation's schedules never run again: they go with the uninstall, in
-- the same transaction, rather than linger in the index every claim walks.
CREATE TRIGGER schedules_end_with_installation
AFTER UPDATE OF status ON installations
WHEN NEW.status = 'uninstalled'
BEGIN
    DELETE FROM schedules WHERE installation_id = NEW.id;
END;
