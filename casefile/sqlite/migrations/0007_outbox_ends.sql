-- A failing outbox job is retried until it has been failing for [outbox]
-- give_up_after, counted from its first failure (first_failed_at: NULL while
-- it has not failed, and again after `trigger outbox retry`; a job pending
-- from before this migration starts its clock at its next failure). A job
-- that ends says why in end_reason: permanent (refused for good) or gave_up.
-- Jobs that ended before this migration keep end_reason '' and their
-- job.failed event.
ALTER TABLE outbox ADD COLUMN first_failed_at INTEGER;
ALTER TABLE outbox ADD COLUMN end_reason TEXT NOT NULL DEFAULT '';
