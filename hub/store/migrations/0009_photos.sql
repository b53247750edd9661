-- 9: evidence photos on incidents (CONTRACT section 9): the projection of the posts'
-- `photo.attached` events (`purged_at` set by `photo.purged`). The bytes arrive on the
-- `blobs` topic and are kept as files named by their SHA-256 in DIR/photos/; `stored_at` says
-- when they arrived (null: not yet, or deleted after the purge).
CREATE TABLE IF NOT EXISTS photos (
    id TEXT NOT NULL,
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    incident_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    attached_at TEXT NOT NULL,
    author TEXT NOT NULL,
    purged_at TEXT,
    stored_at TEXT,
    PRIMARY KEY (site, device, id)
);
CREATE INDEX IF NOT EXISTS photos_incident ON photos (incident_id);
CREATE INDEX IF NOT EXISTS photos_sha256 ON photos (sha256);
