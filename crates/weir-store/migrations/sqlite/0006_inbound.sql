-- External events from third parties: target URLs, and connectors' global webhooks.

-- Each installation's selector for each global-webhook event its app uses, from the
-- event's getEventSelector: an event a global webhook's `handle` returns reaches the
-- installations of that app whose key and selector match it exactly.
CREATE TABLE event_selectors (
    installation_id TEXT NOT NULL REFERENCES installations (id) ON DELETE CASCADE,
    event_key       TEXT NOT NULL,
    app_name        TEXT NOT NULL,
    webhook_key     TEXT NOT NULL,
    selector        TEXT NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (installation_id, event_key)
);
CREATE INDEX event_selectors_by_route ON event_selectors (app_name, webhook_key, selector);

-- What each global webhook of an app version has received: requests, events routed to
-- installations, and events that matched nobody (not an error to the sender).
CREATE TABLE global_webhook_stats (
    app_id            TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    webhook_key       TEXT NOT NULL,
    requests          INTEGER NOT NULL,
    events_routed     INTEGER NOT NULL,
    events_unmatched  INTEGER NOT NULL,
    last_unmatched    TEXT,
    last_request_at   INTEGER NOT NULL,
    PRIMARY KEY (app_id, webhook_key)
);
