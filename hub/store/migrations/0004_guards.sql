-- The guards the hub manages (CONTRACT section 8): the PIN only as its argon2 hash, the sites
-- they work at (a JSON list), and when and why they were disabled; each site's roster version
-- (every change to one of its guards is a new version, sent down as a `roster` message).
CREATE TABLE IF NOT EXISTS guards (
    badge TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    pin_hash TEXT NOT NULL,
    sites TEXT NOT NULL,
    created_at TEXT NOT NULL,
    by TEXT NOT NULL,
    disabled_at TEXT,
    disabled_reason TEXT
);
CREATE TABLE IF NOT EXISTS site_roster (
    site TEXT PRIMARY KEY,
    version INTEGER NOT NULL
);
