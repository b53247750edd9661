-- 12 on PostgreSQL: the search index is filled behind ingest here too. Each new line goes to
-- the GIN index's pending list (cheap; a search reads the list as well), and the hub's
-- search-index thread moves the list into the index while ingest is idle
-- (`gin_clean_pending_list`). A list of 32 MB lets a long drain run without ingest doing it.
ALTER INDEX search_lines_trgm SET (fastupdate = on, gin_pending_list_limit = 32768);
