//! The statements both backends run, written once with PostgreSQL's `$1` placeholders.
//! SQLite reads them with `$` turned into `?` (its numbered `?1` form), so a statement is
//! the same text on both; where the dialects differ, a backend writes its own.

pub(crate) const PING: &str = "SELECT 1";
/// A write that must reach the disk: an empty transaction would succeed on a full one.
/// `$1` is now.
pub(crate) const PROBE_WRITE: &str = "INSERT INTO settings (key, value) \
    VALUES ('readiness_probe', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value";
/// PostgreSQL only: `$1` the channel, `$2` the payload.
pub(crate) const NOTIFY: &str = "SELECT pg_notify($1, $2)";

pub(crate) const SETTING: &str = "SELECT value FROM settings WHERE key = $1";
/// Sets a setting that changes (unlike `INIT_SETTING`'s first value that stays).
pub(crate) const PUT_SETTING: &str = "INSERT INTO settings (key, value) VALUES ($1, $2) \
    ON CONFLICT (key) DO UPDATE SET value = excluded.value";
pub(crate) const INIT_SETTING: &str =
    "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING";

pub(crate) const INSERT_ACCOUNT: &str = "INSERT INTO accounts \
    (id, domain, region, product, departments, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7)";
/// The instance account, which owns operational webhooks (`weir_core::operational`), is
/// none of the operator's: these statements never see it.
pub(crate) const ACCOUNT: &str =
    "SELECT * FROM accounts WHERE id = $1 AND id <> 'weir-operational'";
pub(crate) const ACCOUNTS: &str = "SELECT * FROM accounts WHERE id > $1 \
    AND id <> 'weir-operational' ORDER BY id LIMIT $2";
/// A NULL parameter keeps the stored field.
pub(crate) const UPDATE_ACCOUNT: &str = "UPDATE accounts SET domain = COALESCE($2, domain), \
    region = COALESCE($3, region), product = COALESCE($4, product), \
    departments = COALESCE($5, departments), updated_at = $6 \
    WHERE id = $1 AND id <> 'weir-operational'";
pub(crate) const HAS_ACTIVE_INSTALLATIONS: &str =
    "SELECT COUNT(*) AS n FROM installations WHERE account_id = $1 AND status = 'active'";
pub(crate) const DELETE_ACCOUNT: &str =
    "DELETE FROM accounts WHERE id = $1 AND id <> 'weir-operational'";
/// An account's invocation records, which do not go with their installations (a refused
/// install's outlive it): deleted with the account, before it. A scan, as no index leads
/// with the account; deleting an account is rare, and every invocation saves the index.
pub(crate) const DELETE_ACCOUNT_INVOCATIONS: &str = "DELETE FROM invocations WHERE account_id = $1";
/// PostgreSQL only: holds the account while its installations are counted.
pub(crate) const LOCK_ACCOUNT: &str = "SELECT id FROM accounts WHERE id = $1 FOR UPDATE";

/// The newest version of an app: `$1` its name.
pub(crate) const LATEST_APP: &str =
    "SELECT * FROM apps WHERE name = $1 ORDER BY version DESC LIMIT 1";
pub(crate) const APP_PARAMETERS: &str = "SELECT * FROM app_parameters WHERE app_name = $1";
/// Replaces an app's connector parameters: `$1` name, `$2` public, `$3` secure, `$4` now.
pub(crate) const PUT_APP_PARAMETERS: &str = "INSERT INTO app_parameters \
    (app_name, public, secure, updated_at) VALUES ($1, $2, $3, $4) \
    ON CONFLICT (app_name) DO UPDATE SET public = excluded.public, secure = excluded.secure, \
    updated_at = excluded.updated_at";
pub(crate) const NEXT_APP_VERSION: &str =
    "SELECT COALESCE(MAX(version), 0) + 1 AS n FROM apps WHERE name = $1";
pub(crate) const INSERT_APP: &str = "INSERT INTO apps \
    (id, name, version, platform_version, package, package_sha256, package_size, created_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
/// Apps are read without their package, which only `APP_PACKAGE` reads.
pub(crate) const APP: &str = "SELECT id, name, version, platform_version, package_sha256, \
    package_size, created_at FROM apps WHERE id = $1";
pub(crate) const APPS: &str = "SELECT id, name, version, platform_version, package_sha256, \
    package_size, created_at FROM apps WHERE id > $1 ORDER BY id LIMIT $2";
pub(crate) const APP_PACKAGE: &str = "SELECT package FROM apps WHERE id = $1";

pub(crate) const INSERT_INSTALLATION: &str = "INSERT INTO installations \
    (id, account_id, app_id, app_name, status, iparams, secure_iparams, departments, scopes, \
     created_at, updated_at, target_token, target_token_hash) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
pub(crate) const INSTALLATION: &str = "SELECT * FROM installations WHERE id = $1";
pub(crate) const INSTALLATIONS: &str = "SELECT * FROM installations \
    WHERE account_id = $1 AND status = 'active' AND id > $2 ORDER BY id LIMIT $3";
pub(crate) const UNINSTALL: &str = "UPDATE installations \
    SET status = 'uninstalled', updated_at = $2 WHERE id = $1 AND status = 'active'";

pub(crate) const INSERT_API_KEY: &str = "INSERT INTO api_keys \
    (id, account_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)";
pub(crate) const API_KEY_BY_HASH: &str = "SELECT * FROM api_keys WHERE token_hash = $1";
pub(crate) const API_KEYS: &str = "SELECT * FROM api_keys WHERE account_id = $1 ORDER BY id";
pub(crate) const DELETE_API_KEY: &str = "DELETE FROM api_keys WHERE account_id = $1 AND id = $2";

pub(crate) const APP_DATA: &str = "SELECT value, version, expires_at FROM app_data \
    WHERE installation_id = $1 AND key = $2 AND (expires_at IS NULL OR expires_at > $3)";
