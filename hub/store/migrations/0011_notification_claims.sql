-- 8: several hub processes share one database (CONTRACT section 10): before an escalation is
-- sent, the process that sends it claims it here, so another process that found it due at the
-- same moment leaves it alone; a claim older than a few minutes (its process died before it
-- recorded the notification) may be taken over. The same SQL on SQLite and PostgreSQL.
CREATE TABLE IF NOT EXISTS notification_claims (
    incident_id TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    claimed_by TEXT NOT NULL,
    claimed_at TEXT NOT NULL,
    PRIMARY KEY (incident_id, rule_id, kind)
);
