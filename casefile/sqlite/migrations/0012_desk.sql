-- The coordinator's desk in Slack (issue 16): the Home tab reads the open
-- cases, their open deadlines, the requests waiting for a reply and the
-- letters awaiting approval, each through an index, in one read
-- transaction per view.
CREATE INDEX cases_open ON cases (status) WHERE status NOT IN ('closed', 'withdrawn');
CREATE INDEX deadlines_open ON deadlines (due_on) WHERE done_at IS NULL;
CREATE INDEX info_requests_waiting ON info_requests (agency, due_on) WHERE replied_at IS NULL;
CREATE INDEX letters_case ON letters (case_id, id);

-- A case opened from a form in Slack (/trigger new) carries the form's key,
-- so that a form sent twice (Slack shows an error when the answer is slow,
-- and the coordinator presses again) opens one case, not two.
CREATE TABLE case_keys (
	key     TEXT PRIMARY KEY,
	case_id INTEGER NOT NULL REFERENCES cases (id)
);