/// Writes `$db` entries: `$5` is the time of the write, which also decides whether a row
/// with a `ttl` has lived out its time (and so counts as absent).
pub(crate) const PUT_APP_DATA: &str = "INSERT INTO app_data \
    (installation_id, key, value, version, expires_at, updated_at) VALUES ($1, $2, $3, 1, $4, $5) \
    ON CONFLICT (installation_id, key) DO UPDATE SET value = excluded.value, \
    version = app_data.version + 1, expires_at = excluded.expires_at, updated_at = excluded.updated_at";
/// Inserts, or replaces only a row whose time has passed.
pub(crate) const PUT_ABSENT_APP_DATA: &str = "INSERT INTO app_data \
    (installation_id, key, value, version, expires_at, updated_at) VALUES ($1, $2, $3, 1, $4, $5) \
    ON CONFLICT (installation_id, key) DO UPDATE SET value = excluded.value, \
    version = app_data.version + 1, expires_at = excluded.expires_at, updated_at = excluded.updated_at \
    WHERE app_data.expires_at IS NOT NULL AND app_data.expires_at <= excluded.updated_at";
pub(crate) const PUT_PRESENT_APP_DATA: &str = "UPDATE app_data \
    SET value = $3, version = version + 1, expires_at = $4, updated_at = $5 \
    WHERE installation_id = $1 AND key = $2 AND (expires_at IS NULL OR expires_at > $5)";
pub(crate) const PUT_VERSION_APP_DATA: &str = "UPDATE app_data \
    SET value = $3, version = version + 1, expires_at = $4, updated_at = $5 \
    WHERE installation_id = $1 AND key = $2 AND (expires_at IS NULL OR expires_at > $5) \
    AND version = $6";
pub(crate) const DELETE_APP_DATA: &str = "DELETE FROM app_data \
    WHERE installation_id = $1 AND key = $2 AND (expires_at IS NULL OR expires_at > $3)";

/// A record of an installation that exists: no foreign key checks that any more (a
/// refused install's records outlive it, migration 0013), so the insert does; it inserts
/// nothing for an unknown installation.
pub(crate) const INSERT_INVOCATION: &str = "INSERT INTO invocations \
    (id, installation_id, account_id, app_id, event, handler, status, started_at, duration_ms, \
     console, console_dropped, error, stack, render, result) \
    SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15 \
    WHERE EXISTS (SELECT 1 FROM installations WHERE id = $2)";
pub(crate) const INVOCATION: &str = "SELECT * FROM invocations WHERE id = $1";
/// A NULL filter parameter lets every row through; the page scans the installation's
/// records in id order.
pub(crate) const INVOCATIONS: &str = "SELECT * FROM invocations WHERE installation_id = $1 \
    AND ($2 IS NULL OR event = $2) AND ($3 IS NULL OR status = $3) \
    AND ($4 IS NULL OR started_at >= $4) AND ($5 IS NULL OR started_at < $5) \
    AND id > $6 ORDER BY id LIMIT $7";

/// What a schedule write is decided on, read in the write's transaction: how many schedules
/// of each kind the installation has, and which kind (if any) already has the name.
pub(crate) const SCHEDULE_COUNTS: &str = "SELECT \
    COUNT(*) - COUNT(repeat_unit) AS one_time, COUNT(repeat_unit) AS recurring, \
    MAX(CASE WHEN name = $2 THEN \
        CASE WHEN repeat_unit IS NULL THEN 'one_time' ELSE 'recurring' END END) AS named \
    FROM schedules WHERE installation_id = $1";
/// PostgreSQL only: serialises schedule writes per installation, so that two nodes cannot
/// both take its last free place. `NO KEY` lets other rows keep referring to it meanwhile.
pub(crate) const LOCK_INSTALLATION: &str =
    "SELECT id FROM installations WHERE id = $1 FOR NO KEY UPDATE";
pub(crate) const INSERT_SCHEDULE: &str = "INSERT INTO schedules \
    (installation_id, name, data, schedule_at, first_run, repeat_unit, repeat_frequency, \
     repeat_timezone, next_run_at, version, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
    ON CONFLICT (installation_id, name) DO NOTHING";
/// Replaces what the app asked for; a claim on the old version is released.
pub(crate) const UPDATE_SCHEDULE: &str = "UPDATE schedules SET data = $3, schedule_at = $4, \
    first_run = $5, repeat_unit = $6, repeat_frequency = $7, repeat_timezone = $8, \
    next_run_at = $9, claimed_until = NULL, version = version + 1, updated_at = $10 \
    WHERE installation_id = $1 AND name = $2";
pub(crate) const SCHEDULE: &str =
    "SELECT * FROM schedules WHERE installation_id = $1 AND name = $2";
pub(crate) const DELETE_SCHEDULE: &str =
    "DELETE FROM schedules WHERE installation_id = $1 AND name = $2";

