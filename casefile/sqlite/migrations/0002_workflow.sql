-- The workflow after intake: Slack, agencies, meeting, letters, escalation,
-- and intake's own bookkeeping.

CREATE TABLE slack_channels (
	case_id     INTEGER PRIMARY KEY REFERENCES cases (id),
	channel_id  TEXT NOT NULL UNIQUE,
	name        TEXT NOT NULL UNIQUE,
	card_ts     TEXT NOT NULL DEFAULT ''
);

CREATE TABLE info_requests (
	id          INTEGER PRIMARY KEY,
	case_id     INTEGER NOT NULL REFERENCES cases (id),
	agency      TEXT NOT NULL,
	requested_at INTEGER NOT NULL,
	due_on      TEXT NOT NULL,
	message_ts  TEXT NOT NULL DEFAULT '',
	by_email    INTEGER NOT NULL DEFAULT 0,
	replied_at  INTEGER,
	UNIQUE (case_id, agency)
);

CREATE TABLE agency_replies (
	id          INTEGER PRIMARY KEY,
	request_id  INTEGER NOT NULL REFERENCES info_requests (id),
	case_id     INTEGER NOT NULL REFERENCES cases (id),
	agency      TEXT NOT NULL,
	author      TEXT NOT NULL,                     -- Slack user id or email
	source      TEXT NOT NULL,                     -- form, thread, email
	complaints  TEXT NOT NULL DEFAULT '',
	considered  TEXT NOT NULL DEFAULT '',
	taken       TEXT NOT NULL DEFAULT '',
	risk        TEXT NOT NULL DEFAULT '',
	no_info     INTEGER NOT NULL DEFAULT 0,
	text        TEXT NOT NULL DEFAULT '',
	dedupe_key  TEXT NOT NULL UNIQUE,
	at          INTEGER NOT NULL
);
CREATE INDEX agency_replies_case ON agency_replies (case_id);

CREATE TABLE meetings (
	case_id     INTEGER PRIMARY KEY REFERENCES cases (id),
	scheduled_for INTEGER,
	place       TEXT NOT NULL DEFAULT '',
	attendees   TEXT NOT NULL DEFAULT '',
	attendance  TEXT NOT NULL DEFAULT '[]',        -- JSON list of agency ids
	summary     TEXT NOT NULL DEFAULT '',
	adequate    INTEGER,
	held_at     INTEGER,
	recorded_by TEXT NOT NULL DEFAULT ''
);

CREATE TABLE recommendations (
	id          INTEGER PRIMARY KEY,
	case_id     INTEGER NOT NULL REFERENCES cases (id),
	text        TEXT NOT NULL,
	owner       TEXT NOT NULL,                     -- agency id
	due_on      TEXT NOT NULL
);

-- letters are versioned drafts; only the approved version is sent.
CREATE TABLE letters (
	id          INTEGER PRIMARY KEY,
	case_id     INTEGER NOT NULL REFERENCES cases (id),
	kind        TEXT NOT NULL,                     -- not_met, outcome, further_review
	version     INTEGER NOT NULL,
	text        TEXT NOT NULL,
	html        TEXT NOT NULL DEFAULT '',
	sha256      TEXT NOT NULL,
	further_review_by TEXT NOT NULL DEFAULT '',   -- the date the letter gives for asking a further review
	created_by  TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	approved_by TEXT,
	approved_at INTEGER,
	sent_at     INTEGER,
	UNIQUE (case_id, kind, version)
);

CREATE TABLE escalations (
	id          INTEGER PRIMARY KEY,
	case_id     INTEGER NOT NULL REFERENCES cases (id),
	requested_at INTEGER NOT NULL,
	source      TEXT NOT NULL,                     -- email, slack
	late        INTEGER NOT NULL DEFAULT 0,
	decision    TEXT,                              -- accepted, declined
	reason      TEXT NOT NULL DEFAULT '',
	decided_by  TEXT NOT NULL DEFAULT '',
	decided_at  INTEGER,
	outcome     TEXT NOT NULL DEFAULT '',
	upheld      INTEGER
);

-- quarantine keeps mail that could not be parsed, with its raw bytes, so it
-- can be retried after a fix.
CREATE TABLE quarantine (
	id          INTEGER PRIMARY KEY,
	message_key TEXT NOT NULL UNIQUE,              -- Message-ID or sha256 of the raw bytes
	raw         BLOB NOT NULL,
	error       TEXT NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 1,
	created_at  INTEGER NOT NULL,
	resolved_at INTEGER
);

-- imap_state is the watcher's checkpoint per mailbox.
CREATE TABLE imap_state (
	mailbox     TEXT PRIMARY KEY,
	uidvalidity INTEGER NOT NULL,
	last_uid    INTEGER NOT NULL
);

-- undeliverable addresses, learnt from bounces.
CREATE TABLE undeliverable (
	address     TEXT PRIMARY KEY,
	case_id     INTEGER REFERENCES cases (id),
	reason      TEXT NOT NULL DEFAULT '',
	at          INTEGER NOT NULL
);

-- processed Slack events and interactions, for de-duplicating retries.
CREATE TABLE slack_seen (
	key         TEXT PRIMARY KEY,
	at          INTEGER NOT NULL
);
