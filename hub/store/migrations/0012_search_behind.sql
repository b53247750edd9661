-- Logbook search is indexed behind ingest (issue 19): ingest writes `search_lines` only, and
-- the hub's search-index thread adds them to the trigram index in batches
-- (`Engine.index_search`), so a post's acks never wait for it. `search_progress` holds the last
-- line indexed, in the same transaction as the index rows, so nothing is lost or indexed twice
-- across a restart; a search also scans the lines after it (`Engine.search`). Every line
-- written so far was indexed by the insert trigger this replaces.
DROP TRIGGER IF EXISTS search_lines_ai;
DROP TRIGGER IF EXISTS search_lines_au;
CREATE TABLE IF NOT EXISTS search_progress (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    indexed_id INTEGER NOT NULL
);
INSERT OR IGNORE INTO search_progress (one, indexed_id)
    SELECT 1, COALESCE(MAX(id), 0) FROM search_lines;
-- a purge rewrites a line: the index forgets the old words only where it holds them
CREATE TRIGGER search_lines_au AFTER UPDATE OF summary ON search_lines
WHEN old.id <= (SELECT indexed_id FROM search_progress) BEGIN
    INSERT INTO search_fts (search_fts, rowid, summary) VALUES ('delete', old.id, old.summary);
    INSERT INTO search_fts (rowid, summary) VALUES (new.id, new.summary);
END;