/// Claims rows of a queue: `$1` is now, `$2` the end of the lease, `$3` how many. `$due`
/// selects the keys of the due rows (aliased `due`, at most `$3`, in the order they are
/// taken), `$set` takes them, and `$recheck` repeats the due conditions on each row taken:
/// on PostgreSQL an UPDATE that waited for a row another node was claiming re-checks them
/// on the row as that node left it, and so skips it.
///
/// SQLite has one writer, so `IN (due)` is enough. PostgreSQL picks and locks the due rows
/// once, in a materialized CTE with `SKIP LOCKED` (so that nodes take different rows
/// instead of waiting for each other), and then updates them by key. Inside `IN (…)` the
/// planner may run a locking subquery again for each row it updates (a nested-loop
/// semi-join, which a generic plan made while the table was small chooses); each run
/// skips the rows the statement already updated and locks the next ones, so a claim of
/// 64 took every due row (10,000 of 10,000, measured), more than the worker had room for.
/// The re-check is wrapped in a `CASE`, which no index can serve: written plainly, its
/// `status = 'pending' AND run_at <= $1` let the planner, on statistics that lag behind a
/// growing backlog, intersect each picked row's key with a scan of every due row in the
/// partial index of pending ones (draining 1,000,000 pending deliveries fell to 62 a
/// second); this way each picked row is found by its primary key alone.
macro_rules! claim {
    (sqlite, $table:literal, ($k1:literal, $k2:literal), $due:literal, $set:literal, $recheck:literal) => {
        concat!(
            "UPDATE ",
            $table,
            " SET ",
            $set,
            " WHERE (",
            $k1,
            ", ",
            $k2,
            ") IN (",
            $due,
            ") AND ",
            $recheck,
            " RETURNING *"
        )
    };
    (postgres, $table:literal, ($k1:literal, $k2:literal), $due:literal, $set:literal, $recheck:literal) => {
        concat!(
            "WITH picked AS MATERIALIZED (",
            $due,
            " FOR UPDATE OF due SKIP LOCKED) UPDATE ",
            $table,
            " SET ",
            $set,
            " FROM picked WHERE ",
            $table,
            ".",
            $k1,
            " = picked.",
            $k1,
            " AND ",
            $table,
            ".",
            $k2,
            " = picked.",
            $k2,
            " AND CASE WHEN ",
            $recheck,
            " THEN true ELSE false END RETURNING ",
            $table,
            ".*"
        )
    };
}

/// Claims due schedules of active installations.
macro_rules! claim_due_schedules {
    ($backend:ident) => {
        claim!(
            $backend,
            "schedules",
            ("installation_id", "name"),
            "SELECT due.installation_id, due.name FROM schedules AS due \
             WHERE due.next_run_at <= $1 \
             AND (due.claimed_until IS NULL OR due.claimed_until < $1) \
             AND EXISTS (SELECT 1 FROM installations \
                 WHERE installations.id = due.installation_id \
                 AND installations.status = 'active') \
             ORDER BY due.next_run_at LIMIT $3",
            "claimed_until = $2",
            "next_run_at <= $1 AND (claimed_until IS NULL OR claimed_until < $1)"
        )
    };
}
pub(crate) const CLAIM_DUE_SCHEDULES: &str = claim_due_schedules!(sqlite);
pub(crate) const CLAIM_DUE_SCHEDULES_POSTGRES: &str = claim_due_schedules!(postgres);
/// A one-time schedule that ran, unless the app changed it meanwhile.
pub(crate) const FINISH_ONE_TIME_SCHEDULE: &str =
    "DELETE FROM schedules WHERE installation_id = $1 AND name = $2 AND version = $3";
/// A recurring schedule that ran, unless the app changed it meanwhile. The version moves
/// on too: a run whose claim ran out (and so ran twice) cannot finish a later claim's run.
pub(crate) const RESCHEDULE: &str = "UPDATE schedules \
    SET next_run_at = $4, claimed_until = NULL, version = version + 1 \
    WHERE installation_id = $1 AND name = $2 AND version = $3";
/// The earliest unclaimed run: the first row of `schedules_by_next_run` that qualifies.
/// The installation is checked with EXISTS, not a join, so that SQLite (which has no
/// statistics to plan with) walks the index in order instead of every installation.
pub(crate) const NEXT_UNCLAIMED_RUN: &str = "SELECT due.next_run_at AS at \
    FROM schedules AS due WHERE due.claimed_until IS NULL \
    AND EXISTS (SELECT 1 FROM installations WHERE installations.id = due.installation_id \
        AND installations.status = 'active') \
    ORDER BY due.next_run_at LIMIT 1";
/// The earliest claim to run out (a node that stopped mid-run leaves one behind).
pub(crate) const NEXT_CLAIM_EXPIRY: &str = "SELECT due.claimed_until AS at \
    FROM schedules AS due WHERE due.claimed_until IS NOT NULL \
    AND EXISTS (SELECT 1 FROM installations WHERE installations.id = due.installation_id \
        AND installations.status = 'active') \
    ORDER BY due.claimed_until LIMIT 1";

pub(crate) const INSERT_SUBSCRIPTION: &str = "INSERT INTO app_subscriptions \
    (app_id, product, event, handler, max_attempts) VALUES ($1, $2, $3, $4, $5)";

/// The event holding an idempotency key in an account, whatever its age.
pub(crate) const EVENT_BY_IDEMPOTENCY_KEY: &str = "SELECT id, received_at AS at FROM events \
    WHERE account_id = $1 AND idempotency_key = $2";
/// Releases a key whose window has passed, so that a new event can hold it.
pub(crate) const RELEASE_IDEMPOTENCY_KEY: &str =
    "UPDATE events SET idempotency_key = NULL WHERE id = $1";
pub(crate) const INSERT_EVENT: &str = "INSERT INTO events \
    (id, account_id, product, name, body, idempotency_key, received_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7)";
/// The fan-out: one job per active installation of the account whose app listens to the
/// event in its product. `$1` event id, `$2` account, `$3` product, `$4` event name, `$5`
/// when the jobs are due. Walks the account's installations and looks each app's
/// subscription up by its primary key.
pub(crate) const INSERT_EVENT_JOBS: &str = "INSERT INTO jobs \
    (event_id, installation_id, event, handler, status, attempts, max_attempts, run_at) \
    SELECT $1, installations.id, $4, app_subscriptions.handler, 'pending', 0, \
        app_subscriptions.max_attempts, $5 \
    FROM installations JOIN app_subscriptions \
        ON app_subscriptions.app_id = installations.app_id \
        AND app_subscriptions.product = $3 AND app_subscriptions.event = $4 \
    WHERE installations.account_id = $2 AND installations.status = 'active'";
