-- A connector `webhook` event's subscription for one installation (REFERENCE §4 1.4): the
-- `state` its `subscribe` returned (which `handle` and `refresh` may replace), and when
-- its `refresh` is due. A refresher claims due rows by moving `refresh_at` to the end of
-- its lease.
CREATE TABLE connector_subscriptions (
    installation_id TEXT NOT NULL REFERENCES installations (id) ON DELETE CASCADE,
    event_key       TEXT NOT NULL,
    state           TEXT NOT NULL,
    refresh_at      BIGINT,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (installation_id, event_key)
);
CREATE INDEX connector_subscriptions_to_refresh ON connector_subscriptions (refresh_at)
    WHERE refresh_at IS NOT NULL;
