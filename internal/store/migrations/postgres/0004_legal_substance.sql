-- The legal substance of a request (CONTRACT 5): the instrument it rests
-- on, its purpose, the requested side's reference, the persons concerned
-- and its deadlines (JSON, as the workflow folds them from the history),
-- and next_due_at_us, the earliest due time of a deadline whose clock runs
-- (NULL when none), which the deadline filters and sort=due read through
-- the two authority indexes below; created_by, who drafted it (the
-- timeline names the person). An authority's completeness policy.

ALTER TABLE requests ADD COLUMN IF NOT EXISTS instrument text NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN IF NOT EXISTS purpose text NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN IF NOT EXISTS requested_reference text NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN IF NOT EXISTS persons text NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN IF NOT EXISTS deadlines text NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN IF NOT EXISTS next_due_at_us bigint;
ALTER TABLE requests ADD COLUMN IF NOT EXISTS created_by text NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS ix_requests_requesting_due ON requests (requesting_authority, next_due_at_us, seq DESC);
CREATE INDEX IF NOT EXISTS ix_requests_requested_due ON requests (requested_authority, next_due_at_us, seq DESC);

ALTER TABLE authorities ADD COLUMN IF NOT EXISTS completeness_policy text NOT NULL DEFAULT 'advisory';
