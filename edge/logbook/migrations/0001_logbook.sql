-- 1: the logbook and its projections
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    at TEXT NOT NULL,
    record_id TEXT NOT NULL,
    data TEXT NOT NULL,
    pii TEXT,
    pii_digest TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX events_at ON events (at);
CREATE INDEX events_record ON events (record_id);
CREATE TABLE sync_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    acked_seq INTEGER NOT NULL DEFAULT 0,
    last_ack_at TEXT
);
INSERT INTO sync_state (id, acked_seq) VALUES (1, 0);
CREATE TABLE units (
    unit TEXT PRIMARY KEY COLLATE NOCASE,
    intercom TEXT,
    residents TEXT,
    updated_at TEXT NOT NULL
);
CREATE TABLE visits (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    visitor_name TEXT,
    id_number_masked TEXT,
    id_hmac TEXT,
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
    request_id TEXT UNIQUE,
    confirmation_expires_at TEXT,
    answered_at TEXT,
    purged_at TEXT
);
CREATE INDEX visits_in ON visits (checked_in_at);
CREATE INDEX visits_on_site ON visits (checked_out_at);
CREATE INDEX visits_hmac ON visits (id_hmac);
CREATE TABLE door_events (
    id TEXT PRIMARY KEY,
    door TEXT NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT,
    visit_id TEXT,
    occurred_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    guard TEXT,
    api_key TEXT
);
CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
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
    guard TEXT
);
CREATE INDEX incidents_status ON incidents (status);
CREATE TABLE incident_entries (
    id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    at TEXT NOT NULL,
    guard TEXT,
    author TEXT NOT NULL
);
CREATE INDEX entries_incident ON incident_entries (incident_id, seq);
CREATE TABLE shift_notes (
    id TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    at TEXT NOT NULL,
    guard TEXT
);
CREATE TABLE guards (
    badge TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    pin_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    badge TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE login_failures (badge TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX login_failures_badge ON login_failures (badge, at);
