-- A search of the whole company (a manager's) lists the newest lines first: with the lines in
-- time order it reads them newest first and stops at the page's 200 instead of reading every
-- line of every site (issue 17: a two-character word on a million lines). Supervisors' searches
-- keep using search_lines_at (site, at).
CREATE INDEX IF NOT EXISTS search_lines_time ON search_lines (at);
