-- A search of one or two characters (a two-character Chinese word) has no trigram to look up.
-- While the trigram index was on `summary`, PostgreSQL's planner sometimes chose it for such a
-- search anyway, as statistics changed: a bitmap of every line, each checked again (550 ms on
-- a million lines, against 80 ms reading them straight through; issue 17). On `lower(summary)`
-- it serves only the searches written against it, three characters or more
-- (`lower(l.summary) LIKE lower(?)`, what ILIKE does); a shorter one reads the lines by the
-- column's own statistics: straight through, newest first, or one site's.
DROP INDEX IF EXISTS search_lines_trgm;
CREATE INDEX search_lines_trgm ON search_lines USING gin (lower(summary) gin_trgm_ops)
    WITH (fastupdate = on, gin_pending_list_limit = 32768);
