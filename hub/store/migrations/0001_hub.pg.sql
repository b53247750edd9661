-- 1 on PostgreSQL: the hub's tables as 0001_hub.sql makes them on SQLite, in PostgreSQL's words
-- (an identity column for SQLite's INTEGER PRIMARY KEY, DOUBLE PRECISION for REAL, no WITHOUT
-- ROWID). Keep the two files' tables and columns the same: `migrate-db` copies one into the other.
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    sites TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS login_failures (username TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS login_failures_user ON login_failures (username, at);
-- a device's chain starts at the genesis hash (schemas.canonical.GENESIS_HASH)
CREATE TABLE IF NOT EXISTS devices (
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    mqtt_username TEXT UNIQUE,
    mqtt_hash TEXT,
    provisioned_at TEXT,
    acked_seq INTEGER NOT NULL DEFAULT 0,
    last_hash TEXT NOT NULL DEFAULT '0000000000000000000000000000000000000000000000000000000000000000',
    last_seen TEXT,
    online INTEGER NOT NULL DEFAULT 0,
    reported_last_seq INTEGER NOT NULL DEFAULT 0,
    clock_offset_s DOUBLE PRECISION,
    version TEXT,
    tampered INTEGER NOT NULL DEFAULT 0,
    tampered_at TEXT,
    tampered_reason TEXT,
    PRIMARY KEY (site, device)
);
CREATE TABLE IF NOT EXISTS events (
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    seq INTEGER NOT NULL,
    id TEXT NOT NULL,
    type TEXT NOT NULL,
    at TEXT NOT NULL,
    record_id TEXT NOT NULL,
    data TEXT NOT NULL,
    pii TEXT,
    pii_digest TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (site, device, seq)
);
CREATE INDEX IF NOT EXISTS events_site_at ON events (site, at);
CREATE TABLE IF NOT EXISTS pending_purges (
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (site, device, seq)
);
CREATE TABLE IF NOT EXISTS visits (
    id TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    visitor_name TEXT,
    id_number_masked TEXT,
    unit TEXT NOT NULL,
    category TEXT NOT NULL,
    phone TEXT,
    company TEXT,
    purpose TEXT,
    party_size INTEGER NOT NULL,
    vehicle_plate TEXT,
    notes TEXT,
    checked_in_at TEXT NOT NULL,
    checked_out_at TEXT,
    guard TEXT,
    confirmation_status TEXT NOT NULL,
    request_id TEXT,
    answered_at TEXT,
    purged_at TEXT,
    flag TEXT
);
CREATE INDEX IF NOT EXISTS visits_site_in ON visits (site, checked_in_at);
CREATE TABLE IF NOT EXISTS door_events (
    id TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    door TEXT NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT,
    visit_id TEXT,
    occurred_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    guard TEXT,
    api_key TEXT
);
CREATE INDEX IF NOT EXISTS door_events_site_at ON door_events (site, occurred_at);
CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    category TEXT NOT NULL,
    severity TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT,
    location TEXT,
    visit_id TEXT,
    channel TEXT,
    status TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    due_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    guard TEXT,
    acknowledged_at TEXT,
    resolved_at TEXT
);
CREATE INDEX IF NOT EXISTS incidents_site ON incidents (site, status);
CREATE INDEX IF NOT EXISTS incidents_opened ON incidents (site, opened_at);
CREATE TABLE IF NOT EXISTS incident_entries (
    id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL,
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    at TEXT NOT NULL,
    guard TEXT,
    author TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_incident ON incident_entries (incident_id, at);
CREATE TABLE IF NOT EXISTS shift_notes (
    id TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    text TEXT NOT NULL,
    at TEXT NOT NULL,
    guard TEXT
);
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    delivered_at TEXT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (delivered_at, site, device);
CREATE TABLE IF NOT EXISTS watchlist (
    id TEXT PRIMARY KEY,
    id_hmac TEXT,
    id_number_masked TEXT,
    name TEXT,
    reason TEXT NOT NULL,
    severity TEXT NOT NULL,
    created_at TEXT NOT NULL,
    by TEXT NOT NULL,
    removed_at TEXT
);
CREATE TABLE IF NOT EXISTS notify_rules (
    id TEXT PRIMARY KEY,
    severity TEXT NOT NULL,
    site TEXT,
    events TEXT NOT NULL,
    url TEXT NOT NULL,
    shown_url TEXT NOT NULL,
    created_at TEXT NOT NULL,
    by TEXT NOT NULL,
    removed_at TEXT
);
CREATE TABLE IF NOT EXISTS notifications (
    incident_id TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    PRIMARY KEY (incident_id, rule_id, kind)
);
CREATE TABLE IF NOT EXISTS audit (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    at TEXT NOT NULL,
    username TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS device_status_log (
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    at TEXT NOT NULL,
    online INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS device_status_log_at ON device_status_log (site, device, at);
CREATE TABLE IF NOT EXISTS watchlist_sent (
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (site, device)
);
