-- Secrets at rest. Every secret column holds `sealed:<key id>:<…>` (AES-256-GCM, bound to
-- its row), sealed and opened by the store; values older versions wrote in clear are
-- sealed when the store is first unlocked (`weir_store`'s `sealed.rs`), not here: SQL has
-- no key.

-- A subscription keeps several previous secrets, each with its own end: one JSON array
-- of {secret, until}, sealed as a whole. The single previous secret moves into it.
ALTER TABLE webhook_subscriptions ADD COLUMN previous_secrets TEXT NOT NULL DEFAULT '[]';
UPDATE webhook_subscriptions
SET previous_secrets = json_build_array(json_build_object('secret', previous_secret,
                                                          'until', previous_secret_until))::text
WHERE previous_secret IS NOT NULL AND previous_secret_until IS NOT NULL;
ALTER TABLE webhook_subscriptions DROP COLUMN previous_secret;
ALTER TABLE webhook_subscriptions DROP COLUMN previous_secret_until;

-- OAuth tokens were sealed by the engine with their key's id beside them; the store now
-- seals them as every other secret, with the id inside the value (the binding is the
-- same, so they open as they are).
UPDATE oauth_tokens SET sealed = 'sealed:' || key_id || ':' || sealed
WHERE sealed NOT LIKE 'sealed:%';
ALTER TABLE oauth_tokens DROP COLUMN key_id;

-- A target URL's token is a capability: it is sealed like a secret, and found by its
-- SHA-256 (as API keys are). Existing rows get their hash when they are sealed.
ALTER TABLE installations ADD COLUMN target_token_hash TEXT;
CREATE UNIQUE INDEX installations_by_target_token_hash ON installations (target_token_hash);
DROP INDEX installations_by_target_token;