pub(crate) const PRODUCT_EVENT: &str = "SELECT * FROM events WHERE id = $1";
/// Several events in one read: `$1` is a JSON array of their ids (a list of any length
/// in one bound value, which each backend unpacks its own way).
pub(crate) const PRODUCT_EVENTS: &str =
    "SELECT * FROM events WHERE id IN (SELECT value FROM json_each($1))";
pub(crate) const PRODUCT_EVENTS_POSTGRES: &str =
    "SELECT * FROM events WHERE id IN (SELECT json_array_elements_text($1::json))";
/// Events newest first (ids sort by time), optionally of one account and one name: the
/// primary key read backwards, so the newest page costs no scan; the pages after it start
/// below the cursor (`$3`, exclusive).
pub(crate) const RECENT_EVENTS: &str = "SELECT * FROM events \
    WHERE ($1 IS NULL OR account_id = $1) AND ($2 IS NULL OR name = $2) \
    ORDER BY id DESC LIMIT $3";
pub(crate) const EVENTS_BEFORE: &str = "SELECT * FROM events \
    WHERE ($1 IS NULL OR account_id = $1) AND ($2 IS NULL OR name = $2) AND id < $4 \
    ORDER BY id DESC LIMIT $3";
pub(crate) const JOBS_OF_EVENT: &str =
    "SELECT * FROM jobs WHERE event_id = $1 ORDER BY installation_id";

/// Claims due jobs (`claim!`). The claim moves `run_at` to the lease's end, so the job is
/// not due again unless its runner stops without finishing it.
macro_rules! claim_jobs {
    ($backend:ident) => {
        claim!(
            $backend,
            "jobs",
            ("event_id", "installation_id"),
            "SELECT due.event_id, due.installation_id FROM jobs AS due \
             WHERE due.status = 'pending' AND due.run_at <= $1 \
             ORDER BY due.run_at LIMIT $3",
            "run_at = $2, attempts = attempts + 1",
            "status = 'pending' AND run_at <= $1"
        )
    };
}
pub(crate) const CLAIM_JOBS: &str = claim_jobs!(sqlite);
pub(crate) const CLAIM_JOBS_POSTGRES: &str = claim_jobs!(postgres);
/// Ends a pending job's run: `$3` the new status, `$4` when it runs again (NULL: keep),
/// `$5` the run's invocation record (NULL: keep), `$6` the attempt the run was: a run
/// whose claim ran out and was claimed again cannot finish the newer claim.
pub(crate) const FINISH_JOB: &str = "UPDATE jobs SET status = $3, \
    run_at = COALESCE($4, run_at), last_invocation = COALESCE($5, last_invocation) \
    WHERE event_id = $1 AND installation_id = $2 AND status = 'pending' AND attempts = $6";
/// Puts a claimed job back until `$4` without counting the claim as an attempt (its
/// installation is still being installed).
pub(crate) const POSTPONE_JOB: &str = "UPDATE jobs SET run_at = $4, attempts = attempts - 1 \
    WHERE event_id = $1 AND installation_id = $2 AND status = 'pending' AND attempts = $3";
pub(crate) const NEXT_JOB_DUE: &str = "SELECT run_at AS at FROM jobs \
    WHERE status = 'pending' ORDER BY run_at LIMIT 1";

/// Removes an installation and everything that refers to it (a failed install).
pub(crate) const DELETE_INSTALLATION: &str = "DELETE FROM installations WHERE id = $1";
/// Moves an active installation from one version of its app (`$4`) to another (an update,
/// or its revert); a concurrent change of version makes it miss.
pub(crate) const SWITCH_APP: &str = "UPDATE installations SET app_id = $2, updated_at = $3 \
    WHERE id = $1 AND status = 'active' AND app_id = $4";
pub(crate) const SET_IPARAMS: &str = "UPDATE installations \
    SET iparams = $2, secure_iparams = $3, updated_at = $4 \
    WHERE id = $1 AND status <> 'uninstalled'";
/// An installation the app agreed to: from now on events reach it.
pub(crate) const ACTIVATE_INSTALLATION: &str = "UPDATE installations \
    SET status = 'active', updated_at = $2 WHERE id = $1 AND status = 'installing'";

pub(crate) const INSTALLATION_BY_TARGET_TOKEN: &str =
    "SELECT * FROM installations WHERE target_token_hash = $1";
/// One job for a chosen installation (an external event is for one installation only).
pub(crate) const INSERT_JOB: &str = "INSERT INTO jobs \
    (event_id, installation_id, event, handler, status, attempts, max_attempts, run_at) \
    VALUES ($1, $2, $3, $4, 'pending', 0, $5, $6)";

pub(crate) const PUT_SELECTOR: &str = "INSERT INTO event_selectors \
    (installation_id, event_key, app_name, webhook_key, selector, updated_at) \
    VALUES ($1, $2, $3, $4, $5, $6) \
    ON CONFLICT (installation_id, event_key) DO UPDATE SET app_name = excluded.app_name, \
    webhook_key = excluded.webhook_key, selector = excluded.selector, \
    updated_at = excluded.updated_at";
pub(crate) const SELECTORS_OF: &str = "SELECT * FROM event_selectors \
    WHERE installation_id = $1 ORDER BY event_key";
/// The active installations an event of this app's global webhook, with this selector,
/// goes to, and the event each knows it as.
pub(crate) const SELECTED: &str = "SELECT event_selectors.* FROM event_selectors \
    JOIN installations ON installations.id = event_selectors.installation_id \
    WHERE event_selectors.app_name = $1 AND event_selectors.webhook_key = $2 \
    AND event_selectors.selector = $3 AND installations.status = 'active' \
    ORDER BY event_selectors.installation_id, event_selectors.event_key";

