-- Large raw messages and attachments are stored in chunks, so that a 25 MB
-- email is never copied whole into SQLite's memory (twice) while it is
-- written. raw_chunks / data_chunks count the chunks; the inline column is
-- NULL then.
CREATE TABLE chunks (
	owner  TEXT NOT NULL,                 -- "m:<message id>" or "a:<attachment id>"
	seq    INTEGER NOT NULL,
	data   BLOB NOT NULL,
	PRIMARY KEY (owner, seq)
);
ALTER TABLE messages ADD COLUMN raw_chunks INTEGER NOT NULL DEFAULT 0;
ALTER TABLE attachments ADD COLUMN data_chunks INTEGER NOT NULL DEFAULT 0;
