-- Logbook search: one line per event (search_lines) and a trigram index over the lines, kept
-- up to date by triggers. FTS5 is SQLite's own (PostgreSQL would use pg_trgm), kept apart from
-- the plain tables of 0001. IF NOT EXISTS: a hub adopted at version 1 may have them already.
CREATE TABLE IF NOT EXISTS search_lines (
    id INTEGER PRIMARY KEY,
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at TEXT NOT NULL,
    type TEXT NOT NULL,
    summary TEXT NOT NULL,
    UNIQUE (site, device, seq)
);
CREATE INDEX IF NOT EXISTS search_lines_at ON search_lines (site, at);
CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(
    summary, content='search_lines', content_rowid='id', tokenize='trigram');
CREATE TRIGGER IF NOT EXISTS search_lines_ai AFTER INSERT ON search_lines BEGIN
    INSERT INTO search_fts (rowid, summary) VALUES (new.id, new.summary);
END;
CREATE TRIGGER IF NOT EXISTS search_lines_au AFTER UPDATE OF summary ON search_lines BEGIN
    INSERT INTO search_fts (search_fts, rowid, summary) VALUES ('delete', old.id, old.summary);
    INSERT INTO search_fts (rowid, summary) VALUES (new.id, new.summary);
END;
