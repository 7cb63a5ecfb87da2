-- Deadline reminders: the reminders themselves are outbox jobs, whose
-- unique dedupe keys ("reminder:CT-2026-0001:police:before2") make sure none
-- is sent twice. What the outbox cannot hold is a snooze: "remind us again
-- on the next working day".

CREATE TABLE reminder_snoozes (
	reminder_key TEXT PRIMARY KEY,                 -- the dedupe key of the reminder snoozed
	case_id      INTEGER NOT NULL REFERENCES cases (id),
	agency       TEXT NOT NULL,
	stage        TEXT NOT NULL,                    -- before2, due, overdue
	until_on     TEXT NOT NULL,                    -- YYYY-MM-DD: the working day it comes back
	snoozed_by   TEXT NOT NULL,                    -- Slack user id
	snoozed_at   INTEGER NOT NULL,
	done_at      INTEGER                           -- when it came back, or was no longer needed
);
CREATE INDEX reminder_snoozes_open ON reminder_snoozes (until_on) WHERE done_at IS NULL;
