-- A search of the whole company (a manager's) lists the newest lines first: PostgreSQL reads
-- the lines newest first by this index and stops at the page's 200 instead of reading every
-- line of every site (a two-character word on a million lines: issue 17). Supervisors'
-- searches keep using search_lines_at (site, at).
CREATE INDEX IF NOT EXISTS search_lines_time ON search_lines (at);
