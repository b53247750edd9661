-- 4: guards from the hub's roster for this post's site: `from_hub` marks them (a guard added
-- here by `add-guard` has 0), `disabled_at` a guard the hub disabled (login refused, sessions
-- ended); the roster's version is in meta as `roster_version`
ALTER TABLE guards ADD COLUMN from_hub INTEGER NOT NULL DEFAULT 0;
ALTER TABLE guards ADD COLUMN disabled_at TEXT;