pub(crate) const COUNT_GLOBAL_WEBHOOK: &str = "INSERT INTO global_webhook_stats \
    (app_id, webhook_key, requests, events_routed, events_unmatched, last_unmatched, \
     last_request_at) VALUES ($1, $2, 1, $3, $4, $5, $6) \
    ON CONFLICT (app_id, webhook_key) DO UPDATE SET \
    requests = global_webhook_stats.requests + 1, \
    events_routed = global_webhook_stats.events_routed + excluded.events_routed, \
    events_unmatched = global_webhook_stats.events_unmatched + excluded.events_unmatched, \
    last_unmatched = COALESCE(excluded.last_unmatched, global_webhook_stats.last_unmatched), \
    last_request_at = excluded.last_request_at";
pub(crate) const GLOBAL_WEBHOOK_STATS: &str =
    "SELECT * FROM global_webhook_stats WHERE app_id = $1 ORDER BY webhook_key";

pub(crate) const PUT_CONNECTOR_SUBSCRIPTION: &str = "INSERT INTO connector_subscriptions \
    (installation_id, event_key, state, refresh_at, updated_at) VALUES ($1, $2, $3, $4, $5) \
    ON CONFLICT (installation_id, event_key) DO UPDATE SET state = excluded.state, \
    refresh_at = excluded.refresh_at, updated_at = excluded.updated_at";
pub(crate) const CONNECTOR_SUBSCRIPTION: &str = "SELECT * FROM connector_subscriptions \
    WHERE installation_id = $1 AND event_key = $2";
pub(crate) const CONNECTOR_SUBSCRIPTIONS: &str = "SELECT * FROM connector_subscriptions \
    WHERE installation_id = $1 ORDER BY event_key";
/// Claims due refreshes of active installations (`claim!`).
macro_rules! claim_refreshes {
    ($backend:ident) => {
        claim!(
            $backend,
            "connector_subscriptions",
            ("installation_id", "event_key"),
            "SELECT due.installation_id, due.event_key FROM connector_subscriptions AS due \
             WHERE due.refresh_at <= $1 \
             AND EXISTS (SELECT 1 FROM installations \
                 WHERE installations.id = due.installation_id \
                 AND installations.status = 'active') \
             ORDER BY due.refresh_at LIMIT $3",
            "refresh_at = $2",
            "refresh_at <= $1"
        )
    };
}
pub(crate) const CLAIM_REFRESHES: &str = claim_refreshes!(sqlite);
pub(crate) const CLAIM_REFRESHES_POSTGRES: &str = claim_refreshes!(postgres);
pub(crate) const NEXT_REFRESH_DUE: &str = "SELECT due.refresh_at AS at \
    FROM connector_subscriptions AS due WHERE due.refresh_at IS NOT NULL \
    AND EXISTS (SELECT 1 FROM installations WHERE installations.id = due.installation_id \
        AND installations.status = 'active') \
    ORDER BY due.refresh_at LIMIT 1";

pub(crate) const INSERT_WEBHOOK_SUBSCRIPTION: &str = "INSERT INTO webhook_subscriptions \
    (id, account_id, installation_id, kind, url, events, filters, secret, previous_secrets, \
     enabled, disabled_reason, timeout_ms, created_at, updated_at, \
     max_in_flight, rate_per_second, fifo, failing_since, batch_size, linger_ms) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
    $20)";
/// Replaces every field but the id, account, installation, kind, creation time and
/// `failing_since` (which only the deliverer moves, `$18` is unused).
pub(crate) const UPDATE_WEBHOOK_SUBSCRIPTION: &str = "UPDATE webhook_subscriptions SET \
    url = $5, events = $6, filters = $7, secret = $8, previous_secrets = $9, \
    enabled = $10, disabled_reason = $11, timeout_ms = $12, \
    updated_at = $14, max_in_flight = $15, rate_per_second = $16, fifo = $17, \
    batch_size = $19, linger_ms = $20 WHERE id = $1 AND account_id = $2 \
    AND ($3 IS NULL OR installation_id = $3) AND kind = $4 AND created_at = $13";
pub(crate) const WEBHOOK_SUBSCRIPTION: &str = "SELECT * FROM webhook_subscriptions WHERE id = $1";
/// Several subscriptions in one read, `$1` as for `PRODUCT_EVENTS`.
pub(crate) const WEBHOOK_SUBSCRIPTIONS_BY_ID: &str =
    "SELECT * FROM webhook_subscriptions WHERE id IN (SELECT value FROM json_each($1))";
pub(crate) const WEBHOOK_SUBSCRIPTIONS_BY_ID_POSTGRES: &str = "SELECT * FROM webhook_subscriptions \
    WHERE id IN (SELECT json_array_elements_text($1::json))";
pub(crate) const WEBHOOK_SUBSCRIPTIONS: &str = "SELECT * FROM webhook_subscriptions \
    WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3";
pub(crate) const DELETE_WEBHOOK_SUBSCRIPTION: &str =
    "DELETE FROM webhook_subscriptions WHERE id = $1";
pub(crate) const DELETE_EXTENSION_WEBHOOKS: &str =
    "DELETE FROM webhook_subscriptions WHERE installation_id = $1";
pub(crate) const DELETE_SUBSCRIPTION_EVENTS: &str =
    "DELETE FROM webhook_subscription_events WHERE subscription_id = $1";
pub(crate) const INSERT_SUBSCRIPTION_EVENT: &str = "INSERT INTO webhook_subscription_events \
    (subscription_id, account_id, event, filter) VALUES ($1, $2, $3, $4)";
/// Disables a subscription, touching nothing else (an API change made meanwhile stays);
/// `$4` is the mark of the operational events that tell of it, if any
/// (`NOTICE_IF_DISABLED`).
pub(crate) const DISABLE_WEBHOOK_SUBSCRIPTION: &str = "UPDATE webhook_subscriptions \
    SET enabled = 0, disabled_reason = $2, updated_at = $3, disabled_notice = $4 \
    WHERE id = $1 AND enabled = 1";
