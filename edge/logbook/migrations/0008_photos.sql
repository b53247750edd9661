-- 8: evidence photos on incidents (CONTRACT section 9). `photos` is the projection of the
-- `photo.attached` events (`purged_at` set by `photo.purged`); the bytes are files named by
-- their SHA-256 in DIR/photos/. `sent_at`: when the hub said it holds the bytes (the blob
-- sender's cursor, not part of any event).
CREATE TABLE IF NOT EXISTS photos (
    id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    attached_at TEXT NOT NULL,
    author TEXT NOT NULL,
    purged_at TEXT,
    sent_at TEXT
);
CREATE INDEX IF NOT EXISTS photos_incident ON photos (incident_id);
CREATE INDEX IF NOT EXISTS photos_sha256 ON photos (sha256);
