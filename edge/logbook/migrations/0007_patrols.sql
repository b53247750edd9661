-- 7: patrol rounds (CONTRACT section 9). The hub's checkpoints and rounds for this post's site,
-- replaced as a whole by each newer `patrols` version (in meta as `patrols_version`); a round
-- keeps `since`, when it first arrived here, so no occurrence before it is judged missed.
-- `patrol_scans` is the projection of the `patrol.scan` events.
CREATE TABLE IF NOT EXISTS checkpoints (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    location TEXT,
    code TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS rounds (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    checkpoints TEXT NOT NULL,
    every_minutes INTEGER NOT NULL,
    window_minutes INTEGER NOT NULL,
    from_time TEXT NOT NULL,
    to_time TEXT NOT NULL,
    since TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS patrol_scans (
    id TEXT PRIMARY KEY,
    checkpoint_id TEXT NOT NULL,
    round_id TEXT,
    scanned_at TEXT NOT NULL,
    on_time INTEGER NOT NULL,
    guard TEXT
);
CREATE INDEX IF NOT EXISTS patrol_scans_at ON patrol_scans (scanned_at);
