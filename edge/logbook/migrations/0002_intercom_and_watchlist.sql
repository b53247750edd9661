-- 2: the intercom (webhook deliveries, residents' pre-approvals) and the hub's watch list
CREATE TABLE deliveries (
    request_id TEXT PRIMARY KEY,
    visit_id TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    delivered_at TEXT,
    last_error TEXT
);
CREATE INDEX deliveries_due ON deliveries (delivered_at, next_attempt_at);
CREATE INDEX visits_pending ON visits (confirmation_status, confirmation_expires_at);
CREATE TABLE preapprovals (
    id TEXT PRIMARY KEY,
    unit TEXT NOT NULL COLLATE NOCASE,
    code_hmac TEXT NOT NULL,
    visitor_name TEXT,
    valid_from TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    created_at TEXT NOT NULL,
    api_key TEXT,
    used_at TEXT,
    visit_id TEXT
);
CREATE INDEX preapprovals_code ON preapprovals (code_hmac);
CREATE TABLE watchlist (
    id TEXT PRIMARY KEY,
    id_hmac TEXT,
    name TEXT,
    name_key TEXT,
    reason TEXT NOT NULL,
    severity TEXT NOT NULL
);
CREATE INDEX watchlist_hmac ON watchlist (id_hmac);
CREATE INDEX watchlist_name ON watchlist (name_key);
ALTER TABLE visits ADD COLUMN flag TEXT;
