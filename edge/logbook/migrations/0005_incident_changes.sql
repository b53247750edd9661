-- 5: an incident's history (CONTRACT section 8): every change of its status, assignee or grade
-- and every command from the hub the post refused, with who did it; `command_id` names the
-- hub's command it carried out, once (the unique index is how a command applies only once).
-- The status changes made before this migration are taken from the logbook's events.
ALTER TABLE incidents ADD COLUMN assignee TEXT;
CREATE TABLE incident_changes (
    id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL,
    at TEXT NOT NULL,
    change TEXT NOT NULL,
    value TEXT NOT NULL,
    previous TEXT,
    reason TEXT,
    author TEXT NOT NULL,
    command_id TEXT
);
CREATE INDEX incident_changes_incident ON incident_changes (incident_id, at);
CREATE UNIQUE INDEX incident_changes_command ON incident_changes (command_id)
    WHERE command_id IS NOT NULL;
INSERT INTO incident_changes (id, incident_id, at, change, value, previous, author)
    SELECT id, record_id, at, 'status', json_extract(data, '$.status'),
           json_extract(data, '$.previous'), json_extract(data, '$.by')
    FROM events WHERE type = 'incident.status';
