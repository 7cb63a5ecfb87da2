-- Signing in to the mailbox (issue 12).
--
-- mail_tokens keeps the refresh token of Microsoft's device code flow
-- (`trigger mail login`), one row per sign-in (provider, tenant, client
-- id). It rotates with every renewal and the newest must outlive a restart.
-- lease_holder and lease_until are the lock one renewal holds across the
-- processes that share the database (serve, and a command such as
-- `trigger mail check`), so that two never redeem the same refresh token.
CREATE TABLE mail_tokens (
	name          TEXT PRIMARY KEY,
	refresh_token TEXT NOT NULL DEFAULT '',
	updated_at    INTEGER NOT NULL,
	lease_holder  TEXT NOT NULL DEFAULT '',
	lease_until   INTEGER NOT NULL DEFAULT 0
);

-- service_outages: a part of the service (imap, smtp) that stopped working.
-- The coordinators are told once when it begins and once when it ends,
-- whatever the number of retries and restarts in between: at most one
-- outage of a part is open.
CREATE TABLE service_outages (
	id        INTEGER PRIMARY KEY,
	part      TEXT NOT NULL,
	code      TEXT NOT NULL,
	began_at  INTEGER NOT NULL,
	ended_at  INTEGER
);
CREATE UNIQUE INDEX service_outages_open ON service_outages (part) WHERE ended_at IS NULL;
