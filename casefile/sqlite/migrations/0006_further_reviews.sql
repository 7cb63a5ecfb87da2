-- One name for one concept: what README, the letters and the code call a
-- further review was "escalation" in the schema. The status values
-- (escalated, escalation_review), the ingest outcome and the message kind
-- "escalation" are part of the contract and stay.
ALTER TABLE escalations RENAME TO further_reviews;
UPDATE events SET kind = 'further_review.' || substr(kind, length('escalation.') + 1)
	WHERE kind LIKE 'escalation.%';
