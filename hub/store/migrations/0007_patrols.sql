-- 7: patrol rounds (CONTRACT section 9): each site's checkpoints (with the random code its QR
-- code holds) and rounds, defined here and sent to the site's posts as a versioned `patrols`
-- message (its version in `site_patrols`); `patrol_scans` is the projection of the posts'
-- `patrol.scan` events.
CREATE TABLE IF NOT EXISTS checkpoints (
    id TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    name TEXT NOT NULL,
    location TEXT,
    code TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    by TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS checkpoints_site ON checkpoints (site);
CREATE TABLE IF NOT EXISTS rounds (
    id TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    name TEXT NOT NULL,
    checkpoints TEXT NOT NULL,
    every_minutes INTEGER NOT NULL,
    window_minutes INTEGER NOT NULL,
    from_time TEXT NOT NULL,
    to_time TEXT NOT NULL,
    created_at TEXT NOT NULL,
    by TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS rounds_site ON rounds (site);
CREATE TABLE IF NOT EXISTS site_patrols (
    site TEXT PRIMARY KEY,
    version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS patrol_scans (
    id TEXT NOT NULL,
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    round_id TEXT,
    scanned_at TEXT NOT NULL,
    on_time INTEGER NOT NULL,
    guard TEXT,
    PRIMARY KEY (site, device, id)
);
