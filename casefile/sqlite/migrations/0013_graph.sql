-- Reading the mailbox through Microsoft Graph (issue 18).

-- graph_delta is the checkpoint of one folder, the equivalent of IMAP's
-- UIDVALIDITY and last UID: the deltaLink of the last delta round whose
-- messages were all filed and moved. The next round asks Graph for what
-- changed since then.
CREATE TABLE graph_delta (
	mailbox    TEXT NOT NULL,
	folder_id  TEXT NOT NULL,
	delta_link TEXT NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (mailbox, folder_id)
);

-- mail_items: each message downloaded from a mail store with ids of its own
-- (source "graph:<mailbox>"), recorded in the transaction that filed or
-- quarantined it, with the key it is kept under and its outcome. The same
-- item again is a duplicate whatever bytes its second download gives:
-- known by its id, or by its Message-ID and the instant it was received.
CREATE TABLE mail_items (
	source              TEXT NOT NULL,
	item_id             TEXT NOT NULL,
	internet_message_id TEXT NOT NULL DEFAULT '',
	received_at         INTEGER NOT NULL DEFAULT 0,
	message_key         TEXT NOT NULL,
	case_ref            TEXT NOT NULL DEFAULT '',
	outcome             TEXT NOT NULL,
	at                  INTEGER NOT NULL,
	PRIMARY KEY (source, item_id)
);
CREATE INDEX mail_items_delivery ON mail_items (source, internet_message_id, received_at) WHERE internet_message_id != '';
