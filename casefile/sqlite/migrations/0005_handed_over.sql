-- handed_over marks an email job whose message was being handed to the
-- SMTP server (DATA begun). Found again after a crash, the job is in doubt:
-- the server may have the message. It is not sent again (a resident is never
-- emailed twice by mistake); the coordinator is asked to check instead.
ALTER TABLE outbox ADD COLUMN handed_over INTEGER;