/// A disabled subscription's waiting deliveries are dead: kept, and replayable.
pub(crate) const KILL_PENDING_DELIVERIES: &str = "UPDATE deliveries \
    SET status = 'dead', generation = generation + 1, updated_at = $2 \
    WHERE subscription_id = $1 AND status = 'pending'";

/// The outbox's other half: one delivery per subscription of the account to the event,
/// pending, or `skipped` (stored, never attempted, until a recovery) while the
/// subscription is disabled; an extension webhook, which only its app's lifecycle can
/// enable again, gets nothing while disabled. `$1` event id, `$2` account, `$3` event
/// name, `$4` now. `$tail` narrows it further.
macro_rules! event_deliveries {
    ($tail:literal) => {
        concat!(
            "INSERT INTO deliveries \
            (event_id, subscription_id, account_id, event, status, seq, attempts, tries, \
             generation, run_at, created_at, updated_at) \
            SELECT $1, webhook_subscription_events.subscription_id, $2, $3, \
                CASE WHEN webhook_subscriptions.enabled = 1 THEN 'pending' ELSE 'skipped' END, \
                CASE WHEN webhook_subscriptions.fifo = 1 THEN (SELECT COALESCE(MAX(numbered.seq), 0) + 1 \
                    FROM deliveries AS numbered \
                    WHERE numbered.subscription_id = webhook_subscription_events.subscription_id) \
                ELSE 0 END, 0, 0, 0, \
                CASE WHEN webhook_subscriptions.linger_ms > 0 \
                    THEN ($4 / webhook_subscriptions.linger_ms + 1) * webhook_subscriptions.linger_ms \
                    ELSE $4 END, \
                $4, $4 \
            FROM webhook_subscription_events JOIN webhook_subscriptions \
                ON webhook_subscriptions.id = webhook_subscription_events.subscription_id \
            WHERE webhook_subscription_events.account_id = $2 \
            AND webhook_subscription_events.event = $3 AND webhook_subscription_events.filter IS NULL \
            AND (webhook_subscriptions.enabled = 1 OR webhook_subscriptions.kind <> 'EXTENSION_WEBHOOK')",
            $tail
        )
    };
}
pub(crate) const INSERT_EVENT_DELIVERIES: &str = event_deliveries!("");

/// An operational event's deliveries, if the event was stored (its guard held): the
/// operational webhooks of the instance account that take its type.
pub(crate) const INSERT_NOTICE_DELIVERIES: &str =
    event_deliveries!(" AND EXISTS (SELECT 1 FROM events WHERE events.id = $1)");
/// Stores an operational event (`$1`…`$7` as `INSERT_EVENT`) only if `$guard` holds.
macro_rules! notice_event {
    ($guard:literal) => {
        concat!(
            "INSERT INTO events (id, account_id, product, name, body, idempotency_key, \
             received_at) SELECT $1, $2, $3, $4, $5, $6, $7 WHERE ",
            $guard
        )
    };
}
/// …if the disable in the same transaction took (`$8` the subscription, `$9` the mark it
/// leaves): of two nodes disabling it at once, only one tells.
pub(crate) const NOTICE_IF_DISABLED: &str = notice_event!(
    "EXISTS (SELECT 1 FROM webhook_subscriptions WHERE id = $8 AND disabled_notice = $9)"
);
/// …if the attempt's outcome in the same transaction was recorded (`$8` event, `$9`
/// subscription, `$10` the claim's generation, `$11` the status it ended in): an overtaken
/// claim tells nothing.
pub(crate) const NOTICE_IF_RECORDED: &str = notice_event!(
    "EXISTS (SELECT 1 FROM deliveries WHERE event_id = $8 AND subscription_id = $9 \
     AND generation = $10 AND status = $11)"
);
/// Takes the subject (`$1`) for the event `$2` at `$3`, unless it was last told of after
/// `$4` (the window's start).
pub(crate) const MARK_NOTICE: &str = "INSERT INTO operational_notices (subject, event_id, at) \
    VALUES ($1, $2, $3) ON CONFLICT (subject) DO UPDATE \
    SET event_id = excluded.event_id, at = excluded.at WHERE operational_notices.at <= $4";
/// …if `MARK_NOTICE` took the subject (`$8`) for this event.
pub(crate) const NOTICE_IF_MARKED: &str = notice_event!(
    "EXISTS (SELECT 1 FROM operational_notices WHERE subject = $8 AND event_id = $1)"
);
/// The statuses of an installation's latest runs, newest first (`$2` of them).
pub(crate) const LATEST_INVOCATION_STATUSES: &str = "SELECT status FROM invocations \
    WHERE installation_id = $1 ORDER BY id DESC LIMIT $2";
/// The subscriptions of the account whose filter for the event must be decided in code
/// (`$1` account, `$2` event name), disabled ones too, as `INSERT_EVENT_DELIVERIES` has
/// them.
pub(crate) const FILTERED_SUBSCRIPTIONS: &str = "SELECT \
    webhook_subscription_events.subscription_id AS id, webhook_subscription_events.filter, \
    webhook_subscriptions.fifo, webhook_subscriptions.linger_ms, webhook_subscriptions.enabled \
    FROM webhook_subscription_events JOIN webhook_subscriptions \
        ON webhook_subscriptions.id = webhook_subscription_events.subscription_id \
    WHERE webhook_subscription_events.account_id = $1 \
    AND webhook_subscription_events.event = $2 \
    AND webhook_subscription_events.filter IS NOT NULL \
    AND (webhook_subscriptions.enabled = 1 OR webhook_subscriptions.kind <> 'EXTENSION_WEBHOOK')";
