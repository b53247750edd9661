-- Logbook lines are written behind ingest (issue 19), as their trigram index already is: ingest
-- records which events it stored (one row per batch), acks, and the hub's search-index thread
-- writes their `search_lines` afterwards (`Store.write_lines`), deleting the row in the same
-- transaction, so a restart neither loses a line nor writes one twice. A search first writes
-- the lines still waiting; a purge writes the lines it changes itself. Every event stored so
-- far has its line.
CREATE TABLE IF NOT EXISTS lines_pending (
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    PRIMARY KEY (site, device, first_seq)
);
