-- Trust (issue 13): only a verified party changes a case; everything else
-- is kept and shown.

-- message_id stays the unique key a message is stored under: its
-- Message-ID, or, for a second message with the same Message-ID and other
-- bytes, that Message-ID with the sha256 of its own bytes
-- (casefile.VariantKey). header_id is the Message-ID as the message gives
-- it, for showing and threading; a duplicate is the same header_id with the
-- same sha256.
ALTER TABLE messages ADD COLUMN header_id TEXT NOT NULL DEFAULT '';
UPDATE messages SET header_id = message_id;
CREATE INDEX messages_header_id ON messages (header_id);

-- verified is 0 for mail not taken as coming from a party to its case
-- (unverified_reason says why: not_a_party, dmarc_fail, …); it changed
-- nothing. treated_as, decided_by and decided_at record what the
-- coordinator made of it (further_review, correspondence).
ALTER TABLE messages ADD COLUMN verified INTEGER NOT NULL DEFAULT 1;
ALTER TABLE messages ADD COLUMN unverified_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN asks_further_review INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN treated_as TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN decided_by TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN decided_at INTEGER;

-- Mail we sent: the outbox job that sent it and its recipients (lower
-- case, comma-separated), so that a bounce counts only when it returns a
-- message we sent to the address it names.
ALTER TABLE messages ADD COLUMN job_id INTEGER;
ALTER TABLE messages ADD COLUMN to_addr TEXT NOT NULL DEFAULT '';
UPDATE messages SET job_id = (SELECT o.id FROM outbox o WHERE o.result != '{}' AND json_extract(o.result, '$.message_id') = messages.message_id)
	WHERE direction = 'out';
UPDATE messages SET to_addr = COALESCE((SELECT lower(COALESCE(NULLIF(o.recipient, ''), json_extract(o.payload, '$.to'), ''))
	FROM outbox o WHERE o.id = messages.job_id), '')
	WHERE direction = 'out' AND job_id IS NOT NULL;

-- intake_sender is the address a case opened from an email counts against
-- for [intake] acks_per_sender_hour: the sender, or for a web-form system
-- the applicant. Retention clears it with the rest of the personal data.
ALTER TABLE cases ADD COLUMN intake_sender TEXT NOT NULL DEFAULT '';
CREATE INDEX cases_intake_sender ON cases (intake_sender, created_at) WHERE intake_sender != '';

-- A bounce marks an address undeliverable for one case only: the case
-- whose message it returns. Rows that named no case counted for every case
-- and are not kept.
CREATE TABLE undeliverable_new (
	address     TEXT NOT NULL,
	case_id     INTEGER NOT NULL REFERENCES cases (id),
	reason      TEXT NOT NULL DEFAULT '',
	at          INTEGER NOT NULL,
	PRIMARY KEY (address, case_id)
);
INSERT INTO undeliverable_new (address, case_id, reason, at)
	SELECT address, case_id, reason, at FROM undeliverable WHERE case_id IS NOT NULL;
DROP TABLE undeliverable;
ALTER TABLE undeliverable_new RENAME TO undeliverable;

-- secrets holds keys the service makes for itself, once (the key of our
-- Message-IDs). They are never logged, exported or shown.
CREATE TABLE secrets (
	name        TEXT PRIMARY KEY,
	value       BLOB NOT NULL,
	created_at  INTEGER NOT NULL
);
