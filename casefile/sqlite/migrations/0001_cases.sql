-- The case record, its audit trail and the outbox.

CREATE TABLE cases (
	id            INTEGER PRIMARY KEY,
	ref           TEXT NOT NULL UNIQUE,           -- CT-YYYY-NNNN
	year          INTEGER NOT NULL,
	seq           INTEGER NOT NULL,
	status        TEXT NOT NULL,
	route         TEXT NOT NULL,
	source        TEXT NOT NULL,                  -- email, staff
	received_at   INTEGER NOT NULL,               -- unix milliseconds
	application   TEXT NOT NULL,                  -- JSON: casefile.Application (personal data)
	assessment    TEXT NOT NULL,                  -- met, not_met, unknown
	qualifying    INTEGER NOT NULL,
	reasons       TEXT NOT NULL,                  -- JSON list
	decision      TEXT,                           -- met, not_met
	decision_reason TEXT,
	decision_by   TEXT,
	decided_at    INTEGER,
	accepted_at   INTEGER,
	responded_at  INTEGER,
	closed_at     INTEGER,
	purged_at     INTEGER,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL,
	UNIQUE (year, seq)
);
CREATE INDEX cases_status ON cases (status);

CREATE TABLE deadlines (
	case_id  INTEGER NOT NULL REFERENCES cases (id),
	name     TEXT NOT NULL,
	due_on   TEXT NOT NULL,                       -- YYYY-MM-DD
	set_at   INTEGER NOT NULL,
	done_at  INTEGER,
	PRIMARY KEY (case_id, name)
);

-- events is the audit trail: every command appends one, numbered per case
-- without gaps. Events without a case (intake of machine mail, quarantine)
-- have case_id NULL and seq 0.
CREATE TABLE events (
	id       INTEGER PRIMARY KEY,
	case_id  INTEGER REFERENCES cases (id),
	seq      INTEGER NOT NULL,
	at       INTEGER NOT NULL,
	actor    TEXT NOT NULL,
	kind     TEXT NOT NULL,
	details  TEXT NOT NULL DEFAULT '{}'
);
CREATE UNIQUE INDEX events_case_seq ON events (case_id, seq) WHERE case_id IS NOT NULL;

-- outbox holds every side effect (Slack call, email) until it is done.
CREATE TABLE outbox (
	id          INTEGER PRIMARY KEY,
	case_id     INTEGER REFERENCES cases (id),
	event_id    INTEGER REFERENCES events (id),
	kind        TEXT NOT NULL,
	dedupe_key  TEXT NOT NULL UNIQUE,
	payload     TEXT NOT NULL DEFAULT '{}',
	recipient   TEXT NOT NULL DEFAULT '',           -- email jobs: the address, for rate limits
	state       TEXT NOT NULL DEFAULT 'pending',   -- pending, done, dead
	attempts    INTEGER NOT NULL DEFAULT 0,
	run_after   INTEGER NOT NULL,
	locked_until INTEGER NOT NULL DEFAULT 0,
	last_error  TEXT NOT NULL DEFAULT '',
	result      TEXT NOT NULL DEFAULT '{}',
	created_at  INTEGER NOT NULL,
	done_at     INTEGER
);
CREATE INDEX outbox_ready ON outbox (state, run_after);
CREATE INDEX outbox_recipient ON outbox (recipient, kind, created_at) WHERE recipient != '';

-- messages keep every email in and out with its raw bytes.
CREATE TABLE messages (
	id          INTEGER PRIMARY KEY,
	case_id     INTEGER REFERENCES cases (id),
	message_id  TEXT NOT NULL UNIQUE,
	direction   TEXT NOT NULL,                  -- in, out
	kind        TEXT NOT NULL,                  -- application, followup, escalation, auto_reply, bounce, ack, letter …
	subject     TEXT NOT NULL DEFAULT '',
	from_addr   TEXT NOT NULL DEFAULT '',
	at          INTEGER NOT NULL,
	raw         BLOB,
	sha256      TEXT NOT NULL,
	body_text   TEXT NOT NULL DEFAULT '',
	body_html   TEXT NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL
);
CREATE INDEX messages_case ON messages (case_id);
CREATE INDEX messages_sha ON messages (sha256);

CREATE TABLE attachments (
	id           INTEGER PRIMARY KEY,
	message_id   INTEGER NOT NULL REFERENCES messages (id),
	case_id      INTEGER REFERENCES cases (id),
	filename     TEXT NOT NULL,
	content_type TEXT NOT NULL,
	size         INTEGER NOT NULL,
	sha256       TEXT NOT NULL,
	data         BLOB
);
CREATE INDEX attachments_case ON attachments (case_id);
