-- 12 on PostgreSQL: nothing to do. SQLite's trigram index is now filled behind ingest
-- (0012_search_behind.sql); PostgreSQL's pg_trgm GIN index takes each line as it is written
-- and defers the work itself (its pending list).
SELECT 1;
