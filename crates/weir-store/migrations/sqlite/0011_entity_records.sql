-- Entity storage ($db.entity): each installation's records of the custom objects its app
-- declares in config/entities.json. A record is numbered within its entity (`seq`); its
-- display id is the entity's prefix and that number, derived, so not stored.

-- The last number each entity of an installation gave: a number is never given twice,
-- even after its record is deleted.
CREATE TABLE entity_counters (
    installation_id TEXT NOT NULL REFERENCES installations (id) ON DELETE CASCADE,
    entity          TEXT NOT NULL,
    last_seq        INTEGER NOT NULL,
    PRIMARY KEY (installation_id, entity)
);

-- `data` is the record's JSON object; `version` counts writes, so an update is applied
-- only over the data it was computed from.
CREATE TABLE entity_records (
    installation_id TEXT NOT NULL REFERENCES installations (id) ON DELETE CASCADE,
    entity          TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    data            TEXT NOT NULL,
    version         INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (installation_id, entity, seq)
);

-- The values of a record's filterable fields, one row each, in the form filters compare
-- them: getAll's equality filters look them up by the index instead of reading records.
CREATE TABLE entity_values (
    installation_id TEXT NOT NULL,
    entity          TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    field           TEXT NOT NULL,
    value           TEXT NOT NULL,
    PRIMARY KEY (installation_id, entity, seq, field),
    FOREIGN KEY (installation_id, entity, seq)
        REFERENCES entity_records (installation_id, entity, seq) ON DELETE CASCADE
);
CREATE INDEX entity_values_by_value ON entity_values (installation_id, entity, field, value, seq);

-- Uninstalling an app deletes its entities' records (as Freshworks does), in the same
-- transaction.
CREATE TRIGGER entity_records_end_with_installation
AFTER UPDATE OF status ON installations
WHEN NEW.status = 'uninstalled'
BEGIN
    DELETE FROM entity_records WHERE installation_id = NEW.id;
    DELETE FROM entity_counters WHERE installation_id = NEW.id;
END;
