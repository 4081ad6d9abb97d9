-- OAuth tokens of installations (`config/oauth_config.json`): one row per installation and
-- integration ('' for a 2.x app's single configuration). The access and refresh tokens
-- are sealed by the engine (AEAD) before they come here; `key_id` names the key that
-- sealed them, so that keys can be rotated. The expiry is kept in clear: it is shown.
CREATE TABLE oauth_tokens (
    installation_id TEXT NOT NULL REFERENCES installations (id) ON DELETE CASCADE,
    integration     TEXT NOT NULL,
    key_id          TEXT NOT NULL,
    sealed          TEXT NOT NULL,
    refreshable     INTEGER NOT NULL,
    oauth_iparams   TEXT NOT NULL,
    expires_at      INTEGER,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (installation_id, integration)
);

-- Authorizations under way: the hash of each `state` handed out, until its callback takes
-- it (once) or it expires. The state itself is never kept.
CREATE TABLE oauth_states (
    state_hash      TEXT PRIMARY KEY,
    installation_id TEXT NOT NULL REFERENCES installations (id) ON DELETE CASCADE,
    integration     TEXT NOT NULL,
    oauth_iparams   TEXT NOT NULL,
    expires_at      INTEGER NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX oauth_states_by_expiry ON oauth_states (expires_at);

-- An uninstalled installation's tokens are never used again: they go with the uninstall,
-- in the same transaction.
CREATE TRIGGER oauth_ends_with_installation
AFTER UPDATE OF status ON installations
WHEN NEW.status = 'uninstalled'
BEGIN
    DELETE FROM oauth_tokens WHERE installation_id = NEW.id;
    DELETE FROM oauth_states WHERE installation_id = NEW.id;
END;
