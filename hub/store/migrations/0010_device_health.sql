-- 8: a post's free disk space from its status message (issue 18), shown beside its version
ALTER TABLE devices ADD COLUMN disk_free_mb INTEGER;
