-- Operational webhooks: the operator's endpoints for Weir's own events. They are
-- webhook subscriptions (kind OPERATIONAL_WEBHOOK) of one account that Weir keeps for
-- itself, and their events are that account's events, so they are delivered, retried,
-- listed and replayed as any account's are. The store hides this account from the
-- accounts API; its id cannot be made there.
INSERT INTO accounts (id, domain, region, product, departments, created_at, updated_at)
VALUES ('weir-operational', 'operational.weir', 'US', 'operational', '[]', 0, 0);

-- The operational event a disable told of: set by the disable that took, so that of two
-- nodes disabling the same subscription at once only one tells.
ALTER TABLE webhook_subscriptions ADD COLUMN disabled_notice TEXT;

-- Debounced operational events (subscription.failing, app.handler_failing): per subject
-- (e.g. an installation), the last event told and when. A new one is told only once the
-- window since that has passed; the row records which event the last telling was.
CREATE TABLE operational_notices (
    subject  TEXT PRIMARY KEY,
    event_id TEXT NOT NULL,
    at       BIGINT NOT NULL
);
