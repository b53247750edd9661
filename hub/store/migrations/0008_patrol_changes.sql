-- 8: changing and removing checkpoints and rounds (CONTRACT section 9). A removed one keeps its
-- row (`removed_at`), so history still shows its name; it is no longer sent to the posts.
-- `round_schedules` keeps each round's schedule over time (valid from a change until the
-- next), so the hub shows past runs as they were scheduled, not as the round is today.
ALTER TABLE checkpoints ADD COLUMN removed_at TEXT;
ALTER TABLE rounds ADD COLUMN removed_at TEXT;
CREATE TABLE IF NOT EXISTS round_schedules (
    round_id TEXT NOT NULL,
    site TEXT NOT NULL,
    checkpoints TEXT NOT NULL,
    every_minutes INTEGER NOT NULL,
    window_minutes INTEGER NOT NULL,
    from_time TEXT NOT NULL,
    to_time TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_until TEXT,
    PRIMARY KEY (round_id, valid_from)
);
CREATE INDEX IF NOT EXISTS round_schedules_site ON round_schedules (site);
INSERT INTO round_schedules (round_id, site, checkpoints, every_minutes, window_minutes,
    from_time, to_time, valid_from, valid_until)
SELECT id, site, checkpoints, every_minutes, window_minutes, from_time, to_time, created_at, NULL
FROM rounds WHERE NOT EXISTS (SELECT 1 FROM round_schedules s WHERE s.round_id = rounds.id);
CREATE INDEX IF NOT EXISTS patrol_scans_site_at ON patrol_scans (site, scanned_at);
