-- 3 on PostgreSQL: as 0003_sites.sql, with its INSERT OR IGNORE as ON CONFLICT DO NOTHING.
-- Running a fleet from the hub: each site's record (its name, time zone and kind), the
-- settings and the directory the hub sends its posts (each versioned), and which version of each versioned
-- down message (the watch list, a site's settings, its directory) each post has on its way. down_sent takes
-- over from watchlist_sent, which is kept as it was and no longer written.
CREATE TABLE IF NOT EXISTS sites (
    site TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    timezone TEXT NOT NULL,
    kind TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS site_settings (
    site TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    settings TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS site_directory (
    site TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    units TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS down_sent (
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    type TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (site, device, type)
);
INSERT INTO down_sent (site, device, type, version)
    SELECT site, device, 'watchlist', version FROM watchlist_sent ON CONFLICT DO NOTHING;
