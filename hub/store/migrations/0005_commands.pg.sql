-- 5 on PostgreSQL: as 0005_commands.sql, in PostgreSQL's words for JSON and INSERT OR IGNORE.
-- 5: supervisors act on incidents from the hub (CONTRACT section 8). `commands` holds each
-- status change, assignment or re-grade sent to a post, and what became of it (pending until
-- the post's event that carries it out, or its `command.rejected`, arrives); `incident_changes`
-- is an incident's history as the posts recorded it; the status changes that arrived before
-- this migration are taken from the stored events.
ALTER TABLE incidents ADD COLUMN assignee TEXT;
CREATE TABLE IF NOT EXISTS commands (
    id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL,
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    action TEXT NOT NULL,
    value TEXT NOT NULL,
    reason TEXT,
    author TEXT NOT NULL,
    created_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    state_reason TEXT,
    settled_at TEXT
);
CREATE INDEX IF NOT EXISTS commands_incident ON commands (incident_id, created_at);
CREATE TABLE IF NOT EXISTS incident_changes (
    id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL,
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    at TEXT NOT NULL,
    change TEXT NOT NULL,
    value TEXT NOT NULL,
    previous TEXT,
    reason TEXT,
    author TEXT NOT NULL,
    command_id TEXT
);
CREATE INDEX IF NOT EXISTS incident_changes_incident ON incident_changes (incident_id, at);
INSERT INTO incident_changes
    (id, incident_id, site, device, at, change, value, previous, author)
    SELECT id, record_id, site, device, at, 'status', data::jsonb ->> 'status',
           data::jsonb ->> 'previous', data::jsonb ->> 'by'
    FROM events WHERE type = 'incident.status' ON CONFLICT DO NOTHING;
CREATE INDEX IF NOT EXISTS incidents_assignee ON incidents (assignee) WHERE assignee IS NOT NULL;