/// One delivery whose filter passed: `$1` event, `$2` subscription, `$3` account, `$4`
/// event name, `$5` now, `$6` FIFO (1: number it), `$7` the subscription's linger, `$8`
/// its status (`pending`, or `skipped` while the subscription is disabled).
pub(crate) const INSERT_DELIVERY: &str = "INSERT INTO deliveries \
    (event_id, subscription_id, account_id, event, status, seq, attempts, tries, generation, \
     run_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $8, \
     CASE WHEN $6 = 1 THEN (SELECT COALESCE(MAX(seq), 0) + 1 FROM deliveries \
         WHERE subscription_id = $2) ELSE 0 END, 0, 0, 0, \
     CASE WHEN $7 > 0 THEN ($5 / $7 + 1) * $7 ELSE $5 END, $5, $5)";
pub(crate) const DELIVERY: &str =
    "SELECT * FROM deliveries WHERE event_id = $1 AND subscription_id = $2";
/// A NULL filter lets every row through; newest first would need another index, so the
/// list is in creation order, paged by the event id (which sorts by time).
pub(crate) const DELIVERIES: &str = "SELECT * FROM deliveries WHERE account_id = $1 \
    AND ($2 IS NULL OR subscription_id = $2) AND ($3 IS NULL OR status = $3) \
    AND ($4 IS NULL OR event = $4) AND ($5 IS NULL OR created_at >= $5) \
    AND ($6 IS NULL OR created_at < $6) AND (event_id, subscription_id) > ($7, $8) \
    ORDER BY event_id, subscription_id LIMIT $9";
/// The admin's view of every account's deliveries, in the same order and pages.
pub(crate) const DELIVERIES_EVERYWHERE: &str = "SELECT * FROM deliveries WHERE \
    ($1 IS NULL OR subscription_id = $1) AND ($2 IS NULL OR status = $2) \
    AND ($3 IS NULL OR event = $3) AND ($4 IS NULL OR created_at >= $4) \
    AND ($5 IS NULL OR created_at < $5) AND (event_id, subscription_id) > ($6, $7) \
    ORDER BY event_id, subscription_id LIMIT $8";
/// The same for one status other than delivered: `status <> 'delivered'` is spelled out
/// so that both planners may use the partial index `unfinished_deliveries`.
pub(crate) const UNFINISHED_DELIVERIES_EVERYWHERE: &str = "SELECT * FROM deliveries \
    WHERE status <> 'delivered' AND ($1 IS NULL OR subscription_id = $1) AND status = $2 \
    AND ($3 IS NULL OR event = $3) AND ($4 IS NULL OR created_at >= $4) \
    AND ($5 IS NULL OR created_at < $5) AND (event_id, subscription_id) > ($6, $7) \
    ORDER BY event_id, subscription_id LIMIT $8";
/// Claims due deliveries (`claim!`); a FIFO subscription's delivery only once none
/// before it is pending.
macro_rules! claim_deliveries {
    ($backend:ident) => {
        claim!(
            $backend,
            "deliveries",
            ("event_id", "subscription_id"),
            "SELECT due.event_id, due.subscription_id FROM deliveries AS due \
             WHERE due.status = 'pending' AND due.run_at <= $1 \
             AND (due.seq = 0 OR NOT EXISTS (SELECT 1 FROM deliveries AS earlier \
                 WHERE earlier.subscription_id = due.subscription_id \
                 AND earlier.status = 'pending' AND earlier.seq < due.seq)) \
             ORDER BY due.run_at LIMIT $3",
            "run_at = $2, attempts = attempts + 1, tries = tries + 1, \
             generation = generation + 1",
            "status = 'pending' AND run_at <= $1"
        )
    };
}
pub(crate) const CLAIM_DELIVERIES: &str = claim_deliveries!(sqlite);
pub(crate) const CLAIM_DELIVERIES_POSTGRES: &str = claim_deliveries!(postgres);
/// Ends a claimed attempt: `$3` status, `$4` the next run (pending) or now, `$5` the
/// claim's generation, `$6` now. Postponing (`$7` = 1) gives the attempt back.
pub(crate) const FINISH_DELIVERY: &str = "UPDATE deliveries SET status = $3, run_at = $4, \
    attempts = attempts - $7, tries = tries - $7, updated_at = $6 \
    WHERE event_id = $1 AND subscription_id = $2 AND status = 'pending' AND generation = $5";
pub(crate) const INSERT_ATTEMPT: &str = "INSERT INTO delivery_attempts \
    (event_id, subscription_id, number, at, status_code, duration_ms, error, response) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
pub(crate) const ATTEMPTS: &str = "SELECT * FROM delivery_attempts \
    WHERE event_id = $1 AND subscription_id = $2 ORDER BY number";
/// Makes a delivered or dead delivery due again now (a replay), with the whole retry
/// schedule ahead of it; its attempts go on being numbered from where they were.
pub(crate) const REPLAY_DELIVERY: &str = "UPDATE deliveries SET status = 'pending', \
    tries = 0, generation = generation + 1, run_at = $3, updated_at = $3 \
    WHERE event_id = $1 AND subscription_id = $2 AND status <> 'pending'";
/// Makes a pending delivery's next attempt due at `$3` (retry now), unless an attempt
/// is in flight: a claim counts an attempt (`attempts`) that is recorded (numbered
/// `attempts`) only when it ends, so while the two differ a claim holds the delivery,
/// and moving it would send a second attempt beside the first.
pub(crate) const RETRY_DELIVERY_NOW: &str = "UPDATE deliveries SET \
    generation = generation + 1, run_at = $3, updated_at = $3 \
    WHERE event_id = $1 AND subscription_id = $2 AND status = 'pending' \
    AND attempts = (SELECT COALESCE(MAX(number), 0) FROM delivery_attempts \
        WHERE event_id = $1 AND subscription_id = $2)";
