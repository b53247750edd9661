-- 3: the settings the hub sends for this post's site (its name, deadlines, retention, ...),
-- one JSON value per key, as the last version applied holds them (its number is in meta)
CREATE TABLE hub_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
