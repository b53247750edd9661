-- 16 on SQLite: nothing to do. PostgreSQL moves its trigram index to `lower(summary)`
-- (0016_search_lower.pg.sql), so that one- and two-character searches never use it; SQLite's
-- FTS5 index is consulted only for three characters or more already.
SELECT 1;