pub(crate) const NEXT_DELIVERY_DUE: &str = "SELECT run_at AS at FROM deliveries \
    WHERE status = 'pending' ORDER BY run_at LIMIT 1";

/// What `/metrics` shows of the queues; the partial indexes of pending rows serve both.
/// Per queue: what waits, what of it is due at `$1`, and the earliest time among what
/// waits (a row in flight has its lease's end there, so it is not counted as due).
pub(crate) const QUEUE_DEPTH: &str = "\
    SELECT 'jobs' AS queue, COUNT(*) AS waiting, \
        COALESCE(SUM(CASE WHEN run_at <= $1 THEN 1 ELSE 0 END), 0) AS due, \
        MIN(run_at) AS earliest FROM jobs WHERE status = 'pending' \
    UNION ALL SELECT 'deliveries', COUNT(*), \
        COALESCE(SUM(CASE WHEN run_at <= $1 THEN 1 ELSE 0 END), 0), \
        MIN(run_at) FROM deliveries WHERE status = 'pending' \
    UNION ALL SELECT 'schedules', COUNT(*), \
        COALESCE(SUM(CASE WHEN next_run_at <= $1 THEN 1 ELSE 0 END), 0), \
        MIN(next_run_at) FROM schedules \
    UNION ALL SELECT 'refreshes', COUNT(*), \
        COALESCE(SUM(CASE WHEN refresh_at <= $1 THEN 1 ELSE 0 END), 0), \
        MIN(refresh_at) FROM connector_subscriptions WHERE refresh_at IS NOT NULL";

/// A subscription's first failure since its last success.
pub(crate) const MARK_FAILING: &str = "UPDATE webhook_subscriptions SET failing_since = $2 \
    WHERE id = $1 AND failing_since IS NULL";
pub(crate) const CLEAR_FAILING: &str =
    "UPDATE webhook_subscriptions SET failing_since = NULL WHERE id = $1";

/// Every dead or skipped delivery of a subscription made since `$2` is due again at `$3`,
/// with the whole retry schedule ahead: one statement, so one durable step whatever the
/// count. A FIFO subscription's keep their numbers, so they go in the order stored.
pub(crate) const RECOVER_DELIVERIES: &str = "UPDATE deliveries SET status = 'pending', \
    tries = 0, generation = generation + 1, run_at = $3, updated_at = $3 \
    WHERE subscription_id = $1 AND status IN ('dead', 'skipped') AND created_at >= $2";

pub(crate) const INSERT_WEBHOOK_INVOCATION: &str = "INSERT INTO webhook_invocations \
    (reference_id, installation_id, account_id, webhook_id, chain_id, method, target_host, \
     request_bytes, response_bytes, status, error, error_message, duration_ms, started_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";
pub(crate) const WEBHOOK_INVOCATION: &str =
    "SELECT * FROM webhook_invocations WHERE reference_id = $1";
pub(crate) const WEBHOOK_INVOCATIONS: &str = "SELECT * FROM webhook_invocations \
    WHERE installation_id = $1 AND reference_id > $2 ORDER BY reference_id LIMIT $3";

pub(crate) const SET_CLIENT_TOKEN: &str =
    "UPDATE installations SET client_token_hash = $2 WHERE id = $1 AND status = 'active'";
pub(crate) const INSTALLATION_BY_CLIENT_TOKEN: &str =
    "SELECT * FROM installations WHERE client_token_hash = $1 AND status = 'active'";

/// Forgets the records of webhook calls made before `$1` (the retention period).
/// Retention, one small batch at a time (`$1` the cut-off, `$2` the batch), oldest first.
/// An event goes with its jobs, deliveries and their attempts, and only once none of its
/// jobs or deliveries is pending.
pub(crate) const PURGE_EVENTS: &str = "DELETE FROM events WHERE id IN (\
    SELECT e.id FROM events e WHERE e.received_at < $1 \
    AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.event_id = e.id AND j.status = 'pending') \
    AND NOT EXISTS (SELECT 1 FROM deliveries d \
        WHERE d.event_id = e.id AND d.status = 'pending') \
    ORDER BY e.received_at LIMIT $2)";
pub(crate) const PURGE_INVOCATIONS: &str = "DELETE FROM invocations WHERE id IN (\
    SELECT id FROM invocations WHERE started_at < $1 ORDER BY started_at LIMIT $2)";
/// The attempts of a pending delivery stay: its history is still being written.
pub(crate) const PURGE_ATTEMPTS: &str = "DELETE FROM delivery_attempts WHERE \
    (event_id, subscription_id, number) IN (\
    SELECT a.event_id, a.subscription_id, a.number FROM delivery_attempts a \
    JOIN deliveries d ON d.event_id = a.event_id AND d.subscription_id = a.subscription_id \
    WHERE a.at < $1 AND d.status <> 'pending' ORDER BY a.at LIMIT $2)";

pub(crate) const PURGE_WEBHOOK_INVOCATIONS: &str =
    "DELETE FROM webhook_invocations WHERE started_at < $1";
/// PostgreSQL only: every table the purges above delete from (deliveries and jobs go
/// with their events).
pub(crate) const VACUUM_PURGED_TABLES: &str = "VACUUM events, jobs, deliveries, \
    delivery_attempts, invocations, webhook_invocations";

/// PostgreSQL only: holds the account's FIFO subscriptions to the event (`$1` account, `$2`
/// event) for the ingest's transaction, so that concurrent ingests number their
/// deliveries one after the other, in commit order.
pub(crate) const LOCK_FIFO_SUBSCRIPTIONS: &str = "SELECT id FROM webhook_subscriptions \
    WHERE fifo = 1 AND id IN (SELECT subscription_id FROM webhook_subscription_events \
        WHERE account_id = $1 AND event = $2) \
    ORDER BY id FOR UPDATE";
