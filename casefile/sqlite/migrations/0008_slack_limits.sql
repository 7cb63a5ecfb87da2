-- What the bot needs to stay within Slack's rules (issue 14).

-- The channel topic the bot last set: it is set again only when its text
-- changes, because Slack posts a system message in the channel each time.
ALTER TABLE slack_channels ADD COLUMN topic TEXT NOT NULL DEFAULT '';

-- Files an officer shared with a reply in the request's thread, as Slack
-- names them: JSON [{"name", "permalink"}]. Never their content.
ALTER TABLE agency_replies ADD COLUMN files TEXT NOT NULL DEFAULT '[]';

-- Events API events, recorded before Slack is told they arrived (Slack does
-- not send an acknowledged event again), then handled; one that could not
-- be handled yet is tried again at next_at, after a restart too. The
-- payload (an officer's reply may hold personal data) is emptied once the
-- event is done; the id stays, so that Slack's retries are recognised.
CREATE TABLE slack_events (
	id          TEXT PRIMARY KEY,          -- Slack's event_id
	payload     TEXT NOT NULL,             -- the event callback's JSON, '' once done
	received_at INTEGER NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	next_at     INTEGER NOT NULL,          -- not before then: a lease while handled, a backoff after
	done_at     INTEGER,
	outcome     TEXT NOT NULL DEFAULT ''   -- handled, gave_up
);
CREATE INDEX slack_events_pending ON slack_events (next_at) WHERE done_at IS NULL;
