-- Connector parameters the operator sets for an app, by name, for all its versions:
-- `handle` and `getEventSelector` get them as `parameters`. Secure ones are never shown.
CREATE TABLE app_parameters (
    app_name   TEXT PRIMARY KEY,
    public     TEXT NOT NULL,
    secure     TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
