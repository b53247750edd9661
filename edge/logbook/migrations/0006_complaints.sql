-- 6: complaints have their own facts (CONTRACT section 2): the complainant's name, unit and
-- phone and the reply promised to them; a watch-list incident's title is worded by each page
-- from a code and the visitor's name. The personal ones are cleared by the retention purge,
-- which marks the incident `purged_at`.
ALTER TABLE incidents ADD COLUMN title_code TEXT;
ALTER TABLE incidents ADD COLUMN complainant_name TEXT;
ALTER TABLE incidents ADD COLUMN complainant_unit TEXT;
ALTER TABLE incidents ADD COLUMN complainant_phone TEXT;
ALTER TABLE incidents ADD COLUMN visitor_name TEXT;
ALTER TABLE incidents ADD COLUMN reply_by TEXT;
ALTER TABLE incidents ADD COLUMN purged_at TEXT;
CREATE INDEX incidents_opened ON incidents (opened_at);
