-- The resident at the centre (issue 15). No new case statuses: what the
-- resident chose and was told is kept beside the case.

-- The contact officer: the Slack user id of the [[officer]] chosen for the
-- case; '' means the default (the coordinator's, else the partnership's).
ALTER TABLE cases ADD COLUMN contact_officer TEXT NOT NULL DEFAULT '';
-- How involved the resident wants to be: meeting, writing, outcome; '' not said.
ALTER TABLE cases ADD COLUMN involvement TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN involvement_source TEXT NOT NULL DEFAULT '';   -- reply, coordinator
ALTER TABLE cases ADD COLUMN involvement_at INTEGER;
-- The language preference: en, cy; '' not known. Its source: form, reply,
-- coordinator, detected.
ALTER TABLE cases ADD COLUMN language TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN language_source TEXT NOT NULL DEFAULT '';
-- Accessible formats, comma-separated: large_print, easy_read.
ALTER TABLE cases ADD COLUMN formats TEXT NOT NULL DEFAULT '';

-- A closed session: the resident is not invited to the meeting.
ALTER TABLE meetings ADD COLUMN closed_session INTEGER NOT NULL DEFAULT 0;

-- A letter's languages: en, cy, or cy+en (both in one text, Welsh first).
ALTER TABLE letters ADD COLUMN lang TEXT NOT NULL DEFAULT 'en';

-- The consultation on the action plan: the draft response waits until the
-- resident replies, reply_by passes, or the coordinator skips it.
CREATE TABLE consultations (
	case_id       INTEGER PRIMARY KEY REFERENCES cases (id),
	asked_at      INTEGER,                          -- the email queued; NULL when there was nobody to email
	reply_by      TEXT NOT NULL,                    -- YYYY-MM-DD
	replied_at    INTEGER,
	reply_message TEXT NOT NULL DEFAULT '',         -- the reply's Message-ID
	skipped_by    TEXT NOT NULL DEFAULT '',
	skip_reason   TEXT NOT NULL DEFAULT '',
	ended_at      INTEGER
);
CREATE INDEX consultations_open ON consultations (reply_by) WHERE ended_at IS NULL;

-- Emails the service wrote to the resident by itself (consultation,
-- invitation, update, closure), kept as sent, once each (dedupe_key).
CREATE TABLE resident_emails (
	id          INTEGER PRIMARY KEY,
	case_id     INTEGER NOT NULL REFERENCES cases (id),
	kind        TEXT NOT NULL,
	lang        TEXT NOT NULL,
	subject     TEXT NOT NULL,
	text        TEXT NOT NULL,
	html        TEXT NOT NULL DEFAULT '',
	dedupe_key  TEXT NOT NULL UNIQUE,
	created_at  INTEGER NOT NULL,
	sent_at     INTEGER
);
CREATE INDEX resident_emails_case ON resident_emails (case_id);

-- Requests to review a not-met decision, heard by the body
-- [further_review] threshold_decision names, and their results.
CREATE TABLE threshold_reviews (
	id              INTEGER PRIMARY KEY,
	case_id         INTEGER NOT NULL REFERENCES cases (id),
	requested_at    INTEGER NOT NULL,
	source          TEXT NOT NULL,                  -- email, slack
	consent         INTEGER,                        -- the applicant's details may go with it; NULL not known
	body            TEXT NOT NULL,
	forwarded_to    TEXT NOT NULL DEFAULT '',
	request_message TEXT NOT NULL DEFAULT '',       -- the Message-ID of the email that asked
	result          TEXT NOT NULL DEFAULT '',       -- upheld, not_upheld
	result_at       INTEGER,
	result_by       TEXT NOT NULL DEFAULT '',
	notes           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX threshold_reviews_case ON threshold_reviews (case_id);
